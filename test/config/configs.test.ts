// Every config shipped in configs/ is valid, says what it is for and how to run it.
import { describe, expect, test } from "@jest/globals";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { defaultConfig, resolveConfig } from "../../orchestrator/config/index.js";
import { PROJECT_ROOT } from "../../orchestrator/worker/index.js";

const CONFIGS = join(PROJECT_ROOT, "configs");
// reproduce.yaml is a plan of runs over quickstart.yaml, not a pipeline config (test/reproduce/ checks it)
const files = readdirSync(CONFIGS).filter((f) => /\.ya?ml$/.test(f) && f !== "reproduce.yaml").sort();

describe("configs/", () => {
  test("holds the smoke and default configs", () => {
    expect(files).toEqual(expect.arrayContaining(["default.yaml", "smoke.yaml", "quickstart.yaml"]));
  });

  test.each(files)("%s validates with zero problems", (file) => {
    const resolved = resolveConfig(join(CONFIGS, file));
    expect(resolved.problems).toEqual([]);
    expect(resolved.config).not.toBeNull();
  });

  test.each(files)("%s opens with a comment naming the command that runs it", (file) => {
    const text = readFileSync(join(CONFIGS, file), "utf8");
    expect(text.startsWith("#")).toBe(true);
    const header = text.slice(0, text.search(/^[^#\n]/m));
    // default.yaml is a reference listing, not an experiment: it names the command that reads it
    expect(header).toContain(file === "default.yaml" ? "npx c3l config configs/default.yaml" : `npx c3l run configs/${file}`);
    if (file === "default.yaml") expect(header).toContain("REFERENCE LISTING");
  });

  test("default.yaml holds every key at its default", () => {
    const resolved = resolveConfig(join(CONFIGS, "default.yaml"), [], { cwd: PROJECT_ROOT });
    expect(resolved.config).toEqual({ ...defaultConfig(), runs_dir: join(PROJECT_ROOT, "runs") });
  });

  test("smoke.yaml is small: builtin data and model, one round, few pairs and steps", () => {
    const { config } = resolveConfig(join(CONFIGS, "smoke.yaml"));
    expect(config).toMatchObject({
      rounds: 1,
      data: { root: "builtin:smoke", images: null, manifest: null },
      generator: { model_dir: "builtin:smoke-llava" },
      generation: { k: 3, max_new_tokens: 64 },
      contrast: { steps: 6, epochs: null, checkpoint_every: 2 },
      final: { budget: 40 },
    });
  });
});
