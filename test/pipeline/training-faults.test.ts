// Faults in a training stage, on the shared training loop with a real worker and a tiny real model:
// a worker SIGKILLed mid-training, inside load_model at the stage start, inside load_checkpoint or
// while it writes the export; a checkpoint save that finds the disk full; a truncated file in the
// latest checkpoint. Each time the stage ends with the same step records and byte-identical
// exported weights as an uninterrupted run, and progress never passes its total. Faults come from the real worker with
// injected kills (test/fixtures/workers/faults.py).
import { beforeAll, describe, expect, test } from "@jest/globals";
import { copyFileSync, cpSync, existsSync, readdirSync, readFileSync, truncateSync, statSync } from "node:fs";
import { join } from "node:path";
import { resolveDocument, type C3lConfig } from "../../orchestrator/config/index.js";
import type { StageContext } from "../../orchestrator/pipeline/context.js";
import type { WorkerPool } from "../../orchestrator/worker/pool.js";
import { WorkerSession } from "../../orchestrator/worker/session.js";
import { trainAndExport, type StepRecord } from "../../orchestrator/pipeline/training-loop.js";
import type { TrainExample } from "../../orchestrator/protocol/index.js";
import { SampleFile } from "../../orchestrator/runs/jsonl.js";
import { buildManifest } from "../../orchestrator/runs/manifest.js";
import { createRun, type RunFolder } from "../../orchestrator/runs/run-folder.js";
import { WorkerReplyError } from "../../orchestrator/worker/index.js";
import { fixtureCommand, square, tempDir, tinyModel } from "../worker/helpers.js";

const STAGE = "r0-contrast";
let model: string;
let config: C3lConfig;
let examples: TrainExample[];
let work: string;
let baseline: { records: Record<string, StepRecord>; weights: Buffer; run: RunFolder };

function newRun(name: string): RunFolder {
  const manifest = buildManifest({ argv: ["test"], config: {}, seed: 0, device: "cpu", inputs: {}, repoDir: "/" });
  return createRun(join(work, "runs"), { name, configYaml: "seed: 0", configJson: {}, manifest, lock: false });
}

interface Trained { logs: string[]; error: Error | null; run: RunFolder }

/** Runs the contrast stage's training loop in `run` on a worker with `faults` (see faults.py). */
async function train(run: RunFolder, faults = ""): Promise<Trained> {
  const logs: string[] = [];
  const session = new WorkerSession({
    threads: 1, requestTimeoutMs: 120_000, startTimeoutMs: 60_000, maxAttempts: config.worker.max_attempts,
    logFile: join(run.dir, "worker.log"), device: "cpu", dtype: "float32", log: (l) => logs.push(l),
    worker: { command: fixtureCommand("faults"), env: { C3L_TEST_FAULTS: faults, C3L_TEST_FAULTS_DIR: tempDir("c3l-faults-") }, onLog: () => {} },
  });
  const ctx = {
    config, run, stage: STAGE, inputs: [], session, pool: null as unknown as WorkerPool, images: [], modelDir: model, baseModelDir: model,
    targetModelDir: model, log: (l: string) => logs.push(l),
  } satisfies StageContext;
  const c = config.contrast;
  await session.start();
  try {
    await trainAndExport(ctx, {
      examples, startModelDir: model, training: c, seed: config.seed,
      loss: { form: c.form, tau: c.tau, lambda_cl: c.lambda_cl, beta: c.beta, in_batch_negatives: false, projection_head: c.projection_head },
    });
    return { logs, error: null, run };
  } catch (err) {
    return { logs, error: err as Error, run };
  } finally {
    await session.stop();
  }
}

function records(run: RunFolder): Record<string, StepRecord> {
  const read = SampleFile.read<StepRecord>(join(run.dir, "samples", `${STAGE}.jsonl`));
  expect(read.duplicates).toEqual([]); // replayed steps are not recorded twice
  return Object.fromEntries([...read.records.entries()].sort());
}

const weights = (run: RunFolder) => readFileSync(join(run.dir, "models", STAGE, "model.safetensors"));
const checkpoints = (run: RunFolder) => readdirSync(run.checkpointsDir(STAGE)).sort();

/** Progress as the event log and the summary saw it: never beyond the total. */
function expectProgressInRange(run: RunFolder): void {
  const events = readFileSync(join(run.dir, "events.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
  const progress = events.filter((e) => e.type === "progress" && e.stage === STAGE);
  expect(progress.length).toBeGreaterThan(0);
  for (const e of progress) expect(e.done).toBeLessThanOrEqual(e.total);
  const summary = JSON.parse(readFileSync(join(run.dir, "summary.json"), "utf8"));
  if (summary.progress) expect(summary.progress.done).toBeLessThanOrEqual(summary.progress.total);
}

function expectIdentical(t: Trained): void {
  expect(t.error).toBeNull();
  expect(records(t.run)).toEqual(baseline.records);
  expect(weights(t.run).equals(baseline.weights)).toBe(true);
}

beforeAll(async () => {
  model = await tinyModel();
  work = tempDir("c3l-train-faults-");
  const colours: [string, [number, number, number]][] = [["red", [220, 30, 30]], ["blue", [30, 30, 220]], ["green", [30, 200, 30]]];
  const images = await Promise.all(colours.map(([name, rgb]) => square(join(work, `${name}.png`), rgb)));
  examples = colours.map(([name], i) => ({
    id: `img-${i}`, image_path: images[i]!, context: "describe the image .",
    positive: `the square is ${name} .`, negatives: colours.filter(([other]) => other !== name).map(([other]) => `the square is ${other} .`),
  }));
  const resolved = resolveDocument({ contrast: { steps: 4, checkpoint_every: 2, batch_size: 2, lr: 1e-3 } }, { configDir: work, checkFiles: false });
  expect(resolved.problems).toEqual([]);
  config = resolved.config!;
  const t = await train(newRun("baseline"));
  if (t.error) throw t.error;
  baseline = { records: records(t.run), weights: weights(t.run), run: t.run };
  expect(Object.keys(baseline.records)).toHaveLength(4);
  expect(checkpoints(t.run)).toEqual(["step-00000002", "step-00000004"]);
}, 180_000);

describe("faults in a training stage", () => {
  test("a worker SIGKILLed inside load_model at the stage start, mid-training and inside load_checkpoint: restarted and retried each time, rewound to its checkpoint with progress within its total, identical result", async () => {
    // load_checkpoint#1 finds no checkpoint at the stage start; #2 restores step-00000002 after the kill mid-training.
    const t = await train(newRun("killed"), "load_model#1=kill,train_step#4=kill,load_checkpoint#2=kill");
    expectIdentical(t);
    const log = t.logs.join("\n");
    expect(log).toMatch(new RegExp(`loading ${model}: attempt 1/3 failed: worker was killed by SIGKILL`));
    expect(log).toMatch(/r0-contrast: micro-batch 3: attempt 1\/3 failed: worker was killed by SIGKILL/);
    expect(log).toMatch(/r0-contrast: restoring the trainer: attempt 1\/3 failed: worker was killed by SIGKILL/);
    expect(log).toMatch(/continuing from \S+step-00000002/); // micro-batches 2 and 3 trained again
    expectProgressInRange(t.run);
  }, 180_000);

  test("a worker SIGKILLed while it writes the export: restarted, the trainer restored from the final checkpoint, the export written again, identical result", async () => {
    const t = await train(newRun("killed-in-export"), "export_model#1=kill");
    expectIdentical(t);
    const log = t.logs.join("\n");
    expect(log).toMatch(/r0-contrast: export: attempt 1\/3 failed: worker was killed by SIGKILL/);
    expect(log).toMatch(/continuing from \S+step-00000004/); // the final checkpoint: no micro-batch trained again
    expectProgressInRange(t.run);
  }, 180_000);

  test("a checkpoint save that finds the disk full stops the stage, naming it, losing no micro-batch; a resume is identical", async () => {
    const run = newRun("disk-full");
    const t = await train(run, "save_checkpoint#2=diskfull");
    expect(t.error).toBeInstanceOf(WorkerReplyError);
    expect(t.error!.message).toMatch(/save_checkpoint: DiskFullError: disk full \(no space left on device\) while writing model\.safetensors/);
    expect(checkpoints(run)).toEqual(["step-00000002"]);
    expect(Object.values(records(run)).filter((r) => r.failed)).toEqual([]); // a checkpoint never costs a micro-batch
    expect(existsSync(join(run.dir, "models", STAGE))).toBe(false);
    expectIdentical(await train(run)); // space returned
  }, 180_000);

  test("a truncated model.safetensors in the latest checkpoint: set aside with a warning naming it, the one before used, identical result", async () => {
    // A run killed after micro-batch 3 and its checkpoint at step 4, whose weights file then lost its end.
    const run = newRun("damaged");
    for (const step of ["step-00000002", "step-00000004"]) cpSync(join(baseline.run.checkpointsDir(STAGE), step), join(run.checkpointsDir(STAGE), step), { recursive: true });
    copyFileSync(join(baseline.run.dir, "samples", `${STAGE}.jsonl`), join(run.dir, "samples", `${STAGE}.jsonl`));
    const bad = join(run.checkpointsDir(STAGE), "step-00000004", "model.safetensors");
    truncateSync(bad, Math.floor(statSync(bad).size / 2));

    const t = await train(run);
    expectIdentical(t); // the export's bytes: micro-batches 2 and 3 trained again from step 2 give step 4's weights
    expect(t.logs.join("\n")).toMatch(new RegExp(`warning: checkpoint \\S+step-00000004 is damaged: ${bad} has \\d+ bytes, \\d+ were saved.*continuing from the checkpoint before it`));
    expect(t.logs.join("\n")).toMatch(/continuing from \S+step-00000002/);
    expect(checkpoints(run)).toEqual(["step-00000002", "step-00000004", "step-00000004.damaged"]);
  }, 180_000);
});
