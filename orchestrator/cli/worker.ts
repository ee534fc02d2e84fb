// `c3l worker --bind …`: a worker in the foreground for other orchestrators to connect to (docs/REMOTE.md).
// The Python worker checks every flag (keys, roots, endpoint) itself, so it is the one place those rules live.
import { execa } from "execa";
import { workerPython } from "../worker/python.js";
import { WorkerExitedError } from "../worker/errors.js";
import { EXIT } from "../errors.js";

export interface WorkerCommandOptions {
  bind: string;
  key?: string;
  authorizedKeys?: string;
  roots: string[];
  threads: number;
  /** cpu hides every GPU from the worker; cuda:N shows it only GPU N (which it then calls cuda / cuda:0). */
  device?: string;
  maxFrameBytes?: number;
}

// After a stop signal the worker closes its socket and exits; past this it is killed.
const STOP_GRACE_MS = 10_000;
const WORKER_USAGE_EXIT = 2; // the worker refused its flags and said why on stderr

export async function worker(options: WorkerCommandOptions): Promise<number> {
  const device = deviceEnv(options.device);
  if (device === null) {
    process.stderr.write(`c3l: --device ${options.device}: expected cpu, cuda or cuda:N\n`);
    return EXIT.usage; // as for the flags the worker itself refuses: said once, on stderr
  }
  const args = ["-m", "c3l_worker", "--endpoint", options.bind, "--threads", String(options.threads), "--parent-pid", String(process.pid)];
  if (options.key !== undefined) args.push("--curve-secret-key", options.key);
  if (options.authorizedKeys !== undefined) args.push("--authorized-keys", options.authorizedKeys);
  for (const root of options.roots) args.push("--roots", root);
  if (options.maxFrameBytes !== undefined) args.push("--max-frame-bytes", String(options.maxFrameBytes));
  const threads = String(options.threads);
  const child = execa(workerPython(), args, {
    env: { HF_HUB_OFFLINE: "1", TRANSFORMERS_OFFLINE: "1", PYTHONUNBUFFERED: "1", OMP_NUM_THREADS: threads, MKL_NUM_THREADS: threads, ...device },
    extendEnv: true, stdio: ["ignore", "inherit", "inherit"], reject: false, cleanup: true,
  });
  let stopping = false;
  const stop = (): void => {
    if (stopping) {
      child.kill("SIGKILL"); // a second Ctrl-C: do not wait for the clean-up
      return;
    }
    stopping = true;
    child.kill("SIGTERM"); // Ctrl-C reaches the worker too (same process group); a plain `kill` of c3l does not
    setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS).unref();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  try {
    const result = await child;
    if (stopping) return EXIT.ok;
    if (result.exitCode === 0) return EXIT.ok;
    if (result.exitCode === WORKER_USAGE_EXIT) return EXIT.usage;
    throw new WorkerExitedError(result.exitCode ?? null, result.signal ?? null, "", `while serving ${options.bind} (its log is above)`, null);
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}

/** --device as the CUDA_VISIBLE_DEVICES the worker starts with (null: not a device); load_model's device picks within it. */
export function deviceEnv(device: string | undefined): Record<string, string> | null {
  if (device === undefined || device === "cuda") return {};
  if (device === "cpu") return { CUDA_VISIBLE_DEVICES: "" };
  const match = /^cuda:(\d+)$/.exec(device);
  return match ? { CUDA_VISIBLE_DEVICES: match[1]! } : null;
}
