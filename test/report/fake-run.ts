// ReportRun values built in memory, for the report's data-extraction tests (no files, no worker).
import type { ReportRun } from "../../orchestrator/report/load.js";
import type { SampleRecord } from "../../orchestrator/runs/jsonl.js";
import type { StageState } from "../../orchestrator/runs/state.js";

export function state(stage: string, seconds: number, counts: Record<string, number>, extra: Record<string, unknown> = {}): StageState {
  return { stage, status: "done", started_at: "2026-01-01T00:00:00.000Z", finished_at: "2026-01-01T00:00:01.000Z", seconds, attempts: 1, counts, extra, error: null };
}

export function reportRun(label: string, parts: {
  config?: unknown;
  states?: StageState[];
  samples?: Record<string, SampleRecord[]>;
  metrics?: Record<string, number>;
}): ReportRun {
  const states = Object.fromEntries((parts.states ?? []).map((s) => [s.stage, s]));
  return {
    id: `20260101-000000-abcdef-${label}`,
    name: label,
    label,
    dir: `/runs/${label}`,
    status: "done",
    config: parts.config ?? {},
    states,
    stages: Object.keys(states),
    metrics: parts.metrics ?? {},
    final_size: null,
    failed_samples: 0,
    samples: <T extends SampleRecord>(stage: string) => (parts.samples?.[stage] ?? []) as T[],
  };
}
