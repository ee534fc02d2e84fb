// state/<stage>.json: one stage's status, timing and counts, always replaced atomically.
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeJsonAtomic } from "./atomic.js";
import { RunStoreError } from "./errors.js";
import type { FileFingerprint } from "./outputs.js";
import { checkStageName } from "./stage-names.js";

export type StageStatus = "running" | "done" | "failed";

export interface StageState {
  stage: string;
  status: StageStatus;
  /** when the latest attempt started (ISO) */
  started_at: string;
  finished_at: string | null;
  /** wall seconds of the attempt that finished or failed the stage; a killed attempt's time is unknown */
  seconds: number | null;
  /** how many times the stage was started (1 + resumes) */
  attempts: number;
  counts: Record<string, number>;
  extra: Record<string, unknown>;
  error: string | null;
  /** a done stage's outputs as it left them (see outputs.ts); resume checks them before trusting the stage */
  outputs?: Record<string, FileFingerprint>;
}

export function statePath(runDir: string, stage: string): string {
  return join(runDir, "state", `${checkStageName(stage)}.json`);
}

export function readStageState(runDir: string, stage: string): StageState | null {
  const path = statePath(runDir, stage);
  if (!existsSync(path)) return null;
  return parseStageState(path, readFileSync(path, "utf8"));
}

export function writeStageState(runDir: string, state: StageState): void {
  mkdirSync(join(runDir, "state"), { recursive: true });
  writeJsonAtomic(statePath(runDir, state.stage), state);
}

/** Every state/<stage>.json of a run, by stage name (hidden temp files are ignored). */
export function readStageStates(runDir: string): Record<string, StageState> {
  const dir = join(runDir, "state");
  const states: Record<string, StageState> = {};
  if (!existsSync(dir)) return states;
  for (const file of readdirSync(dir).sort()) {
    if (file.startsWith(".") || !file.endsWith(".json")) continue;
    const state = parseStageState(join(dir, file), readFileSync(join(dir, file), "utf8"));
    states[state.stage] = state;
  }
  return states;
}

function parseStageState(path: string, text: string): StageState {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new RunStoreError(`${path}: not JSON (${(err as Error).message})`);
  }
  const s = raw as Partial<StageState> | null;
  if (typeof s !== "object" || s === null || typeof s.stage !== "string" || !["running", "done", "failed"].includes(s.status as string)) {
    throw new RunStoreError(`${path}: expected {stage, status: running|done|failed, ...}, found ${text.slice(0, 120)}`);
  }
  return {
    stage: s.stage,
    status: s.status as StageStatus,
    started_at: typeof s.started_at === "string" ? s.started_at : "",
    finished_at: typeof s.finished_at === "string" ? s.finished_at : null,
    seconds: typeof s.seconds === "number" ? s.seconds : null,
    attempts: typeof s.attempts === "number" ? s.attempts : 1,
    counts: isRecord(s.counts) ? (s.counts as Record<string, number>) : {},
    extra: isRecord(s.extra) ? s.extra : {},
    error: typeof s.error === "string" ? s.error : null,
    ...(isRecord(s.outputs) ? { outputs: s.outputs as Record<string, FileFingerprint> } : {}),
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
