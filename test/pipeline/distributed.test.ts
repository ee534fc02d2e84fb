// The finetune stage trained by two gloo ranks under torchrun (distributed.nproc_per_node=2), with the
// built `c3l` command, real worker processes and the smoke config. A one-process run is the baseline;
// copies of it with their finetune outputs removed and the run's config switched to two ranks are
// resumed, so only finetune runs again: its losses match the one-process run's, and a run killed
// (SIGKILL) inside distributed finetune leaves no rank behind and resumes to the same losses.
import { beforeAll, describe, expect, test } from "@jest/globals";
import { execa } from "execa";
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SampleFile } from "../../orchestrator/runs/jsonl.js";
import { PROJECT_ROOT } from "../../orchestrator/worker/index.js";
import { waitFor } from "../worker/helpers.js";

const BIN = join(PROJECT_ROOT, "bin", "c3l.js");
const c3l = (args: string[], env: Record<string, string> = {}) =>
  execa("node", [BIN, ...args], { reject: false, env: { ...env }, cwd: PROJECT_ROOT, all: true });
// Two ranks pad and sum their shards differently from one process: float32 rounding, not bits.
const LOSS_RTOL = 1e-4;

let work: string;
let baseline: string;

const json = (path: string) => JSON.parse(readFileSync(path, "utf8"));

interface StepRecord { id: string; step: number; loss: number; loss_lm: number; loss_cl: number; failed: string | null }

function steps(runDir: string): StepRecord[] {
  const read = SampleFile.read(join(runDir, "samples", "finetune.jsonl"));
  expect(read.duplicates).toEqual([]); // replayed steps are not recorded twice
  return ([...read.records.values()] as unknown as StepRecord[]).sort((a, b) => (a.id < b.id ? -1 : 1));
}

function lines(runDir: string): number {
  const path = join(runDir, "samples", "finetune.jsonl");
  return existsSync(path) ? readFileSync(path, "utf8").split("\n").filter(Boolean).length : 0;
}

/** A copy of the baseline without its finetune outputs, its config set to train on two ranks. */
function distributedCopy(name: string): string {
  const dir = join(work, "runs", name);
  cpSync(baseline, dir, { recursive: true });
  for (const output of ["state/finetune.json", "samples/finetune.jsonl", "checkpoints/finetune", "models/finetune"]) {
    rmSync(join(dir, output), { recursive: true, force: true });
  }
  const config = json(join(dir, "config.json"));
  expect(config.distributed.nproc_per_node).toBe(1);
  config.distributed.nproc_per_node = 2;
  writeFileSync(join(dir, "config.json"), JSON.stringify(config, null, 2));
  const yaml = readFileSync(join(dir, "config.yaml"), "utf8");
  writeFileSync(join(dir, "config.yaml"), yaml.replace(/^(\s*nproc_per_node:) 1$/m, "$1 2"));
  return dir;
}

/** Pids of every process whose command line names `text` (the launcher and its ranks share the endpoint). */
function processesNaming(text: string): number[] {
  return readdirSync("/proc").filter((d) => /^\d+$/.test(d)).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(text);
    } catch {
      return false;
    }
  }).map(Number);
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "c3l-distributed-"));
  mkdirSync(join(work, "runs"));
  const config = join(work, "smoke.yaml");
  copyFileSync(join(PROJECT_ROOT, "configs", "smoke.yaml"), config);
  const r = await c3l(["run", config, `runs_dir=${join(work, "runs")}`, "contrast.steps=2", "finetune.enabled=true",
    "finetune.steps=4", "finetune.checkpoint_every=2", "--name", "one-process"]);
  if (r.exitCode !== 0) throw new Error(`baseline run failed:\n${r.all}`);
  baseline = JSON.parse(r.stdout).run_dir;
}, 300_000);

describe("finetune under torchrun (distributed.nproc_per_node=2, gloo)", () => {
  let distributed: StepRecord[] = [];

  test("two ranks train with the one-process run's losses and exit", async () => {
    const dir = distributedCopy("two-ranks");
    const r = await c3l(["resume", dir, "--force"]);
    expect(r.exitCode).toBe(0);
    expect(r.all).toMatch(/finetune: training on 2 ranks \(torchrun, gloo, ddp\)/);
    const log = readFileSync(join(dir, "worker-distributed.log"), "utf8");
    expect(log).toMatch(/rank1 c3l_worker\.distributed: rank 1 of 2/);
    expect(log).toMatch(/=== worker exited: \{"exitCode":0,"signal":null\}/); // shutdown: every rank exited cleanly
    expect(json(join(dir, "state", "finetune.json")).counts).toEqual(json(join(baseline, "state", "finetune.json")).counts);
    expect(readdirSync(join(dir, "checkpoints", "finetune")).filter((d) => d.startsWith("step-"))).toEqual(["step-00000002", "step-00000004"]);
    expect(existsSync(join(dir, "models", "finetune", "model.safetensors"))).toBe(true);

    distributed = steps(dir);
    const one = steps(baseline);
    expect(distributed.map((s) => [s.id, s.step, s.failed])).toEqual(one.map((s) => [s.id, s.step, s.failed]));
    const worst = Math.max(...distributed.map((s, i) => Math.abs(s.loss - one[i]!.loss) / Math.abs(one[i]!.loss)));
    process.stderr.write(`finetune losses, 2 ranks vs 1 process: max relative difference ${worst.toExponential(1)}\n`);
    expect(worst).toBeLessThan(LOSS_RTOL);
    for (const s of distributed) expect([s.loss_cl, s.loss]).toEqual([0, s.loss_lm]); // form none
  }, 180_000);

  test("killed inside distributed finetune: no rank outlives it, and resume gives the same losses", async () => {
    const dir = distributedCopy("two-ranks-killed");
    const child = c3l(["resume", dir, "--force"], { C3L_TEST_PAUSE_MS: "300" });
    let out = "";
    child.all!.on("data", (chunk: Buffer) => (out += chunk.toString()));
    expect(await waitFor(() => lines(dir) >= 3 || child.exitCode !== null, 180_000)).toBe(true);
    expect(child.exitCode).toBeNull();
    // the torchrun worker's endpoint: the last worker that got ready before training began on two ranks
    const before = out.slice(0, out.indexOf("training on 2 ranks"));
    const endpoint = [...before.matchAll(/ready on (ipc:\/\/\S+)/g)].pop()![1]!;
    const ranks = processesNaming(endpoint);
    expect(ranks.length).toBe(3); // the launcher and two ranks
    child.kill("SIGKILL");
    await child;
    expect(await waitFor(() => processesNaming(endpoint).length === 0, 20_000)).toBe(true);
    expect(json(join(dir, "state", "finetune.json")).status).toBe("running");

    const resumed = await c3l(["resume", dir, "--force"]);
    expect(resumed.exitCode).toBe(0);
    expect(resumed.all).toMatch(/finetune: continuing from \S*checkpoints\/finetune\/step-00000002/);
    expect(steps(dir)).toEqual(distributed); // two ranks resume exactly
  }, 240_000);
});
