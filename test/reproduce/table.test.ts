// The reproduce table: mean ± sd (sample sd) over seeds per arm, from fixture run summaries.
import { describe, expect, test } from "@jest/globals";
import { buildTable, formatStat, meanSd, renderHtmlTable, renderMarkdownTable, type ArmRun } from "../../orchestrator/reproduce/table.js";

const arms = [{ name: "base", overrides: ["rounds=0", "final.rank_by=none"] }, { name: "c3l", overrides: ["rounds=1"] }, { name: "kl", overrides: ["scoring.estimator=kl"] }];
const run = (arm: string, seed: number, metrics: Record<string, number>): ArmRun => ({ arm, seed, run_id: `r-${arm}-${seed}`, metrics });
const runs = [
  run("base", 0, { "grade.final.grounded_share": 0.5, "grade.base.auroc_i2c": 0.7, "pope.f1": 60 }),
  run("base", 1, { "grade.final.grounded_share": 0.6, "grade.base.auroc_i2c": 0.8, "pope.f1": 62 }),
  run("base", 2, { "grade.final.grounded_share": 0.7, "grade.base.auroc_i2c": 0.75, "pope.f1": 64 }),
  run("c3l", 0, { "grade.final.grounded_share": 0.8, "pope.f1": 70 }),
  run("kl", 0, { "grade.base.auroc_i2c": 0.6 }),
  run("kl", 1, { "grade.base.auroc_i2c": 0.62 }),
];

describe("mean ± sd", () => {
  test("sample sd over seeds; one value has no sd; none has no mean", () => {
    const s = meanSd([0.5, 0.6, 0.7]);
    expect(s.mean).toBeCloseTo(0.6, 12);
    expect(s.sd).toBeCloseTo(0.1, 12); // sqrt(((-.1)^2 + 0 + .1^2) / 2)
    expect(meanSd([3])).toEqual({ mean: 3, sd: null, n: 1 });
    expect(meanSd([])).toEqual({ mean: null, sd: null, n: 0 });
  });

  test("the table aggregates per arm and formats shares as %", () => {
    const table = buildTable(arms, runs, { logratio: "base", kl: "kl" });
    const base = table.rows.find((r) => r.arm === "base")!;
    expect(base.seeds).toEqual([0, 1, 2]);
    expect(base.runs).toEqual(["r-base-0", "r-base-1", "r-base-2"]);
    expect(formatStat(base.stats["grade.final.grounded_share"], { scale: 100, digits: 1 })).toBe("60.0 ± 10.0");
    expect(formatStat(base.stats["pope.f1"], { scale: 1, digits: 1 })).toBe("62.0 ± 2.0");
    const c3l = table.rows.find((r) => r.arm === "c3l")!;
    expect(formatStat(c3l.stats["grade.final.grounded_share"], { scale: 100, digits: 1 })).toBe("80.0");
    expect(formatStat(c3l.stats["seed.accuracy"], { scale: 1, digits: 1 })).toBe("–");
    expect(table.estimators.kl!.mean).toBeCloseTo(0.61, 12);
    expect(table.estimators.logratio!.mean).toBeCloseTo(0.75, 12);

    const md = renderMarkdownTable(table);
    const lines = md.split("\n");
    expect(lines[0]).toMatch(/^\| arm \| seeds \| final pairs \| grounded % \(base generation\) \| grounded % \(after contrast\) \| malformed % \(after contrast\) \| grounded % \(filter only, same run\) \| grounded % \(final data\) \|/);
    expect(lines[2]).toMatch(/^\| base \| 3 \| – \| – \| – \| – \| – \| 60\.0 ± 10\.0 \|/);
    expect(md).toContain("I2C AUROC of the base generation by estimator: logratio 0.750 ± 0.050 (arm base), kl 0.610 ± 0.014 (arm kl)");
    const html = renderHtmlTable(table);
    expect(html).toContain("<td class=\"n\">60.0 ± 10.0</td>");
    expect(html).toContain('title="rounds=0 final.rank_by=none"');
  });
});
