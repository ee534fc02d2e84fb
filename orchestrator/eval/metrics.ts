// Small numeric helpers shared by the scorers; every rate is a percentage, as benchmark tables print them.
import type { Counts, Metric } from "./types.js";

/** 100·num/den, or null when den is 0 (no question of the group was scored). */
export function percent(num: number, den: number): number | null {
  return den === 0 ? null : (100 * num) / den;
}

export function mean(values: Array<number | null>): number | null {
  if (values.length === 0 || values.some((v) => v === null)) return null;
  return (values as number[]).reduce((a, b) => a + b, 0) / values.length;
}

export function metric(value: number | null, options: { higherIsBetter?: boolean | null; version?: number; unit?: Metric["unit"] } = {}): Metric {
  return { value, higher_is_better: options.higherIsBetter === undefined ? true : options.higherIsBetter, version: options.version ?? 1, unit: options.unit ?? "%" };
}

export function emptyCounts(): Counts {
  return { questions: 0, prompts: 0, predictions: 0, matched: 0, missing: 0, unparseable: 0, unmatched: 0 };
}

/** Accuracy over groups (categories, dimensions): sorted by group name so output is stable. */
export function accuracyByGroup<T>(items: T[], groupOf: (item: T) => string, correct: (item: T) => boolean): Array<{ group: string; correct: number; total: number; accuracy: number | null }> {
  const table = new Map<string, { correct: number; total: number }>();
  for (const item of items) {
    const g = groupOf(item);
    const row = table.get(g) ?? { correct: 0, total: 0 };
    row.total += 1;
    if (correct(item)) row.correct += 1;
    table.set(g, row);
  }
  return [...table.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([group, row]) => ({ group, ...row, accuracy: percent(row.correct, row.total) }));
}

/** A group name as one segment of a dotted metric name (dots would split it). */
export function metricSegment(name: string): string {
  return name.trim().replace(/\./g, "_") || "(none)";
}
