// The built `c3l` command as a user runs it (npm run setup builds dist/ first).
import { describe, expect, test } from "@jest/globals";
import { execa } from "execa";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../orchestrator/worker/index.js";
import { CI_PIPELINE } from "../pipeline/world-ci.js";

const c3l = (args: string[]) => execa("node", [join(PROJECT_ROOT, "bin", "c3l.js"), ...args], { reject: false });

describe("c3l command", () => {
  test("--help lists the commands with examples", async () => {
    const r = await c3l(["--help"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("c3l quickstart");
    expect(r.stdout).toContain("c3l hello");
    const sub = await c3l(["quickstart", "--help"]);
    expect(sub.stdout).toContain("Examples:");
  });

  test("an unknown command exits 2 with a pointer to --help", async () => {
    const r = await c3l(["bogus"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/Unknown argument: bogus[\s\S]*--help/);
  });

  test("quickstart runs configs/quickstart.yaml (here CI-sized) on the world, prints a summary and exits 0", async () => {
    const runsDir = mkdtempSync(join(tmpdir(), "c3l-quickstart-"));
    const r = await c3l(["quickstart", ...CI_PIPELINE, `runs_dir=${runsDir}`]);
    expect(r.stderr).toContain("quickstart: ok");
    expect(r.exitCode).toBe(0);
    const out = JSON.parse(r.stdout) as { status: string; final: string; final_size: number; counts: Record<string, unknown>; metrics: Record<string, number> };
    expect(out.status).toBe("done");
    expect(out.final_size).toBeGreaterThan(0);
    expect(existsSync(out.final)).toBe(true);
    expect(Object.keys(out.counts)).toEqual(expect.arrayContaining(["pretrain", "rescore", "grade", "finetune", "evaluate"]));
    // the story first, then the table
    expect(r.stderr).toMatch(/grounded share: base generation [\d.]+% → final data [\d.]+%[\s\S]*I2C AUROC[\s\S]*POPE F1 [\d.]+[\s\S]*every number of the run/);
    expect(r.stderr).toMatch(/metric\.grade\.final\.grounded_share\s+\d/); // the summary table
    expect(typeof out.metrics["pope.f1"]).toBe("number");
  }, 600_000);

  test("quickstart with a model directory that holds no model fails with exit 2, naming the path", async () => {
    const r = await c3l(["quickstart", "generator.model_dir=/no/model/here"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("/no/model/here");
  }, 120_000);
});
