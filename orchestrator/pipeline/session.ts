// The pipeline's worker: one supervised process, the generator model kept loaded, and retries.
// A worker that dies or hangs mid-stage is restarted, its model reloaded and the request retried
// (generate and score are safe to repeat); after `maxAttempts` failures the caller records the
// batch as failed and the run goes on.
import { WorkerError, WorkerReplyError, Worker, type WorkerOptions } from "../worker/index.js";
import type { MessageType, Replies, Requests } from "../protocol/index.js";

export interface SessionOptions {
  threads: number;
  requestTimeoutMs: number;
  startTimeoutMs: number;
  maxAttempts: number;
  logFile: string;
  device: string;
  dtype: "float32" | "bfloat16" | "float16";
  log: (line: string) => void;
  /** Test hook: extra worker options (a fixture command, shorter heartbeats). */
  worker?: Partial<WorkerOptions>;
}

export class BatchFailedError extends Error {
  override name = "BatchFailedError";
  constructor(readonly what: string, readonly attempts: number, override readonly cause: Error) {
    super(`${what} failed ${attempts} time(s); last error: ${cause.message}`);
  }
}

export const GENERATOR_ID = "generator";

export class WorkerSession {
  private worker: Worker | null = null;
  private modelDir: string | null = null;
  restarts = 0;

  constructor(private readonly options: SessionOptions) {}

  get hello() {
    return this.worker?.hello ?? null;
  }

  async start(): Promise<void> {
    this.worker = await Worker.start({
      threads: this.options.threads,
      requestTimeoutMs: this.options.requestTimeoutMs,
      startTimeoutMs: this.options.startTimeoutMs,
      logFile: this.options.logFile,
      onLog: (line) => this.options.log(`worker: ${line}`),
      ...this.options.worker,
    });
  }

  /** Loads `dir` as the generator unless it is already the loaded one. */
  async useModel(dir: string): Promise<void> {
    if (this.modelDir === dir) return;
    await this.request("load_model", { model_id: GENERATOR_ID, model_dir: dir, device: this.options.device, dtype: this.options.dtype });
    this.modelDir = dir;
  }

  /** Loads `dir` even if it is the loaded one: its weights in memory may have been trained since. */
  async reloadModel(dir: string): Promise<void> {
    this.modelDir = null;
    await this.useModel(dir);
  }

  /** The generator in memory now equals `dir` (it was trained in place and exported there). */
  modelIsNow(dir: string): void {
    this.modelDir = dir;
  }

  request<K extends MessageType>(type: K, content: Requests[K], timeoutMs?: number): Promise<Replies[K]> {
    if (!this.worker) throw new Error("the worker session is not started");
    return this.worker.request(type, content, timeoutMs);
  }

  /**
   * Runs `attempt` until it succeeds or fails `maxAttempts` times. Between tries a dead, frozen
   * or hung worker is restarted and the generator reloaded; `recover` then restores anything else
   * the attempt needs (a trainer and its checkpoint).
   */
  async withRetries<T>(what: string, attempt: () => Promise<T>, recover?: () => Promise<void>): Promise<T> {
    let last: Error | null = null;
    for (let n = 1; n <= this.options.maxAttempts; n++) {
      try {
        return await attempt();
      } catch (err) {
        if (!(err instanceof WorkerError)) throw err; // our own bugs are not retried
        last = err;
        this.options.log(`${what}: attempt ${n}/${this.options.maxAttempts} failed: ${err.message.split("\n")[0]}`);
        // Restart even after the last try, so the next batch starts on a live worker.
        if (!(err instanceof WorkerReplyError)) await this.restart();
        if (n === this.options.maxAttempts) break;
        if (recover) await recover();
      }
    }
    throw new BatchFailedError(what, this.options.maxAttempts, last!);
  }

  async restart(): Promise<void> {
    this.restarts++;
    const dir = this.modelDir;
    this.modelDir = null;
    await this.worker!.restart();
    if (dir) await this.useModel(dir);
  }

  async stop(): Promise<void> {
    await this.worker?.stop();
    this.worker = null;
  }
}
