// A model folder is refused before anything starts when c3l cannot use it: each reason names the
// folder (and, for a family, the supported ones); a real tiny checkpoint passes. `c3l validate` and
// `c3l run` refuse with exit 4 and leave no run folder.
import { beforeAll, describe, expect, test } from "@jest/globals";
import { execa } from "execa";
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "../../orchestrator/pipeline/errors.js";
import { checkModelFolder, supportedFamilies } from "../../orchestrator/pipeline/model-check.js";
import { PROJECT_ROOT } from "../../orchestrator/worker/python.js";
import { tempDir, tinyModel } from "../worker/helpers.js";

let tiny: string;
let work: string;

/** A copy of the tiny checkpoint's small files (no weights: the check never reads them), changed by `edit`. */
function variant(name: string, edit: (dir: string) => void): string {
  const dir = join(work, name);
  cpSync(tiny, dir, { recursive: true, filter: (src) => !src.endsWith(".safetensors") });
  edit(dir);
  return dir;
}

function refusal(dir: string): string {
  try {
    checkModelFolder(dir, "generator.model_dir");
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    const message = (err as Error).message;
    expect(message).toContain("generator.model_dir");
    expect(message).toContain(dir);
    return message;
  }
  throw new Error(`${dir} was not refused`);
}

beforeAll(async () => {
  tiny = await tinyModel();
  work = tempDir("c3l-model-check-");
}, 120_000);

describe("checkModelFolder", () => {
  test("the tiny llava-format checkpoint passes; the supported families are the worker's list", () => {
    expect(() => checkModelFolder(tiny, "generator.model_dir")).not.toThrow();
    expect(supportedFamilies()).toEqual({ llava: ["llava"] });
  });

  test("an unsupported family, custom code, or a missing config, tokenizer, processor or chat template is refused, naming what", () => {
    const qwen = variant("qwen", (d) => writeFileSync(join(d, "config.json"), JSON.stringify({ model_type: "qwen2_vl" })));
    expect(refusal(qwen)).toMatch(/model_type "qwen2_vl", which no model family supports; supported: llava \(model_type llava\)/);
    const custom = variant("custom", (d) => writeFileSync(join(d, "config.json"), JSON.stringify({ model_type: "llava", auto_map: { AutoModel: "m.M" } })));
    expect(refusal(custom)).toMatch(/custom code .*never runs/);
    expect(refusal(variant("no-config", (d) => rmSync(join(d, "config.json"))))).toMatch(/no config\.json/);
    expect(refusal(variant("torn-config", (d) => writeFileSync(join(d, "config.json"), "{ torn")))).toMatch(/config\.json is not valid JSON/);
    expect(refusal(variant("no-tokenizer", (d) => rmSync(join(d, "tokenizer.json"))))).toMatch(/has no tokenizer \(tokenizer\.json or/);
    expect(refusal(variant("no-processor", (d) => rmSync(join(d, "processor_config.json"))))).toMatch(/processor settings/);
    const untemplated = variant("no-template", (d) => {
      for (const f of readdirSync(d)) if (f.startsWith("chat_template")) rmSync(join(d, f));
      writeFileSync(join(d, "processor_config.json"), "{}");
    });
    expect(refusal(untemplated)).toMatch(/no chat template/);
  });
});

describe("before a run starts", () => {
  const c3l = (args: string[]) => execa("node", [join(PROJECT_ROOT, "bin", "c3l.js"), ...args], { reject: false, cwd: PROJECT_ROOT });

  test("c3l validate and c3l run refuse an unsupported checkpoint with exit 4, naming it, and leave no run folder", async () => {
    const qwen = variant("qwen-cli", (d) => writeFileSync(join(d, "config.json"), JSON.stringify({ model_type: "qwen2_vl" })));
    const runsDir = join(work, "runs");
    mkdirSync(runsDir, { recursive: true });
    const config = join(work, "qwen.yaml");
    writeFileSync(config, `generator:\n  model_dir: ${qwen}\nruns_dir: ${runsDir}\n`);
    const checked = await c3l(["validate", config]);
    expect(checked.exitCode).toBe(4);
    expect(checked.stderr).toContain(qwen);
    expect(checked.stderr).toMatch(/supported: llava/);
    const run = await c3l(["run", config]);
    expect(run.exitCode).toBe(4);
    expect(run.stderr).toContain(qwen);
    expect(readdirSync(runsDir)).toEqual([]);
  }, 60_000);
});
