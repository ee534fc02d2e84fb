// `c3l eval <model-dir> --bench NAME=PATH …`: start a worker, run evaluateModel, print the metrics as JSON.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { EvalInputError } from "../eval/errors.js";
import { parseOptionAssignment, splitAssignment } from "../eval/registry.js";
import { summarizeResults, writeResults } from "../eval/results.js";
import { evaluateModel } from "../eval/run-model.js";
import { defaultConfig } from "../config/index.js";
import { WorkerError } from "../worker/errors.js";
import { sessionOptions } from "../worker/from-config.js";
import { WorkerSession } from "../worker/session.js";
import { modelLocation, resolveModelDir } from "../pipeline/model-dir.js";
import { buildBuiltins, builtinNeeds } from "../pipeline/builtins.js";
import { EXIT } from "../errors.js";

export interface EvalModelCommandOptions {
  model: string;
  bench: string[];
  option: string[];
  out?: string;
  cache?: string;
  threads: number;
  maxNewTokens?: number;
  batchSize?: number;
  device?: string;
}

export async function evalModelCommand(o: EvalModelCommandOptions): Promise<number> {
  const log = (line: string) => process.stderr.write(`c3l eval: ${line}\n`);
  if (o.bench.length === 0) throw new EvalInputError("name a benchmark file: --bench NAME=PATH");
  const benches: Record<string, string> = {};
  for (const arg of o.bench) {
    const [name, path] = splitAssignment(arg, "--bench");
    if (name in benches) throw new EvalInputError(`--bench ${name} is given twice`);
    benches[name] = resolve(path);
  }
  for (const arg of o.option) parseOptionAssignment(arg); // a malformed --option fails before a model is built or a worker started
  modelLocation(o.model, "model"); // an unknown builtin fails before a worker starts
  // Without --cache, answers go next to --out (so a rerun resumes), else to a fresh temp folder.
  const cacheFile = resolve(o.cache ?? (o.out ? `${o.out}.predictions.jsonl` : join(mkdtempSync(join(tmpdir(), "c3l-eval-")), "predictions.jsonl")));
  log(`caching predictions in ${cacheFile}`);
  // No config here: the worker section's defaults, with the command line's threads and device.
  const defaults = defaultConfig();
  const session = new WorkerSession(sessionOptions({
    worker: { ...defaults.worker, threads: o.threads }, generator: { ...defaults.generator, device: o.device ?? "cpu" },
  }, `${cacheFile}.worker.log`, log));
  try {
    await session.start();
    await buildBuiltins(builtinNeeds([o.model]), defaults.world, session, { onLine: log }); // builtin:NAME is built on first use
    const modelDir = resolveModelDir(o.model, "model");
    const { results } = await evaluateModel({ session, modelDir, benches, options: o.option, cacheFile, maxNewTokens: o.maxNewTokens, batchSize: o.batchSize, log });
    if (o.out) writeResults(resolve(o.out), results);
    process.stdout.write(`${JSON.stringify(summarizeResults(results), null, 2)}\n`);
    return EXIT.ok;
  } catch (err) {
    // The exit code is main's (errors.ts); the hint is this command's.
    if (err instanceof WorkerError) log(`the answers so far are cached in ${cacheFile}: rerun with --cache ${cacheFile} to resume`);
    throw err;
  } finally {
    await session.stop();
  }
}
