// The pipeline as a user runs it: the built `c3l` command on the smoke config, real worker, real
// files. A run killed (SIGKILL) inside generate, score, contrast and filter and resumed each time
// ends with exactly the data and scores of an uninterrupted run.
import { beforeAll, describe, expect, test } from "@jest/globals";
import { execa, type ResultPromise } from "execa";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SampleFile } from "../../orchestrator/runs/jsonl.js";
import { PROJECT_ROOT } from "../../orchestrator/worker/index.js";
import { alive, waitFor } from "../worker/helpers.js";

const BIN = join(PROJECT_ROOT, "bin", "c3l.js");
const c3l = (args: string[], env: Record<string, string> = {}) =>
  execa("node", [BIN, ...args], { reject: false, env: { ...env }, cwd: PROJECT_ROOT, all: true });

let work: string;
let runsDir: string;
let config: string;
let baseline: string;

/** The run folder a command created (the only new one in runs/). */
function newRun(before: string[]): string {
  const added = readdirSync(runsDir).filter((d) => !d.startsWith(".") && !before.includes(d));
  expect(added).toHaveLength(1);
  return join(runsDir, added[0]!);
}

function state(runDir: string, stage: string): { status: string } | null {
  const path = join(runDir, "state", `${stage}.json`);
  return existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : null;
}

function lines(runDir: string, stage: string): number {
  const path = join(runDir, "samples", `${stage}.jsonl`);
  return existsSync(path) ? readFileSync(path, "utf8").split("\n").filter(Boolean).length : 0;
}

function records(runDir: string, stage: string) {
  const read = SampleFile.read(join(runDir, "samples", `${stage}.jsonl`));
  expect(read.duplicates).toEqual([]); // nothing recorded twice
  return Object.fromEntries([...read.records.entries()].sort());
}

/** Kills `child` (SIGKILL) once `ready` holds; returns whether it was still running then. */
async function killWhen(child: ResultPromise, ready: () => boolean): Promise<boolean> {
  const hit = await waitFor(() => ready() || child.exitCode !== null, 120_000);
  if (!hit || child.exitCode !== null) return false;
  child.kill("SIGKILL");
  await child;
  return true;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "c3l-pipeline-"));
  runsDir = join(work, "runs");
  mkdirSync(runsDir);
  config = join(work, "smoke.yaml");
  copyFileSync(join(PROJECT_ROOT, "configs", "smoke.yaml"), config);
  const r = await c3l(["run", config, `runs_dir=${runsDir}`, "--name", "baseline"]);
  if (r.exitCode !== 0) throw new Error(`baseline run failed:\n${r.all}`);
  baseline = JSON.parse(r.stdout).run_dir;
}, 300_000);


describe("c3l run on the smoke config", () => {
  test("every stage finishes and the final dataset is LLaVA conversation JSON", () => {
    const summary = JSON.parse(readFileSync(join(baseline, "summary.json"), "utf8"));
    expect(summary.status).toBe("done");
    expect(Object.keys(summary.stages)).toEqual(["r0-generate", "r0-score", "r0-select", "r0-contrast", "regenerate", "rescore", "filter"]);
    expect(summary.final.size).toBeGreaterThan(0);
    const dataset = JSON.parse(readFileSync(join(baseline, "final", "dataset.json"), "utf8")) as { id: string; image: string; conversations: { from: string; value: string }[] }[];
    expect(dataset.reduce((n, r) => n + r.conversations.length / 2, 0)).toBe(summary.final.size);
    for (const record of dataset) {
      expect(record.conversations[0]!.value.startsWith("<image>\n")).toBe(true);
      expect(record.conversations.map((t) => t.from)).toEqual(record.conversations.map((_, i) => (i % 2 ? "gpt" : "human")));
    }
    expect(summary.i2c.rescore.n).toBeGreaterThan(0);
    const manifest = JSON.parse(readFileSync(join(baseline, "manifest.json"), "utf8"));
    expect(manifest.inputs.data.type).toBe("file"); // the smoke manifest, fingerprinted for resume
    expect(manifest.inputs.model.type).toBe("dir");
    expect(readdirSync(join(baseline, "checkpoints", "r0-contrast")).filter((d) => d.startsWith("step-"))).toContain("step-00000006");
  });

  test("killed inside generate, score, contrast and filter, then resumed: identical data and scores", async () => {
    const pause = { C3L_TEST_PAUSE_MS: "700" };
    const before = readdirSync(runsDir);
    const first = c3l(["run", config, `runs_dir=${runsDir}`, "--name", "killed"], pause);
    let runDir = "";
    const kills: string[] = [];
    const found = await waitFor(() => {
      const added = readdirSync(runsDir).filter((d) => !d.startsWith(".") && !before.includes(d));
      if (added.length) runDir = join(runsDir, added[0]!);
      return added.length > 0;
    }, 60_000);
    expect(found).toBe(true);
    if (await killWhen(first, () => lines(runDir, "r0-generate") >= 1)) kills.push("r0-generate");

    // A changed config is refused (naming the key), then the original config resumes.
    const original = readFileSync(config, "utf8");
    writeFileSync(config, original.replace("k: 3", "k: 2"));
    const refused = await c3l(["resume", runDir]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/generation\.k/);
    writeFileSync(config, original);

    for (const [stage, ready] of [
      ["r0-score", () => lines(runDir, "r0-score") >= 1],
      ["r0-contrast", () => lines(runDir, "r0-contrast") >= 2],
      ["filter", () => state(runDir, "filter")?.status === "running"],
    ] as const) {
      const child = c3l(["resume", runDir], pause);
      if (await killWhen(child, ready)) kills.push(stage);
    }
    const last = await c3l(["resume", runDir]);
    expect(last.exitCode).toBe(0);
    expect(kills).toEqual(["r0-generate", "r0-score", "r0-contrast", "filter"]);

    expect(readFileSync(join(runDir, "final", "dataset.json"), "utf8")).toBe(readFileSync(join(baseline, "final", "dataset.json"), "utf8"));
    for (const stage of ["r0-generate", "r0-score", "r0-select", "regenerate", "rescore", "filter"]) {
      expect(records(runDir, stage)).toEqual(records(baseline, stage));
    }
    const losses = (dir: string) => Object.values(records(dir, "r0-contrast")).map((r) => (r as unknown as { loss: number }).loss);
    expect(losses(runDir)).toEqual(losses(baseline));
    const summary = JSON.parse(readFileSync(join(runDir, "summary.json"), "utf8"));
    expect(summary.status).toBe("done");
    expect(JSON.parse(readFileSync(join(runDir, "state", "r0-generate.json"), "utf8")).attempts).toBe(2);
  }, 600_000);

  test("a worker killed mid-stage is restarted and the run still ends with identical data", async () => {
    const before = readdirSync(runsDir);
    const child = c3l(["run", config, `runs_dir=${runsDir}`, "--name", "workerdies"], { C3L_TEST_PAUSE_MS: "500" });
    let workerPid = 0;
    child.all!.on("data", (chunk: Buffer) => {
      const m = /worker pid (\d+) ready/.exec(chunk.toString());
      if (m && !workerPid) workerPid = Number(m[1]);
    });
    let runDir = "";
    await waitFor(() => {
      const added = readdirSync(runsDir).filter((d) => !d.startsWith(".") && !before.includes(d));
      if (added.length) runDir = join(runsDir, added[0]!);
      return added.length > 0 && lines(runDir, "r0-score") >= 1 && workerPid > 0;
    }, 120_000);
    process.kill(workerPid, "SIGKILL");
    const result = await child;
    expect(result.exitCode).toBe(0);
    expect(result.all).toMatch(/attempt 1\/3 failed: worker (was killed by SIGKILL|stopped answering)/);
    expect(alive(workerPid)).toBe(false);
    expect(newRun(before)).toBe(runDir);
    expect(readFileSync(join(runDir, "final", "dataset.json"), "utf8")).toBe(readFileSync(join(baseline, "final", "dataset.json"), "utf8"));
  }, 300_000);

  test("a sweep makes one run per value, and the runs compare in a table with the changed key", async () => {
    const r = await c3l(["run", config, `runs_dir=${runsDir}`, "--sweep", "scoring.estimator=kl,logratio", "--name", "sweep"]);
    expect(r.exitCode).toBe(0);
    const runs = r.stdout.trim().split("\n").map((line) => JSON.parse(line) as { run_id: string; overrides: string[] });
    expect(runs.map((x) => x.overrides)).toEqual([["scoring.estimator=kl"], ["scoring.estimator=logratio"]]);
    const table = await c3l(["compare", runs[0]!.run_id, runs[1]!.run_id, "--runs-dir", runsDir, "--format", "csv"]);
    expect(table.exitCode).toBe(0);
    expect(table.stdout.split("\n")[0]).toContain("scoring.estimator");
    expect(table.stdout).toMatch(/kl[\s\S]*logratio/);
  }, 300_000);

  test("unusable inputs stop the run before any run folder exists (exit 4)", async () => {
    const root = join(work, "broken-data");
    mkdirSync(join(root, "imgs"), { recursive: true });
    writeFileSync(join(root, "imgs", "a.png"), "not a png");
    const bad = join(work, "bad.yaml");
    writeFileSync(bad, `data:\n  root: ${root}\n  images: imgs\ngenerator:\n  model_dir: builtin:smoke-llava\nruns_dir: ${runsDir}\n`);
    const before = readdirSync(runsDir);
    const r = await c3l(["run", bad]);
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/a\.png.*cannot be decoded/);
    expect(readdirSync(runsDir)).toEqual(before);
  }, 120_000);
});
