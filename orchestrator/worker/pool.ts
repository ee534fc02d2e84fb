// Several workers, one queue: each batch goes to whichever worker has a free slot (the ZeroMQ
// load-balancing pattern, at most `inFlight` requests per worker). A worker that dies or stops
// answering has its batches put back at the front of the queue for the others; a local one is
// restarted (generator reloaded), a remote one dropped with a warning. A batch is given up
// (BatchFailedError) after `maxAttempts` tries, as with one worker. Training and single requests
// use worker 0 (`lead`) through the WorkerSession API.
import type { Replies, Requests } from "../protocol/index.js";
import { BatchFailedError, PoolExhaustedError } from "./errors.js";
import { attemptFailed, failureKind, firstLine } from "./retry.js";
import type { WorkerSession } from "./session.js";

export type BatchType = "generate" | "score";

/** One self-contained request: its reply depends only on its content, never on the worker. */
export interface PoolTask<K extends BatchType = BatchType> {
  /** For logs and errors: "r0-score chunk 3". */
  what: string;
  type: K;
  content: Requests[K];
  /** Items it completes, for progress and per-worker counts. */
  items: number;
}

export interface PoolMember {
  /** "local-0", "remote-1": in logs, progress and the stage's extra.workers. */
  readonly id: string;
  readonly session: WorkerSession;
  /** For logs: the endpoint of a remote worker, the device of a local one. */
  readonly where: string;
}

export interface WorkerCounts {
  batches: number;
  items: number;
  /** Batch attempts that failed on this worker (re-queued or given up). */
  failures: number;
  restarts: number;
  dropped: boolean;
}

export interface PoolEvent {
  action: "requeue" | "restart" | "drop";
  worker: string;
  message: string;
}

export interface RunHandlers<T extends PoolTask> {
  done(task: T, reply: Replies[T["type"]], worker: string): void;
  failed(task: T, error: BatchFailedError): void;
  /** Re-queues, restarts and drops, for the run's event log. */
  event?(event: PoolEvent): void;
}

export interface PoolOptions {
  inFlight: number;
  maxAttempts: number;
  log: (line: string) => void;
}


type MemberState = "ready" | "restarting" | "dropped";

interface Slot {
  member: PoolMember;
  state: MemberState;
  /** Requests sent and not answered, oldest first (a worker serves one at a time, in order). */
  flights: Flight[];
  /** The request charged for the failure that is restarting this worker. */
  blamed: Flight | null;
  idleSince: number;
  counts: WorkerCounts;
}

interface Job<T> { task: T; attempts: number }
interface Flight { job: Job<PoolTask>; }

export class WorkerPool {
  private readonly slots: Slot[];

  constructor(members: PoolMember[], private readonly options: PoolOptions) {
    if (members.length === 0) throw new Error("a worker pool needs at least one worker");
    this.slots = members.map((member) => ({ member, state: "ready", flights: [], blamed: null, idleSince: 0, counts: emptyCounts() }));
  }

  /** Worker 0: training stages and single requests use it. */
  get lead(): WorkerSession {
    return this.slots[0]!.member.session;
  }

  get ids(): string[] {
    return this.slots.map((s) => s.member.id);
  }

  /** The workers still in service (not dropped). */
  get live(): PoolMember[] {
    return this.slots.filter((s) => s.state !== "dropped").map((s) => s.member);
  }

  member(id: string): PoolMember | undefined {
    return this.slots.find((s) => s.member.id === id)?.member;
  }

  /** Starts every worker side by side. A remote one that fails is dropped; a local one that fails stops the start. */
  async start(): Promise<void> {
    const results = await Promise.allSettled(this.slots.map((s) => s.member.session.start()));
    const localFailure = results.findIndex((r, i) => r.status === "rejected" && this.slots[i]!.member.session.restartable);
    if (localFailure >= 0) {
      await this.stop();
      throw (results[localFailure] as PromiseRejectedResult).reason;
    }
    results.forEach((r, i) => {
      if (r.status === "rejected") this.drop(this.slots[i]!, `could not connect: ${firstLine(r.reason)}`);
    });
    this.requireLive("start");
  }

  /**
   * Loads `dir` as the generator on every worker (side by side). With several workers, one whose
   * generator was trained in place reloads it from `dir`, so every worker runs the same weights.
   */
  async useModel(dir: string): Promise<void> {
    const live = this.slots.filter((s) => s.state !== "dropped");
    const results = await Promise.allSettled(live.map(async (s) => {
      const session = s.member.session;
      if (live.length > 1 && session.loadedModel === dir && session.modelTrainedInPlace) await session.reloadModel(dir);
      else await session.useModel(dir);
    }));
    results.forEach((r, i) => {
      if (r.status === "fulfilled") return;
      if (live[i]!.member.session.restartable) throw r.reason; // as with one worker: the stage fails and can be resumed
      this.drop(live[i]!, `could not load ${dir}: ${firstLine(r.reason)}`);
    });
    this.requireLive(`load ${dir}`);
  }

  /**
   * Runs every task on whichever worker is free; `done` gets each reply as it arrives (in any
   * order), `failed` each task given up after maxAttempts. Resolves with per-worker counts for
   * this call once every task is settled.
   */
  run<T extends PoolTask>(tasks: T[], handlers: RunHandlers<T>): Promise<Record<string, WorkerCounts>> {
    for (const s of this.slots) s.counts = { ...emptyCounts(), dropped: s.state === "dropped" };
    const queue: Job<T>[] = tasks.map((task) => ({ task, attempts: 0 }));
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (err?: Error) => {
        if (settled) return;
        settled = true;
        if (err) reject(err);
        else resolve(Object.fromEntries(this.slots.map((s) => [s.member.id, s.counts])));
      };
      const busy = () => this.slots.some((s) => s.flights.length > 0 || s.state === "restarting");

      const pump = () => {
        if (settled) return;
        for (let slot = this.freeSlot(); slot && queue.length > 0; slot = this.freeSlot()) send(slot, queue.shift()!);
        if (queue.length === 0 && !busy()) finish();
        else if (!this.slots.some((s) => s.state !== "dropped")) {
          finish(new PoolExhaustedError(`no worker is left to run ${queue.length} batch(es), first ${queue[0]?.task.what}: every worker was dropped (see the warnings above)`));
        }
      };

      const send = (slot: Slot, job: Job<T>) => {
        const flight: Flight = { job: job as Job<PoolTask> };
        slot.flights.push(flight);
        const { type, content } = job.task;
        Promise.resolve().then(() => slot.member.session.request(type, content as never)).then(
          (reply) => {
            remove(slot.flights, flight);
            if (slot.flights.length === 0) slot.idleSince = performance.now();
            if (settled) return;
            slot.counts.batches++;
            slot.counts.items += job.task.items;
            try {
              handlers.done(job.task, reply as Replies[T["type"]], slot.member.id);
            } catch (err) {
              return finish(err as Error);
            }
            pump();
          },
          (err: Error) => {
            const oldest = slot.flights[0];
            remove(slot.flights, flight);
            if (settled) return;
            try {
              onFailure(slot, flight, oldest ?? flight, job, err);
            } catch (bug) {
              return finish(bug as Error);
            }
            pump();
          },
        );
      };

      const onFailure = (slot: Slot, flight: Flight, oldest: Flight, job: Job<T>, err: Error) => {
        const kind = failureKind(err);
        if (kind === "fatal") throw err;
        const id = slot.member.id;
        const workerBroke = kind === "lost"; // a reply error leaves a live worker
        if (workerBroke && slot.state === "ready") {
          // A worker serves its requests in order: the oldest one in flight is the one it was running.
          slot.blamed = oldest;
          void this.recover(slot, err, handlers).then(pump, (bug: Error) => finish(bug));
        }
        if (workerBroke && slot.blamed !== flight) {
          // Abandoned because the worker failed on another batch: not this batch's fault.
          queue.unshift(job);
          handlers.event?.({ action: "requeue", worker: id, message: `${job.task.what}: re-queued from ${id} (that worker failed on another batch)` });
          return;
        }
        job.attempts++;
        slot.counts.failures++;
        this.options.log(`${attemptFailed(job.task.what, job.attempts, this.options.maxAttempts, err)}${this.slots.length > 1 ? ` (on ${id})` : ""}`);
        if (job.attempts >= this.options.maxAttempts) {
          handlers.failed(job.task, new BatchFailedError(job.task.what, job.attempts, err));
          return;
        }
        queue.unshift(job); // retried first, by whichever worker is free next
        if (this.slots.length > 1) {
          handlers.event?.({ action: "requeue", worker: id, message: `${job.task.what}: re-queued after failing on ${id} (attempt ${job.attempts}/${this.options.maxAttempts}): ${firstLine(err)}` });
        }
      };

      pump();
    });
  }

  /** The ready worker with a free slot that has been idle longest, or null. */
  private freeSlot(): Slot | null {
    let best: Slot | null = null;
    for (const s of this.slots) {
      if (s.state !== "ready" || s.flights.length >= this.options.inFlight) continue;
      if (!best || s.flights.length < best.flights.length || (s.flights.length === best.flights.length && s.idleSince < best.idleSince)) best = s;
    }
    return best;
  }

  /** Restarts a failed local worker (its pending requests fail and are re-queued), or drops a remote one. */
  private async recover<T extends PoolTask>(slot: Slot, cause: Error, handlers: RunHandlers<T>): Promise<void> {
    const { id } = slot.member;
    const session = slot.member.session;
    slot.state = "restarting";
    if (!session.restartable) {
      this.drop(slot, firstLine(cause));
      handlers.event?.({ action: "drop", worker: id, message: `remote worker ${id} (${slot.member.where}) dropped: ${firstLine(cause)}` });
      await session.stop().catch(() => undefined);
      return;
    }
    const oldPid = session.pid;
    try {
      await session.restart();
    } catch (err) {
      this.drop(slot, `could not be restarted: ${firstLine(err)}`);
      handlers.event?.({ action: "drop", worker: id, message: `worker ${id} could not be restarted: ${firstLine(err)}` });
      return;
    }
    slot.counts.restarts++;
    slot.state = "ready";
    slot.blamed = null;
    slot.idleSince = performance.now();
    if (this.slots.length > 1) this.options.log(`worker ${id} restarted (pid ${oldPid} -> ${session.pid})`);
    handlers.event?.({ action: "restart", worker: id, message: `worker ${id} restarted (pid ${oldPid} -> ${session.pid}) after: ${firstLine(cause)}` });
  }

  private drop(slot: Slot, why: string): void {
    slot.state = "dropped";
    slot.counts.dropped = true;
    const left = this.slots.filter((s) => s.state !== "dropped").length;
    this.options.log(`warning: worker ${slot.member.id} (${slot.member.where}) dropped: ${why}; ${left} worker(s) left`);
  }

  private requireLive(what: string): void {
    if (!this.slots.some((s) => s.state !== "dropped")) throw new PoolExhaustedError(`no worker is left for ${what}: every worker was dropped (see the warnings above)`);
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.slots.map((s) => s.member.session.stop()));
  }
}

function emptyCounts(): WorkerCounts {
  return { batches: 0, items: 0, failures: 0, restarts: 0, dropped: false };
}

function remove<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}
