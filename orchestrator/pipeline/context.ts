// What every stage gets: the resolved config, the run folder, the worker session and the inputs.
import type { C3lConfig } from "../config/index.js";
import type { SampleFile, SampleRecord } from "../runs/jsonl.js";
import type { RunFolder } from "../runs/run-folder.js";
import type { InputImage } from "./inputs.js";
import { testPause } from "./faults.js";
import { Progress } from "./progress.js";
import type { WorkerPool } from "../worker/pool.js";
import type { WorkerSession } from "../worker/session.js";

export interface StageOutcome {
  counts: Record<string, number>;
  /** Kept in the stage's state; extra.i2c, extra.final and extra.metrics also go to the run summary (runs/summary.ts summaryOfStage). */
  extra?: Record<string, unknown>;
}

export interface StageContext {
  readonly config: C3lConfig;
  readonly run: RunFolder;
  readonly stage: string;
  /** The earlier stages whose samples this one reads (its declaration's inputs, for this round). */
  readonly inputs: readonly string[];
  /** Worker 0 of the pool: training stages and single requests use it. */
  readonly session: WorkerSession;
  /** Every worker: generate and score hand their batches to whichever is free. */
  readonly pool: WorkerPool;
  /** The run's images and models below: a setup stage (pretrain) runs before they exist and must not read them. */
  readonly images: InputImage[];
  /** The generator this stage starts from: the base model, or the last contrast stage's export. */
  readonly modelDir: string;
  /** The run's base generator (generator.model_dir resolved), before any training. */
  readonly baseModelDir: string;
  /** The model the finetune stage trains: finetune.model_dir resolved, else the base generator. */
  readonly targetModelDir: string;
  log(line: string): void;
}

/** An earlier stage's records by id (the later line wins for an id written twice). */
export function readSamples<T extends SampleRecord>(ctx: StageContext, stage: string): Map<string, T> {
  return ctx.run.readSamples<T>(stage).records;
}

/** This stage's own sample file, opened for appending (a torn last line is cut away first). */
export function openSamples<T extends SampleRecord>(ctx: StageContext): SampleFile<T> {
  const file = ctx.run.openSamples<T>(ctx.stage);
  if (file.recovered) ctx.log(`${ctx.stage}: discarded a torn last line in ${file.path}`);
  return file;
}

/** `workers`: the ids whose items/s the progress line shows beside the total (when several). */
export function progressFor(ctx: StageContext, total: number, workers: readonly string[] = []): Progress {
  let last = 0;
  return new Progress(ctx.stage, total, process.stderr, (u) => {
    testPause();
    const now = Date.now();
    if (now - last < 2_000 && u.done < u.total) return; // keep the event log and summary writes sparse
    last = now;
    ctx.run.events.append({ type: "progress", stage: ctx.stage, done: u.done, total: u.total, rate: u.rate, ...(u.workers ? { workers: u.workers } : {}) });
    ctx.run.updateSummary({ progress: { stage: ctx.stage, done: u.done, total: u.total } });
  }, undefined, workers);
}

export function imageById(ctx: StageContext): Map<string, InputImage> {
  return new Map(ctx.images.map((image) => [image.id, image]));
}
