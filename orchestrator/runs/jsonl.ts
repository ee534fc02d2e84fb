// Append-only JSON Lines files keyed by `id`: one write + fsync per append; a torn last line is cut away on reopening.
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readFileSync, truncateSync } from "node:fs";
import { RunStoreError } from "./errors.js";
import { DiskFullError, isDiskFull, writeAll } from "./atomic.js";

/** The unfinished end of a JSONL file left by a process killed mid-write. */
export interface TornLine {
  /** byte offset where the torn line starts: the file's intact part is [0, offset) */
  offset: number;
  bytes: number;
  reason: "no trailing newline" | "not JSON";
  /** the torn text's first 120 characters, for the log */
  preview: string;
}

/** A newline-terminated line that is not JSON, followed by more lines: damage that is not a torn end. */
export interface BadLine {
  line: number;
  offset: number;
  message: string;
}

export interface JsonlScan {
  torn: TornLine | null;
  badLines: BadLine[];
  /** newline-terminated lines, blank ones included */
  lines: number;
}

const NEWLINE = 0x0a;

/**
 * Reads `buf` line by line and calls `onValue` for each newline-terminated line that parses.
 * The last line is torn when it lacks its newline, or when it is the last non-blank line and is
 * not JSON; a line that is not JSON with intact lines after it is reported in `badLines`.
 */
export function scanJsonl(buf: Buffer, onValue: (value: unknown, line: number) => void): JsonlScan {
  const badLines: BadLine[] = [];
  let pending: BadLine | null = null; // an unparseable line: torn if nothing but blank lines follows
  let pos = 0;
  let line = 0;
  while (pos < buf.length) {
    const nl = buf.indexOf(NEWLINE, pos);
    if (nl === -1) break;
    line += 1;
    const text = buf.toString("utf8", pos, nl);
    if (text.trim() !== "") {
      if (pending) badLines.push(pending);
      pending = null;
      let value: unknown;
      let parsed = true;
      try {
        value = JSON.parse(text);
      } catch (err) {
        parsed = false;
        pending = { line, offset: pos, message: (err as Error).message };
      }
      if (parsed) onValue(value, line);
    }
    pos = nl + 1;
  }
  if (pos < buf.length) {
    if (pending) badLines.push(pending);
    return { torn: torn(buf, pos, "no trailing newline"), badLines, lines: line };
  }
  return { torn: pending ? torn(buf, pending.offset, "not JSON") : null, badLines, lines: line };
}

function torn(buf: Buffer, offset: number, reason: TornLine["reason"]): TornLine {
  return { offset, bytes: buf.length - offset, reason, preview: buf.toString("utf8", offset, Math.min(buf.length, offset + 120)) };
}

/** Cuts a torn last line off `path` (if any) and returns what was cut; the file must not be open for writing elsewhere. */
export function repairTornTail(path: string): TornLine | null {
  if (!existsSync(path)) return null;
  const { torn: tail } = scanJsonl(readFileSync(path), () => {});
  if (tail) {
    truncateSync(path, tail.offset);
    const fd = openSync(path, "r+");
    try { fsyncSync(fd); } finally { closeSync(fd); }
  }
  return tail;
}

export interface SampleRecord {
  id: string;
}

export interface SampleReadResult<T extends SampleRecord> {
  /** one record per id, in order of first appearance; for an id written twice the LATER line wins */
  records: Map<string, T>;
  tornLine: boolean;
  torn: TornLine | null;
  /** ids that appear on more than one line (each listed once) */
  duplicates: string[];
  lines: number;
}

/**
 * `samples/<stage>.jsonl`: one JSON object per line, each with a non-empty string `id`.
 * `open()` cuts a torn last line away (reported in `recovered`) and appends; `read()` never writes.
 * Calls are synchronous so appends from concurrent callers cannot interleave within a line.
 */
export class SampleFile<T extends SampleRecord = SampleRecord> {
  private fd: number | null;

  private constructor(readonly path: string, fd: number | null, readonly recovered: TornLine | null) {
    this.fd = fd;
  }

  /** Opens (creating if needed) for appending, after cutting a torn last line away. */
  static open<T extends SampleRecord = SampleRecord>(path: string): SampleFile<T> {
    const recovered = repairTornTail(path);
    return new SampleFile<T>(path, openSync(path, "a", 0o644), recovered);
  }

  /** Reads `path` without changing it; a missing file reads as empty. */
  static read<T extends SampleRecord = SampleRecord>(path: string): SampleReadResult<T> {
    const records = new Map<string, T>();
    const seen = new Set<string>();
    const duplicates: string[] = [];
    if (!existsSync(path)) return { records, tornLine: false, torn: null, duplicates, lines: 0 };
    const scan = scanJsonl(readFileSync(path), (value, line) => {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw new RunStoreError(`${path}:${line}: expected a JSON object with a string "id", found ${Array.isArray(value) ? "an array" : JSON.stringify(value)}`);
      }
      const id = (value as { id?: unknown }).id;
      if (typeof id !== "string" || id === "") {
        throw new RunStoreError(`${path}:${line}: the record has no string "id" (found ${JSON.stringify(id)})`);
      }
      if (records.has(id) && !seen.has(id)) {
        seen.add(id);
        duplicates.push(id);
      }
      records.set(id, value as T);
    });
    const bad = scan.badLines[0];
    if (bad) {
      throw new RunStoreError(
        `${path}:${bad.line}: not JSON (${bad.message}) with intact lines after it: the file is damaged in the middle, not at its end` +
          (scan.badLines.length > 1 ? ` (${scan.badLines.length} such lines)` : ""),
      );
    }
    return { records, tornLine: scan.torn !== null, torn: scan.torn, duplicates, lines: scan.lines };
  }

  read(): SampleReadResult<T> {
    return SampleFile.read<T>(this.path);
  }

  /**
   * Appends `records` as one write of newline-terminated lines, then fsyncs: when this returns they
   * are on disk; a kill during the call leaves at most a torn last line, which the next `open()` cuts.
   * Throws (writing nothing) on a record without a string id or with a non-finite number, which
   * JSON cannot hold. A write or fsync that fails (a full disk: DiskFullError naming the file) cuts
   * the file back to its size before the call, so nothing of the failed append is left.
   */
  append(records: readonly T[]): void {
    if (this.fd === null) throw new RunStoreError(`${this.path}: append after close()`);
    if (records.length === 0) return;
    const lines = records.map((record) => {
      if (typeof record?.id !== "string" || record.id === "") {
        throw new RunStoreError(`${this.path}: cannot append a record without a string "id": ${JSON.stringify(record)?.slice(0, 200)}`);
      }
      return `${stringifyFinite(record, `${this.path}: sample ${record.id}`)}\n`;
    });
    const before = fstatSync(this.fd).size;
    try {
      writeAll(this.fd, Buffer.from(lines.join(""), "utf8"));
      fsyncSync(this.fd);
    } catch (err) {
      try {
        ftruncateSync(this.fd, before); // appends go to the end: a part-written line must not stay before the next one
        fsyncSync(this.fd);
      } catch {
        // the next open() still cuts a torn last line
      }
      if (isDiskFull(err)) throw new DiskFullError(this.path, `nothing of the ${records.length} record(s) being appended was kept`, err);
      throw err;
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** JSON.stringify that refuses NaN and ±Infinity instead of silently writing null. */
export function stringifyFinite(value: unknown, where: string): string {
  return JSON.stringify(value, function (key, v: unknown) {
    if (typeof v === "number" && !Number.isFinite(v)) {
      throw new RunStoreError(`${where}: field "${key}" is ${v}, which JSON cannot store (write null and say why)`);
    }
    return v;
  });
}
