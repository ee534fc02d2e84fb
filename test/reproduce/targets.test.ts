// The reproduce file's worlds and targets: parsed with every problem named, and targets checked as
// paired differences over seeds (met when mean − sd clears the margin), on fixed inputs.
import { describe, expect, test } from "@jest/globals";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadPlan, runName } from "../../orchestrator/reproduce/plan.js";
import { armOverrides, planWorlds } from "../../orchestrator/reproduce/run.js";
import type { ArmRun } from "../../orchestrator/reproduce/table.js";
import { checkTargets, renderTargetsMarkdown } from "../../orchestrator/reproduce/targets.js";
import { spliceTable } from "../../orchestrator/reproduce/evidence.js";
import { tempDir } from "../worker/helpers.js";

function planFile(text: string): string {
  const file = join(tempDir("c3l-plan-"), "reproduce.yaml");
  writeFileSync(file, text);
  return file;
}

describe("reproduce worlds and targets", () => {
  test("worlds: one set of runs per world, named by it, its overrides before the arm's", () => {
    const plan = loadPlan(planFile(`base: q.yaml
arms: {base: [rounds=0], c3l: [rounds=1]}
worlds: {w0: [], w1: [world.seed=1]}
targets:
  - {name: gain, arm: c3l, than: base, metric: grade.final.grounded_share, margin: 0.2}
`));
    expect(plan.worlds).toEqual([{ name: "w0", overrides: [] }, { name: "w1", overrides: ["world.seed=1"] }]);
    expect(armOverrides(plan, plan.arms[1]!, 2, ["runs_dir=/r"], planWorlds(plan)[1])).toEqual(["world.seed=1", "rounds=1", "seed=2", "runs_dir=/r"]);
    expect(runName("c3l", 2, "w1")).toBe("repro-w1-c3l-s2");
    expect(runName("c3l", 2)).toBe("repro-c3l-s2"); // a plan without worlds keeps its run names
    expect(planWorlds(loadPlan(planFile("base: q.yaml\narms: {base: []}\n")))).toEqual([{ name: null, overrides: [] }]);
  });

  test("bad worlds and targets: every problem named by its key", () => {
    expect(() => loadPlan(planFile(`base: q.yaml
arms: {base: []}
worlds: {"W 1": [1]}
targets:
  - {name: x, arm: nope, than: also-nope, metric: "", margin: "big", extra: 1}
`))).toThrow(/worlds\.W 1: expected a name[\s\S]*worlds\.W 1: expected a list[\s\S]*targets\[0\]\.arm: expected one of the arms \(base\), got "nope"[\s\S]*targets\[0\]\.than[\s\S]*targets\[0\]\.metric[\s\S]*targets\[0\]\.margin[\s\S]*targets\[0\]\.extra: unknown key/);
  });

  test("a paired difference is met only when mean − sd clears the margin; an absolute target reads the arm alone", () => {
    const run = (arm: string, seed: number, share: number): ArmRun => ({ arm, seed, run_id: `${arm}${seed}`, metrics: { "grade.final.grounded_share": share } });
    const runs = [run("base", 0, 0.5), run("base", 1, 0.4), run("base", 2, 0.45), run("c3l", 0, 0.72), run("c3l", 1, 0.62), run("c3l", 2, 0.70)];
    const [gain, strict, absolute, single] = checkTargets([
      { name: "gain", arm: "c3l", than: "base", metric: "grade.final.grounded_share", margin: 0.2 },
      { name: "strict", arm: "c3l", than: "base", metric: "grade.final.grounded_share", margin: 0.23 },
      { name: "absolute", arm: "c3l", than: null, metric: "grade.final.grounded_share", margin: 0.6 },
      { name: "single", arm: "c3l", than: "base", metric: "pope.f1", margin: 0 },
    ].map((t) => ({ than_metric: null, at_most: false, ...t })), runs);
    expect(gain!.values).toEqual({ 0: expect.closeTo(0.22, 12), 1: expect.closeTo(0.22, 12), 2: expect.closeTo(0.25, 12) });
    expect(gain!.stat.mean).toBeCloseTo(0.23, 12);
    expect(gain!.met).toBe(true); // 0.23 − 0.0173 ≥ 0.2
    expect(strict!.met).toBe(false); // 0.23 − 0.0173 < 0.23
    expect(absolute!.met).toBe(true);
    expect(single!.met).toBeNull(); // no pope.f1 in these runs
    const md = renderTargetsMarkdown([gain!, single!]);
    expect(md).toContain("| gain | c3l − base: grade.final.grounded_share | 23.0 ± 1.7 | ≥ 20.0 (mean − sd) | **met** |");
    expect(md).toContain("| single | c3l − base: pope.f1 | – | ≥ 0.000 (mean − sd) | not measurable |");
  });

  test("than_metric compares two metrics of paired runs; at_most bounds from above with mean + sd", () => {
    const runs: ArmRun[] = [0, 1, 2].map((seed) => ({ arm: "c3l", seed, run_id: `c${seed}`, metrics: {
      "grade.base.grounded_share": 0.45, "grade.regenerate.grounded_share": 0.55 + seed * 0.01, "grade.final.malformed_share": 0.01 * seed } }));
    const [lift, malformed, loose] = checkTargets([
      { name: "lift", arm: "c3l", metric: "grade.regenerate.grounded_share", than: "c3l", than_metric: "grade.base.grounded_share", margin: 0.08, at_most: false },
      { name: "malformed", arm: "c3l", metric: "grade.final.malformed_share", than: null, than_metric: null, margin: 0.015, at_most: true },
      { name: "loose", arm: "c3l", metric: "grade.final.malformed_share", than: null, than_metric: null, margin: 0.03, at_most: true },
    ], runs);
    expect(lift!.stat.mean).toBeCloseTo(0.11, 12);
    expect(lift!.met).toBe(true);
    expect(malformed!.met).toBe(false); // mean + sd = 0.01 + 0.01 > 0.015
    expect(loose!.met).toBe(true);
    expect(renderTargetsMarkdown([lift!])).toContain("| lift | c3l: grade.regenerate.grounded_share − c3l: grade.base.grounded_share | 11.0 ± 1.0 |");
  });
});

describe("reproduce --evidence", () => {
  test("a world's table replaces its marked block, prose around it kept; a world without markers is appended", () => {
    const doc = "# Evidence\n\nintro\n\n<!-- c3l reproduce: w0 -->\nold table\n<!-- end c3l reproduce: w0 -->\n\nafter\n";
    const once = spliceTable(doc, "w0", "| new | table |\n");
    expect(once).toBe("# Evidence\n\nintro\n\n<!-- c3l reproduce: w0 -->\n| new | table |\n<!-- end c3l reproduce: w0 -->\n\nafter\n");
    expect(spliceTable(once, "w0", "| new | table |\n")).toBe(once); // idempotent
    const appended = spliceTable(once, "w1", "| w1 |");
    expect(appended.startsWith(once.trimEnd())).toBe(true);
    expect(appended.endsWith("<!-- c3l reproduce: w1 -->\n| w1 |\n<!-- end c3l reproduce: w1 -->\n")).toBe(true);
  });
});
