// Validation reports every problem at once as `dot.path: expected …, got …`, with did-you-mean.
import { describe, expect, test } from "@jest/globals";
import { resolveDocument } from "../../orchestrator/config/index.js";

const problemsOf = (doc: unknown) => resolveDocument(doc, { configDir: "/tmp", checkFiles: false }).problems;

describe("validation", () => {
  test("several problems at once, each with its dot path, and no config", () => {
    const r = resolveDocument(
      {
        generation: { temprature: 0.7, k: 0, top_p: 1.5 },
        scoring: { estimator: "kll", batch_size: 2.5 },
        contrast: { steps: 10, epochs: 2 },
        seeed: 3,
      },
      { configDir: "/tmp", checkFiles: false },
    );
    expect(r.config).toBeNull();
    expect(r.problems).toEqual([
      "seeed: unknown key (did you mean seed?)",
      "generation.temprature: unknown key (did you mean generation.temperature?)",
      "generation.k: expected an integer >= 1, got 0",
      "generation.top_p: expected a number in (0, 1], got 1.5",
      'scoring.estimator: expected one of kl, logratio, logratio_minlogp, got "kll" (did you mean "kl"?)',
      "scoring.batch_size: expected an integer >= 1, got 2.5",
      "contrast.steps, contrast.epochs: expected exactly one of them to be non-null, got steps: 10, epochs: 2 (set the others to null, or remove them with ~contrast.steps)",
    ]);
  });

  test("an unknown key in the wrong section points to the section that has it", () => {
    expect(problemsOf({ generation: { estimator: "kl" }, temperature: 1 })).toEqual([
      "temperature: unknown key (did you mean generation.temperature?)",
      "generation.estimator: unknown key (did you mean scoring.estimator?)",
    ]);
  });

  test("an unknown key with nothing close lists the known keys", () => {
    expect(problemsOf({ final: { zzz: 1 } })).toEqual(["final.zzz: unknown key (known keys of final: budget, rank_by, family_balance, per_image_cap, dedup)"]);
  });

  test("type errors name what was expected and what was found", () => {
    expect(problemsOf({
      seed: -1,
      rounds: "2",
      data: { limit: 0 },
      generator: { dtype: "flaot16", device: "gpu" },
      generation: { prompts: [], do_sample: "yes", temperature: ".inf", stop: ["", 3] },
      selection: { neg_quantile: 1 },
      contrast: { lr: 0, lora: { r: 8, dropout: 1 } },
      final: { budget: null, dedup: 1 },
      worker: "fast",
      runs_dir: "",
    })).toEqual([
      "seed: expected an integer in [0, 4294967295], got -1",
      'rounds: expected an integer >= 0, got "2"',
      "data.limit: expected an integer >= 1 or null, got 0",
      'generator.dtype: expected one of float32, bfloat16, float16, got "flaot16" (did you mean "float16"?)',
      'generator.device: expected cpu, cuda or cuda:N, got "gpu"',
      "generation.prompts: expected a non-empty list of non-empty strings, got a list []",
      'generation.do_sample: expected true or false, got "yes"',
      'generation.temperature: expected a number > 0, got ".inf"',
      'generation.stop[0]: expected a non-empty string, got ""',
      "generation.stop[1]: expected a non-empty string, got 3",
      "selection.neg_quantile: expected a number in (0, 1), got 1",
      "contrast.lr: expected a number > 0, got 0",
      "contrast.lora.dropout: expected a number in [0, 1), got 1",
      "final.budget: expected an integer >= 1, got null",
      "final.dedup: expected true or false, got 1",
      'worker: expected a mapping, got "fast"',
      'runs_dir: expected a path, got ""',
    ]);
  });

  test("non-finite numbers from YAML (.inf, .nan) are rejected", () => {
    expect(problemsOf({ generation: { temperature: Infinity }, contrast: { tau: NaN } })).toEqual([
      "generation.temperature: expected a number > 0, got .inf",
      "contrast.tau: expected a number > 0, got .nan",
    ]);
  });

  test("integers are accepted where floats are expected, not the reverse", () => {
    expect(problemsOf({ generation: { temperature: 1 }, contrast: { lr: 1, steps: 3 } })).toEqual([]);
    expect(problemsOf({ contrast: { steps: 3.5 } })).toEqual(["contrast.steps: expected an integer >= 1 or null, got 3.5"]);
  });

  test("exactly one of steps/epochs: neither is an error too", () => {
    expect(problemsOf({ contrast: { steps: null } })).toEqual([
      "contrast.steps, contrast.epochs: expected exactly one of them to be non-null, got none",
    ]);
    expect(problemsOf({ contrast: { epochs: 3 } })).toEqual([]);
  });

  test("unknown builtins get did-you-mean and the known names", () => {
    expect(problemsOf({ data: { root: "builtin:smok" }, generator: { model_dir: "builtin:smoke_llava" } })).toEqual([
      'data.root: unknown builtin "builtin:smok" (did you mean "builtin:smoke"?); known: builtin:smoke, builtin:world',
      'generator.model_dir: unknown builtin "builtin:smoke_llava" (did you mean "builtin:smoke-llava"?); known: builtin:smoke-llava, builtin:world-generator, builtin:world-align',
    ]);
    expect(problemsOf({ evaluate: { benchmarks: { pope: "builtin:world-pop" } } })).toEqual([
      'evaluate.benchmarks.pope: unknown builtin "builtin:world-pop" (did you mean "builtin:world-pope"?); known: builtin:world-pope, builtin:world-seed, builtin:world-mmbench',
    ]);
    expect(problemsOf({ data: { root: "builtin:coco" } })).toEqual(['data.root: unknown builtin "builtin:coco"; known: builtin:smoke, builtin:world']);
  });

  test("data: exactly one of images/manifest for a real root, neither for a builtin one", () => {
    expect(problemsOf({ data: { root: "imgs" } })).toEqual([
      "data.images, data.manifest: expected exactly one of them to be set (a folder of images or a JSONL manifest), got neither",
    ]);
    expect(problemsOf({ data: { root: "imgs", images: "a", manifest: "m.jsonl" } })).toEqual([
      "data.images, data.manifest: expected exactly one of them to be set (a folder of images or a JSONL manifest), got both",
    ]);
    expect(problemsOf({ data: { images: "a" } })).toEqual([
      'data.images: expected null with a builtin data.root (builtin:smoke brings its own images), got "a"',
    ]);
    expect(problemsOf({ data: { root: "imgs", images: "." } })).toEqual([]);
  });

  test("data.images must stay inside data.root", () => {
    expect(problemsOf({ data: { root: "/data/set", images: "../other" } })).toEqual([
      'data.images: expected a folder inside data.root (/data/set), got "../other" (/data/other)',
    ]);
    expect(problemsOf({ data: { root: "/data/set", images: "/elsewhere" } })).toHaveLength(1);
    expect(problemsOf({ data: { root: "/data/set", images: "/data/set/train" } })).toEqual([]);
  });

  test("warm-up longer than training is refused", () => {
    expect(problemsOf({ contrast: { steps: 5, warmup_steps: 6 } })).toEqual([
      "contrast.warmup_steps: expected at most contrast.steps (5), got 6",
    ]);
  });

  test("finetune and evaluate: shapes, the shared training fields, extra_data items, benchmark paths, model keywords", () => {
    expect(problemsOf({
      finetune: { enabled: true, steps: 4, warmup_steps: 9, lr: 0, extra_data: [{ json: "a.json" }, "b.json"], lora: { r: 0 } },
      evaluate: { benchmarks: { pope: 3 }, options: [], model: "" },
    })).toEqual([
      "finetune.extra_data[0].images: expected a path, got null",
      'finetune.extra_data[1]: expected a mapping with json, images, got "b.json"',
      "finetune.lr: expected a number > 0, got 0",
      "finetune.lora.r: expected an integer >= 1, got 0",
      "evaluate.benchmarks.pope: expected a path, got 3",
      'evaluate.model: expected finetuned, generator, base, target or a path or null, got ""',
      "evaluate.options: expected a mapping of names to non-empty strings, got a list []",
      "finetune.warmup_steps: expected at most finetune.steps (4), got 9",
    ]);
    expect(problemsOf({ evaluate: { model: "finetuned", benchmarks: { pope: "p" } } })).toEqual([
      'evaluate.model: expected generator, base, target or a checkpoint folder while finetune.enabled is false (nothing is fine-tuned), got "finetuned"',
    ]);
    expect(problemsOf({ evaluate: { model: "target", benchmarks: { pope: "p" } } })).toEqual([
      'evaluate.model: "target" evaluates finetune.model_dir untuned, but finetune.model_dir is not set',
    ]);
    const r = resolveDocument(
      { finetune: { enabled: true, epochs: 2, extra_data: [{ json: "x/a.json", images: "x/img" }] }, evaluate: { benchmarks: { pope: "pope" }, model: "base" } },
      { configDir: "/cfg", checkFiles: false },
    );
    expect(r.problems).toEqual([]);
    expect(r.config!.finetune).toMatchObject({ steps: null, epochs: 2, lr: 2e-5, model_dir: null, seed: null, extra_data: [{ json: "/cfg/x/a.json", images: "/cfg/x/img" }] });
    expect(r.config!.evaluate).toEqual({ benchmarks: { pope: "/cfg/pope" }, model: "base", untuned: false, options: {}, max_new_tokens: 16 });
    const path = resolveDocument({ evaluate: { model: "ckpt" } }, { configDir: "/cfg", checkFiles: false });
    expect(path.config!.evaluate.model).toBe("/cfg/ckpt");
  });

  test("a top level that is not a mapping", () => {
    expect(problemsOf([1, 2])).toEqual(["(top level): expected a mapping of sections, got a list [1,2]"]);
  });

  test("the empty document is the all-defaults config, which is valid", () => {
    const r = resolveDocument({}, { configDir: "/tmp", cwd: "/work" });
    expect(r.problems).toEqual([]);
    expect(r.config!.generation.k).toBe(5);
    expect(r.config!.runs_dir).toBe("/work/runs");
  });
});
