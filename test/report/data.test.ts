// The report's data extraction: CSV escaping, histogram bins, CDF points, gallery picks, config diff, counts, thresholds, HTML escaping.
import { describe, expect, test } from "@jest/globals";
import { csvField, toCsv } from "../../orchestrator/render/csv.js";
import { galleryRows } from "../../orchestrator/report/gallery.js";
import { escapeHtml } from "../../orchestrator/render/html.js";
import { scriptJson } from "../../orchestrator/report/html.js";
import { binEdges, cdfPoints, histogram, histRows, i2cSeries, scoringPasses, thresholdRows } from "../../orchestrator/report/i2c.js";
import { uniqueLabels } from "../../orchestrator/report/load.js";
import { stageKind } from "../../orchestrator/report/stages.js";
import { configDiffRows, funnelRows, metricRows, timelineRows } from "../../orchestrator/report/tables.js";
import { trainingRows } from "../../orchestrator/report/training.js";
import { parseCsv } from "../runs/helpers.js";
import { reportRun, state } from "./fake-run.js";

describe("CSV", () => {
  test("fields with commas, quotes, CR or LF are quoted with quotes doubled; blanks for null and non-finite", () => {
    expect(csvField("plain")).toBe("plain");
    expect(csvField("a,b")).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField("two\nlines")).toBe('"two\nlines"');
    expect(csvField("cr\rhere")).toBe('"cr\rhere"');
    expect([csvField(null), csvField(undefined), csvField(Number.NaN), csvField(Infinity)]).toEqual(["", "", "", ""]);
    expect([csvField(0), csvField(-1.5e-7), csvField(true)]).toEqual(["0", "-1.5e-7", "true"]);
  });

  test("a table parses back to the same cells, columns in the given order", () => {
    const rows = [{ b: 'q: "where?", a: left', a: 1 }, { a: null, b: "x\ny", c: "ignored" }];
    const text = toCsv(["a", "b"], rows);
    expect(text.endsWith("\n")).toBe(true);
    expect(parseCsv(text)).toEqual([["a", "b"], ["1", 'q: "where?", a: left'], ["", "x\ny"]]);
  });
});

describe("I2C histogram", () => {
  test("edges span all series with the Rice rule, clamped to 8–40 bins", () => {
    const edges = binEdges([{ values: [0, 1] }, { values: [-1, 3] }]);
    expect(edges).toHaveLength(9); // 2 values per series: 8 bins (the floor)
    expect(edges[0]).toBe(-1);
    expect(edges.at(-1)).toBe(3);
    expect(edges[1]).toBeCloseTo(-0.5);
    const many = binEdges([{ values: Array.from({ length: 1000 }, (_, i) => i) }]);
    expect(many).toHaveLength(21); // round(2 * cbrt(1000)) = 20 bins
    expect(binEdges([{ values: Array.from({ length: 1e6 }, (_, i) => i % 7) }])).toHaveLength(41); // capped at 40
  });

  test("one distinct value gets a unit-wide range; no values, no edges", () => {
    expect(binEdges([{ values: [2, 2, 2] }])).toEqual([1.5, 1.625, 1.75, 1.875, 2, 2.125, 2.25, 2.375, 2.5]);
    expect(binEdges([{ values: [] }])).toEqual([]);
    expect(histogram([1, 2], [])).toEqual([]);
  });

  test("bins are [lo, hi) except the last, which holds its upper edge; values outside are not counted", () => {
    const edges = [0, 1, 2, 3];
    expect(histogram([0, 0.999, 1, 2.5, 3], edges)).toEqual([2, 1, 2]);
    expect(histogram([-0.1, 3.1, Number.NaN], edges)).toEqual([0, 0, 0]);
  });

  test("values on floating-point edges land in the bin that starts there", () => {
    const edges = binEdges([{ values: [-1.831, -1.417] }]); // (edge - lo) / width * 8 gives 0.999… for edges 1–4
    const counts = histogram(edges.slice(0, -1), edges);
    expect(counts).toEqual(new Array(8).fill(1));
  });

  test("rows carry each bin's share of its series", () => {
    const rows = histRows([{ run: "a", pass: "r0-score", values: [0, 0, 1, 4] }], [0, 2, 4]);
    expect(rows).toEqual([
      { run: "a", pass: "r0-score", bin: 0, lo: 0, hi: 2, count: 3, share: 0.75 },
      { run: "a", pass: "r0-score", bin: 1, lo: 2, hi: 4, count: 1, share: 0.25 },
    ]);
  });
});

describe("I2C CDF and thresholds", () => {
  test("CDF points are the sorted values with their share ≤; long series keep first and last at evenly spaced ranks", () => {
    expect(cdfPoints([3, 1, 2, 2])).toEqual([[1, 0.25], [2, 0.5], [2, 0.75], [3, 1]]);
    const big = cdfPoints(Array.from({ length: 10_001 }, (_, i) => 10_000 - i), 11);
    expect(big).toHaveLength(11);
    expect(big[0]).toEqual([0, 1 / 10_001]);
    expect(big[5]).toEqual([5000, 5001 / 10_001]);
    expect(big.at(-1)).toEqual([10_000, 1]);
  });

  test("scoring passes in pipeline order; series keep finite I2C only; thresholds tie to their round's pass", () => {
    const a = reportRun("a", {
      states: [state("rescore", 1, {}), state("r0-score", 1, {}), state("r0-select", 0, {}, { threshold: 0.05 }), state("r1-select", 0, {}, { threshold: "x" })],
      samples: { "r0-score": [{ id: "1", i2c: 0.5 }, { id: "2", i2c: null }, { id: "3", i2c: -1 }] as never[] },
    });
    a.stages = ["r0-score", "r0-select", "r1-select", "rescore"];
    const b = reportRun("b", { states: [state("r1-score", 1, {})] });
    expect(scoringPasses([a, b])).toEqual(["r0-score", "r1-score", "rescore"]);
    expect(i2cSeries([a], ["r0-score"])).toEqual([{ run: "a", pass: "r0-score", values: [0.5, -1] }]);
    expect(thresholdRows([a])).toEqual([{ run: "a", stage: "r0-select", pass: "r0-score", threshold: 0.05 }]);
  });
});

describe("gallery", () => {
  const scores = [0.9, -0.2, 0.4, 0.1, 0.7].map((i2c, i) => ({
    id: `img-${i}#0`, image_id: `img-${i}`, question: `q${i}`, answer: `a${i}`, logp_with_image: -1, logp_without_image: -1 - i2c, i2c,
  }));
  const run = reportRun("a", {
    states: [state("r0-score", 1, {}), state("rescore", 1, {}), state("filter", 0, {})],
    samples: { "r0-score": [{ id: "old#0", i2c: 99 }] as never[], rescore: [...scores, { id: "bad#0", i2c: null }] as never[], filter: [{ id: "img-0#0" }, { id: "img-2#0" }] },
  });

  test("top-k and bottom-k of the last scoring pass, ranked by I2C, with the filter's decision", () => {
    const rows = galleryRows([run], 2);
    expect(rows.map((r) => [r.id, r.group, r.rank, r.kept])).toEqual([
      ["img-0#0", "top", 1, true], ["img-4#0", "top", 2, false], ["img-3#0", "bottom", 4, false], ["img-1#0", "bottom", 5, false],
    ]);
    expect(rows[0]).toMatchObject({ pass: "rescore", image_id: "img-0", question: "q0", answer: "a0", logp_with_image: -1, i2c: 0.9 });
  });

  test("fewer than 2k pairs: each listed once, as top when in both; no filter stage: kept unknown", () => {
    const rows = galleryRows([run], 4);
    expect(rows.map((r) => r.group)).toEqual(["top", "top", "top", "top", "bottom"]);
    const noFilter = reportRun("b", { states: [state("r0-score", 1, {})], samples: { "r0-score": scores as never[] } });
    expect(galleryRows([noFilter], 1).map((r) => r.kept)).toEqual([null, null]);
  });
});

describe("tables", () => {
  test("timeline: seconds and throughput in the stage kind's unit", () => {
    const run = reportRun("a", { states: [state("r0-generate", 4, { images: 12, pairs: 36 }), state("rescore", 0.5, { scored: 36, pairs: 36 }), state("odd", 0, {})] });
    expect(timelineRows([run]).map((r) => [r.stage, r.seconds, r.items, r.unit, r.per_second])).toEqual([
      ["r0-generate", 4, 12, "images", 3], ["rescore", 0.5, 36, "pairs", 72], ["odd", 0, null, null, null],
    ]);
    expect([stageKind("r12-contrast"), stageKind("regenerate"), stageKind("rescore"), stageKind("r0-eval")]).toEqual(["contrast", "generate", "score", null]);
  });

  test("config diff: only keys that differ (absent counts), each run beside the first run's value", () => {
    const a = reportRun("a", { config: { scoring: { estimator: "kl", span: "answer" }, seed: 0 } });
    const b = reportRun("b", { config: { scoring: { estimator: "logratio", span: "answer" }, seed: 0, extra: true } });
    expect(configDiffRows([a, b])).toEqual([
      { key: "extra", run: "a", value: undefined, baseline: undefined },
      { key: "extra", run: "b", value: true, baseline: undefined },
      { key: "scoring.estimator", run: "a", value: "kl", baseline: "kl" },
      { key: "scoring.estimator", run: "b", value: "logratio", baseline: "kl" },
    ]);
    expect(configDiffRows([a])).toEqual([]);
  });

  test("funnel per round and final pass: generated, parsed, unparseable, failed, selected, kept", () => {
    const run = reportRun("a", { states: [
      state("r0-generate", 1, { generated: 12, pairs: 30, unparseable: 2, failed: 1 }), state("r0-score", 1, { failed: 2 }), state("r0-select", 0, { images: 9, negatives: 15 }),
      state("regenerate", 1, { generated: 12, pairs: 36, unparseable: 0, failed: 0 }), state("rescore", 1, { failed: 0 }), state("filter", 0, { kept: 20 }),
    ] });
    expect(funnelRows([run])).toEqual([
      { run: "a", pass: "r0", generated: 12, pairs: 30, unparseable: 2, failed: 3, positives: 9, negatives: 15, kept: null },
      { run: "a", pass: "final", generated: 12, pairs: 36, unparseable: 0, failed: 0, positives: null, negatives: null, kept: 20 },
    ]);
  });

  test("training rows in micro order with failed micro-batches kept as nulls; metrics with their protocol", () => {
    const run = reportRun("a", {
      states: [state("r0-contrast", 1, {})],
      samples: { "r0-contrast": [
        { id: "m1", micro: 1, step: 2, loss: null, failed: "worker died" },
        { id: "m0", micro: 0, step: 1, loss: 1.5, loss_lm: 1.2, loss_cl: 3, lr: 1e-4, grad_norm: 2 },
      ] as never[] },
      metrics: { "pope/accuracy": 0.8, plain: 1 },
    });
    expect(trainingRows([run]).map((r) => [r.micro, r.loss, r.lr, r.failed])).toEqual([[0, 1.5, 1e-4, null], [1, null, null, "worker died"]]);
    expect(metricRows([run])).toEqual([{ run: "a", metric: "pope/accuracy", protocol: "pope", value: 0.8 }, { run: "a", metric: "plain", protocol: "", value: 1 }]);
  });

  test("runs sharing a label are told apart by id", () => {
    const runs = [reportRun("x", {}), reportRun("x", {}), reportRun("y", {})];
    runs[1]!.id = "other-id";
    uniqueLabels(runs);
    expect(runs.map((r) => r.label)).toEqual(["x (20260101-000000-abcdef-x)", "x (other-id)", "y"]);
  });
});

describe("HTML escaping", () => {
  test("text is escaped; embedded JSON cannot close its script element", () => {
    expect(escapeHtml(`<b a="1">'&'</b>`)).toBe("&lt;b a=&quot;1&quot;&gt;&#39;&amp;&#39;&lt;/b&gt;");
    const json = scriptJson({ q: "</script><script>alert(1)</script>", s: "\u2028" });
    expect(json).not.toMatch(/<\/?script/i);
    expect(JSON.parse(json)).toEqual({ q: "</script><script>alert(1)</script>", s: "\u2028" });
  });
});
