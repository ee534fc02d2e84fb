// Workers as a config asks for them: the one builder of session options (config.worker and the
// generator's device and dtype), and the pool (workers.*): local worker i pinned to devices[i mod N]
// through CUDA_VISIBLE_DEVICES (so it sees one GPU, as cuda:0) or on CPU threads, then the remote workers.
import { basename, dirname, join } from "node:path";
import type { C3lConfig } from "../config/index.js";
import { RemoteWorker } from "./remote.js";
import type { WorkerOptions } from "./worker.js";
import { WorkerPool, type PoolMember } from "./pool.js";
import { WorkerSession, type SessionOptions } from "./session.js";

/** What sessionOptions reads: a config, or (c3l eval, which has none) the same sections with defaults. */
export type SessionConfig = Pick<C3lConfig, "worker"> & { generator: Pick<C3lConfig["generator"], "device" | "dtype"> };

/** A session's options from config.worker (threads, deadlines, attempts) and the generator's device and dtype. */
export function sessionOptions(config: SessionConfig, logFile: string, log: (line: string) => void): SessionOptions {
  const w = config.worker;
  return {
    threads: w.threads, requestTimeoutMs: w.request_timeout_s * 1000, startTimeoutMs: w.start_timeout_s * 1000, maxAttempts: w.max_attempts,
    logFile, device: config.generator.device, dtype: config.generator.dtype, log,
  };
}

export interface PoolSetup {
  config: C3lConfig;
  /** Worker 0 logs here; worker i to worker-<i>.log beside it. */
  workerLog: string;
  log: (line: string) => void;
  /** Test hook: worker options such as a fixture command (every local worker). */
  worker?: Partial<WorkerOptions>;
}

/** Where local worker `i` runs: a CUDA device by index, or the generator's device. */
export function localPlacement(config: C3lConfig, i: number): { device: string; env: Record<string, string>; where: string } {
  const devices = config.workers.devices;
  if (devices.length === 0) return { device: config.generator.device, env: {}, where: `${config.generator.device}, ${config.worker.threads} thread(s)` };
  const device = devices[i % devices.length]!;
  return { device: "cuda:0", env: { CUDA_VISIBLE_DEVICES: device.slice("cuda:".length) }, where: device };
}

export function workerLogFile(workerLog: string, i: number): string {
  return i === 0 ? workerLog : join(dirname(workerLog), `${basename(workerLog, ".log")}-${i}.log`);
}

export function poolFromConfig(setup: PoolSetup): WorkerPool {
  const { log } = setup;
  // A run begun before the workers section existed resumes with one local worker, as it began.
  const config: C3lConfig = { ...setup.config, workers: setup.config.workers ?? { local: 1, devices: [], remote: [], client_key: null, in_flight: 1 } };
  const base = (logFile: string, id: string): SessionOptions =>
    sessionOptions(config, logFile, (line) => log(config.workers.local + config.workers.remote.length > 1 ? `[${id}] ${line}` : line));
  const members: PoolMember[] = [];
  for (let i = 0; i < config.workers.local; i++) {
    const id = `local-${i}`;
    const place = localPlacement(config, i);
    const options = base(workerLogFile(setup.workerLog, i), id);
    const worker = { ...setup.worker, env: { ...setup.worker?.env, ...place.env } };
    members.push({ id, where: place.where, session: new WorkerSession({ ...options, device: place.device, worker }) });
  }
  config.workers.remote.forEach((remote, i) => {
    const id = `remote-${i}`;
    const options = base(`${remote.endpoint} (its log is on its own host)`, id);
    // Paths in requests (model, images) are opened on the worker's host: docs/REMOTE.md.
    const connect = () => RemoteWorker.connect({
      endpoint: remote.endpoint, serverPublicKey: remote.server_key, clientKeyFile: config.workers.client_key!,
      startTimeoutMs: options.startTimeoutMs, requestTimeoutMs: options.requestTimeoutMs, onLog: (line) => options.log(`worker: ${line}`),
    });
    // A remote worker loads the generator on the device it was started with (c3l worker --device).
    members.push({ id, where: remote.endpoint, session: new WorkerSession({ ...options, device: "auto", connect }) });
  });
  return new WorkerPool(members, { inFlight: config.workers.in_flight, maxAttempts: config.worker.max_attempts, log });
}

