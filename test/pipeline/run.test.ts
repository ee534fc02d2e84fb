// The pipeline as a user runs it: the built `c3l` command on the smoke config, real worker, real
// files. Kills and exact resume are the chaos suite's (test/pipeline/chaos.test.ts).
import { beforeAll, describe, expect, test } from "@jest/globals";
import { execa } from "execa";
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../orchestrator/worker/index.js";

const BIN = join(PROJECT_ROOT, "bin", "c3l.js");
const c3l = (args: string[], env: Record<string, string> = {}) =>
  execa("node", [BIN, ...args], { reject: false, env: { ...env }, cwd: PROJECT_ROOT, all: true });

let work: string;
let runsDir: string;
let config: string;
let baseline: string;

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
    expect(Object.keys(summary.stages)).toEqual(["pretrain", "r0-generate", "r0-score", "r0-select", "r0-contrast", "regenerate", "rescore", "filter"]);
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
    const steps = readdirSync(join(baseline, "checkpoints", "r0-contrast")).filter((d) => d.startsWith("step-"));
    expect(steps).toContain("step-00000006");
    expect(steps).toEqual(["step-00000004", "step-00000006"]); // saved every 2 steps; contrast.keep_last keeps the newest two
  });

  // Kills at random points (orchestrator and worker) with exact resume: test/pipeline/chaos.test.ts.
  test("resume refuses a run whose config file changed since it began, naming the key", async () => {
    const original = readFileSync(config, "utf8");
    writeFileSync(config, original.replace("k: 3", "k: 2"));
    try {
      const refused = await c3l(["resume", baseline]);
      expect(refused.exitCode).toBe(2);
      expect(refused.stderr).toMatch(/generation\.k/);
    } finally {
      writeFileSync(config, original);
    }
  }, 120_000);

  test("a run written before pretrain built builtin:smoke (no pretrain state) and before keep_last existed still resumes, redoing nothing, and compares", async () => {
    const old = baseline.replace(/-baseline$/, "-oldformat");
    cpSync(baseline, old, { recursive: true });
    rmSync(join(old, "state", "pretrain.json"));
    // Its config predates a key (left at its default by the config file): not a change to refuse.
    const config = JSON.parse(readFileSync(join(old, "config.json"), "utf8"));
    delete config.contrast.keep_last;
    delete config.finetune.keep_last;
    writeFileSync(join(old, "config.json"), JSON.stringify(config, null, 2));
    writeFileSync(join(old, "config.yaml"), readFileSync(join(old, "config.yaml"), "utf8").replace(/^ +keep_last: .*\n/gm, ""));
    const samples = readFileSync(join(old, "samples", "filter.jsonl"), "utf8");
    const resumed = await c3l(["resume", old]);
    expect(resumed.exitCode).toBe(0);
    expect(resumed.stderr).not.toMatch(/r0-generate: (starting|resuming)/); // the finished stages stay finished
    expect(readFileSync(join(old, "samples", "filter.jsonl"), "utf8")).toBe(samples);
    const table = await c3l(["compare", baseline, old, "--format", "csv"]);
    expect(table.exitCode).toBe(0);
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
