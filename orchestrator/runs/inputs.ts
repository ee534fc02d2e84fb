// Fingerprints of a run's inputs (image folder, manifest file, model folder), to tell on resume what changed.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, realpathSync, statSync, type Stats } from "node:fs";
import { join, resolve } from "node:path";

export type InputKind = "data" | "model";

export interface InputSpec {
  path: string;
  /** data: stat every file (fast for many images); model: hash small files' contents, stat large ones (weights) */
  kind: InputKind;
}

/**
 * What an input looked like. `entries` maps each relative path (sorted; names starting with "." are
 * skipped) to `"<size>:<mtime ms>"`, or to `"sha256:<hex>"` for a content-hashed file; `sha256`
 * hashes the whole listing, so any changed, added or removed file changes it.
 */
export interface InputFingerprint {
  path: string;
  kind: InputKind;
  type: "dir" | "file" | "missing";
  sha256: string | null;
  files: number;
  bytes: number;
  entries: Record<string, string>;
}

/** Files at most this large are content-hashed inside a model folder (configs, tokenizer files; not weights). */
export const MODEL_CONTENT_HASH_MAX_BYTES = 1 << 20;
/** A single input file (e.g. a JSONL manifest) is content-hashed up to this size. */
export const FILE_CONTENT_HASH_MAX_BYTES = 256 << 20;

/** A data folder or file: folder files by size and mtime (a `touch` counts as a change), a file by content. */
export function hashPath(path: string): InputFingerprint {
  return fingerprint(path, "data", 0);
}

/** A model folder: files up to 1 MiB (config.json, tokenizer configs) by content, larger ones (weights) by size and mtime. */
export function hashModelDir(path: string): InputFingerprint {
  return fingerprint(path, "model", MODEL_CONTENT_HASH_MAX_BYTES);
}

export function hashInput(spec: InputSpec): InputFingerprint {
  return spec.kind === "model" ? hashModelDir(spec.path) : hashPath(spec.path);
}

function fingerprint(path: string, kind: InputKind, contentMax: number): InputFingerprint {
  const abs = resolve(path);
  let st: Stats;
  try {
    st = statSync(abs);
  } catch {
    return { path: abs, kind, type: "missing", sha256: null, files: 0, bytes: 0, entries: {} };
  }
  const entries: Record<string, string> = {};
  let bytes = 0;
  if (st.isDirectory()) {
    const files: Array<[string, Stats, string]> = [];
    walk(abs, "", new Set([realpathSync(abs)]), files);
    files.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const [rel, fst, full] of files) {
      entries[rel] = describe(full, fst, contentMax);
      bytes += fst.size;
    }
  } else {
    entries[""] = describe(abs, st, FILE_CONTENT_HASH_MAX_BYTES);
    bytes = st.size;
  }
  const hash = createHash("sha256");
  for (const [rel, desc] of Object.entries(entries)) hash.update(`${rel}\0${desc}\n`);
  return { path: abs, kind, type: st.isDirectory() ? "dir" : "file", sha256: hash.digest("hex"), files: Object.keys(entries).length, bytes, entries };
}

function walk(dir: string, prefix: string, seen: Set<string>, out: Array<[string, Stats, string]>): void {
  for (const name of readdirSync(dir)) {
    if (name.startsWith(".")) continue;
    const full = join(dir, name);
    const rel = prefix ? `${prefix}/${name}` : name;
    let st: Stats;
    try {
      st = statSync(full); // follows symlinks (a Hugging Face snapshot is links to blobs)
    } catch {
      continue; // a dangling link is not an input
    }
    if (st.isDirectory()) {
      const real = realpathSync(full);
      if (seen.has(real)) continue; // a link cycle
      seen.add(real);
      walk(full, rel, seen, out);
    } else if (st.isFile()) {
      out.push([rel, st, full]);
    }
  }
}

function describe(full: string, st: Stats, contentMax: number): string {
  if (st.size <= contentMax) return `sha256:${createHash("sha256").update(readFileSync(full)).digest("hex")}`;
  return `${st.size}:${Math.floor(st.mtimeMs)}`;
}

/** What changed between two sets of fingerprints, one line per changed input; empty when nothing did. */
export function diffInputs(before: Record<string, InputFingerprint>, after: Record<string, InputFingerprint>): string[] {
  const out: string[] = [];
  for (const name of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    const a = before[name];
    const b = after[name];
    if (!a || !b) {
      out.push(`${name}: ${a ? "no longer an input" : "a new input"}`);
      continue;
    }
    if (a.path === b.path && a.sha256 === b.sha256) continue;
    if (b.type === "missing") {
      out.push(`${name}: ${b.path} no longer exists`);
      continue;
    }
    const parts: string[] = [];
    if (a.path !== b.path) parts.push(`path ${a.path} -> ${b.path}`);
    if (a.sha256 !== b.sha256) {
      const changed: string[] = [];
      const added: string[] = [];
      const removed: string[] = [];
      for (const [rel, desc] of Object.entries(b.entries)) {
        if (!(rel in a.entries)) added.push(rel);
        else if (a.entries[rel] !== desc) changed.push(rel);
      }
      for (const rel of Object.keys(a.entries)) if (!(rel in b.entries)) removed.push(rel);
      const list = (what: string, rels: string[]) => {
        if (rels.length) parts.push(`${rels.length} ${what} (${rels.slice(0, 5).map((r) => r || "the file").join(", ")}${rels.length > 5 ? ", …" : ""})`);
      };
      list("changed", changed);
      list("added", added);
      list("removed", removed);
      if (!changed.length && !added.length && !removed.length) parts.push("contents changed");
    }
    out.push(`${name} (${b.path}): ${parts.join("; ")}`);
  }
  return out;
}
