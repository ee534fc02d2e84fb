// The pipeline's pure decisions: pseudo-labels, the final filter, LLaVA output, seeded chunks and orders.
import { describe, expect, test } from "@jest/globals";
import { filterTopPairs, toLlavaConversations } from "../../orchestrator/pipeline/filter.js";
import { chunk, chunkSeed, seededIndex, seededPermutation } from "../../orchestrator/pipeline/seeded.js";
import { conversationExamples } from "../../orchestrator/pipeline/stages/finetune.js";
import { defaultConfig, type C3lConfig } from "../../orchestrator/config/index.js";
import { compareStages, declarations, stageKind, stageSpecs, sortStages } from "../../orchestrator/pipeline/stages/index.js";
import { selectPseudoLabels, type ScoredPair } from "../../orchestrator/pipeline/select.js";

const pair = (image: string, n: number, i2c: number, question = `q${n}`, answer = `a${n}`): ScoredPair =>
  ({ id: `${image}#${n}`, image_id: image, question, answer, i2c });

describe("select", () => {
  test("positive is the top pair; negatives are the image's other pairs below the global quantile", () => {
    const pairs = [pair("a", 0, 0.9), pair("a", 1, 0.1), pair("a", 2, 0.5), pair("b", 0, 0.8), pair("b", 1, 0.7), pair("c", 0, 0.2)];
    const { selections, threshold, skipped_no_negative, skipped_single_pair } = selectPseudoLabels(pairs, 0.5);
    expect(threshold).toBeCloseTo(0.6); // median of 0.1 0.2 0.5 0.7 0.8 0.9
    expect(selections).toHaveLength(1);
    expect(selections[0]!.positive.id).toBe("a#0");
    expect(selections[0]!.negatives.map((p) => p.id)).toEqual(["a#2", "a#1"]);
    expect(skipped_no_negative).toBe(1); // b: 0.7 is above the threshold
    expect(skipped_single_pair).toBe(1); // c
  });

  test("ties are broken by id, not by input order", () => {
    const forward = selectPseudoLabels([pair("a", 0, 0.5), pair("a", 1, 0.5), pair("a", 2, -1)], 0.5);
    const backward = selectPseudoLabels([pair("a", 2, -1), pair("a", 1, 0.5), pair("a", 0, 0.5)], 0.5);
    expect(backward).toEqual(forward);
    expect(forward.selections[0]!.positive.id).toBe("a#0");
  });
});

describe("filter", () => {
  const pairs = [pair("a", 0, 3), pair("a", 1, 2, "q0", "a0"), pair("a", 2, 1), pair("b", 0, 2.5), pair("b", 1, 0)];
  test("keeps the top pairs by I2C under the budget, per-image cap and dedup", () => {
    const r = filterTopPairs(pairs, { budget: 3, per_image_cap: 1, dedup: true });
    expect(r.kept.map((p) => p.id)).toEqual(["a#0", "b#0"]);
    expect(r.dropped_duplicate).toBe(1);
    expect(r.dropped_cap).toBe(2);
    const all = filterTopPairs(pairs, { budget: 3, per_image_cap: null, dedup: false });
    expect(all.kept.map((p) => p.id)).toEqual(["a#0", "b#0", "a#1"]);
    expect(all.dropped_budget).toBe(2);
  });

  test("LLaVA records: one per image, <image> once in the first human turn", () => {
    const records = toLlavaConversations(filterTopPairs(pairs, { budget: 10, per_image_cap: null, dedup: true }).kept, (id) => `images/${id}.png`);
    expect(records.map((r) => r.id)).toEqual(["a", "b"]);
    const a = records[0]!;
    expect(a.image).toBe("images/a.png");
    expect(a.conversations[0]).toEqual({ from: "human", value: "<image>\nq0" });
    expect(a.conversations[1]).toEqual({ from: "gpt", value: "a0" });
    expect(a.conversations.filter((t) => t.value.includes("<image>"))).toHaveLength(1);
    expect(a.conversations.map((t) => t.from)).toEqual(["human", "gpt", "human", "gpt"]);
  });
});

describe("plans", () => {
  test("seeded choices are stable, spread, and depend on the seed", () => {
    const picks = Array.from({ length: 200 }, (_, i) => seededIndex(0, `img${i}`, 4));
    expect(new Set(picks).size).toBe(4);
    expect(picks).toEqual(Array.from({ length: 200 }, (_, i) => seededIndex(0, `img${i}`, 4)));
    expect(Array.from({ length: 200 }, (_, i) => seededIndex(1, `img${i}`, 4))).not.toEqual(picks);
    expect(chunkSeed(0, "r0-generate", 1)).not.toBe(chunkSeed(0, "r0-generate", 2));
  });

  test("chunks and permutations", () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    const perm = seededPermutation(10, 3, "epoch0");
    expect([...perm].sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    expect(seededPermutation(10, 3, "epoch0")).toEqual(perm);
    expect(seededPermutation(10, 3, "epoch1")).not.toEqual(perm);
  });

  test("stage plan repeats the first four stages per round", () => {
    expect(stageSpecs(configWith(2)).map((s) => s.name)).toEqual(["r0-generate", "r0-score", "r0-select", "r0-contrast", "r1-generate", "r1-score",
      "r1-select", "r1-contrast", "regenerate", "rescore", "filter"]);
  });
});

/** The default config on a folder of images and a local model (no builtin: no pretrain), or on the world; `rounds` and the optional stages chosen. */
function configWith(rounds: number, o: { finetune?: boolean; evaluate?: boolean; world?: boolean } = {}): C3lConfig {
  const c = defaultConfig();
  return {
    ...c, rounds,
    data: { ...c.data, root: o.world ? "builtin:world" : "/data", images: o.world ? null : "images" },
    generator: { ...c.generator, model_dir: o.world ? "builtin:world-generator" : "/models/llava" },
    finetune: { ...c.finetune, enabled: o.finetune ?? false },
    evaluate: { ...c.evaluate, benchmarks: o.evaluate ? { pope: "/bench/pope" } : {} },
  };
}

describe("stage declarations", () => {
  test("every stage reads only stages before it, and names what it writes", () => {
    const specs = stageSpecs(configWith(2));
    specs.forEach((spec, i) => {
      for (const input of spec.inputs) expect(specs.slice(0, i).map((s) => s.name)).toContain(input);
      expect(spec.outputs).toContain(`samples/${spec.name}.jsonl`);
    });
    expect(specs.at(-1)!.outputs).toContain("final/dataset.json");
  });

  test("finetune and evaluate follow filter, each only when configured", () => {
    const names = (o: { finetune: boolean; evaluate: boolean }) => stageSpecs(configWith(1, o)).map((s) => s.name).slice(7);
    expect(names({ finetune: false, evaluate: false })).toEqual([]);
    expect(names({ finetune: true, evaluate: false })).toEqual(["finetune"]);
    expect(names({ finetune: false, evaluate: true })).toEqual(["evaluate"]);
    const specs = stageSpecs(configWith(1, { finetune: true, evaluate: true }));
    expect(specs.slice(6).map((s) => s.name)).toEqual(["filter", "finetune", "evaluate"]);
    specs.forEach((spec, i) => {
      for (const input of spec.inputs) expect(specs.slice(0, i).map((s) => s.name)).toContain(input);
      expect(spec.outputs.some((o) => o.startsWith(`samples/${spec.name}`))).toBe(true);
    });
    expect(specs.find((s) => s.name === "finetune")!.outputs).toContain("models/finetune/");
    expect(specs.find((s) => s.name === "evaluate")!.outputs).toContain("eval/results.json");
  });

  test("a config naming a builtin starts with the pretrain setup stage; a world config grades after filter", () => {
    expect(stageSpecs({ ...defaultConfig(), rounds: 1 }).map((s) => s.name)[0]).toBe("pretrain"); // builtin:smoke
    const specs = stageSpecs(configWith(1, { world: true, finetune: true, evaluate: true }));
    expect(specs.map((s) => s.name)).toEqual(["pretrain", "r0-generate", "r0-score", "r0-select", "r0-contrast", "regenerate", "rescore", "filter", "grade", "finetune", "evaluate"]);
    expect(specs.filter((s) => s.declaration.setup).map((s) => s.name)).toEqual(["pretrain"]);
  });

  test("one declaration per stage: names are unique, and the order and kinds come from the declarations", () => {
    const names = declarations().map((d) => `${d.perRound ? "rN-" : ""}${d.name}`);
    expect(new Set(names).size).toBe(names.length);
    const all = stageSpecs(configWith(3, { world: true, finetune: true, evaluate: true })).map((s) => s.name);
    expect(sortStages([...all].reverse())).toEqual(all); // the run store's order is the pipeline's
    expect(sortStages(["zz-custom", "r10-generate", "r2-generate", "evaluate"])).toEqual(["r2-generate", "r10-generate", "evaluate", "zz-custom"]);
    expect(compareStages("pretrain", "r0-generate")).toBeLessThan(0);
    expect([stageKind("r4-score"), stageKind("rescore"), stageKind("regenerate"), stageKind("r0-contrast"), stageKind("nope")]).toEqual(["score", "score", "generate", "contrast", null]);
  });
});

describe("finetune examples", () => {
  test("one example per (human, gpt) turn pair, <image> stripped, images resolved, text-only records counted", () => {
    const records = [
      { id: "a", image: "imgs/a.png", conversations: [
        { from: "human", value: "<image>\nwhat colour ?" }, { from: "gpt", value: "red ." },
        { from: "human", value: "how many ?" }, { from: "gpt", value: " two " },
      ] },
      { id: "t", conversations: [{ from: "human", value: "hi" }, { from: "gpt", value: "hello" }] },
    ];
    const r = conversationExamples(records, "d.json", (image) => `/root/${image}`, "x:");
    expect(r.text_only).toBe(1);
    expect(r.examples).toEqual([
      { id: "x:a#0", image_path: "/root/imgs/a.png", context: "what colour ?", positive: "red .", negatives: [] },
      { id: "x:a#1", image_path: "/root/imgs/a.png", context: "how many ?", positive: "two", negatives: [] },
    ]);
    expect(() => conversationExamples([{ id: "b", image: "b.png", conversations: [{ from: "gpt", value: "x" }, { from: "human", value: "y" }] }], "d.json", (i) => i))
      .toThrow(/d\.json: record 0 \(id "b"\): turns 0 and 1/);
    expect(() => conversationExamples({}, "d.json", (i) => i)).toThrow(/d\.json: expected a JSON list/);
  });
});
