// I2C distributions per scoring pass and run: shared histogram bins, CDF points, selection thresholds, statistics.
import { sortStages } from "../runs/stage-names.js";
import { i2cStats, type I2CStats } from "../runs/summary.js";
import type { ReportRun } from "./load.js";
import { stageKind } from "./stages.js";

/** A scored pair as samples/<score stage>.jsonl holds it. */
export interface ScoreRecord {
  id: string;
  image_id?: string;
  question?: string;
  answer?: string;
  logp_with_image?: number | null;
  logp_without_image?: number | null;
  i2c?: number | null;
  error?: string | null;
}

export interface I2CSeries {
  run: string;
  pass: string;
  values: number[];
}

/** The scoring stages present in any run (r0-score, …, rescore), in pipeline order. */
export function scoringPasses(runs: ReportRun[]): string[] {
  return sortStages(new Set(runs.flatMap((r) => r.stages.filter((s) => stageKind(s) === "score"))));
}

/** Finite I2C values per run and scoring pass; a pass a run lacks is left out. */
export function i2cSeries(runs: ReportRun[], passes: string[]): I2CSeries[] {
  return runs.flatMap((run) => passes.filter((p) => run.stages.includes(p)).map((pass) => ({
    run: run.label,
    pass,
    values: run.samples<ScoreRecord>(pass).map((r) => r.i2c).filter((v): v is number => typeof v === "number" && Number.isFinite(v)),
  })));
}

/** Equal-width bin edges over all values (Rice rule on the largest series, 8–40 bins); one value: a unit-wide range. */
export function binEdges(series: readonly { values: readonly number[] }[]): number[] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) for (const v of s.values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) return [];
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  const n = series.reduce((m, s) => Math.max(m, s.values.length), 0);
  const bins = Math.min(40, Math.max(8, Math.round(2 * Math.cbrt(n))));
  return Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi : lo + ((hi - lo) * i) / bins));
}

/** Counts per bin [edges[i], edges[i+1]); the last bin also holds its upper edge; values outside are not counted. */
export function histogram(values: readonly number[], edges: readonly number[]): number[] {
  const bins = edges.length - 1;
  if (bins < 1) return [];
  const counts = new Array<number>(bins).fill(0);
  const lo = edges[0] as number;
  const hi = edges[bins] as number;
  for (const v of values) {
    if (!(v >= lo && v <= hi)) continue;
    let i = Math.min(bins - 1, Math.floor(((v - lo) / (hi - lo)) * bins));
    // floating point can put a value one bin off its edges: step to the bin that holds it
    while (i > 0 && v < (edges[i] as number)) i -= 1;
    while (i < bins - 1 && v >= (edges[i + 1] as number)) i += 1;
    counts[i] = (counts[i] as number) + 1;
  }
  return counts;
}

/** Empirical CDF points (value, share ≤ value) at every sorted value; above `maxPoints`, at evenly spaced ranks (first and last kept). */
export function cdfPoints(values: readonly number[], maxPoints = 1000): Array<[number, number]> {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return [];
  const ranks = n <= maxPoints ? sorted.map((_, i) => i) : Array.from({ length: maxPoints }, (_, j) => Math.round((j * (n - 1)) / (maxPoints - 1)));
  return ranks.map((i) => [sorted[i] as number, (i + 1) / n]);
}

export interface ThresholdRow {
  run: string;
  /** the select stage that drew it */
  stage: string;
  /** the scoring pass it cut (r0-select cuts r0-score) */
  pass: string;
  threshold: number;
}

/** Each select stage's negative threshold (state extra.threshold), tied to the scoring pass of its round. */
export function thresholdRows(runs: ReportRun[]): ThresholdRow[] {
  return runs.flatMap((run) => run.stages.filter((s) => stageKind(s) === "select").flatMap((stage) => {
    const t = run.states[stage]?.extra["threshold"];
    return typeof t === "number" && Number.isFinite(t) ? [{ run: run.label, stage, pass: stage.replace(/-select$/, "-score"), threshold: t }] : [];
  }));
}

export interface HistRow {
  run: string;
  pass: string;
  bin: number;
  lo: number;
  hi: number;
  count: number;
  /** count / n of the series, so runs of different sizes compare */
  share: number;
}

export function histRows(series: I2CSeries[], edges: number[]): HistRow[] {
  return series.flatMap((s) => histogram(s.values, edges).map((count, bin) => ({
    run: s.run, pass: s.pass, bin, lo: edges[bin] as number, hi: edges[bin + 1] as number, count, share: s.values.length ? count / s.values.length : 0,
  })));
}

export function cdfRows(series: I2CSeries[]): Array<{ run: string; pass: string; i2c: number; cdf: number }> {
  return series.flatMap((s) => cdfPoints(s.values).map(([i2c, cdf]) => ({ run: s.run, pass: s.pass, i2c, cdf })));
}

export function statRows(series: I2CSeries[]): Array<{ run: string; pass: string } & I2CStats> {
  return series.map((s) => ({ run: s.run, pass: s.pass, ...i2cStats(s.values) }));
}
