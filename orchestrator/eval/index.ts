// Evaluation: benchmarks read from their own file formats, prompts per protocol, scorers, results files.
export { EvalInputError } from "./errors.js";
export { checkImages } from "./images.js";
export { parseJudgeScores, recordedJudge } from "./judge.js";
export { extractLetter, LETTER_SUFFIX, letterPrompt, matchOptionText, type LetterParse } from "./letters.js";
export { llavaBench, SKIP_NO_JUDGE, type LlavaBenchQuestion } from "./llava-bench.js";
export { mmbench, ROTATION_STRIDE, type MmbenchQuestion } from "./mmbench.js";
export { scoreSavedPredictions, type OfflineEvalOptions } from "./offline.js";
export { parsePopeAnswer, pope, POPE_SPLITS, POPE_SUFFIX, type PopeQuestion } from "./pope.js";
export { parsePrediction, readPredictions, type PredictionRecord } from "./predictions.js";
export { benchmarkNames, getBenchmark, resolveOptions } from "./registry.js";
export { DEFAULT_EVAL_BATCH, DEFAULT_MAX_NEW_TOKENS, evaluateModel, type EvaluateModelOptions, type EvaluateModelResult } from "./run-model.js";
export { PredictionCache, type CachedPrediction } from "./prediction-cache.js";
export { buildResults, summarizeResults, writeResults, type BenchResult, type EvalResults } from "./results.js";
export { seed, type SeedQuestion } from "./seed.js";
export type * from "./types.js";
