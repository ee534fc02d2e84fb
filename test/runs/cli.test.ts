// `c3l runs` and `c3l compare` as a user runs them: the built command on real run folders.
import { describe, expect, test } from "@jest/globals";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../orchestrator/worker/python.js";
import { BASE_ID, TAU_ID, writeFixtureRuns } from "./fixture-runs.js";
import { c3l, parseCsv, tempDir } from "./helpers.js";

const GOLDEN = join(PROJECT_ROOT, "test", "runs", "golden");

/** Compares with test/runs/golden/NAME; UPDATE_GOLDEN=1 rewrites it (review the diff before committing). */
function expectGolden(name: string, actual: string): void {
  const path = join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN === "1") writeFileSync(path, actual);
  if (!existsSync(path)) throw new Error(`${path} is missing: run with UPDATE_GOLDEN=1 to write it, then review it`);
  expect(actual).toBe(readFileSync(path, "utf8"));
}

describe("c3l runs / compare", () => {
  const root = tempDir();
  const runsDir = join(root, "runs");
  writeFixtureRuns(runsDir);

  test("runs: one line per run, newest first; --filter narrows; json parses", async () => {
    const r = await c3l(["runs", "--runs-dir", runsDir]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe("");
    expectGolden("runs-table.txt", r.stdout + "\n");
    const lines = r.stdout.split("\n");
    expect(lines[2]).toMatch(new RegExp(`^${TAU_ID}\\s+tau05\\s+done\\s+filter`));

    const f = await c3l(["runs", "--runs-dir", runsDir, "--filter", "config.scoring.estimator=kl", "--format", "json"]);
    expect(f.exitCode).toBe(0);
    const listed = JSON.parse(f.stdout) as Array<{ id: string; i2c_mean: number }>;
    expect(listed.map((x) => x.id)).toEqual([BASE_ID]);
    expect(listed[0]?.i2c_mean).toBe(0.455);

    const bad = await c3l(["runs", "--runs-dir", runsDir, "--filter", "nonsense"]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toContain('--filter "nonsense": expected KEY=VALUE');
  });

  test("compare: the table is pinned by a golden file; names and prefixes work as run references", async () => {
    const r = await c3l(["compare", "baseline", "tau05", "--runs-dir", runsDir]);
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expectGolden("compare-table.txt", r.stdout + "\n");
    const byPrefix = await c3l(["compare", "20250301-1015", "20250301-1130", "--runs-dir", runsDir]);
    expect(byPrefix.stdout).toBe(r.stdout);
  });

  test("compare --only-changed --format md, --baseline, csv and json", async () => {
    const md = await c3l(["compare", BASE_ID, TAU_ID, "--only-changed", "--format", "md", "--runs-dir", runsDir]);
    expect(md.exitCode).toBe(0);
    expectGolden("compare-only-changed.md", md.stdout + "\n");
    expect(md.stdout).not.toContain("r0-generate.pairs"); // equal in both runs

    const csv = await c3l(["compare", "baseline", "tau05", "--baseline", "tau05", "--format", "csv", "--runs-dir", runsDir]);
    const rows = parseCsv(csv.stdout);
    const header = rows[0] as string[];
    expect(rows.map((row) => row[header.indexOf("baseline")])).toEqual(["baseline", "false", "true"]);
    expect(rows[1]?.[header.indexOf("rescore.i2c.mean.change")]).toBe("-0.031");

    const json = await c3l(["compare", "baseline", "tau05", "--format", "json", "--runs-dir", runsDir]);
    const parsed = JSON.parse(json.stdout) as { baseline: string; rows: Array<{ values: Record<string, unknown> }> };
    expect(parsed.baseline).toBe(BASE_ID);
    expect(parsed.rows[1]?.values["metric.pope_f1"]).toBe(0.826);
  });

  test("compare errors: unknown run and bad format exit 2 with nothing on stdout", async () => {
    const unknown = await c3l(["compare", "baseline", "nosuch", "--runs-dir", runsDir]);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stdout).toBe("");
    expect(unknown.stderr).toContain(`no run "nosuch" in ${runsDir}`);
    const ambiguous = await c3l(["compare", "baseline", "20250301", "--runs-dir", runsDir]);
    expect(ambiguous.exitCode).toBe(2);
    expect(ambiguous.stderr).toContain(`"20250301" matches 2 runs`);
    const format = await c3l(["compare", "baseline", "tau05", "--format", "xml", "--runs-dir", runsDir]);
    expect(format.exitCode).toBe(2);
    expect(format.stdout).toBe("");
    const one = await c3l(["compare", "baseline", "--runs-dir", runsDir]);
    expect(one.exitCode).toBe(2);
  });

  test("both commands have examples in --help", async () => {
    for (const cmd of ["runs", "compare"]) {
      const r = await c3l([cmd, "--help"]);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toContain("Examples:");
    }
  });
});

describe("c3l resume of a run another live process holds", () => {
  test("exits 2 (a run that cannot be resumed now), names the holder and says what to do", async () => {
    const runsDir = join(tempDir(), "runs");
    writeFixtureRuns(runsDir);
    // this jest process is alive and is not the c3l child: it holds the lock as far as c3l can tell
    writeFileSync(join(runsDir, BASE_ID, "lock"), JSON.stringify({ pid: process.pid, host: hostname(), started_at: "2025-03-01T10:15:00Z" }));
    const r = await c3l(["resume", BASE_ID, "--runs-dir", runsDir]);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`is in use by pid ${process.pid}`);
    expect(r.stderr).toContain(`kill ${process.pid}`);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});
