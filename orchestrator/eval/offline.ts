// Re-scoring saved predictions with no model: load each benchmark, route prediction lines to it, score, assemble the results.
import { EvalInputError } from "./errors.js";
import { readPredictions, type PredictionRecord } from "./predictions.js";
import { getBenchmark, resolveOptions } from "./registry.js";
import { benchResult, buildResults, type BenchResult, type EvalResults } from "./results.js";
import type { DataFile, Judge } from "./types.js";

export interface OfflineEvalOptions {
  /** --bench NAME=PATH */
  benches: Array<{ name: string; path: string }>;
  /** --predictions FILE (bench: null, lines routed by their `bench` field) or NAME=FILE */
  predictions: Array<{ bench: string | null; path: string }>;
  /** --option BENCH.KEY=VALUE */
  options?: string[];
  /** a judge for LLaVA-Bench (--option llava-bench.reviews=FILE replays saved reviews instead) */
  judge?: Judge | null;
  /** one line per problem worth telling (missing predictions, skipped benchmarks …) */
  warn?: (message: string) => void;
  now?: Date;
}

export async function scoreSavedPredictions(o: OfflineEvalOptions): Promise<EvalResults> {
  const warn = o.warn ?? (() => {});
  if (o.benches.length === 0) throw new EvalInputError("name at least one benchmark: --bench NAME=PATH");
  if (o.predictions.length === 0) throw new EvalInputError("no predictions: --predictions FILE");
  const chosen = o.benches.map(({ name, path }) => ({ bench: getBenchmark(name), path }));
  const names = chosen.map((c) => c.bench.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new EvalInputError(`--bench ${twice} is given twice`);
  const options = resolveOptions(names, o.options ?? []);

  const loaded = chosen.map(({ bench, path }) => ({ bench, loaded: bench.load(path, options.get(bench.name)!) }));

  const routed = new Map<string, PredictionRecord[]>(names.map((n) => [n, []]));
  const files: DataFile[] = [];
  let ignored = 0;
  for (const spec of o.predictions) {
    const target = spec.bench === null ? null : getBenchmark(spec.bench).name;
    if (target !== null && !routed.has(target)) throw new EvalInputError(`--predictions ${spec.bench}=${spec.path}: ${target} is not being scored (no --bench ${target}=PATH)`);
    const { file, records } = readPredictions(spec.path);
    files.push(file);
    for (const r of records) {
      const named = r.bench === null ? null : benchOfLine(r);
      if (target !== null) {
        if (named !== null && named !== target) throw new EvalInputError(`bench ${JSON.stringify(r.bench)}, but this file is given as ${target} predictions`, r.source);
        routed.get(target)!.push(r);
      } else if (named !== null) {
        if (routed.has(named)) routed.get(named)!.push(r);
        else ignored += 1; // another benchmark's line in a shared file
      } else if (names.length === 1) {
        routed.get(names[0]!)!.push(r);
      } else {
        throw new EvalInputError(`no \`bench\` field, and several benchmarks are being scored (${names.join(", ")}): add "bench" to each line or give the file as NAME=FILE`, r.source);
      }
    }
  }
  if (ignored > 0) warn(`${ignored} prediction lines belong to benchmarks not being scored; ignored`);

  const results: BenchResult[] = [];
  for (const { bench, loaded: data } of loaded) {
    const opts = options.get(bench.name)!;
    const outcome = await bench.score(data, routed.get(bench.name)!, { options: opts, judge: o.judge ?? null });
    if (outcome.status === "skipped") warn(`${bench.name}: skipped: ${outcome.reason}`);
    else for (const w of outcome.warnings) warn(`${bench.name}: ${w}`);
    results.push(benchResult(bench, data, opts, outcome));
  }
  return buildResults({ model: null, source: { kind: "predictions", files, ignored_lines: ignored }, benchmarks: results, now: o.now });
}

function benchOfLine(r: PredictionRecord): string {
  try {
    return getBenchmark(r.bench!).name;
  } catch (err) {
    throw new EvalInputError((err as Error).message, r.source);
  }
}
