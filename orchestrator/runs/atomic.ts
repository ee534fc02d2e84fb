// Whole-file writes that are either absent or complete: temp file in the same folder, fsync, rename.
// A full disk is reported once, naming the file and saying that the disk is full.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { RunStoreError } from "./errors.js";

/** Whether `err` is a full disk (ENOSPC) or an exceeded quota (EDQUOT). */
export function isDiskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}

/** The error for a write to `path` that found the disk full; `kept` says what the failed write left. */
export class DiskFullError extends RunStoreError {
  override name = "DiskFullError";
  constructor(readonly path: string, kept: string, override readonly cause: unknown) {
    super(`${path}: disk full (no space left on device); ${kept}: free space, then resume the run (${(cause as Error).message})`);
  }
}

/** Writes every byte of `data` at the descriptor's position (writeSync may write less than asked). */
export function writeAll(fd: number, data: Uint8Array): void {
  let offset = 0;
  while (offset < data.length) offset += writeSync(fd, data, offset, data.length - offset);
}

/** Makes a rename or a new file in `dir` durable; best effort (some file systems refuse to fsync a folder). */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // durability of the folder entry is a bonus; the rename itself is already atomic
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Replaces `path` atomically: readers see the old file or the new one, never a part; after a
 * crash at most a hidden `.NAME.PID.HEX.tmp` file is left beside it. Synchronous on purpose.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, "wx", 0o644);
    writeAll(fd, bytes);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    if (isDiskFull(err)) throw new DiskFullError(path, "the file was not replaced and is as it was", err);
    throw err;
  }
  fsyncDir(dir);
}

/** `writeFileAtomic` of pretty JSON (2-space indent, trailing newline). */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}
