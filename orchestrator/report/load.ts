// One run as the report reads it: identity, config, stage states, summary fields and sample files.
// A damaged part is reported through `warn` and left empty: a report of a broken run still helps.
import { loadCompareRun } from "../runs/compare.js";
import type { SampleRecord } from "../runs/jsonl.js";
import type { RunFolder } from "../runs/run-folder.js";
import { sortStages } from "../runs/stage-names.js";
import type { StageState } from "../runs/state.js";

export interface ReportRun {
  id: string;
  name: string | null;
  /** what legends and tables call the run: its name, else its id */
  label: string;
  dir: string;
  status: string;
  config: unknown;
  /** state/*.json by stage, in pipeline order */
  states: Record<string, StageState>;
  stages: string[];
  metrics: Record<string, number>;
  final_size: number | null;
  failed_samples: number | null;
  /** samples/<stage>.jsonl records (later line wins per id); missing or damaged: empty, with a warning */
  samples<T extends SampleRecord = SampleRecord>(stage: string): T[];
}

export type Warn = (message: string) => void;

export function loadReportRun(folder: RunFolder, warn: Warn): ReportRun {
  const base = loadCompareRun(folder, warn);
  let states: Record<string, StageState> = {};
  try {
    states = folder.states();
  } catch (err) {
    warn(`${folder.id}: ${(err as Error).message}; stage timings are left blank`);
  }
  const stages = sortStages(new Set([...Object.keys(states), ...Object.keys(base.stages)]));
  const cache = new Map<string, SampleRecord[]>();
  return {
    id: folder.id,
    name: folder.name,
    label: folder.name ?? folder.id,
    dir: folder.dir,
    status: base.status,
    config: base.config,
    states,
    stages,
    metrics: base.metrics,
    final_size: base.final_size,
    failed_samples: base.failed_samples,
    samples<T extends SampleRecord>(stage: string): T[] {
      let records = cache.get(stage);
      if (!records) {
        try {
          records = [...folder.readSamples(stage).records.values()];
        } catch (err) {
          warn(`${folder.id}: samples/${stage}.jsonl unreadable (${(err as Error).message}); left out`);
          records = [];
        }
        cache.set(stage, records);
      }
      return records as T[];
    },
  };
}

/** Labels made unique: two runs named alike get their ids' hex appended. */
export function uniqueLabels(runs: ReportRun[]): void {
  const seen = new Map<string, number>();
  for (const r of runs) seen.set(r.label, (seen.get(r.label) ?? 0) + 1);
  for (const r of runs) if ((seen.get(r.label) ?? 0) > 1 && r.label !== r.id) r.label = `${r.label} (${r.id})`;
}
