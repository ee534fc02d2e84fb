// `c3l eval`: re-score saved predictions against benchmark files and print the metrics as JSON; with a model folder, run it first (eval-model.ts).
import { resolve } from "node:path";
import { EvalInputError } from "../eval/errors.js";
import { scoreSavedPredictions } from "../eval/offline.js";
import { benchmarkNames, getBenchmark, splitAssignment } from "../eval/registry.js";
import { summarizeResults, writeResults } from "../eval/results.js";
import { EXIT } from "../errors.js";

export interface EvalCommandOptions {
  model?: string;
  predictions: string[];
  bench: string[];
  option: string[];
  out?: string;
  cache?: string;
  threads?: number;
  maxNewTokens?: number;
  batchSize?: number;
  device?: string;
}

export async function evalCommand(o: EvalCommandOptions): Promise<number> {
  if (o.model !== undefined && o.predictions.length > 0) throw new EvalInputError("give either a model directory or --predictions, not both");
  if (o.model !== undefined) {
    const { evalModelCommand } = await import("./eval-model.js");
    return evalModelCommand({ ...o, model: o.model, threads: o.threads ?? 1 });
  }
  for (const [flag, given] of [["--cache", o.cache], ["--max-new-tokens", o.maxNewTokens], ["--batch-size", o.batchSize], ["--device", o.device]] as const) {
    if (given !== undefined) throw new EvalInputError(`${flag} is for running a model (c3l eval <model-dir> …), not for --predictions`);
  }
  if (o.bench.length === 0) throw new EvalInputError(`name a benchmark file: --bench NAME=PATH (NAME: ${benchmarkNames().join(", ")})`);
  const benches = o.bench.map((arg) => {
    const [name, path] = splitAssignment(arg, "--bench");
    return { name, path: resolve(path) };
  });
  const predictions = o.predictions.map((arg) => {
    // NAME=FILE routes a whole file to one benchmark; anything else is a path
    const eq = arg.indexOf("=");
    if (eq > 0) {
      try {
        return { bench: getBenchmark(arg.slice(0, eq)).name, path: resolve(arg.slice(eq + 1)) };
      } catch {
        // not a benchmark name: the "=" is part of the path
      }
    }
    return { bench: null, path: resolve(arg) };
  });
  const results = await scoreSavedPredictions({
    benches,
    predictions,
    options: o.option,
    warn: (message) => process.stderr.write(`c3l eval: ${message}\n`),
  });
  if (o.out) writeResults(resolve(o.out), results);
  process.stdout.write(`${JSON.stringify(summarizeResults(results), null, 2)}\n`);
  return EXIT.ok;
}
