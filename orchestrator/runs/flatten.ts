// Configs as flat dotted keys: for comparing runs, filtering them, and naming what changed.
import { createHash } from "node:crypto";

export type FlatValue = string | number | boolean | null;

/**
 * `{a: {b: 1}, c: [1, 2]}` -> `{"a.b": 1, "c": "[1,2]"}`: nested objects become dotted keys, arrays
 * and empty objects become their JSON text, everything else is kept as is.
 */
export function flattenConfig(value: unknown, prefix = ""): Record<string, FlatValue> {
  const out: Record<string, FlatValue> = {};
  const visit = (v: unknown, key: string) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length > 0) {
      for (const [k, child] of Object.entries(v)) visit(child, key ? `${key}.${k}` : k);
    } else if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") {
      out[key] = v;
    } else if (v !== undefined) {
      out[key] = JSON.stringify(v);
    }
  };
  visit(value, prefix);
  return out;
}

/** Gets a dotted key of a nested value (`a.b.c`), or undefined when absent. */
export function getDotted(value: unknown, dotted: string): unknown {
  let cur: unknown = value;
  for (const part of dotted.split(".")) {
    if (cur === null || typeof cur !== "object" || !(part in cur)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** `key: before -> after` for every dotted key that differs ("(absent)" for a missing key); empty when equal. */
export function diffConfig(before: unknown, after: unknown): string[] {
  const a = flattenConfig(before);
  const b = flattenConfig(after);
  const show = (rec: Record<string, FlatValue>, k: string) => (k in rec ? JSON.stringify(rec[k]) : "(absent)");
  return [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .sort()
    .filter((k) => !(k in a && k in b && a[k] === b[k]))
    .map((k) => `${k}: ${show(a, k)} -> ${show(b, k)}`);
}

/** JSON with object keys sorted at every level: equal configs give equal text whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      : v,
  );
}

export function hashConfig(config: unknown): string {
  return createHash("sha256").update(canonicalJson(config)).digest("hex");
}
