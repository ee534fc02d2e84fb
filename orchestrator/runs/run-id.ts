// Run ids: `YYYYMMDD-HHMMSS-<6 hex>[-<name>]` in UTC, so lexical order is creation order (to the second).
import { createHash, randomBytes } from "node:crypto";
import { RunArgumentError } from "./errors.js";

export const RUN_NAME_MAX = 40;
export const RUN_ID_PATTERN = /^(\d{8})-(\d{6})-([0-9a-f]{6})(?:-([a-z0-9_-]+))?$/;

let created = 0;

/** Lower-cases a label and keeps [a-z0-9_-] (other runs of characters become one "-"), at most 40 characters. */
export function sanitizeRunName(name: string): string {
  const clean = name
    .normalize("NFKD")
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .slice(0, RUN_NAME_MAX)
    .replace(/^[-_]+|[-_]+$/g, "");
  if (!clean) throw new RunArgumentError(`run name ${JSON.stringify(name)} has no usable characters (allowed: a-z 0-9 _ -)`);
  return clean;
}

/**
 * A new run id. The 6 hex digits hash `salt` (pass the config text) with the time, the pid, a
 * per-process counter and random bytes, so two runs started in the same second still differ.
 */
export function newRunId(options: { name?: string | null; now?: Date; salt?: string } = {}): string {
  const now = options.now ?? new Date();
  const iso = now.toISOString(); // 2024-05-01T12:34:56.789Z
  const stamp = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
  created += 1;
  const hex = createHash("sha256")
    .update([options.salt ?? "", iso, String(process.hrtime.bigint()), String(process.pid), String(created), randomBytes(8).toString("hex")].join("\0"))
    .digest("hex")
    .slice(0, 6);
  const name = options.name ? sanitizeRunName(options.name) : null;
  return name ? `${stamp}-${hex}-${name}` : `${stamp}-${hex}`;
}

/** The parts of a run id, or null when `id` is not one. */
export function parseRunId(id: string): { created: Date; hex: string; name: string | null } | null {
  const m = RUN_ID_PATTERN.exec(id);
  if (!m) return null;
  const [, d, t, hex, name] = m as unknown as [string, string, string, string, string | undefined];
  const created = new Date(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${t.slice(0, 2)}:${t.slice(2, 4)}:${t.slice(4, 6)}Z`);
  if (Number.isNaN(created.getTime())) return null;
  return { created, hex, name: name ?? null };
}
