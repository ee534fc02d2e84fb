// summary.json: a run at a glance (status, stages, I2C distributions, final size, metrics), rewritten atomically.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeJsonAtomic } from "./atomic.js";
import { RunStoreError } from "./errors.js";
import type { StageStatus } from "./state.js";

/** stopped: ended by Ctrl-C or SIGTERM, resumable (a killed run still says running; `c3l runs` lists it as stopped) */
export type RunStatus = "running" | "done" | "failed" | "stopped";

/** Distribution of I2C scores; quantiles interpolate linearly between order statistics (numpy's default); null when n = 0. */
export interface I2CStats {
  n: number;
  mean: number | null;
  q10: number | null;
  q25: number | null;
  q50: number | null;
  q75: number | null;
  q90: number | null;
  share_below_0: number | null;
}

export interface StageSummary {
  status: StageStatus;
  seconds: number | null;
  counts: Record<string, number>;
}

export interface RunSummary {
  run_id: string;
  name: string | null;
  status: RunStatus;
  /** the running stage, else the last stage that has a state */
  stage: string | null;
  created_at: string;
  updated_at: string;
  progress: { stage: string; done: number; total: number } | null;
  stages: Record<string, StageSummary>;
  /** per scoring stage (r0-score, rescore, …) */
  i2c: Record<string, I2CStats>;
  /** `path` is relative to the run folder, e.g. final/dataset.json */
  final: { size: number; path: string } | null;
  metrics: Record<string, number>;
  failed_samples: number;
}

export function summaryPath(runDir: string): string {
  return join(runDir, "summary.json");
}

export function writeSummary(runDir: string, summary: RunSummary): void {
  writeJsonAtomic(summaryPath(runDir), summary);
}

/** The run's summary; throws RunStoreError naming the file when it is missing, not JSON, or not a summary. */
export function readSummary(runDir: string): RunSummary {
  const path = summaryPath(runDir);
  if (!existsSync(path)) throw new RunStoreError(`${path}: missing`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new RunStoreError(`${path}: not JSON (${(err as Error).message})`);
  }
  return parseSummary(raw, path);
}

/** Checks the fields a reader relies on and fills absent optional ones with empty values. */
export function parseSummary(raw: unknown, where: string): RunSummary {
  const s = raw as Partial<RunSummary> | null;
  if (typeof s !== "object" || s === null || Array.isArray(s)) throw new RunStoreError(`${where}: expected a JSON object`);
  if (typeof s.run_id !== "string") throw new RunStoreError(`${where}: run_id: expected a string, got ${JSON.stringify(s.run_id)}`);
  if (!["running", "done", "failed", "stopped"].includes(s.status as string)) {
    throw new RunStoreError(`${where}: status: expected running|done|failed|stopped, got ${JSON.stringify(s.status)}`);
  }
  const obj = <T>(v: unknown): Record<string, T> => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, T>) : {});
  return {
    run_id: s.run_id,
    name: typeof s.name === "string" ? s.name : null,
    status: s.status as RunStatus,
    stage: typeof s.stage === "string" ? s.stage : null,
    created_at: typeof s.created_at === "string" ? s.created_at : "",
    updated_at: typeof s.updated_at === "string" ? s.updated_at : "",
    progress: s.progress && typeof s.progress === "object" ? s.progress : null,
    stages: obj<StageSummary>(s.stages),
    i2c: obj<I2CStats>(s.i2c),
    final: s.final && typeof s.final === "object" && typeof s.final.size === "number" ? s.final : null,
    metrics: obj<number>(s.metrics),
    failed_samples: typeof s.failed_samples === "number" ? s.failed_samples : 0,
  };
}

/** Linear-interpolation quantile of ascending `sorted` (numpy's default method). */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  return a + ((sorted[hi] as number) - a) * (pos - lo);
}

/** Summary statistics of I2C scores; non-finite values are left out of every statistic, n included. */
export function i2cStats(values: Iterable<number>): I2CStats {
  const sorted = [...values].filter(Number.isFinite).sort((a, b) => a - b);
  const n = sorted.length;
  return {
    n,
    mean: n ? sorted.reduce((sum, v) => sum + v, 0) / n : null,
    q10: quantile(sorted, 0.1),
    q25: quantile(sorted, 0.25),
    q50: quantile(sorted, 0.5),
    q75: quantile(sorted, 0.75),
    q90: quantile(sorted, 0.9),
    share_below_0: n ? sorted.filter((v) => v < 0).length / n : null,
  };
}

/**
 * What a finished stage adds to summary.json, read from its state's extra: extra.i2c (a scoring
 * pass's I2C statistics, under the stage's name), extra.final (the final dataset) and extra.metrics
 * (grade, evaluate). The runner applies it when a stage finishes; repair rebuilds the summary with it.
 */
export function summaryOfStage(stage: string, extra: Record<string, unknown>): Pick<RunSummary, "i2c" | "metrics"> & { final?: RunSummary["final"] } {
  return {
    i2c: extra.i2c ? { [stage]: extra.i2c as I2CStats } : {},
    metrics: (extra.metrics as Record<string, number> | undefined) ?? {},
    ...(extra.final ? { final: extra.final as RunSummary["final"] } : {}),
  };
}
