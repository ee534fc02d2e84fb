// The pipeline's worker: one supervised process, the generator model kept loaded, and retries.
// A worker that dies or hangs mid-stage is restarted, its model reloaded and the request retried
// (generate and score are safe to repeat); after `maxAttempts` failures the caller records the
// batch as failed and the run goes on. Loading the generator is retried the same way: a worker that
// dies inside load_model is restarted and the load tried again, up to `maxAttempts` times.
// A WorkerPool (pool.ts) runs several sessions side by side.
import { BatchFailedError, WorkerClosedError } from "./errors.js";
import type { RequestOptions } from "./connection.js";
import type { WorkerLike } from "./link.js";
import { attemptFailed, failureKind } from "./retry.js";
import { Worker, type WorkerOptions } from "./worker.js";
import type { HelloReply, MessageType, Replies, Requests } from "../protocol/index.js";

export interface SessionOptions {
  threads: number;
  requestTimeoutMs: number;
  startTimeoutMs: number;
  maxAttempts: number;
  logFile: string;
  /** Torch device for load_model; "auto": the worker's own (cuda:0 when it sees a GPU, else cpu), for remote workers. */
  device: string;
  dtype: "float32" | "bfloat16" | "float16";
  log: (line: string) => void;
  /** Test hook: extra worker options (a fixture command, shorter heartbeats). */
  worker?: Partial<WorkerOptions>;
  /** Opens the worker instead of starting a local process (a remote worker); it cannot be restarted. */
  connect?: () => Promise<WorkerLike>;
}

/**
 * The id under which a session keeps its one model loaded: the generator, or the model a training or
 * evaluate stage loads in its place. "generator" on the wire, as since protocol 1.0.
 */
export const MODEL_ID = "generator";

export class WorkerSession {
  private worker: WorkerLike | null = null;
  private modelDir: string | null = null;
  /** The generator in memory was trained in place (modelIsNow): it may differ from its export in the last bits. */
  private trainedInPlace = false;
  /** The generator was loaded and nothing else was asked of the worker since (e.g. a restart just reloaded it). */
  private pristine = false;
  restarts = 0;

  constructor(private readonly options: SessionOptions) {}

  get hello() {
    return this.worker?.hello ?? null;
  }

  /** The worker's process id, while it runs locally. */
  get pid(): number | undefined {
    return this.worker?.pid;
  }

  /** Whether a failed worker can be replaced by a fresh process (local) or not (remote). */
  get restartable(): boolean {
    return this.options.connect === undefined;
  }

  /** The generator loaded now, or null. */
  get loadedModel(): string | null {
    return this.modelDir;
  }

  /** modelIsNow was the last word on the generator: its weights come from training, not from its folder. */
  get modelTrainedInPlace(): boolean {
    return this.trainedInPlace && this.modelDir !== null;
  }

  async start(): Promise<void> {
    if (this.options.connect) {
      this.worker = await this.options.connect();
      return;
    }
    this.worker = await Worker.start({
      threads: this.options.threads,
      requestTimeoutMs: this.options.requestTimeoutMs,
      startTimeoutMs: this.options.startTimeoutMs,
      logFile: this.options.logFile,
      onLog: (line) => this.options.log(`worker: ${line}`),
      ...this.options.worker,
    });
  }

  /**
   * Loads `dir` as the generator unless it is already the loaded one. A worker that dies or hangs
   * while loading is restarted and the load retried (maxAttempts tries in all); the last failure is thrown.
   */
  async useModel(dir: string): Promise<void> {
    if (this.modelDir === dir) return;
    await this.retryingDeadWorkers(`loading ${dir}`, () => this.load(dir)); // a failed load() leaves no generator for restart() to reload
  }

  /**
   * Runs `attempt`; when the worker dies, hangs or stops answering meanwhile, restarts it (reloading
   * the generator it had) and runs `attempt` again, maxAttempts tries in all, then throws the last
   * failure. An error reply is thrown at once: the same request would fail the same way again.
   */
  async retryingDeadWorkers<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    for (let n = 1; ; n++) {
      try {
        return await attempt();
      } catch (err) {
        if (failureKind(err) !== "lost" || !this.restartable || n >= this.options.maxAttempts) throw err;
        this.options.log(attemptFailed(what, n, this.options.maxAttempts, err));
        await this.restart();
      }
    }
  }

  private async load(dir: string): Promise<void> {
    this.modelDir = null;
    await this.request("load_model", { model_id: MODEL_ID, model_dir: dir, device: this.device(), dtype: this.options.dtype });
    this.modelDir = dir;
    this.trainedInPlace = false;
    this.pristine = true;
  }

  private device(): string {
    if (this.options.device !== "auto") return this.options.device;
    return this.worker?.hello.device === "cuda" ? "cuda:0" : "cpu";
  }

  /**
   * Loads `dir` even if it is the loaded one: its weights in memory may have been trained since. Skips
   * the load only when the worker did nothing since loading `dir` (a restart has just reloaded it).
   */
  async reloadModel(dir: string): Promise<void> {
    if (this.modelDir === dir && this.pristine) return;
    this.modelDir = null;
    await this.useModel(dir);
  }

  /** The generator in memory now equals `dir` (it was trained in place and exported there). */
  modelIsNow(dir: string): void {
    this.modelDir = dir;
    this.trainedInPlace = true;
    this.pristine = false;
  }

  request<K extends MessageType>(type: K, content: Requests[K], timeoutMs?: number, options?: RequestOptions): Promise<Replies[K]> {
    if (!this.worker) throw new Error("the worker session is not started");
    if (type !== "load_model") this.pristine = false;
    return this.worker.request(type, content, timeoutMs, options);
  }

  /**
   * Runs `attempt` until it succeeds or fails `maxAttempts` times (an error reply counts as a failed
   * try too), then throws BatchFailedError. Between tries a dead, frozen or hung worker is restarted
   * and the generator reloaded.
   */
  async withRetries<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    for (let n = 1; ; n++) {
      try {
        return await attempt();
      } catch (err) {
        const kind = failureKind(err);
        if (kind === "fatal") throw err;
        this.options.log(attemptFailed(what, n, this.options.maxAttempts, err));
        // Restart even after the last try, so the next batch starts on a live worker.
        if (kind === "lost") await this.restart();
        if (n >= this.options.maxAttempts) throw new BatchFailedError(what, n, err as Error);
      }
    }
  }

  /**
   * Kills and restarts the worker, then reloads the generator it had. A worker that dies again while
   * starting or reloading is restarted again (maxAttempts tries in all) before the last failure is thrown.
   */
  async restart(): Promise<void> {
    if (!this.worker) throw new Error("the worker session is not started");
    if (!this.worker.restart) throw new WorkerClosedError("a remote worker cannot be restarted from here", this.worker.logFile ?? null);
    const worker = this.worker;
    const dir = this.modelDir;
    this.modelDir = null;
    for (let n = 1; ; n++) {
      this.restarts++;
      let starting = true;
      try {
        await worker.restart!();
        starting = false;
        if (dir) await this.load(dir);
        return;
      } catch (err) {
        if (failureKind(err) !== "lost" || n >= this.options.maxAttempts) throw err;
        const what = starting ? "starting a new worker" : `reloading ${dir} after a restart`;
        this.options.log(attemptFailed(what, n, this.options.maxAttempts, err));
      }
    }
  }

  async stop(): Promise<void> {
    await this.worker?.stop();
    this.worker = null;
  }
}
