// The loop generate and score share: fixed chunks become pool tasks, replies are written as they
// arrive (keyed by sample id, so file order does not matter), a chunk given up after max_attempts
// is recorded as failed samples, and per-worker counts come back for the stage's extra.workers.
import type { SampleFile, SampleRecord } from "../runs/jsonl.js";
import type { Replies } from "../protocol/index.js";
import { progressFor, type StageContext } from "./context.js";
import type { BatchType, PoolTask, WorkerCounts } from "../worker/pool.js";
import type { BatchFailedError } from "../worker/errors.js";

export interface StageBatch<K extends BatchType, C = unknown> extends PoolTask<K> {
  /** What the stage needs to turn the reply into records (the chunk's items). */
  chunk: C;
  /** Every sample id of the chunk (the whole chunk is sent again on resume). */
  ids: string[];
}

export interface DispatchOptions<K extends BatchType, C, R extends SampleRecord> {
  out: SampleFile<R>;
  /** Ids already recorded: skipped on resume, never written twice. */
  done: Set<string>;
  /** Every item of the stage, for progress. */
  total: number;
  batches: StageBatch<K, C>[];
  records(batch: StageBatch<K, C>, reply: Replies[K]): R[];
  failedRecords(batch: StageBatch<K, C>, error: BatchFailedError): R[];
  /** "images" or "pairs", for the log. */
  unit: string;
}

/** Runs the batches on the pool; returns counts per worker id (this attempt's work only). */
export async function dispatch<K extends BatchType, C, R extends SampleRecord>(ctx: StageContext, o: DispatchOptions<K, C, R>): Promise<Record<string, WorkerCounts>> {
  const pool = ctx.pool;
  const progress = progressFor(ctx, o.total, pool.ids);
  progress.skip(o.total - o.batches.reduce((n, b) => n + b.items, 0));
  const write = (records: R[], items: number, worker?: string) => {
    o.out.append(records.filter((r) => !o.done.has(r.id)));
    for (const r of records) o.done.add(r.id);
    progress.advance(items, worker);
  };
  const counts = await pool.run(o.batches, {
    done: (batch, reply, worker) => write(o.records(batch, reply), batch.items, worker),
    failed: (batch, error) => {
      ctx.log(`${ctx.stage}: ${error.message}; its ${batch.ids.length} ${o.unit} are recorded as failed`);
      write(o.failedRecords(batch, error), batch.items);
    },
    event: (e) => {
      ctx.log(`${ctx.stage}: ${e.message}`);
      ctx.run.events.append({ type: "warning", stage: ctx.stage, message: e.message, worker: e.worker, action: e.action });
    },
  });
  if (pool.ids.length > 1) {
    ctx.log(`${ctx.stage}: ${Object.entries(counts).map(([id, c]) => `${id} ${c.items} ${o.unit} in ${c.batches} batch(es)${c.restarts ? `, ${c.restarts} restart(s)` : ""}${c.dropped ? ", dropped" : ""}`).join("; ")}`);
  }
  return counts;
}
