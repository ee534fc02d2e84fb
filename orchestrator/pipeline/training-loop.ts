// The training loop every training stage shares (contrast, finetune): a seeded data order fixed
// per epoch, one train_step per micro-batch recorded in the stage's samples, a checkpoint every N
// optimizer steps, exact resume from the last checkpoint (same data order and RNG) after a kill or
// a dead worker, micro-batches given up after worker.max_attempts, and the export of the result.
// With distributed.nproc_per_node × nnodes > 1 it trains in a worker of its own under torchrun
// (distributed-session.ts); the ranks shard each micro-batch, so the steps are the same.
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Requests, TrainExample } from "../protocol/index.js";
import type { TrainingConfig } from "../config/schema.js";
import { WorkerError, WorkerReplyError } from "../worker/index.js";
import { openSamples, progressFor, type StageContext } from "./context.js";
import { startDistributedSession, trainsDistributed } from "./distributed-session.js";
import { seededPermutation } from "./plan.js";
import { GENERATOR_ID, type WorkerSession } from "./session.js";

export interface StepRecord {
  id: string; // micro-NNNNNNNN
  micro: number;
  step: number;
  loss: number | null;
  loss_lm: number | null;
  loss_cl: number | null;
  lr: number | null;
  grad_norm: number | null;
  skipped_examples: number;
  failed: string | null; // why this micro-batch was given up, or null
}

/** The newest complete checkpoint folder (its checkpoint.json is written last), or null. */
export function latestCheckpoint(dir: string): string | null {
  if (!existsSync(dir)) return null;
  const steps = readdirSync(dir).filter((name) => /^step-\d{8}$/.test(name) && existsSync(join(dir, name, "checkpoint.json"))).sort();
  return steps.length ? join(dir, steps[steps.length - 1]!) : null;
}

/** The loss settings of setup_training (form, tau, …): what differs between training stages. */
export type LossSettings = Pick<Requests["setup_training"], "form" | "tau" | "lambda_cl" | "beta" | "in_batch_negatives" | "projection_head">;

export interface TrainingOptions {
  examples: TrainExample[];
  /** The model the stage starts from; reloaded fresh before every restore. */
  startModelDir: string;
  training: TrainingConfig;
  loss: LossSettings;
  seed: number;
}

export interface TrainingResult {
  totalSteps: number;
  /** The recorded micro-batches that trained, in order. */
  steps: StepRecord[];
  failedMicroBatches: number;
  exportDir: string;
}

export async function trainAndExport(ctx: StageContext, options: TrainingOptions): Promise<TrainingResult> {
  if (!trainsDistributed(ctx.config)) {
    const result = await train(ctx, ctx.session, options);
    ctx.session.modelIsNow(result.exportDir);
    return result;
  }
  // The pipeline's own worker keeps its model: later stages load the export, as a resumed run does.
  const session = await startDistributedSession(ctx);
  try {
    return await train(ctx, session, options);
  } finally {
    await session.stop();
  }
}

async function train(ctx: StageContext, session: WorkerSession, options: TrainingOptions): Promise<TrainingResult> {
  const c = options.training;
  const { examples, seed } = options;
  const perEpoch = Math.ceil(examples.length / c.batch_size);
  const totalSteps = c.steps ?? Math.max(1, Math.ceil((c.epochs! * perEpoch) / c.grad_accum_steps));
  const totalMicro = totalSteps * c.grad_accum_steps;
  const microBatch = (m: number): TrainExample[] => {
    const order = seededPermutation(examples.length, seed, `${ctx.stage}#epoch${Math.floor(m / perEpoch)}`);
    const j = m % perEpoch;
    return order.slice(j * c.batch_size, (j + 1) * c.batch_size).map((i) => examples[i]!);
  };
  const checkpoints = ctx.run.checkpointsDir(ctx.stage);
  const setup: Requests["setup_training"] = {
    model_id: GENERATOR_ID, lr: c.lr, total_steps: totalSteps, weight_decay: c.weight_decay, warmup_steps: c.warmup_steps,
    schedule: c.schedule, grad_clip: c.grad_clip, grad_accum_steps: c.grad_accum_steps, ...options.loss, seed,
    lora: c.lora && { r: c.lora.r, alpha: c.lora.alpha, dropout: c.lora.dropout ?? undefined, target_modules: c.lora.target_modules ?? undefined },
  };

  /** A fresh start model, then the last checkpoint (or a new trainer). */
  const restore = async (): Promise<number> => {
    await session.reloadModel(options.startModelDir);
    const latest = latestCheckpoint(checkpoints);
    if (!latest) {
      await session.request("setup_training", setup);
      return 0;
    }
    const loaded = await session.request("load_checkpoint", { model_id: GENERATOR_ID, path: latest });
    ctx.log(`${ctx.stage}: continuing from ${latest}`);
    return (loaded.data_position as { micro: number }).micro;
  };

  const out = openSamples<StepRecord>(ctx);
  const records = out.read().records;
  const givenUp = new Set([...records.values()].filter((r) => r.failed).map((r) => r.micro));
  const progress = progressFor(ctx, totalMicro);
  let m = await restore();
  progress.skip(m);
  let failures = 0;
  try {
    while (m < totalMicro) {
      if (givenUp.has(m)) {
        m++;
        continue;
      }
      const id = `micro-${String(m).padStart(8, "0")}`;
      try {
        const r = await session.request("train_step", { model_id: GENERATOR_ID, batch: microBatch(m) });
        failures = 0;
        if (!records.has(id)) {
          const record = { id, micro: m, step: r.step, loss: r.loss, loss_lm: r.loss_lm, loss_cl: r.loss_cl, lr: r.lr,
            grad_norm: r.grad_norm, skipped_examples: r.errors.length, failed: null };
          out.append([record]);
          records.set(id, record);
        }
        m++;
        progress.advance(1);
        if (r.optimizer_stepped && (r.step % c.checkpoint_every === 0 || m >= totalMicro)) {
          await session.request("save_checkpoint", { model_id: GENERATOR_ID, dir: checkpoints, data_position: { micro: m } });
        }
      } catch (err) {
        if (!(err instanceof WorkerError)) throw err;
        failures++;
        ctx.log(`${ctx.stage}: micro-batch ${m} attempt ${failures}/${ctx.config.worker.max_attempts} failed: ${err.message.split("\n")[0]}`);
        if (failures >= ctx.config.worker.max_attempts) {
          const record = { id, micro: m, step: -1, loss: null, loss_lm: null, loss_cl: null, lr: null, grad_norm: null,
            skipped_examples: microBatch(m).length, failed: err.message.split("\n")[0]! };
          out.append([record]);
          records.set(id, record);
          givenUp.add(m);
          failures = 0;
        }
        if (!(err instanceof WorkerReplyError)) await session.restart();
        m = await restore(); // replays from the checkpoint; replayed steps are not logged twice
      }
    }
  } finally {
    out.close();
  }
  const exportDir = join(ctx.run.dir, "models", ctx.stage);
  rmSync(exportDir, { recursive: true, force: true }); // a killed earlier export may have left part of it
  await session.request("export_model", { model_id: GENERATOR_ID, dir: exportDir });
  const steps = [...records.values()].filter((r) => !r.failed).sort((a, b) => a.micro - b.micro);
  return { totalSteps, steps, failedMicroBatches: givenUp.size, exportDir };
}
