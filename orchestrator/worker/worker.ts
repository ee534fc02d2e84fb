// A supervised worker: spawn, connect, handshake and version check; typed requests; restart; stop.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROTOCOL_VERSION, SCHEMA, helloProblem, type HelloReply, type MessageType, type Replies, type Requests } from "../protocol/index.js";
import { Connection, type RequestOptions } from "./connection.js";
import { VersionMismatchError, WorkerClosedError, WorkerExitedError, WorkerUnresponsiveError } from "./errors.js";
import { WorkerProcess } from "./process.js";
import type { WorkerLike } from "./link.js";
import { workerPython } from "./python.js";

export interface WorkerOptions {
  /** argv before the worker flags; default: the project venv's `python -m c3l_worker`. */
  command?: string[];
  transport?: "ipc" | "tcp";
  /** torch intra-op threads (default 1: two threads on 2 cores were measured 10-50x slower). */
  threads?: number;
  /** Where the worker's stdout/stderr go; every worker error names it. */
  logFile?: string;
  /** Deadline for start-up including the hello reply (imports take seconds). */
  startTimeoutMs?: number;
  /** Default deadline per request. */
  requestTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  maxFrameBytes?: number;
  env?: Record<string, string>;
  /** Where diagnostics go (default: stderr). */
  onLog?: (line: string) => void;
}

const DEFAULTS = {
  transport: "ipc" as const,
  threads: 1,
  startTimeoutMs: 60_000,
  requestTimeoutMs: 120_000,
  heartbeatIntervalMs: 1_000,
  heartbeatTimeoutMs: 5_000,
  maxFrameBytes: SCHEMA.max_frame_bytes as number,
};
// Grace after a disconnect before calling the worker frozen: an exit usually explains it first.
const DISCONNECT_GRACE_MS = 300;

export class Worker implements WorkerLike {
  hello!: HelloReply;
  private proc!: WorkerProcess;
  private conn!: Connection;
  private dir: string | null = null;
  private stopping = false;
  private readonly opts: Required<Omit<WorkerOptions, "command" | "env" | "onLog">> & Pick<WorkerOptions, "command" | "env">;
  private readonly onLog: (line: string) => void;

  private constructor(options: WorkerOptions) {
    const logFile = options.logFile ?? join(tmpdir(), `c3l-worker-${process.pid}-${Date.now()}.log`);
    this.opts = { ...DEFAULTS, ...stripUndefined(options), logFile } as typeof this.opts;
    this.onLog = options.onLog ?? ((line) => process.stderr.write(`[c3l worker] ${line}\n`));
  }

  /** Spawns the worker and completes the handshake, or throws an error naming the cause and the log. */
  static async start(options: WorkerOptions = {}): Promise<Worker> {
    const worker = new Worker(options);
    await worker.launch();
    return worker;
  }

  get logFile(): string {
    return this.opts.logFile;
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get endpoint(): string {
    return this.conn.endpoint;
  }

  /** options.onProgress gets each progress line the worker sends before the reply (long operations: build_world, ...). */
  request<K extends MessageType>(type: K, content: Requests[K], timeoutMs = this.opts.requestTimeoutMs, options: RequestOptions = {}): Promise<Replies[K]> {
    if (this.stopping) return Promise.reject(new WorkerClosedError(`${type}: the worker is stopped`, this.logFile));
    if (this.proc.exit) return Promise.reject(this.exitedError(`before ${type} was sent`));
    return this.conn.request(type, content as unknown as Record<string, unknown>, timeoutMs, options) as unknown as Promise<Replies[K]>;
  }

  /** Kills the current process (pending requests fail) and starts a fresh one. */
  async restart(): Promise<void> {
    this.onLog(`restarting worker pid ${this.pid}`);
    await this.teardown("the worker was restarted");
    this.stopping = false;
    await this.launch();
  }

  /** Asks the worker to shut down, then makes sure: SIGTERM, SIGKILL. Never leaves a process behind. */
  async stop(graceMs = 3_000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (!this.proc.exit) {
      await this.conn.request("shutdown", {}, graceMs).catch(() => undefined);
      if (!(await exitsWithin(this.proc, graceMs))) {
        this.proc.kill("SIGTERM");
        if (!(await exitsWithin(this.proc, graceMs))) this.proc.kill("SIGKILL");
      }
    }
    await this.teardown("the worker was stopped");
  }

  private async launch(): Promise<void> {
    const endpoint = await this.makeEndpoint();
    const base = this.opts.command ?? [workerPython(), "-m", "c3l_worker"];
    const command = [...base, "--endpoint", endpoint, "--threads", String(this.opts.threads), "--parent-pid", String(process.pid),
      "--max-frame-bytes", String(this.opts.maxFrameBytes)];
    const threads = String(this.opts.threads);
    this.proc = new WorkerProcess(command, {
      HF_HUB_OFFLINE: "1", TRANSFORMERS_OFFLINE: "1", PYTHONUNBUFFERED: "1",
      OMP_NUM_THREADS: threads, MKL_NUM_THREADS: threads, ...this.opts.env,
    }, this.opts.logFile);
    const proc = this.proc;
    try {
      this.conn = this.connect(endpoint, proc);
    } catch (err) {
      proc.kill("SIGKILL"); // never leave a process behind a failed start
      await proc.exited;
      if (this.dir) rmSync(this.dir, { recursive: true, force: true });
      throw err;
    }
    const conn = this.conn;
    void proc.exited.then(() => {
      if (!this.stopping && conn.inFlight > 0) conn.failAll((type) => this.exitedError(`while handling ${type}`));
    });
    try {
      this.hello = await this.conn.request("hello", { client: `c3l-orchestrator pid ${process.pid}` }, this.opts.startTimeoutMs) as unknown as HelloReply;
    } catch (err) {
      const diedFirst = proc.exit !== null; // read before teardown kills it
      await this.teardown("start-up failed");
      if (diedFirst) throw this.exitedError("during start-up (before answering hello)");
      throw err;
    }
    const mismatch = helloProblem(this.hello);
    if (mismatch) {
      await this.stop();
      throw new VersionMismatchError(
        `worker speaks protocol ${this.hello.protocol_version}, this orchestrator speaks ${PROTOCOL_VERSION} (${mismatch}): install matching versions (npm run setup)`,
        this.logFile);
    }
    this.onLog(`worker pid ${this.hello.pid} ready on ${endpoint} (torch ${this.hello.torch_version}, ${this.hello.device}, ${this.hello.num_threads} thread(s))`);
  }

  private connect(endpoint: string, proc: WorkerProcess): Connection {
    return new Connection(endpoint, {
      heartbeatIntervalMs: this.opts.heartbeatIntervalMs,
      heartbeatTimeoutMs: this.opts.heartbeatTimeoutMs,
      maxFrameBytes: this.opts.maxFrameBytes,
      logFile: this.opts.logFile,
      onLog: this.onLog,
      onDisconnect: () => this.onDisconnect(proc),
    });
  }

  private onDisconnect(proc: WorkerProcess): void {
    setTimeout(() => {
      if (proc !== this.proc || proc.exit || this.stopping) return; // the exit handler reports it better
      this.conn.failAll((type) => new WorkerUnresponsiveError(
        `worker pid ${proc.pid} stopped answering heartbeats (${this.opts.heartbeatTimeoutMs} ms) while ${type} was pending: the process is frozen or the connection dropped`,
        this.logFile));
    }, DISCONNECT_GRACE_MS);
  }

  private exitedError(what: string): WorkerExitedError {
    const exit = this.proc.exit ?? { exitCode: null, signal: null };
    return new WorkerExitedError(exit.exitCode, exit.signal, this.proc.stderrTail(), what, this.logFile);
  }

  private async teardown(reason: string): Promise<void> {
    this.stopping = true;
    this.conn.failAll((type) => new WorkerClosedError(`${type} abandoned: ${reason}`, this.logFile));
    this.conn.close();
    this.proc.kill("SIGKILL");
    await this.proc.exited;
    await this.proc.closeLog();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }

  private async makeEndpoint(): Promise<string> {
    if (this.opts.transport === "tcp") return `tcp://127.0.0.1:${await freePort()}`;
    // mkdtemp makes a 0700 directory: only this user can reach the socket. Short path: ipc paths cap at 107 chars.
    this.dir = mkdtempSync(join(tmpdir(), "c3l-"));
    return `ipc://${join(this.dir, "w.sock")}`;
  }
}

function exitsWithin(proc: WorkerProcess, ms: number): Promise<boolean> {
  return Promise.race([proc.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
