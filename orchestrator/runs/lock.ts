// One process works on a run at a time: a `lock` file holding the owner's pid and host.
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

/** Whether the lock's owner is alive: a process on this host that exists (another host's lock counts as live). */
export function isLockLive(info: LockInfo | null): boolean {
  if (!info) return false;
  if (info.host !== hostname() || info.pid === process.pid) return true;
  try {
    process.kill(info.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // alive, but another user's
  }
}

/**
 * Takes the run's lock (re-entrant within one process); a lock left by a dead process on this host
 * is taken over. Returns the release function, which also runs at process exit. Throws
 * RunLockedError while a live process holds the lock.
 */
export function acquireLock(runDir: string): () => void {
  const path = lockPath(runDir);
  const info: LockInfo = { pid: process.pid, host: hostname(), started_at: new Date().toISOString() };
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
          throw new RunLockedError(`run ${runDir} is in use by pid ${owner.pid} on ${owner.host} since ${owner.started_at}; if that process is gone, delete ${path}`);
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

