// The evaluator interface every benchmark implements: load its own file format, build the prompt, score predictions.
import type { PredictionRecord } from "./predictions.js";

/** Where a question's image is: a file named in the benchmark (resolved against an image folder when one is given), or inline. */
export type ImageRef =
  | { kind: "file"; name: string; path: string | null }
  | { kind: "base64"; data: string };

/** Where a record came from, for error messages and per-question records. */
export interface SourceLine {
  file: string;
  line: number;
}

/** One prompt the model answers. Benchmarks extend it with their own fields (split, rotation, dimension …). */
export interface EvalQuestion {
  /** unique within a loaded benchmark; predictions are joined to it by id (never by position) */
  key: string;
  question_id: string | number;
  image: ImageRef;
  /** the question as the benchmark file writes it, without option lines or protocol suffix */
  text: string;
  /** option texts in presented order; their letters are A, B, C … by position */
  choices?: string[];
  /** the label: "yes"/"no" (POPE), a letter (SEED, MMBench) or the reference answer (LLaVA-Bench) */
  answer: string;
  source: SourceLine;
}

/** What the model is asked for one question (the model-running side adds the chat template and the image). */
export interface Prompt {
  text: string;
  image: ImageRef;
  /** the protocol suffix that `text` ends with (already there or appended), null when there is none */
  suffix: string | null;
  /** likelihood protocols: the continuations whose log-likelihoods the model returns, in letter order */
  continuations?: string[];
}

export interface DataFile {
  path: string;
  sha256: string;
  bytes: number;
}

export interface LoadedBenchmark<Q extends EvalQuestion = EvalQuestion> {
  bench: string;
  /** absolute path the user gave (file or folder) */
  path: string;
  /** which variant of the format was read, e.g. "pope-per-split", "llava-merged", "mmbench-legacy-circular" */
  format: string;
  files: DataFile[];
  questions: Q[];
  /** facts worth telling the user, e.g. "skipped 3 video questions" */
  notes: string[];
}

/** A benchmark option as `--option BENCH.KEY=VALUE`; values are strings, checked against `choices` when given. */
export interface OptionSpec {
  describe: string;
  default: string | null;
  choices?: readonly string[];
  /** a path, resolved against the current directory */
  path?: boolean;
}

export type BenchOptions = Record<string, string | null>;

/** One metric: its value and how to read it (lm-evaluation-harness style). */
export interface Metric {
  /** null when undefined (e.g. no question of that group was answered) */
  value: number | null;
  /** true: higher is better; false: lower is better; null: a diagnostic with no better direction (POPE yes-ratio) */
  higher_is_better: boolean | null;
  /** bumped whenever the metric's definition changes, so numbers of different versions are not compared */
  version: number;
  unit: "%" | "score";
}

export interface Counts {
  /** scoring units: POPE/SEED/LLaVA-Bench questions, MMBench questions (all rotations of one index count once) */
  questions: number;
  /** prompts the model answers: questions × rotations for MMBench CircularEval, else = questions */
  prompts: number;
  /** prediction records routed to this benchmark */
  predictions: number;
  matched: number;
  /** prompts with no prediction (or a null one) */
  missing: number;
  /** predictions present but not readable as an answer (no option letter, an unscorable judge review …) */
  unparseable: number;
  /** prediction records that match no prompt of the loaded file */
  unmatched: number;
}

export interface ScoredBench {
  status: "scored";
  headline: string;
  metrics: Record<string, Metric>;
  protocol: Record<string, unknown>;
  counts: Counts;
  /** e.g. POPE confusion counts per split, dimension names */
  details: Record<string, unknown>;
  per_question: Array<Record<string, unknown>>;
  warnings: string[];
}

export interface SkippedBench {
  status: "skipped";
  reason: string;
  protocol: Record<string, unknown>;
  counts: Counts;
}

export type BenchOutcome = ScoredBench | SkippedBench;

/** A judge for open-ended answers (LLaVA-Bench): scores the reference and the model answer on 1–10. */
export interface JudgeRequest {
  question_id: string | number;
  category: string;
  question: string;
  /** the image's textual context (context.jsonl captions), one entry per line */
  context: string[];
  image: ImageRef;
  /** LLaVA order: Assistant 1 is the reference (GPT-4) answer, Assistant 2 the model's */
  reference_answer: string;
  model_answer: string;
}

export interface JudgeVerdict {
  reference_score: number;
  model_score: number;
  /** the judge's raw reply, kept in the per-question record */
  raw?: string;
}

export interface Judge {
  /** recorded in the results' protocol, e.g. {kind: "gpt-4-0314", temperature: 0.2} or {kind: "recorded", file, sha256} */
  identity: Record<string, unknown>;
  /** `failure` when the judge gave no usable scores for this answer (counted unparseable, never guessed) */
  review(request: JudgeRequest): Promise<JudgeVerdict | { failure: string }>;
}

export interface ScoreContext {
  options: BenchOptions;
  /** LLaVA-Bench only; absent or null: skipped, unless its `reviews` option names saved reviews to replay */
  judge?: Judge | null;
}

export interface Benchmark<Q extends EvalQuestion = EvalQuestion> {
  name: string;
  title: string;
  /** the scorer's version: bumped when parsing or scoring changes */
  version: number;
  options: Record<string, OptionSpec>;
  load(path: string, options: BenchOptions): LoadedBenchmark<Q>;
  promptFor(question: Q, options: BenchOptions): Prompt;
  score(loaded: LoadedBenchmark<Q>, predictions: PredictionRecord[], context: ScoreContext): BenchOutcome | Promise<BenchOutcome>;
}
