// c3l reproduce reuses finished runs: each arm × seed whose run (same name, same resolved config)
// is done is read back, not run again; a run of that name with another config is not reused.
import { describe, expect, test } from "@jest/globals";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configToJson, configToYaml, resolveConfig } from "../../orchestrator/config/index.js";
import { loadPlan, runName } from "../../orchestrator/reproduce/plan.js";
import { armOverrides, findRun, planWorlds, runPlan } from "../../orchestrator/reproduce/run.js";
import { buildManifest } from "../../orchestrator/runs/manifest.js";
import { createRun } from "../../orchestrator/runs/run-folder.js";
import { PROJECT_ROOT } from "../../orchestrator/worker/index.js";

/** A finished run folder as the pipeline leaves one: resolved config, summary done with metrics. */
function finishedRun(base: string, overrides: string[], name: string, metrics: Record<string, number>): string {
  const config = resolveConfig(base, overrides).config!;
  const json = JSON.parse(configToJson(config));
  const run = createRun(config.runs_dir, { name, configYaml: configToYaml(config), configJson: json, manifest: buildManifest({ argv: [], config: json, seed: config.seed, device: "cpu", inputs: {} }) });
  run.updateSummary({ status: "done", metrics });
  run.unlock();
  return run.id;
}

describe("reproduce", () => {
  test("configs/reproduce.yaml loads: base quickstart, three seeds, two worlds, the table's controls and C3L arms, valid in every world", () => {
    const plan = loadPlan(join(PROJECT_ROOT, "configs", "reproduce.yaml"));
    expect(plan.base).toBe(join(PROJECT_ROOT, "configs", "quickstart.yaml"));
    expect(plan.seeds).toEqual([0, 1, 2]);
    expect(plan.worlds.map((w) => w.name)).toEqual(["w0", "w1"]);
    expect(plan.arms.map((a) => a.name)).toEqual(expect.arrayContaining(["base", "random-filter", "i2c-filter", "c3l-preference", "i2c-filter-kl"]));
    expect(plan.targets.length).toBeGreaterThan(0);
    for (const world of planWorlds(plan)) {
      for (const arm of plan.arms) expect(resolveConfig(plan.base, armOverrides(plan, arm, 1, [], world)).problems).toEqual([]);
    }
  });

  test("a bad plan reports every problem at once", () => {
    const file = join(mkdtempSync(join(tmpdir(), "c3l-repro-")), "bad.yaml");
    writeFileSync(file, "seeds: [0, -1]\narms: {Bad Arm: [rounds=0], ok: 3}\nestimators: {kl: nope}\nextra: 1\n");
    expect(() => loadPlan(file)).toThrow(/extra: unknown key[\s\S]*base: expected[\s\S]*seeds: expected[\s\S]*arms\.Bad Arm: expected a name[\s\S]*arms\.ok: expected a list[\s\S]*estimators\.kl: expected one of the arms/);
  });

  test("finished runs with the same name and config are reused, not run again", async () => {
    const work = mkdtempSync(join(tmpdir(), "c3l-repro-"));
    const planFile = join(work, "plan.yaml");
    writeFileSync(planFile, `# test plan\nbase: ${join(PROJECT_ROOT, "configs", "quickstart.yaml")}\nseeds: [0, 1]\narms:\n  base: [rounds=0, final.rank_by=none]\n  c3l: [rounds=1]\n`);
    const plan = loadPlan(planFile);
    const extra = [`runs_dir=${join(work, "runs")}`];
    const ids: Record<string, string> = {};
    for (const arm of plan.arms) {
      for (const seed of plan.seeds) {
        ids[runName(arm.name, seed)] = finishedRun(plan.base, armOverrides(plan, arm, seed, extra), runName(arm.name, seed), { "grade.final.grounded_share": seed + (arm.name === "c3l" ? 0.5 : 0) });
      }
    }
    // a decoy: right name, another config (seed 7) — never reused for seed 0
    const decoy = finishedRun(plan.base, armOverrides(plan, plan.arms[0]!, 7, extra), runName("base", 0), {});
    expect(findRun(resolveConfig(plan.base, armOverrides(plan, plan.arms[0]!, 0, extra)).config!, runName("base", 0))?.id).toBe(ids["repro-base-s0"]);

    const lines: string[] = [];
    const { runs, actions } = await runPlan(plan, { extra, log: (l) => lines.push(l), launch: { argv: [] } });
    expect(Object.values(actions)).toEqual(["reused", "reused", "reused", "reused"]);
    expect(runs.map((r) => r.run_id)).toEqual([ids["repro-base-s0"], ids["repro-base-s1"], ids["repro-c3l-s0"], ids["repro-c3l-s1"]]);
    expect(runs.map((r) => r.run_id)).not.toContain(decoy);
    expect(runs.map((r) => r.metrics["grade.final.grounded_share"])).toEqual([0, 1, 0.5, 1.5]);
    expect(lines.filter((l) => l.includes("reusing finished run"))).toHaveLength(4);
  });
});
