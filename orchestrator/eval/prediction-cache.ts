// The raw-prediction cache of a model evaluation: a SampleFile (append-only JSONL keyed by id) whose lines are
// also lines of the documented predictions format, so `c3l eval --predictions CACHE` re-scores it offline.
import { EvalInputError } from "./errors.js";
import { SampleFile } from "../runs/jsonl.js";

/**
 * One answered prompt. `id` = `<bench>/<question key>` (the key holds the POPE split or the MMBench rotation), stable
 * across runs. `request_sha256` fingerprints what produced it (model folder, operation, prompt, image, choices,
 * max_new_tokens): a cached line is reused only when it matches.
 */
export interface CachedPrediction {
  id: string;
  bench: string;
  question_id: string | number;
  split?: string;
  rotation?: number;
  /** generation: the raw greedy answer */
  prediction?: string;
  /** likelihood: mean log-probability per token of each choice given image and question, in letter order */
  choice_logliks?: number[];
  /** likelihood: tokens of each choice (mean × tokens = the choice's total log-probability) */
  choice_num_tokens?: number[];
  finish_reason?: string;
  num_tokens?: number;
  request_sha256: string;
}

export class PredictionCache {
  private constructor(private readonly file: SampleFile<CachedPrediction>, readonly records: Map<string, CachedPrediction>) {}

  /** Opens (creating) `path`, cutting a torn last line left by an interrupted run. */
  static open(path: string, log: (line: string) => void): PredictionCache {
    const file = SampleFile.open<CachedPrediction>(path);
    if (file.recovered) log(`${path}: cut a torn last line (${file.recovered.bytes} bytes) left by an interrupted run`);
    const read = file.read();
    return new PredictionCache(file, read.records);
  }

  /** The cached line for `id` when it was made by the same request; a line made otherwise is an error (re-scoring it would mix models or prompts). */
  lookup(id: string, requestSha: string): CachedPrediction | null {
    const hit = this.records.get(id);
    if (!hit) return null;
    if (hit.request_sha256 !== requestSha) {
      throw new EvalInputError(
        `${this.file.path}: ${id} was answered under other settings (model folder, prompt, image, choices or max_new_tokens differ); ` +
          "use another --cache file, or delete this one to start over",
      );
    }
    return hit;
  }

  append(records: CachedPrediction[]): void {
    this.file.append(records);
    for (const r of records) this.records.set(r.id, r);
  }

  close(): void {
    this.file.close();
  }
}
