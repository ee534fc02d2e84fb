// One process works on a run at a time: a `lock` file holding the owner's pid, host and start time.
// Liveness is read from /proc, not `kill(pid, 0)`: a process killed but not yet reaped (a zombie)
// passes `kill(pid, 0)`, which refused resumes started right after `kill -9` of a process group.
import { linkSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { join } from "node:path";
import { RunLockedError } from "./errors.js";

// One exit listener for all locks this process holds (not one per lock).
const held = new Set<() => void>();
let exitHook: (() => void) | null = null;

export interface LockInfo {
  pid: number;
  host: string;
  started_at: string;
  /** the owner's start time in clock ticks after boot (/proc/<pid>/stat field 22): tells a reused pid apart */
  proc_start?: number | null;
}

/** How long a live owner is watched before refusing: one killed a moment ago may still be exiting. */
const DYING_OWNER_WAIT_MS = 1000;

type ProcState = { state: string; start: number } | "gone" | "unknown";

/** A process's state letter and start time from /proc; "unknown" where /proc cannot tell (another OS). */
function procState(pid: number): ProcState {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ESRCH") return existsProcFs() ? "gone" : "unknown";
    return "unknown";
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ")".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: fields[0] ?? "?", start: Number(fields[19]) };
}

let procFs: boolean | null = null;
function existsProcFs(): boolean {
  if (procFs === null) {
    try {
      readFileSync("/proc/self/stat");
      procFs = true;
    } catch {
      procFs = false;
    }
  }
  return procFs;
}

function ownStart(): number | null {
  const s = procState(process.pid);
  return typeof s === "object" && Number.isFinite(s.start) ? s.start : null;
}

export function lockPath(runDir: string): string {
  return join(runDir, "lock");
}

/** The lock's owner, or null when the run is not locked. */
export function readLock(runDir: string): LockInfo | null {
  try {
    return JSON.parse(readFileSync(lockPath(runDir), "utf8")) as LockInfo;
  } catch {
    return null;
  }
}

/**
 * Whether the lock's owner is alive: on this host, a process with its pid that is neither a zombie
 * nor dead, and (when the lock recorded it) started when the owner did, so a reused pid is not
 * mistaken for the owner. Another host's lock counts as live: nothing here can see that host.
 */
export function isLockLive(info: LockInfo | null): boolean {
  if (!info) return false;
  if (info.host !== hostname() || info.pid === process.pid) return true;
  return isProcessAlive(info.pid, info.proc_start);
}

/**
 * Whether process `pid` on this host runs: neither gone nor a zombie, and, given `procStart`, the
 * process that started then (not a later one that reuses its pid). Where /proc cannot tell, kill(pid, 0).
 */
export function isProcessAlive(pid: number, procStart?: number | null): boolean {
  const proc = procState(pid);
  if (proc === "gone") return false;
  if (proc === "unknown") {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === "EPERM"; // alive, but another user's
    }
  }
  if (proc.state === "Z" || proc.state === "X" || proc.state === "x") return false;
  return typeof procStart !== "number" || proc.start === procStart;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Takes the run's lock (re-entrant within one process); a lock left by a dead process on this host
 * is taken over. Returns the release function, which also runs at process exit. Throws
 * RunLockedError while a live process holds the lock.
 */
export function acquireLock(runDir: string): () => void {
  const path = lockPath(runDir);
  const info: LockInfo = { pid: process.pid, host: hostname(), started_at: new Date().toISOString(), proc_start: ownStart() };
  const tmp = join(runDir, `.lock.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(info)}\n`);
  try {
    for (let attempt = 0; ; attempt += 1) {
      try {
        linkSync(tmp, path); // appears complete or not at all, and never replaces an existing lock
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) throw err;
        const owner = readLock(runDir);
        if (owner && owner.pid === process.pid && owner.host === info.host) return () => {}; // already ours
        if (owner && isLockLive(owner)) {
          const deadline = Date.now() + DYING_OWNER_WAIT_MS;
          while (isLockLive(owner) && Date.now() < deadline) sleepSync(50);
        }
        if (owner && isLockLive(owner)) {
          const what = owner.host === info.host
            ? `wait for it to finish, or stop it (\`kill ${owner.pid}\`) and resume again`
            : `it runs on another host, which this one cannot check: if it is gone, delete ${path} and resume again`;
          throw new RunLockedError(`run ${runDir} is in use by pid ${owner.pid} on ${owner.host} since ${owner.started_at}: ${what}`);
        }
        rmSync(path, { force: true }); // stale: its owner died
      }
    }
  } finally {
    rmSync(tmp, { force: true });
  }
  const release = () => {
    held.delete(release);
    const owner = readLock(runDir);
    if (owner && owner.pid === info.pid && owner.host === info.host) rmSync(path, { force: true });
  };
  if (!exitHook) {
    exitHook = () => { for (const r of [...held]) r(); };
    process.once("exit", exitHook);
  }
  held.add(release);
  return release;
}

