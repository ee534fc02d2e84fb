import { describe, expect, test } from "@jest/globals";
import { buildComparison, formatNumber, loadCompareRun, type CompareRun } from "../../orchestrator/runs/compare.js";
import { renderComparison } from "../../orchestrator/runs/format.js";
import { RunFolder } from "../../orchestrator/runs/run-folder.js";
import { writeFixtureRuns } from "./fixture-runs.js";
import { parseCsv, tempDir } from "./helpers.js";

function run(id: string, tau: number, pairs: number, mean: number, seconds: number): CompareRun {
  return {
    id, name: id, status: "done",
    config: { seed: 0, contrast: { tau, lr: 1e-4 }, generation: { prompts: ["a", "b"] } },
    stages: { "r0-generate": { counts: { pairs, images: 10 }, seconds } },
    i2c: { "r0-score": { n: pairs, mean, q10: -0.1, q25: 0, q50: mean, q75: 1, q90: 1, share_below_0: 0.2 } },
    final_size: pairs, failed_samples: 0, metrics: {}, protocols: {},
  };
}

describe("comparison model", () => {
  test("a metric measured under different protocols is marked, gets no change, and is explained in a note", () => {
    const withEval = (id: string, f1: number, acc: number, seedProtocol: string): CompareRun => ({
      ...run(id, 0.1, 100, 0.4, 10), metrics: { "pope.f1": f1, "seed.accuracy": acc },
      protocols: { pope: { parse: "first sentence; no/not -> no" }, seed: { protocol: seedProtocol } },
    });
    const t = buildComparison([withEval("a", 0.8, 0.5, "generation"), withEval("b", 0.85, 0.6, "likelihood")]);
    const col = (key: string) => t.columns.find((c) => c.key === key)!;
    expect(col("metric.pope.f1").protocol_differs).toBeUndefined();
    expect(t.rows[1]?.changes["metric.pope.f1"]?.text).toBe("+0.05");
    expect(col("metric.seed.accuracy")).toMatchObject({ protocol_differs: true, change: null });
    expect(t.rows[1]?.changes["metric.seed.accuracy"]).toBeUndefined();
    expect(t.notes).toHaveLength(1);
    expect(t.notes[0]).toMatch(/metric\.seed\.accuracy †protocol differs[\s\S]*a: .*generation[\s\S]*b: .*likelihood/);
    const text = renderComparison(t, "table");
    expect(text.split("\n")[0]).toContain("metric.seed.accuracy †protocol differs");
    expect(text).not.toMatch(/0\.6 \(/); // no change shown beside it
  });

  test("config columns are the keys that differ; results always; changes against the baseline", () => {
    const t = buildComparison([run("a", 0.1, 100, 0.4, 10), run("b", 0.5, 125, 0.431, 10)]);
    const keys = t.columns.map((c) => c.key);
    expect(keys).toEqual([
      "run", "name", "status", "contrast.tau",
      "r0-generate.pairs", "r0-generate.images",
      "r0-score.i2c.mean", "r0-score.i2c.q10", "r0-score.i2c.q50", "r0-score.i2c.q90", "r0-score.i2c.share_below_0",
      "final_size", "failed_samples", "r0-generate.seconds", "total.seconds",
    ]);
    expect(t.baseline).toBe("a");
    expect(t.rows[0]?.changes).toEqual({});
    expect(t.rows[1]?.changes["contrast.tau"]?.text).toBe("+0.4");
    expect(t.rows[1]?.changes["r0-generate.pairs"]).toEqual({ abs: 25, rel: 0.25, text: "+25.0%" });
    expect(t.rows[1]?.changes["r0-score.i2c.mean"]?.text).toBe("+0.031");
    expect(t.rows[1]?.changes["r0-generate.images"]).toBeUndefined(); // equal: no change
  });

  test("--only-changed drops result columns equal in every run; --baseline moves the reference", () => {
    const t = buildComparison([run("a", 0.1, 100, 0.4, 10), run("b", 0.5, 125, 0.431, 10)], { onlyChanged: true, baselineIndex: 1 });
    expect(t.columns.map((c) => c.key)).toEqual(["run", "name", "status", "contrast.tau", "r0-generate.pairs", "r0-score.i2c.mean", "r0-score.i2c.q50", "final_size"]);
    expect(t.baseline).toBe("b");
    expect(t.rows[0]?.changes["r0-generate.pairs"]?.text).toBe("-20.0%");
    expect(t.rows[0]?.changes["r0-score.i2c.mean"]?.text).toBe("-0.031");
  });

  test("a relative change against 0 falls back to the absolute difference", () => {
    const t = buildComparison([{ ...run("a", 0.1, 0, 0, 1), final_size: 0 }, run("b", 0.1, 5, 0, 1)]);
    expect(t.rows[1]?.changes["final_size"]).toEqual({ abs: 5, rel: null, text: "+5" });
  });

  test("numbers keep 4 significant digits", () => {
    expect([formatNumber(0.41234), formatNumber(1234.56), formatNumber(120), formatNumber(-0.000012346)]).toEqual(["0.4123", "1235", "120", "-0.00001235"]);
  });
});

describe("comparison output formats", () => {
  const runsDir = tempDir();
  const { base, tau } = writeFixtureRuns(runsDir);
  const table = buildComparison([loadCompareRun(new RunFolder(base)), loadCompareRun(new RunFolder(tau))]);

  test("csv parses back to one row per run with the raw values and change columns", () => {
    const rows = parseCsv(renderComparison(table, "csv"));
    expect(rows).toHaveLength(3);
    const header = rows[0] as string[];
    expect(header.slice(0, 4)).toEqual(["baseline", "run", "name", "status"]);
    const at = (r: number, key: string) => rows[r]?.[header.indexOf(key)];
    expect(at(1, "baseline")).toBe("true");
    expect(at(2, "contrast.tau")).toBe("0.5");
    expect(at(2, "contrast.tau.change")).toBe("+0.4");
    expect(at(2, "scoring.estimator")).toBe("logratio");
    expect(at(2, "rescore.pairs.change")).toBe("+0.4%");
    expect(rows.every((r) => r.length === header.length)).toBe(true);
  });

  test("csv quotes commas and quotes so values survive a round trip", () => {
    const a = { ...run("a", 0.1, 1, 0, 1), config: { generation: { prompts: ['Ask, then answer "{k}"'] } } };
    const b = { ...run("b", 0.1, 1, 0, 1), config: { generation: { prompts: ["two\nlines"] } } };
    const rows = parseCsv(renderComparison(buildComparison([a, b]), "csv"));
    const col = (rows[0] as string[]).indexOf("generation.prompts");
    expect(rows[1]?.[col]).toBe(JSON.stringify(['Ask, then answer "{k}"']));
    expect(rows[2]?.[col]).toBe(JSON.stringify(["two\nlines"]));
    expect(rows).toHaveLength(3);
  });

  test("json is the comparison itself", () => {
    const parsed = JSON.parse(renderComparison(table, "json")) as typeof table;
    expect(parsed).toEqual(table);
    expect(parsed.rows[1]?.changes["r0-score.i2c.mean"]?.text).toBe("-0.114");
  });

  test("md is a Markdown table with numeric columns right-aligned", () => {
    const lines = renderComparison(table, "md").trimEnd().split("\n");
    expect(lines).toHaveLength(4);
    expect(lines.every((l) => l.startsWith("| ") || l.startsWith("|-"))).toBe(true);
    expect(lines[1]).toMatch(/^\|---\|---\|---\|---\|---:\|---\|---:\|/); // base run name status contrast.tau scoring.estimator r0-generate.images
    expect(lines[3]).toContain("| 0.5 (+0.4) |");
  });
});
