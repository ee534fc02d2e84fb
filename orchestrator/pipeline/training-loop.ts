// The training loop every training stage shares (contrast, finetune): a seeded data order fixed
// per epoch, one train_step per micro-batch recorded in the stage's samples, a checkpoint every N
// optimizer steps, exact resume from the last checkpoint (same data order and RNG) after a kill or
// a dead worker, micro-batches given up after worker.max_attempts, and the export of the result.
// A worker that dies while the stage loads its model, restores its checkpoint or writes the
// export is restarted and the restore (then the export) retried. The worker picks the newest
// checkpoint of the stage's folder (it alone knows the folder's layout) and sets a damaged one aside
// (a file that fails its recorded size or digest): the stage warns and asks again, for the one
// before. A checkpoint save that fails with an answer (a full disk) stops the stage, which resumes
// from the last good checkpoint once space returns.
// With distributed.nproc_per_node × nnodes > 1 it trains in a worker of its own under torchrun
// (worker/distributed.ts); the ranks shard each micro-batch, so the steps are the same.
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Replies, Requests, TrainExample } from "../protocol/index.js";
import type { TrainingConfig } from "../config/schema.js";
import { WorkerReplyError } from "../worker/errors.js";
import { startDistributedSession, trainsDistributed } from "../worker/distributed.js";
import { attemptFailed, failureKind, firstLine } from "../worker/retry.js";
import { MODEL_ID, type WorkerSession } from "../worker/session.js";
import { openSamples, progressFor, type StageContext } from "./context.js";
import { seededPermutation } from "./seeded.js";

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

/** The worker's reply class for a checkpoint whose files fail their recorded sizes or digests, or cannot be read;
 * its message ends naming where the worker set it aside. */
const DAMAGED = "CheckpointDamagedError";

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
  const session = await startDistributedSession(ctx.config, ctx.run.dir, (line) => ctx.log(`${ctx.stage}: ${line}`));
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
    model_id: MODEL_ID, lr: c.lr, total_steps: totalSteps, weight_decay: c.weight_decay, warmup_steps: c.warmup_steps,
    schedule: c.schedule, grad_clip: c.grad_clip, grad_accum_steps: c.grad_accum_steps, ...options.loss, seed,
    lora: c.lora && { r: c.lora.r, alpha: c.lora.alpha, dropout: c.lora.dropout ?? undefined, target_modules: c.lora.target_modules ?? undefined },
  };

  /**
   * A fresh start model, then the newest intact checkpoint (or a new trainer); returns the micro-batch
   * to go on from. A worker that dies meanwhile is restarted and the restore tried again.
   */
  const restore = () => session.retryingDeadWorkers(`${ctx.stage}: restoring the trainer`, async (): Promise<number> => {
    for (;;) {
      await session.reloadModel(options.startModelDir); // a no-op right after a restart reloaded it
      let loaded: Replies["load_checkpoint"];
      try {
        loaded = await session.request("load_checkpoint", { model_id: MODEL_ID, dir: checkpoints });
      } catch (err) {
        if (!(err instanceof WorkerReplyError && err.errorName === DAMAGED)) throw err;
        ctx.log(`${ctx.stage}: warning: ${err.errorMessage}; continuing from the checkpoint before it`);
        ctx.run.events.append({ type: "warning", stage: ctx.stage, message: `damaged checkpoint set aside: ${err.errorMessage}` });
        continue;
      }
      if (loaded.path === null) {
        await session.request("setup_training", setup);
        return 0;
      }
      ctx.log(`${ctx.stage}: continuing from ${loaded.path}`);
      return (loaded.data_position as { micro: number }).micro;
    }
  });

  const max = ctx.config.worker.max_attempts;
  const out = openSamples<StepRecord>(ctx);
  const records = out.read().records;
  const givenUp = new Set([...records.values()].filter((r) => r.failed).map((r) => r.micro));
  const progress = progressFor(ctx, totalMicro);
  let m = await restore();
  progress.skip(m);
  // Failures per micro-batch: replayed micro-batches before it succeed meanwhile, so a plain counter
  // reset on success would never reach max_attempts for one that kills the worker every time.
  const failures = new Map<number, number>();
  let saveFailures = 0; // of checkpoint saves, since the last one that worked
  let exportFailures = 0;
  const exportDir = join(ctx.run.dir, "models", ctx.stage);
  try {
    for (;;) {
      while (m < totalMicro) {
        if (givenUp.has(m)) {
          m++;
          progress.advance(1);
          continue;
        }
        const id = `micro-${String(m).padStart(8, "0")}`;
        let saving = false;
        try {
          const r = await session.request("train_step", { model_id: MODEL_ID, batch: microBatch(m) });
          failures.delete(m);
          if (!records.has(id)) {
            const record = { id, micro: m, step: r.step, loss: r.loss, loss_lm: r.loss_lm, loss_cl: r.loss_cl, lr: r.lr,
              grad_norm: r.grad_norm, skipped_examples: r.errors.length, failed: null };
            out.append([record]);
            records.set(id, record);
          }
          m++;
          progress.advance(1);
          if (r.optimizer_stepped && (r.step % c.checkpoint_every === 0 || m >= totalMicro)) {
            saving = true;
            await session.request("save_checkpoint", { model_id: MODEL_ID, dir: checkpoints, data_position: { micro: m }, keep_last: c.keep_last ?? undefined });
            saveFailures = 0;
          }
        } catch (err) {
          const kind = failureKind(err);
          if (kind === "fatal") throw err;
          const why = firstLine(err);
          if (saving) {
            // A save answered with an error (a full disk, no permission) would fail again: the stage
            // stops and resumes from the last good checkpoint. A checkpoint never costs a micro-batch.
            saveFailures++;
            if (kind === "reply" || saveFailures >= max) throw err;
            ctx.log(attemptFailed(`${ctx.stage}: checkpoint after micro-batch ${m - 1}`, saveFailures, max, err));
          } else {
            const n = (failures.get(m) ?? 0) + 1;
            failures.set(m, n);
            ctx.log(attemptFailed(`${ctx.stage}: micro-batch ${m}`, n, max, err));
            if (n >= max) {
              const record = { id, micro: m, step: -1, loss: null, loss_lm: null, loss_cl: null, lr: null, grad_norm: null,
                skipped_examples: microBatch(m).length, failed: why };
              out.append([record]);
              records.set(id, record);
              givenUp.add(m);
              failures.delete(m);
            }
          }
          if (kind === "lost") await session.restart();
          m = await restore(); // replays from the checkpoint; replayed steps are not logged twice
          progress.rewind(m);
        }
      }
      // The export: a worker that dies while writing it has lost the trained weights in memory, so it
      // is restarted and the trainer restored from the final checkpoint (or the loop above replays
      // from an earlier one) before the export is written again.
      try {
        rmSync(exportDir, { recursive: true, force: true }); // a killed earlier export may have left part of it
        await session.request("export_model", { model_id: MODEL_ID, dir: exportDir });
        break;
      } catch (err) {
        if (failureKind(err) !== "lost" || ++exportFailures >= max) throw err;
        ctx.log(attemptFailed(`${ctx.stage}: export`, exportFailures, max, err));
        await session.restart();
        m = await restore();
        progress.rewind(m);
      }
    }
  } finally {
    out.close();
  }
  const steps = [...records.values()].filter((r) => !r.failed).sort((a, b) => a.micro - b.micro);
  return { totalSteps, steps, failedMicroBatches: givenUp.size, exportDir };
}
