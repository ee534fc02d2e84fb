// What a stage declares about itself, once, in its own file: its name, what it does (its kind),
// which earlier stages it reads, what it writes and how it runs. stages/index.ts lists the
// declarations in pipeline order; the runner, the run store's ordering, compare and the report read
// them from there. What a stage adds to the run summary travels in its outcome (StageOutcome.summary).
import type { C3lConfig } from "../../config/index.js";
import type { StageContext, StageOutcome } from "../context.js";

/** What a stage does; the report groups stages by it (r0-score and rescore both score). */
export type StageKind = "pretrain" | "generate" | "score" | "select" | "contrast" | "filter" | "grade" | "finetune" | "evaluate";

export interface StageDeclaration {
  /** The stage's name; with perRound, the name of each round's copy is r<N>-<name>. */
  name: string;
  perRound?: true;
  kind: StageKind;
  /** Whether a config has this stage at all (optional stages); absent: always. */
  enabled?: (config: C3lConfig) => boolean;
  /** Runs before the run's inputs exist, because it builds them (pretrain): before inputs are checked. */
  setup?: true;
  /** Earlier stages whose samples it reads (round: the round of a perRound stage, else config.rounds). */
  inputs: (round: number, config: C3lConfig) => string[];
  /** What it writes, relative to the run folder (its state file aside); --redo deletes these. */
  outputs: (name: string) => string[];
  run: (ctx: StageContext) => Promise<StageOutcome>;
  /** Its extra.model_dir becomes the generator of every later stage. */
  trainsGenerator?: true;
  /** A finished stage whose product lives outside the run (a shared cache) makes it again if it is gone. */
  ensure?: (ctx: StageContext) => Promise<void>;
  /** The counts its throughput is measured in, for the report (the first one present is used). */
  throughput?: { keys: string[]; unit: string };
}

/** One stage of one run: a declaration with its name and inputs fixed. */
export interface StageSpec {
  name: string;
  declaration: StageDeclaration;
  inputs: string[];
  outputs: string[];
}

/** samples/<stage>.jsonl: the sample file most stages write. */
export function samplesOf(stage: string): string {
  return `samples/${stage}.jsonl`;
}
