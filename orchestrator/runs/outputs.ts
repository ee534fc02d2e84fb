// What a finished stage wrote, fingerprinted in its state file, so a resume can tell a damaged
// output (a truncated JSONL, an edited dataset, a shortened weight file) from an intact one and
// stop instead of going on with less.
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { createHash } from "node:crypto";
import { join, relative } from "node:path";

export interface FileFingerprint {
  bytes: number;
  /** sha256 of the content; null for large files (weights), which are checked by size */
  sha256: string | null;
}

/** Files up to this size are hashed; larger ones (weights) are checked by size, so resume stays quick. */
const HASH_LIMIT_BYTES = 256 * 1024 * 1024;

/** Checkpoints are the stage's own scratch: nothing after the stage reads them, and they may be pruned. */
const UNCHECKED = /^checkpoints\//;

function sha256(path: string): string {
  const hash = createHash("sha256");
  const buf = Buffer.allocUnsafe(1 << 20);
  const fd = openSync(path, "r");
  try {
    for (let n = readSync(fd, buf, 0, buf.length, null); n > 0; n = readSync(fd, buf, 0, buf.length, null)) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

function fingerprint(path: string): FileFingerprint {
  const bytes = statSync(path).size;
  return { bytes, sha256: bytes <= HASH_LIMIT_BYTES ? sha256(path) : null };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && !e.name.startsWith("."))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/**
 * Fingerprints of a stage's declared outputs (files, or folders ending in "/"), by path relative to
 * the run folder; outputs that do not exist are left out (a stage may legitimately write nothing).
 */
export function fingerprintOutputs(runDir: string, outputs: readonly string[]): Record<string, FileFingerprint> {
  const prints: Record<string, FileFingerprint> = {};
  for (const output of outputs) {
    if (UNCHECKED.test(output)) continue;
    const path = join(runDir, output);
    if (!existsSync(path)) continue;
    const files = output.endsWith("/") ? filesUnder(path) : [path];
    for (const file of files) prints[relative(runDir, file)] = fingerprint(file);
  }
  return prints;
}

/** What differs between the recorded fingerprints and the files now: one line per damaged file. */
export function checkOutputs(runDir: string, recorded: Record<string, FileFingerprint>): string[] {
  const problems: string[] = [];
  for (const [rel, want] of Object.entries(recorded)) {
    const path = join(runDir, rel);
    if (!existsSync(path)) {
      problems.push(`${path} is missing`);
      continue;
    }
    const bytes = statSync(path).size;
    if (bytes !== want.bytes) {
      problems.push(`${path} holds ${bytes} bytes; the stage finished with ${want.bytes}`);
      continue;
    }
    if (want.sha256 !== null && sha256(path) !== want.sha256) problems.push(`${path} changed since the stage finished (sha256 differs)`);
  }
  return problems;
}
