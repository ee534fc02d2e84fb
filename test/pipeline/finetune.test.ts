// The paper's protocol end to end with the built `c3l` command: the smoke pipeline, then finetune
// (the BASE smoke model instruction-tuned on the final dataset) and evaluate (a small POPE split
// written from the smoke world's ground truth, on the fine-tuned export). A run killed (SIGKILL)
// inside finetune and resumed trains exactly as an uninterrupted one; compare shows the metrics.
import { beforeAll, describe, expect, test } from "@jest/globals";
import { execa, type ResultPromise } from "execa";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SampleFile } from "../../orchestrator/runs/jsonl.js";
import { PROJECT_ROOT } from "../../orchestrator/worker/index.js";
import { waitFor } from "../worker/helpers.js";

const BIN = join(PROJECT_ROOT, "bin", "c3l.js");
const SMOKE = join(PROJECT_ROOT, ".cache", "builtin", "smoke");
const c3l = (args: string[], env: Record<string, string> = {}) =>
  execa("node", [BIN, ...args], { reject: false, env: { ...env }, cwd: PROJECT_ROOT, all: true });

let work: string;
let runsDir: string;
let config: string;
let overrides: string[];
let baseline: string;

const json = (path: string) => JSON.parse(readFileSync(path, "utf8"));

/** A POPE `random` split in its published format: per image one present and one absent object. */
function writePope(dir: string): string {
  const truth = readFileSync(join(SMOKE, "truth.jsonl"), "utf8").split("\n").filter(Boolean)
    .map((l) => JSON.parse(l) as { id: string; objects: { shape: string; colour: string }[] });
  const lines: string[] = [];
  truth.slice(0, 4).forEach((t, i) => {
    const present = t.objects[0]!;
    const has = new Set(t.objects.map((o) => `${o.colour} ${o.shape}`));
    const absent = ["red", "yellow", "blue", "green"].flatMap((c) => ["circle", "square", "triangle"].map((s) => `${c} ${s}`)).find((x) => !has.has(x))!;
    lines.push(JSON.stringify({ question_id: 2 * i, image: `${t.id}.png`, text: `is there a ${present.colour} ${present.shape} in the image?`, label: "yes" }));
    lines.push(JSON.stringify({ question_id: 2 * i + 1, image: `${t.id}.png`, text: `is there a ${absent} in the image?`, label: "no" }));
  });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "coco_pope_random.json"), `${lines.join("\n")}\n`);
  return dir;
}

function losses(runDir: string): (number | null)[] {
  const read = SampleFile.read(join(runDir, "samples", "finetune.jsonl"));
  expect(read.duplicates).toEqual([]); // replayed steps are not recorded twice
  return [...read.records.values()].sort((a, b) => (a.id < b.id ? -1 : 1)).map((r) => (r as unknown as { loss: number | null }).loss);
}

function lines(runDir: string, stage: string): number {
  const path = join(runDir, "samples", `${stage}.jsonl`);
  return existsSync(path) ? readFileSync(path, "utf8").split("\n").filter(Boolean).length : 0;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "c3l-finetune-"));
  runsDir = join(work, "runs");
  mkdirSync(runsDir);
  config = join(work, "smoke.yaml");
  copyFileSync(join(PROJECT_ROOT, "configs", "smoke.yaml"), config);
  const pope = writePope(join(work, "pope"));
  overrides = [
    `runs_dir=${runsDir}`, "finetune.enabled=true", "finetune.steps=4", "finetune.checkpoint_every=2",
    `+evaluate.benchmarks.pope=${pope}`, `evaluate.options={"pope.images": "${join(SMOKE, "images")}"}`,
  ];
  const r = await c3l(["run", config, ...overrides, "--name", "ft"]);
  if (r.exitCode !== 0) throw new Error(`finetune run failed:\n${r.all}`);
  baseline = JSON.parse(r.stdout).run_dir;
}, 300_000);

describe("finetune and evaluate stages", () => {
  test("finetune trains the base model on the final dataset, checkpoints, exports; evaluate scores the export", () => {
    const summary = json(join(baseline, "summary.json"));
    expect(summary.status).toBe("done");
    expect(Object.keys(summary.stages).slice(-3)).toEqual(["filter", "finetune", "evaluate"]);
    const ft = json(join(baseline, "state", "finetune.json"));
    const dataset = json(join(baseline, "final", "dataset.json")) as { conversations: unknown[] }[];
    expect(ft.counts.examples).toBe(dataset.reduce((n, r) => n + r.conversations.length / 2, 0)); // one per turn pair
    expect(ft.counts).toMatchObject({ steps: 4, micro_batches: 4, failed_micro_batches: 0 });
    expect(ft.extra.target_model_dir).toBe(join(SMOKE, "model")); // the base model, not r0-contrast's export
    expect(readdirSync(join(baseline, "checkpoints", "finetune")).filter((d) => d.startsWith("step-"))).toEqual(["step-00000002", "step-00000004"]);
    const exported = join(baseline, "models", "finetune");
    expect(ft.extra.model_dir).toBe(exported);
    for (const file of ["config.json", "model.safetensors"]) expect(existsSync(join(exported, file))).toBe(true);
    // answer tokens only (form none): no contrastive term
    const records = [...SampleFile.read(join(baseline, "samples", "finetune.jsonl")).records.values()] as unknown as { loss: number; loss_lm: number; loss_cl: number }[];
    for (const r of records) expect([r.loss_cl, r.loss]).toEqual([0, r.loss_lm]);

    // evaluate loaded the exported model (the proof that it loads) and scored POPE
    const ev = json(join(baseline, "state", "evaluate.json"));
    expect(ev.extra).toMatchObject({ model: "finetuned", model_dir: exported });
    expect(ev.extra.protocols.pope.run.max_new_tokens).toBe(16);
    expect(summary.metrics["pope.f1"]).toEqual(expect.any(Number));
    const results = json(join(baseline, "eval", "results.json"));
    expect(results.benchmarks.pope.status).toBe("scored");
    expect(lines(baseline, "evaluate-cache")).toBe(8);
  });

  test("finetune.weight_by i2c sends rank weights: spread 0 (all 1) trains exactly as unweighted, spread 1 differs, a redo repeats it", async () => {
    const runs: Record<string, string> = {};
    for (const spread of ["0", "1"]) {
      const r = await c3l(["run", config, `runs_dir=${runsDir}`, "finetune.enabled=true", "finetune.steps=4", "finetune.checkpoint_every=2",
        "finetune.weight_by=i2c", `finetune.weight_spread=${spread}`, "--name", `weighted${spread}`]);
      expect(r.exitCode).toBe(0);
      runs[spread] = JSON.parse(r.stdout).run_dir;
      // the same final data as the unweighted run: only the finetune loss changed
      expect(readFileSync(join(runs[spread]!, "final", "dataset.json"), "utf8")).toBe(readFileSync(join(baseline, "final", "dataset.json"), "utf8"));
    }
    const ft = (run: string) => json(join(run, "state", "finetune.json")).extra;
    expect(ft(runs["0"]!)).toMatchObject({ weight_by: "i2c", weights: { min: 1, max: 1, mean: 1 } });
    expect(ft(runs["1"]!)).toMatchObject({ weight_by: "i2c", weights: { min: 0, max: 2 } });
    expect(ft(runs["1"]!).weights.mean).toBeCloseTo(1, 10);
    expect(ft(baseline)).toMatchObject({ weight_by: "none", weights: null });
    expect(losses(runs["0"]!)).toEqual(losses(baseline)); // weight 1 on the wire = no weight, to the bit
    const weighted = losses(runs["1"]!);
    expect(weighted).not.toEqual(losses(baseline));
    // Weights are derived from the run's own files: finetune done again trains identically.
    const redo = await c3l(["resume", runs["1"]!, "--redo", "finetune"]);
    expect(redo.exitCode).toBe(0);
    expect(losses(runs["1"]!)).toEqual(weighted);
  }, 300_000);

  test("killed inside finetune and resumed: the same losses and metrics as the uninterrupted run; compare shows the metrics", async () => {
    const before = readdirSync(runsDir);
    const child: ResultPromise = c3l(["run", config, ...overrides, "--name", "ftkilled"], { C3L_TEST_PAUSE_MS: "300" });
    let runDir = "";
    const hit = await waitFor(() => {
      const added = readdirSync(runsDir).filter((d) => !d.startsWith(".") && !before.includes(d));
      if (added.length) runDir = join(runsDir, added[0]!);
      return (runDir !== "" && lines(runDir, "finetune") >= 3) || child.exitCode !== null;
    }, 180_000);
    expect(hit).toBe(true);
    expect(child.exitCode).toBeNull();
    child.kill("SIGKILL");
    await child;
    expect(json(join(runDir, "state", "finetune.json")).status).toBe("running");

    const resumed = await c3l(["resume", runDir]);
    expect(resumed.exitCode).toBe(0);
    expect(resumed.all).toMatch(/finetune: continuing from \S*checkpoints\/finetune\/step-00000002/);
    expect(json(join(runDir, "state", "finetune.json")).attempts).toBe(2);
    expect(losses(runDir)).toEqual(losses(baseline));
    expect(json(join(runDir, "summary.json")).metrics).toEqual(json(join(baseline, "summary.json")).metrics);

    const table = await c3l(["compare", baseline, runDir, "--runs-dir", runsDir, "--format", "csv"]);
    expect(table.exitCode).toBe(0);
    const header = table.stdout.split("\n")[0]!;
    expect(header).toContain("metric.pope.f1");
    expect(header).toContain("finetune.steps");
    expect(header).not.toContain("protocol differs"); // same protocol in both runs
  }, 300_000);
});
