// The predictions JSONL format (docs/EVAL.md): one answer per line, joined to questions by id, never by position.
import { EvalInputError } from "./errors.js";
import { describe, readId, readJsonLines } from "./read.js";
import type { DataFile, SourceLine } from "./types.js";

/**
 * One line of a predictions file:
 *   {"question_id": 3, "split": "random", "prediction": "Yes."}            POPE per-split files
 *   {"question_id": 17, "rotation": 2, "prediction": "B"}                  MMBench
 *   {"question_id": "101669", "choice_logliks": [-4.1, -2.0, -7.3, -5.5]}  SEED-Bench, likelihood protocol
 * `bench` routes a line when one file holds several benchmarks. LLaVA's answer files read as they are:
 * `text` stands for `prediction` and `round_id` for `rotation`; other fields are ignored.
 */
export interface PredictionRecord {
  bench: string | null;
  question_id: string | number;
  /** null: the model gave no answer for this question (counted as missing) */
  prediction: string | null;
  split: string | null;
  rotation: number | null;
  /** log-likelihood of each choice in letter order (higher is likelier) */
  choice_logliks: number[] | null;
  source: SourceLine;
}

export interface PredictionsFile {
  file: DataFile;
  records: PredictionRecord[];
}

export function readPredictions(path: string): PredictionsFile {
  const { lines, file } = readJsonLines(path);
  const records = lines.map(({ value, line }) => parsePrediction(value, { file: path, line }));
  return { file, records };
}

export function parsePrediction(value: Record<string, unknown>, where: SourceLine): PredictionRecord {
  const question_id = readId(value.question_id, "question_id", where);
  const prediction = pickAlias(value, "prediction", "text", where);
  if (prediction !== undefined && prediction !== null && typeof prediction !== "string") {
    throw new EvalInputError(`prediction: expected a string or null, got ${describe(prediction)}`, where);
  }
  const rotation = pickAlias(value, "rotation", "round_id", where);
  if (rotation !== undefined && rotation !== null && !(typeof rotation === "number" && Number.isInteger(rotation) && rotation >= 0)) {
    throw new EvalInputError(`rotation: expected a non-negative integer, got ${describe(rotation)}`, where);
  }
  const split = value.split;
  if (split !== undefined && split !== null && typeof split !== "string") {
    throw new EvalInputError(`split: expected a string, got ${describe(split)}`, where);
  }
  const bench = value.bench;
  if (bench !== undefined && bench !== null && typeof bench !== "string") {
    throw new EvalInputError(`bench: expected a benchmark name, got ${describe(bench)}`, where);
  }
  const logliks = value.choice_logliks;
  if (logliks !== undefined && logliks !== null
    && !(Array.isArray(logliks) && logliks.length > 0 && logliks.every((x) => typeof x === "number" && Number.isFinite(x)))) {
    throw new EvalInputError(`choice_logliks: expected a list of finite numbers, one per choice, got ${describe(logliks)}`, where);
  }
  if (prediction === undefined && (logliks === undefined || logliks === null)) {
    throw new EvalInputError("no prediction: expected a `prediction` string (or null), or `choice_logliks`", where);
  }
  return {
    bench: (bench as string | undefined) ?? null,
    question_id,
    prediction: (prediction as string | null | undefined) ?? null,
    split: (split as string | undefined) ?? null,
    rotation: (rotation as number | undefined) ?? null,
    choice_logliks: (logliks as number[] | undefined) ?? null,
    source: where,
  };
}

/** The documented field, or LLaVA's name for it; both at once is ambiguous. */
function pickAlias(value: Record<string, unknown>, field: string, alias: string, where: SourceLine): unknown {
  if (field in value && alias in value) throw new EvalInputError(`both \`${field}\` and \`${alias}\` (LLaVA's name for it): give one`, where);
  return field in value ? value[field] : value[alias];
}

export function formatSource(source: SourceLine): string {
  return `${source.file}:${source.line}`;
}
