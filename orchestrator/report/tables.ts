// The report's tabular figures: stage timeline, sample counts, config diff, evaluation metrics.
import { flattenConfig, type FlatValue } from "../runs/flatten.js";
import { sortStages } from "../runs/stage-names.js";
import type { ReportRun } from "./load.js";
import { throughputOf } from "./stages.js";

export interface TimelineRow {
  run: string;
  stage: string;
  status: string | null;
  attempts: number | null;
  started_at: string | null;
  seconds: number | null;
  items: number | null;
  unit: string | null;
  per_second: number | null;
}

/** One row per run and stage: wall seconds of the finishing attempt and items per second. */
export function timelineRows(runs: ReportRun[]): TimelineRow[] {
  return runs.flatMap((run) => run.stages.map((stage) => {
    const state = run.states[stage];
    const through = throughputOf(stage);
    const key = through?.keys.find((k) => typeof state?.counts[k] === "number");
    const items = key ? (state?.counts[key] as number) : null;
    const seconds = state?.seconds ?? null;
    return {
      run: run.label,
      stage,
      status: state?.status ?? null,
      attempts: state?.attempts ?? null,
      started_at: state?.started_at ?? null,
      seconds,
      items,
      unit: key ? (through?.unit ?? null) : null,
      per_second: items !== null && seconds ? items / seconds : null,
    };
  }));
}

export interface CountRow {
  run: string;
  stage: string;
  count: string;
  value: number;
}

/** Every count of every stage (generated, pairs, unparseable, failed, negatives, kept, …), one row each. */
export function countRows(runs: ReportRun[]): CountRow[] {
  return runs.flatMap((run) => run.stages.flatMap((stage) =>
    Object.entries(run.states[stage]?.counts ?? {}).map(([count, value]) => ({ run: run.label, stage, count, value }))));
}

/** (stage, count) pairs in pipeline order, then in the order the stages report them. */
export function countKeys(rows: CountRow[]): Array<{ stage: string; count: string }> {
  const seen = new Map<string, string[]>();
  for (const r of rows) {
    const list = seen.get(r.stage) ?? [];
    if (!list.includes(r.count)) list.push(r.count);
    seen.set(r.stage, list);
  }
  return sortStages(seen.keys()).flatMap((stage) => (seen.get(stage) ?? []).map((count) => ({ stage, count })));
}

export interface ConfigDiffRow {
  key: string;
  run: string;
  value: FlatValue | undefined;
  baseline: FlatValue | undefined;
}

/** The dotted config keys whose values differ between runs: each run's value beside the first run's. */
export function configDiffRows(runs: ReportRun[]): ConfigDiffRow[] {
  if (runs.length < 2) return [];
  const flats = runs.map((r) => flattenConfig(r.config));
  const base = flats[0] as Record<string, FlatValue>;
  const keys = [...new Set(flats.flatMap((f) => Object.keys(f)))].sort();
  const differs = (k: string) => flats.some((f) => (k in f) !== (k in base) || f[k] !== base[k]);
  return keys.filter(differs).flatMap((key) => runs.map((run, i) => ({
    key,
    run: run.label,
    value: flats[i]?.[key],
    baseline: base[key],
  })));
}

export interface MetricRow {
  run: string;
  metric: string;
  /** the evaluation protocol the metric belongs to: the name's part before its first "/" or ".", else "" */
  protocol: string;
  value: number;
}

export function metricRows(runs: ReportRun[]): MetricRow[] {
  return runs.flatMap((run) => Object.entries(run.metrics)
    .filter(([, v]) => typeof v === "number")
    .map(([metric, value]) => ({ run: run.label, metric, protocol: /^([^/.]+)[/.]/.exec(metric)?.[1] ?? "", value })));
}

export interface FunnelRow {
  run: string;
  /** "r0", "r1", … (a round: generate → score → select) or "final" (regenerate → rescore → filter) */
  pass: string;
  generated: number | null;
  pairs: number | null;
  unparseable: number | null;
  failed: number | null;
  positives: number | null;
  negatives: number | null;
  kept: number | null;
}

/** The headline counts per run and pass: generated texts, parsed pairs, unparseable, failed (generate + score), selected, kept. */
export function funnelRows(runs: ReportRun[]): FunnelRow[] {
  return runs.flatMap((run) => {
    const count = (stage: string, key: string): number | null => run.states[stage]?.counts[key] ?? null;
    const sum = (...values: Array<number | null>) => (values.every((v) => v === null) ? null : values.reduce<number>((a, v) => a + (v ?? 0), 0));
    const rounds = [...new Set(run.stages.map((s) => /^(r\d+)-/.exec(s)?.[1]).filter((r): r is string => !!r))];
    const passes = rounds.map((r) => ({ pass: r, gen: `${r}-generate`, score: `${r}-score`, select: `${r}-select` as string | null, filter: null as string | null }));
    if (run.stages.some((s) => ["regenerate", "rescore", "filter"].includes(s))) passes.push({ pass: "final", gen: "regenerate", score: "rescore", select: null, filter: "filter" });
    return passes.map((p) => ({
      run: run.label,
      pass: p.pass,
      generated: count(p.gen, "generated"),
      pairs: count(p.gen, "pairs"),
      unparseable: count(p.gen, "unparseable"),
      failed: sum(count(p.gen, "failed"), count(p.score, "failed")),
      positives: p.select ? count(p.select, "images") : null,
      negatives: p.select ? count(p.select, "negatives") : null,
      kept: p.filter ? count(p.filter, "kept") : null,
    }));
  });
}
