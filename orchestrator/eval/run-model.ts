// Evaluating a model: load each benchmark, ask the worker for greedy answers (`generate`) or per-choice
// log-likelihoods (`score`, SEED-Bench's likelihood protocol), cache every raw prediction, then score with the
// same scorers `c3l eval --predictions` uses (the cache file is itself a predictions file).
import { dirname, resolve } from "node:path";
import { mkdirSync } from "node:fs";
import type { WorkerSession } from "../worker/session.js";
import { MODEL_ID } from "../worker/session.js";
import { EvalInputError } from "./errors.js";
import { checkImages } from "./images.js";
import { imageIdentity, imagePath, sha256 } from "./inline-images.js";
import { PredictionCache, type CachedPrediction } from "./prediction-cache.js";
import { parsePrediction, type PredictionRecord } from "./predictions.js";
import { readJsonLines } from "./read.js";
import { getBenchmark, resolveOptions, type OptionAssignments } from "./registry.js";
import { benchResult, buildResults, type BenchResult, type EvalResults } from "./results.js";
import type { Benchmark, BenchOptions, EvalQuestion, Prompt } from "./types.js";

export interface EvaluateModelOptions {
  session: WorkerSession;
  /** a local model folder (config.json inside) */
  modelDir: string;
  /** benchmark name → its file or folder, as `--bench NAME=PATH` */
  benches: Record<string, string>;
  /** `--option BENCH.KEY=VALUE` arguments, or `BENCH.KEY` → value as config's evaluate.options (e.g. {"seed.protocol": "likelihood"}) */
  options?: OptionAssignments;
  /** the raw-prediction cache (a predictions JSONL file); inline images go to `<cacheFile>.images/` */
  cacheFile: string;
  /** greedy decoding budget per answer; default 128 (LLaVA's evaluation scripts) */
  maxNewTokens?: number;
  /** prompts per worker request (and the worker's batch size); default 8 */
  batchSize?: number;
  log: (line: string) => void;
}

export interface EvaluateModelResult {
  results: EvalResults;
  /** `<bench>.<metric>` → value (metrics with no value left out), e.g. `pope.f1`, `seed.accuracy` */
  metrics: Record<string, number>;
  /** per benchmark: the scorer's protocol plus how the model was run */
  protocols: Record<string, unknown>;
}

export const DEFAULT_MAX_NEW_TOKENS = 128;
export const DEFAULT_EVAL_BATCH = 8;

interface Job {
  bench: string;
  q: EvalQuestion;
  id: string;
  prompt: Prompt;
  sha: string;
}

export async function evaluateModel(o: EvaluateModelOptions): Promise<EvaluateModelResult> {
  const maxNewTokens = o.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS;
  const batchSize = o.batchSize ?? DEFAULT_EVAL_BATCH;
  const modelDir = resolve(o.modelDir);
  const cacheFile = resolve(o.cacheFile);
  const chosen = Object.entries(o.benches).map(([name, path]) => ({ bench: getBenchmark(name), path: resolve(path) }));
  if (chosen.length === 0) throw new EvalInputError("name at least one benchmark: --bench NAME=PATH");
  const names = chosen.map((c) => c.bench.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new EvalInputError(`benchmark ${twice} is given twice`);
  const options = resolveOptions(names, o.options ?? []);

  // Every input is checked before the model runs.
  const loaded = chosen.map(({ bench, path }) => {
    const data = bench.load(path, options.get(bench.name)!);
    checkImages(bench.name, data.questions);
    return { bench, data };
  });

  mkdirSync(dirname(cacheFile), { recursive: true });
  const imageDir = `${cacheFile}.images`;
  const cache = PredictionCache.open(cacheFile, o.log);
  const run: Record<string, { generated: number; cached: number; item_errors: number }> = {};
  try {
    let modelLoaded = false;
    for (const { bench, data } of loaded) {
      const opts = options.get(bench.name)!;
      const jobs = data.questions.map((q) => job(bench, q, opts, modelDir, maxNewTokens));
      const todo = jobs.filter((j) => cache.lookup(j.id, j.sha) === null);
      const stats = { generated: 0, cached: jobs.length - todo.length, item_errors: 0 };
      run[bench.name] = stats;
      o.log(`${bench.name}: ${jobs.length} prompts, ${stats.cached} cached, ${todo.length} to run`);
      if (todo.length > 0 && !modelLoaded) {
        await o.session.useModel(modelDir); // retried on a restarted worker by the session itself
        modelLoaded = true;
      }
      for (let at = 0; at < todo.length; at += batchSize) {
        const chunk = todo.slice(at, at + batchSize);
        const what = `${bench.name} prompts ${at + 1}–${at + chunk.length} of ${todo.length}`;
        const records = chunk[0]!.prompt.continuations
          ? await o.session.withRetries(what, () => likelihoods(o.session, chunk, imageDir, batchSize))
          : await o.session.withRetries(what, () => answers(o.session, chunk, imageDir, maxNewTokens, batchSize));
        const good = records.filter((r): r is CachedPrediction => typeof r !== "string");
        for (const r of records) if (typeof r === "string") o.log(`${bench.name}: ${r}`);
        cache.append(good);
        stats.generated += good.length;
        stats.item_errors += records.length - good.length;
      }
    }
  } finally {
    cache.close();
  }

  // Score from the cache file itself, exactly as `c3l eval --predictions CACHE` would.
  const { lines, file } = readJsonLines(cacheFile);
  const records = new Map<string, PredictionRecord>(); // cache id → the line as the predictions reader reads it
  for (const { value, line } of lines) records.set(String(value.id), parsePrediction(value, { file: cacheFile, line }));
  const results: BenchResult[] = [];
  const metrics: Record<string, number> = {};
  const protocols: Record<string, unknown> = {};
  for (const { bench, data } of loaded) {
    const opts = options.get(bench.name)!;
    const mine = data.questions.flatMap((q) => records.get(`${bench.name}/${q.key}`) ?? []);
    const outcome = await bench.score(data, mine, { options: opts });
    if (outcome.status === "skipped") o.log(`${bench.name}: skipped: ${outcome.reason}`);
    else for (const w of outcome.warnings) o.log(`${bench.name}: ${w}`);
    const result = benchResult(bench, data, opts, outcome);
    results.push(result);
    for (const [k, m] of Object.entries(result.metrics)) if (m.value !== null) metrics[`${bench.name}.${k}`] = m.value;
    // how the model was run is part of the protocol (the counts of generated and cached prompts are not: see source.prompts)
    result.protocol = {
      ...outcome.protocol,
      run: likelihoodProtocol(bench, data.questions, opts)
        ? { operation: "score: each choice teacher-forced after the question; choice_logliks = mean log-probability per choice token given image and question (logp_with_image; SEED-Bench ranks by mean loss)" }
        : { operation: "generate: greedy, the benchmark's prompt as the instruction", max_new_tokens: maxNewTokens },
    };
    protocols[bench.name] = result.protocol;
  }
  const evalResults = buildResults({
    model: { model_dir: modelDir },
    source: { kind: "model", cache: file, max_new_tokens: maxNewTokens, batch_size: batchSize, prompts: run },
    benchmarks: results,
  });
  return { results: evalResults, metrics, protocols };
}

function likelihoodProtocol(bench: Benchmark<EvalQuestion>, questions: EvalQuestion[], opts: BenchOptions): boolean {
  return questions.length > 0 && bench.promptFor(questions[0]!, opts).continuations !== undefined;
}

function job(bench: Benchmark<EvalQuestion>, q: EvalQuestion, opts: BenchOptions, modelDir: string, maxNewTokens: number): Job {
  const prompt = bench.promptFor(q, opts);
  const request = prompt.continuations
    ? { op: "score", model_dir: modelDir, question: prompt.text, image: imageIdentity(prompt.image), choices: prompt.continuations }
    : { op: "generate", model_dir: modelDir, prompt: prompt.text, image: imageIdentity(prompt.image), max_new_tokens: maxNewTokens, decoding: "greedy" };
  return { bench: bench.name, q, id: `${bench.name}/${q.key}`, prompt, sha: sha256(JSON.stringify(request)) };
}

/** The predictions-format fields that name a question: its id, and the POPE split or MMBench rotation. */
function identity(j: Job): Pick<CachedPrediction, "id" | "bench" | "question_id" | "split" | "rotation" | "request_sha256"> {
  const q = j.q as EvalQuestion & { split?: unknown; rotation?: unknown };
  const bench = j.bench;
  return {
    id: j.id,
    bench,
    question_id: q.question_id,
    ...(bench === "pope" && typeof q.split === "string" ? { split: q.split } : {}),
    ...(typeof q.rotation === "number" ? { rotation: q.rotation } : {}),
    request_sha256: j.sha,
  };
}

/** Greedy answers for a chunk; an item the worker could not answer comes back as a message (not cached: retried next run). */
async function answers(session: WorkerSession, chunk: Job[], imageDir: string, maxNewTokens: number, batchSize: number): Promise<Array<CachedPrediction | string>> {
  const reply = await session.request("generate", {
    model_id: MODEL_ID,
    items: chunk.map((j) => ({ id: j.id, image_path: imagePath(j.prompt.image, imageDir), prompt: j.prompt.text })),
    max_new_tokens: maxNewTokens,
    do_sample: false,
    batch_size: batchSize,
  });
  return chunk.map((j, i) => {
    const r = reply.results[i]!;
    if (r.error || r.text === null) return `${j.id}: no answer: ${r.error?.message ?? "no text"}`;
    return { ...identity(j), prediction: r.text.trim(), finish_reason: r.finish_reason, num_tokens: r.num_tokens };
  });
}

/** SEED's likelihood protocol: one `score` item per choice (question = the prompt, answer = the choice text). */
async function likelihoods(session: WorkerSession, chunk: Job[], imageDir: string, batchSize: number): Promise<Array<CachedPrediction | string>> {
  const items = chunk.flatMap((j) => j.prompt.continuations!.map((choice, c) => ({
    id: `${j.id}#${c}`, image_path: imagePath(j.prompt.image, imageDir), question: j.prompt.text, answer: choice,
  })));
  const reply = await session.request("score", { model_id: MODEL_ID, items, batch_size: batchSize, method: "optimized" });
  const byId = new Map(reply.results.map((r) => [r.id, r]));
  return chunk.map((j) => {
    const scores = j.prompt.continuations!.map((_, c) => byId.get(`${j.id}#${c}`));
    const bad = scores.find((s) => !s || s.error || s.logp_with_image === null);
    if (bad !== undefined) return `${j.id}: no likelihood: ${bad?.error?.message ?? "no score"}`;
    return {
      ...identity(j),
      choice_logliks: scores.map((s) => s!.logp_with_image!),
      choice_num_tokens: scores.map((s) => s!.num_tokens),
    };
  });
}
