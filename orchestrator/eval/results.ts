// The results file of one evaluation: metrics (each with direction and version), protocol choices, model, versions, per-question records.
import { writeJsonAtomic } from "../runs/atomic.js";
import { buildProvenance } from "../runs/provenance.js";
import type { BenchOptions, BenchOutcome, Counts, DataFile, LoadedBenchmark, Metric } from "./types.js";

export const RESULTS_FORMAT = "c3l-eval-results";
/** bumped when the file's layout changes */
export const RESULTS_FORMAT_VERSION = 1;

export interface BenchResult {
  name: string;
  title: string;
  /** the scorer's version (parse rules, scoring) */
  scorer_version: number;
  status: "scored" | "skipped";
  skip_reason: string | null;
  data: { path: string; format: string; files: DataFile[]; notes: string[] };
  options: BenchOptions;
  protocol: Record<string, unknown>;
  headline: { metric: string; value: number | null } | null;
  metrics: Record<string, Metric>;
  counts: Counts;
  details: Record<string, unknown>;
  warnings: string[];
  per_question: Array<Record<string, unknown>>;
}

export interface EvalResults {
  format: typeof RESULTS_FORMAT;
  format_version: number;
  created_at: string;
  /** the evaluated model's identity; null when saved predictions were re-scored without a model */
  model: Record<string, unknown> | null;
  /** predictions: the files re-scored, and lines of other benchmarks that were ignored */
  source: { kind: "predictions"; files: DataFile[]; ignored_lines: number } | { kind: "model"; [key: string]: unknown };
  versions: { c3l: string; node: string; git_commit: string | null; git_dirty: boolean | null };
  benchmarks: Record<string, BenchResult>;
}

export function benchResult(
  bench: { name: string; title: string; version: number },
  loaded: LoadedBenchmark,
  options: BenchOptions,
  outcome: BenchOutcome,
): BenchResult {
  const scored = outcome.status === "scored";
  return {
    name: bench.name,
    title: bench.title,
    scorer_version: bench.version,
    status: outcome.status,
    skip_reason: scored ? null : outcome.reason,
    data: { path: loaded.path, format: loaded.format, files: loaded.files, notes: loaded.notes },
    options,
    protocol: outcome.protocol,
    headline: scored ? { metric: outcome.headline, value: outcome.metrics[outcome.headline]?.value ?? null } : null,
    metrics: scored ? outcome.metrics : {},
    counts: outcome.counts,
    details: scored ? outcome.details : {},
    warnings: scored ? outcome.warnings : [],
    per_question: scored ? outcome.per_question : [],
  };
}

export function buildResults(options: { model: Record<string, unknown> | null; source: EvalResults["source"]; benchmarks: BenchResult[]; now?: Date }): EvalResults {
  return {
    format: RESULTS_FORMAT,
    format_version: RESULTS_FORMAT_VERSION,
    created_at: (options.now ?? new Date()).toISOString(),
    model: options.model,
    source: options.source,
    versions: versions(),
    benchmarks: Object.fromEntries(options.benchmarks.map((b) => [b.name, b])),
  };
}

/** What `c3l eval` prints: per benchmark its status, headline, metric values and counts (the file has the rest). */
export function summarizeResults(results: EvalResults): Record<string, unknown> {
  return {
    model: results.model,
    benchmarks: Object.fromEntries(Object.values(results.benchmarks).map((b) => [b.name, b.status === "skipped"
      ? { status: "skipped", reason: b.skip_reason, counts: b.counts }
      : {
        status: "scored",
        headline: b.headline,
        metrics: Object.fromEntries(Object.entries(b.metrics).map(([k, m]) => [k, m.value])),
        counts: b.counts,
      }])),
  };
}

export function writeResults(path: string, results: EvalResults): void {
  writeJsonAtomic(path, results);
}

function versions(): EvalResults["versions"] {
  const build = buildProvenance();
  return { c3l: build.c3l_version, node: process.version, git_commit: build.git_commit, git_dirty: build.git_dirty };
}
