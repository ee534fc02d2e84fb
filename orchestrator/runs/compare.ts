// The comparison of runs: one row per run, columns for changed config values and measured results, changes vs a baseline.
import { readFileSync } from "node:fs";
import { canonicalJson, flattenConfig, type FlatValue } from "./flatten.js";
import type { RunFolder } from "./run-folder.js";
import { sortStages } from "./stage-names.js";
import type { StageState } from "./state.js";
import { parseSummary, type I2CStats, type RunSummary } from "./summary.js";

/** What compare needs from one run (loadCompareRun reads it from a run folder). */
export interface CompareRun {
  id: string;
  name: string | null;
  status: string;
  config: unknown;
  /** from state/*.json (the authority on counts and timing), else the summary's stages */
  stages: Record<string, { counts: Record<string, number>; seconds: number | null }>;
  i2c: Record<string, I2CStats>;
  final_size: number | null;
  failed_samples: number | null;
  metrics: Record<string, number>;
  /** per benchmark, how its metrics were measured (the evaluate stage's extra.protocols); {} when unknown */
  protocols: Record<string, unknown>;
}

/** The mark on a metric column whose runs measured it under different protocols. */
export const PROTOCOL_DIFFERS = "†protocol differs";

export type ColumnGroup = "run" | "config" | "counts" | "i2c" | "final" | "metrics" | "seconds";

export interface CompareColumn {
  key: string;
  group: ColumnGroup;
  numeric: boolean;
  /** how a change against the baseline is shown: abs "+0.031", rel "+12.5%" (counts, sizes, seconds); null: none */
  change: "abs" | "rel" | null;
  /** a metric measured under different protocols in different runs: its numbers are not comparable (no change is computed) */
  protocol_differs?: true;
}

export interface Change {
  /** value − baseline */
  abs: number;
  /** (value − baseline) / |baseline|; null when the baseline is 0 */
  rel: number | null;
  /** "+0.031" (abs columns) or "+12.5%" (rel columns; the abs text when the baseline is 0) */
  text: string;
}

export type Cell = FlatValue;

export interface CompareRow {
  run_id: string;
  name: string | null;
  baseline: boolean;
  values: Record<string, Cell>;
  /** only numeric cells that differ from the baseline's */
  changes: Record<string, Change>;
}

export interface CompareTable {
  baseline: string;
  columns: CompareColumn[];
  rows: CompareRow[];
  /** what a reader must know, e.g. which metrics' protocols differ and how */
  notes: string[];
}

export const I2C_FIELDS = ["mean", "q10", "q50", "q90", "share_below_0"] as const;

/** Reads what compare shows from a run folder; problems (damaged summary or config) go to `warn`, the row stays. */
export function loadCompareRun(run: RunFolder, warn: (message: string) => void = () => {}): CompareRun {
  let summary: RunSummary | null = null;
  try {
    summary = parseSummary(JSON.parse(readFileSync(run.paths.summary, "utf8")), run.paths.summary);
  } catch (err) {
    warn(`${run.id}: summary.json unusable (${(err as Error).message}); its results are left blank`);
  }
  let config: unknown = {};
  try {
    config = run.config();
  } catch (err) {
    warn(`${run.id}: ${(err as Error).message}; its config is left blank`);
  }
  let states: Record<string, StageState> = {};
  try {
    states = run.states();
  } catch (err) {
    warn(`${run.id}: ${(err as Error).message}; stage counts come from summary.json`);
  }
  const stages: CompareRun["stages"] = {};
  for (const [stage, s] of Object.entries(summary?.stages ?? {})) stages[stage] = { counts: s.counts ?? {}, seconds: s.seconds ?? null };
  for (const [stage, s] of Object.entries(states)) stages[stage] = { counts: s.counts, seconds: s.seconds };
  return {
    id: run.id,
    name: summary?.name ?? run.name,
    status: summary?.status ?? "unknown",
    config,
    stages,
    i2c: summary?.i2c ?? {},
    final_size: summary?.final?.size ?? null,
    failed_samples: summary ? summary.failed_samples : null,
    metrics: summary?.metrics ?? {},
    protocols: protocolsOf(states.evaluate?.extra.protocols),
  };
}

function protocolsOf(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** The benchmark a metric belongs to: `pope.f1` → pope. */
function benchOf(metric: string): string {
  const dot = metric.indexOf(".");
  return dot === -1 ? metric : metric.slice(0, dot);
}

/** Each run's protocol for the benchmark (as canonical JSON; "unknown" when not recorded), over the runs that have the metric. */
function protocolsDiffer(runs: CompareRun[], metric: string): string[] | null {
  const bench = benchOf(metric);
  const seen = runs.filter((r) => typeof r.metrics[metric] === "number")
    .map((r) => `${r.id}: ${bench in r.protocols ? canonicalJson(r.protocols[bench]) : "unknown"}`);
  const distinct = new Set(seen.map((line) => line.slice(line.indexOf(": ") + 2)));
  return distinct.size > 1 ? seen : null;
}

/**
 * Columns: run, name, status; the config keys whose values differ between the runs (dotted, from
 * config.json); per stage its counts (`<stage>.<count>`); per scoring stage `<stage>.i2c.mean`,
 * `.q10`, `.q50`, `.q90`, `.share_below_0`; final_size, failed_samples; `metric.<name>`; per stage
 * `<stage>.seconds` and total.seconds. `onlyChanged` also drops result columns equal in every run.
 */
export function buildComparison(runs: CompareRun[], options: { baselineIndex?: number; onlyChanged?: boolean } = {}): CompareTable {
  const baselineIndex = options.baselineIndex ?? 0;
  const flat = runs.map((r) => flattenConfig(r.config));
  const rows: Array<Record<string, Cell>> = runs.map((r) => ({ run: r.id, name: r.name, status: r.status }));
  const columns: CompareColumn[] = [
    { key: "run", group: "run", numeric: false, change: null },
    { key: "name", group: "run", numeric: false, change: null },
    { key: "status", group: "run", numeric: false, change: null },
  ];
  const add = (key: string, group: ColumnGroup, change: "abs" | "rel", get: (i: number) => Cell | undefined) => {
    const values = runs.map((_, i) => get(i));
    if (values.every((v) => v === undefined)) return;
    values.forEach((v, i) => { (rows[i] as Record<string, Cell>)[key] = v ?? null; });
    const present = values.filter((v): v is Cell => v !== undefined && v !== null);
    const numeric = present.length > 0 && present.every((v) => typeof v === "number");
    columns.push({ key, group, numeric, change: numeric ? change : null });
  };

  const configKeys = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort();
  for (const key of configKeys) {
    const texts = new Set(flat.map((f) => (key in f ? JSON.stringify(f[key]) : "\u0000absent")));
    if (texts.size > 1) add(key, "config", "abs", (i) => flat[i]?.[key]);
  }
  const stageNames = sortStages(new Set(runs.flatMap((r) => Object.keys(r.stages))));
  for (const stage of stageNames) {
    const counts = [...new Set(runs.flatMap((r) => Object.keys(r.stages[stage]?.counts ?? {})))];
    for (const c of counts) add(`${stage}.${c}`, "counts", "rel", (i) => runs[i]?.stages[stage]?.counts[c]);
  }
  for (const stage of sortStages(new Set(runs.flatMap((r) => Object.keys(r.i2c))))) {
    for (const f of I2C_FIELDS) add(`${stage}.i2c.${f}`, "i2c", "abs", (i) => runs[i]?.i2c[stage]?.[f] ?? undefined);
  }
  add("final_size", "final", "rel", (i) => runs[i]?.final_size ?? undefined);
  add("failed_samples", "final", "rel", (i) => runs[i]?.failed_samples ?? undefined);
  const notes: string[] = [];
  for (const m of [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort()) {
    add(`metric.${m}`, "metrics", "abs", (i) => runs[i]?.metrics[m]);
    const differs = protocolsDiffer(runs, m);
    const column = columns.find((c) => c.key === `metric.${m}`);
    if (differs && column) {
      column.protocol_differs = true;
      column.change = null; // numbers measured differently are never set against each other
      notes.push(`metric.${m} ${PROTOCOL_DIFFERS}: ${benchOf(m)} was measured under different protocols, so its values are not comparable:\n${differs.map((l) => `  ${l}`).join("\n")}`);
    }
  }
  for (const stage of stageNames) add(`${stage}.seconds`, "seconds", "rel", (i) => runs[i]?.stages[stage]?.seconds ?? undefined);
  add("total.seconds", "seconds", "rel", (i) => {
    const secs = Object.values(runs[i]?.stages ?? {}).map((s) => s.seconds).filter((s): s is number => typeof s === "number");
    return secs.length ? round(secs.reduce((a, b) => a + b, 0), 6) : undefined;
  });

  const kept = options.onlyChanged
    ? columns.filter((c) => c.group === "run" || c.group === "config" || new Set(rows.map((r) => JSON.stringify(r[c.key] ?? null))).size > 1)
    : columns;
  const base = rows[baselineIndex] ?? {};
  return {
    baseline: runs[baselineIndex]?.id ?? "",
    notes,
    columns: kept,
    rows: runs.map((r, i) => {
      const values = Object.fromEntries(kept.map((c) => [c.key, (rows[i] as Record<string, Cell>)[c.key] ?? null]));
      const changes: Record<string, Change> = {};
      if (i !== baselineIndex) {
        for (const c of kept) {
          const v = values[c.key];
          const b = base[c.key];
          if (c.change && typeof v === "number" && typeof b === "number" && v !== b) changes[c.key] = change(v, b, c.change);
        }
      }
      return { run_id: r.id, name: r.name, baseline: i === baselineIndex, values, changes };
    }),
  };
}

function change(value: number, base: number, mode: "abs" | "rel"): Change {
  const abs = round(value - base, 12);
  const rel = base === 0 ? null : abs / Math.abs(base);
  const signed = (x: string) => (x.startsWith("-") ? x : `+${x}`);
  const text = mode === "rel" && rel !== null ? `${signed((rel * 100).toFixed(1))}%` : signed(formatNumber(abs));
  return { abs, rel, text };
}

/** 4 significant digits, no trailing zeros: 0.41234 -> "0.4123", 1234.56 -> "1235", 120 -> "120". */
export function formatNumber(x: number): string {
  if (Number.isInteger(x)) return String(x);
  return String(Number(x.toPrecision(4)));
}

function round(x: number, digits: number): number {
  return Number(x.toFixed(digits));
}
