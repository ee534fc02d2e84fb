import { describe, expect, test } from "@jest/globals";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RunArgumentError } from "../../orchestrator/runs/errors.js";
import { buildManifest } from "../../orchestrator/runs/manifest.js";
import { createRun } from "../../orchestrator/runs/run-folder.js";
import { filterRuns, listRuns, parseRunFilter } from "../../orchestrator/runs/store.js";
import { BASE_ID, TAU_ID, writeFixtureRuns } from "./fixture-runs.js";
import { tempDir } from "./helpers.js";

describe("listRuns", () => {
  test("newest first, with status, stage, final size and the last scoring stage's mean I2C", () => {
    const runsDir = tempDir();
    writeFixtureRuns(runsDir);
    const runs = listRuns(runsDir);
    expect(runs.map((r) => r.id)).toEqual([TAU_ID, BASE_ID]);
    expect(runs[1]).toMatchObject({ name: "baseline", status: "done", stage: "filter", final_size: 500, i2c_mean: 0.455, i2c_stage: "rescore", problem: null });
    expect(listRuns(join(runsDir, "missing"))).toEqual([]);
  });

  test("a damaged or missing summary lists the run as unknown with the reason", () => {
    const runsDir = tempDir();
    writeFixtureRuns(runsDir);
    writeFileSync(join(runsDir, BASE_ID, "summary.json"), '{"run_id": "x", "sta');
    rmSync(join(runsDir, TAU_ID, "summary.json"));
    mkdirSync(join(runsDir, "not-a-run"));
    mkdirSync(join(runsDir, ".creating-20250101-000000-abcdef"));
    const runs = listRuns(runsDir);
    expect(runs.map((r) => [r.id, r.status])).toEqual([[TAU_ID, "unknown"], [BASE_ID, "unknown"]]);
    expect(runs[0]?.problem).toBe("summary.json is missing");
    expect(runs[0]?.name).toBe("tau05"); // from the id
    expect(runs[0]?.created_at).toBe("2025-03-01T11:30:00.000Z");
    expect(runs[1]?.problem).toMatch(/^summary.json is damaged: summary.json: not JSON|^summary.json is damaged/);
  });

  test("a running run whose process is gone is listed as stopped; a live one as running", () => {
    const runsDir = tempDir();
    const manifest = buildManifest({ argv: [], config: {}, seed: 0, device: "cpu", inputs: {}, repoDir: "/" });
    const run = createRun(runsDir, { configYaml: "seed: 0", configJson: { seed: 0 }, manifest });
    expect(listRuns(runsDir)[0]?.status).toBe("running");
    run.unlock();
    expect(listRuns(runsDir)[0]?.status).toBe("stopped");
  });
});

describe("run filters", () => {
  const runsDir = tempDir();
  writeFixtureRuns(runsDir);
  const all = listRuns(runsDir);
  const ids = (exprs: string[]) => filterRuns(all, exprs.map(parseRunFilter)).map((r) => r.id);

  test("fields, substrings, dotted config keys, numbers and summary keys", () => {
    expect(ids(["status=done"])).toEqual([TAU_ID, BASE_ID]);
    expect(ids(["name~BASE"])).toEqual([BASE_ID]);
    expect(ids(["config.scoring.estimator=kl"])).toEqual([BASE_ID]);
    expect(ids(["config.contrast.tau=0.50"])).toEqual([TAU_ID]); // numbers compare as numbers
    expect(ids(["config.contrast.tau>0.2", "status=done"])).toEqual([TAU_ID]);
    expect(ids(["summary.metrics.pope_f1>=0.82"])).toEqual([TAU_ID]);
    expect(ids(["summary.failed_samples!=0"])).toEqual([TAU_ID]);
    expect(ids(["config.no.such.key=1"])).toEqual([]);
    expect(ids(["i2c_mean<0.46"])).toEqual([BASE_ID]);
  });

  test("a malformed filter or an unknown key is a usage error", () => {
    expect(() => parseRunFilter("status")).toThrow(RunArgumentError);
    expect(() => parseRunFilter("colour=red")).toThrow(/unknown key "colour"/);
    expect(() => parseRunFilter("final_size>big")).toThrow(/needs a number/);
  });
});
