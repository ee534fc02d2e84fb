// The world's benchmarks as a config names them (builtin:world-pope / -seed / -mmbench): each resolves
// to its file in the world folder of the config's `world` section, with the options the world's
// models need (no POPE suffix, per-choice likelihood for the multiple choice). No world is built here.
import { describe, expect, test } from "@jest/globals";
import { join } from "node:path";
import { resolveConfig } from "../../orchestrator/config/index.js";
import { configNeeds, resolveBenchmarks, worldDir } from "../../orchestrator/pipeline/builtins.js";
import { PROJECT_ROOT } from "../../orchestrator/worker/index.js";
import { CI_WORLD } from "./world-ci.js";

const QUICKSTART = join(PROJECT_ROOT, "configs", "quickstart.yaml");

function config(overrides: string[] = []) {
  const r = resolveConfig(QUICKSTART, [...CI_WORLD, ...overrides]);
  if (!r.config) throw new Error(r.problems.join("\n"));
  return r.config;
}

describe("builtin:world-* benchmarks", () => {
  test("the quickstart evaluates POPE, SEED-Bench and MMBench of its world", () => {
    const c = config();
    expect(c.evaluate.benchmarks).toEqual({ pope: "builtin:world-pope", seed: "builtin:world-seed", mmbench: "builtin:world-mmbench" });
    expect(configNeeds(config(["finetune.enabled=false", "data.root=builtin:smoke", "generator.model_dir=builtin:smoke-llava", "evaluate.benchmarks={mmbench: builtin:world-mmbench}"])).world).toBe(true);
  });

  test("builtin:world-mmbench is the world's MMBench TSV, scored by likelihood with CircularEval (the evaluator's default mode), images inline", () => {
    const c = config();
    const dir = worldDir(c.world);
    const { benches, options } = resolveBenchmarks(c);
    expect(benches).toEqual({ pope: join(dir, "bench", "pope"), seed: join(dir, "bench", "seed.json"), mmbench: join(dir, "bench", "mmbench.tsv") });
    expect(options).toEqual({
      "pope.images": join(dir, "bench", "images"), "pope.suffix": "",
      "seed.images": join(dir, "bench", "images"), "seed.protocol": "likelihood",
      "mmbench.protocol": "likelihood",
    });
    expect(options["mmbench.mode"]).toBeUndefined(); // circular, the evaluator's default
  });

  test("the config's own options win over the implied ones", () => {
    const { options } = resolveBenchmarks(config(["evaluate.options={mmbench.protocol: generation, mmbench.mode: single}"]));
    expect(options).toMatchObject({ "mmbench.protocol": "generation", "mmbench.mode": "single" });
  });

  test("the seed instruction mix is part of the world, so another mix is another world folder", () => {
    const c = config();
    expect(c.world.pretrain.instruct_pairs).toBeGreaterThan(0); // the quickstart's world has a mix (the default)
    expect(worldDir(config(["world.pretrain.instruct_pairs=0"]).world)).not.toBe(worldDir(c.world));
    expect(worldDir(config(["world.pretrain.instruct_pairs=500"]).world)).not.toBe(worldDir(c.world));
  });
});
