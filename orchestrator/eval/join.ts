// Joins predictions to questions by key (never by position); duplicates are errors, strays are counted.
import { EvalInputError } from "./errors.js";
import { formatSource, type PredictionRecord } from "./predictions.js";

export interface Joined {
  byKey: Map<string, PredictionRecord>;
  /** records whose key names no question of the loaded file */
  unmatched: PredictionRecord[];
}

/**
 * `keyOf` maps a record to a question key, or to null when it cannot belong to the file (e.g. a
 * split that was not loaded); it throws EvalInputError for a record that is wrong in itself.
 */
export function joinPredictions(
  predictions: PredictionRecord[],
  questionKeys: ReadonlySet<string>,
  keyOf: (p: PredictionRecord) => string | null,
  describeKey: (key: string) => string = (key) => key,
): Joined {
  const byKey = new Map<string, PredictionRecord>();
  const unmatched: PredictionRecord[] = [];
  for (const p of predictions) {
    const key = keyOf(p);
    if (key === null || !questionKeys.has(key)) {
      unmatched.push(p);
      continue;
    }
    const first = byKey.get(key);
    if (first) {
      // two answers to one question: which one counts would be a guess
      throw new EvalInputError(`a second prediction for ${describeKey(key)} (the first is at ${formatSource(first.source)})`, p.source);
    }
    byKey.set(key, p);
  }
  return { byKey, unmatched };
}

/** The first few stray records, for the results' details and the warning. */
export function unmatchedSummary(unmatched: PredictionRecord[], max = 5): { count: number; first: string[] } {
  return {
    count: unmatched.length,
    first: unmatched.slice(0, max).map((p) => `${formatSource(p.source)} (question_id ${JSON.stringify(p.question_id)}${p.split ? `, split ${p.split}` : ""}${p.rotation !== null ? `, rotation ${p.rotation}` : ""})`),
  };
}
