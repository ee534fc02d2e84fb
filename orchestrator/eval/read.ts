// Strict readers for benchmark and predictions files: every problem names the file and the line.
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import type { DataFile } from "./types.js";
import { EvalInputError } from "./errors.js";

export function readText(path: string): { text: string; file: DataFile } {
  let buf: Buffer;
  try {
    if (statSync(path).isDirectory()) throw new EvalInputError("is a folder, expected a file", { file: path });
    buf = readFileSync(path);
  } catch (err) {
    if (err instanceof EvalInputError) throw err;
    throw new EvalInputError(`cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { file: path });
  }
  const sha256 = createHash("sha256").update(buf).digest("hex");
  // a UTF-8 byte-order mark would otherwise make the first line unparseable
  const text = buf.toString("utf8").replace(/^\uFEFF/, "");
  return { text, file: { path, sha256, bytes: buf.length } };
}

export interface JsonLine {
  value: Record<string, unknown>;
  line: number;
}

/** JSON Lines: one object per non-blank line. A line that is not a JSON object is an error, never skipped. */
export function readJsonLines(path: string): { lines: JsonLine[]; file: DataFile } {
  const { text, file } = readText(path);
  const lines: JsonLine[] = [];
  const rows = text.split("\n");
  for (let i = 0; i < rows.length; i++) {
    const raw = rows[i]!.replace(/\r$/, "");
    if (raw.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      throw new EvalInputError(`not JSON (${(err as Error).message}): ${preview(raw)}`, { file: path, line: i + 1 });
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new EvalInputError(`expected a JSON object, got ${describe(value)}`, { file: path, line: i + 1 });
    }
    lines.push({ value: value as Record<string, unknown>, line: i + 1 });
  }
  return { lines, file };
}

/** A whole-file JSON document. */
export function readJson(path: string): { value: unknown; text: string; file: DataFile } {
  const { text, file } = readText(path);
  try {
    return { value: JSON.parse(text), text, file };
  } catch (err) {
    const message = (err as Error).message;
    const pos = /position (\d+)/.exec(message);
    const line = pos ? text.slice(0, Number(pos[1])).split("\n").length : null;
    throw new EvalInputError(`not JSON (${message})`, { file: path, line });
  }
}

/** "a string", "a number", "null" … for messages of the form `expected X, got Y`. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `the string ${preview(JSON.stringify(value))}`;
  if (typeof value === "object") return "an object";
  return `${typeof value === "number" ? "the number" : typeof value} ${String(value)}`;
}

export function preview(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** A question id as the file wrote it: a string, or an integer. */
export function readId(value: unknown, field: string, where: { file: string; line: number }): string | number {
  if (typeof value === "string" && value !== "") return value;
  if (typeof value === "number" && Number.isInteger(value)) return value;
  throw new EvalInputError(`${field}: expected a string or an integer, got ${value === undefined ? "nothing (missing)" : describe(value)}`, where);
}

export function readString(record: Record<string, unknown>, field: string, where: { file: string; line: number }, allowEmpty = true): string {
  const value = record[field];
  if (typeof value !== "string" || (!allowEmpty && value === "")) {
    throw new EvalInputError(`${field}: expected ${allowEmpty ? "a string" : "a non-empty string"}, got ${value === undefined ? "nothing (missing)" : describe(value)}`, where);
  }
  return value;
}

/** The join form of an id: 3 and "3" are the same question (LLaVA's answer files write ints where benchmarks write strings). */
export function idKey(id: string | number): string {
  return String(id);
}
