// Re-scoring saved predictions: routing lines to benchmarks, options with "did you mean", and the results file.
import { describe, expect, test } from "@jest/globals";
import { join } from "node:path";
import { EvalInputError } from "../../orchestrator/eval/errors.js";
import { SKIP_NO_JUDGE } from "../../orchestrator/eval/llava-bench.js";
import { scoreSavedPredictions } from "../../orchestrator/eval/offline.js";
import { getBenchmark, resolveOptions } from "../../orchestrator/eval/registry.js";
import { summarizeResults } from "../../orchestrator/eval/results.js";
import { MMBENCH_HEADER, mmbenchRows, tempDir, writeJsonl, writeLlavaBench, writePopeFolder, writeSeed, writeTsv } from "./fixtures.js";

describe("registry", () => {
  test("benchmarks by name, aliases, and 'did you mean' for a typo", () => {
    expect(getBenchmark("mmbench").name).toBe("mmbench");
    expect(getBenchmark("SEED-Bench").name).toBe("seed");
    expect(() => getBenchmark("mmbenhc")).toThrow(/unknown benchmark "mmbenhc" \(did you mean mmbench\?\); known: pope, seed, mmbench, llava-bench/);
    expect(() => getBenchmark("llava-bnech")).toThrow(/did you mean llava-bench\?/);
    expect(() => getBenchmark("gqa")).toThrow(EvalInputError);
  });

  test("options: defaults, values checked, paths made absolute, typos suggested", () => {
    const o = resolveOptions(["mmbench", "pope"], ["mmbench.mode=single", "pope.annotations=rel/dir"]);
    expect(o.get("mmbench")).toEqual({ mode: "single", protocol: "generation" });
    expect(o.get("pope")!.annotations).toBe(join(process.cwd(), "rel/dir"));
    expect(resolveOptions(["seed"], []).get("seed")).toEqual({ protocol: "generation", images: null });
    expect(() => resolveOptions(["mmbench"], ["mmbench.mdoe=single"])).toThrow(/mmbench has no option "mdoe" \(did you mean mode\?\)/);
    expect(() => resolveOptions(["mmbench"], ["mmbench.mode=circluar"])).toThrow(/expected one of circular, single, got "circluar" \(did you mean circular\?\)/);
    expect(() => resolveOptions(["mmbench"], ["seed.protocol=likelihood"])).toThrow(/seed is not being scored/);
    expect(() => resolveOptions(["mmbench"], ["mode=single"])).toThrow(/expected BENCH\.KEY=VALUE/);
  });
});

describe("scoreSavedPredictions", () => {
  const dir = tempDir();
  const popeDir = writePopeFolder(join(dir, "coco"));
  const tsv = writeTsv(join(dir, "mmbench.tsv"), MMBENCH_HEADER, mmbenchRows());
  const seedFile = writeSeed(join(dir, "seed.json"));
  const benches = [{ name: "pope", path: popeDir }, { name: "mmbench", path: tsv }];

  test("one shared file routed by `bench`; other benchmarks' lines ignored; results carry protocol, versions, per-question records", async () => {
    const shared = writeJsonl(join(dir, "shared.jsonl"), [
      { bench: "mmbench", question_id: 0, prediction: "B" },
      { bench: "pope", split: "random", question_id: 0, prediction: "Yes" },
      { bench: "seed", question_id: "101", prediction: "A" }, // seed is not being scored
      { bench: "mmbench", question_id: 1, prediction: "A" },
      { bench: "mmbench", question_id: 2, prediction: "C" },
    ]);
    const warnings: string[] = [];
    const results = await scoreSavedPredictions({ benches, predictions: [{ bench: null, path: shared }], options: ["mmbench.mode=single"], warn: (m) => warnings.push(m), now: new Date("2025-03-01T00:00:00Z") });
    expect(results).toMatchObject({ format: "c3l-eval-results", format_version: 1, created_at: "2025-03-01T00:00:00.000Z", model: null, source: { kind: "predictions", ignored_lines: 1 } });
    expect(results.versions).toMatchObject({ c3l: expect.any(String), node: process.version });
    const mm = results.benchmarks.mmbench!;
    expect(mm).toMatchObject({ status: "scored", scorer_version: 1, headline: { metric: "accuracy", value: 100 }, options: { mode: "single" }, protocol: { mode: "single" } });
    expect(mm.metrics.accuracy).toEqual({ value: 100, higher_is_better: true, version: 1, unit: "%" });
    expect(mm.per_question).toHaveLength(3);
    expect(mm.data.files[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(results.benchmarks.pope!.counts).toMatchObject({ matched: 1, missing: 9 });
    expect(warnings).toContain("1 prediction lines belong to benchmarks not being scored; ignored");
    expect(warnings.some((w) => w.startsWith("pope: random: 5 of 6 questions have no prediction"))).toBe(true);
    const summary = summarizeResults(results) as { benchmarks: Record<string, { metrics: Record<string, number> }> };
    expect(summary.benchmarks.mmbench!.metrics["category.color.accuracy"]).toBe(100);
  });

  test("NAME=FILE routing; a line whose bench disagrees; a line without bench among several benchmarks; a misspelt bench in a line", async () => {
    const mm = writeJsonl(join(dir, "mm.jsonl"), [{ question_id: 0, rotation: 0, prediction: "B" }]);
    const r = await scoreSavedPredictions({ benches, predictions: [{ bench: "mmbench", path: mm }] });
    expect(r.benchmarks.mmbench!.counts.matched).toBe(1);

    const wrong = writeJsonl(join(dir, "wrong.jsonl"), [{ bench: "pope", question_id: 0, split: "random", prediction: "B" }]);
    await expect(scoreSavedPredictions({ benches, predictions: [{ bench: "mmbench", path: wrong }] })).rejects.toThrow(/wrong\.jsonl:1: bench "pope", but this file is given as mmbench predictions/);

    const unnamed = writeJsonl(join(dir, "unnamed.jsonl"), [{ question_id: 0, prediction: "B" }]);
    await expect(scoreSavedPredictions({ benches, predictions: [{ bench: null, path: unnamed }] })).rejects.toThrow(/unnamed\.jsonl:1: no `bench` field, and several benchmarks are being scored \(pope, mmbench\)/);

    const typo = writeJsonl(join(dir, "typo.jsonl"), [{ bench: "mmbenhc", question_id: 0, prediction: "B" }]);
    await expect(scoreSavedPredictions({ benches, predictions: [{ bench: null, path: typo }] })).rejects.toThrow(/typo\.jsonl:1: unknown benchmark "mmbenhc" \(did you mean mmbench\?\)/);

    await expect(scoreSavedPredictions({ benches: [...benches, { name: "pope", path: popeDir }], predictions: [{ bench: null, path: mm }] })).rejects.toThrow(/--bench pope is given twice/);
  });

  test("a single benchmark takes lines without a bench field; LLaVA-Bench without a judge is skipped, with reviews it is scored", async () => {
    const s = writeJsonl(join(dir, "seed.jsonl"), [{ question_id: "101", prediction: "A" }]);
    const r = await scoreSavedPredictions({ benches: [{ name: "seed", path: seedFile }], predictions: [{ bench: null, path: s }] });
    expect(r.benchmarks.seed!.headline).toEqual({ metric: "accuracy", value: 25 });

    const lb = writeLlavaBench(join(dir, "llava-bench"));
    const answers = writeJsonl(join(dir, "lb.jsonl"), [0, 1, 2, 3].map((id) => ({ question_id: id, text: "an answer" })));
    const warnings: string[] = [];
    const skipped = await scoreSavedPredictions({ benches: [{ name: "llava-bench", path: lb }], predictions: [{ bench: null, path: answers }], warn: (m) => warnings.push(m) });
    expect(skipped.benchmarks["llava-bench"]).toMatchObject({ status: "skipped", headline: null, metrics: {}, skip_reason: SKIP_NO_JUDGE });
    expect(warnings[0]).toMatch(/^llava-bench: skipped: LLaVA-Bench is scored by a judge model/);

    const reviews = writeJsonl(join(dir, "reviews.jsonl"), [0, 1, 2, 3].map((id) => ({ question_id: id, tuple: [8, 4 + id] })));
    const judged = await scoreSavedPredictions({ benches: [{ name: "llava-bench", path: lb }], predictions: [{ bench: null, path: answers }], options: [`llava-bench.reviews=${reviews}`] });
    expect(judged.benchmarks["llava-bench"]!.headline).toEqual({ metric: "relative_score", value: (100 * 5.5) / 8 });
  });
});
