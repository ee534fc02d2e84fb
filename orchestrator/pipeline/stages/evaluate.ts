// evaluate: the configured benchmarks (evaluate.benchmarks) on one model — the fine-tuned target,
// the (contrast-trained) generator, the base generator, the untuned target or a checkpoint folder — through
// eval/run-model.ts. Every raw prediction is cached in samples/evaluate-cache.jsonl, so a resumed
// evaluation asks only for what is missing; results go to eval/results.json, the metrics to
// summary.metrics and each benchmark's protocol to this stage's state (c3l compare reads it).
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { evaluateModel } from "../../eval/run-model.js";
import { writeResults } from "../../eval/results.js";
import type { C3lConfig } from "../../config/index.js";
import type { StageContext, StageOutcome } from "../context.js";
import { builtinName, resolveBenchmarks, worldDir } from "../builtins.js";
import { samplesOf, type StageDeclaration } from "./stage.js";

export const EVAL_RESULTS = join("eval", "results.json");
export const EVAL_CACHE = join("samples", "evaluate-cache.jsonl");
export const EVAL_UNTUNED_RESULTS = join("eval", "untuned.json");

/** evaluate.model with its default applied: finetuned when finetune.enabled, else generator. */
export function evaluatedModel(config: C3lConfig): string {
  return config.evaluate.model ?? (config.finetune.enabled ? "finetuned" : "generator");
}

/** The folder of the model evaluate runs, from evaluate.model. */
export function evaluatedModelDir(ctx: StageContext): string {
  const which = evaluatedModel(ctx.config);
  if (which === "generator") return ctx.modelDir;
  if (which === "base") return ctx.baseModelDir;
  if (which === "target") return ctx.targetModelDir;
  if (which !== "finetuned") return which; // a checkpoint folder (absolute: the config resolved it)
  const finetune = ctx.run.readState("finetune");
  const dir = finetune?.status === "done" ? (finetune.extra.model_dir as string | undefined) : undefined;
  if (!dir) throw new Error("evaluate.model is finetuned, but the finetune stage has not finished");
  return dir;
}

export async function runEvaluate(ctx: StageContext): Promise<StageOutcome> {
  const e = ctx.config.evaluate;
  const modelDir = evaluatedModelDir(ctx);
  ctx.log(`${ctx.stage}: ${Object.keys(e.benchmarks).join(", ")} on ${evaluatedModel(ctx.config)} (${modelDir})`);
  const { benches, options } = resolveBenchmarks(ctx.config); // builtin:world-* → the world's files and options
  const { results, metrics, protocols } = await evaluateModel({
    session: ctx.session, modelDir, benches, options,
    cacheFile: join(ctx.run.dir, EVAL_CACHE), maxNewTokens: e.max_new_tokens, log: ctx.log,
  });
  const resultsFile = join(ctx.run.dir, EVAL_RESULTS);
  mkdirSync(dirname(resultsFile), { recursive: true });
  writeResults(resultsFile, results);
  if (e.untuned && evaluatedModel(ctx.config) === "finetuned") {
    ctx.log(`${ctx.stage}: the untuned target (${ctx.targetModelDir}), for reference`);
    const untuned = await evaluateModel({
      session: ctx.session, modelDir: ctx.targetModelDir, benches, options,
      cacheFile: untunedCacheFile(ctx.config, ctx.run.dir), maxNewTokens: e.max_new_tokens, log: ctx.log,
    });
    writeResults(join(ctx.run.dir, EVAL_UNTUNED_RESULTS), untuned.results);
    for (const [key, value] of Object.entries(untuned.metrics)) metrics[`untuned.${key}`] = value;
  }
  const scored = Object.values(results.benchmarks).filter((b) => b.status === "scored").length;
  return {
    counts: { benchmarks: Object.keys(results.benchmarks).length, scored, skipped: Object.keys(results.benchmarks).length - scored },
    extra: { model: evaluatedModel(ctx.config), model_dir: modelDir, results: EVAL_RESULTS, metrics, protocols },
  };
}

/**
 * Where the untuned target's predictions are cached: a builtin target never changes under its name
 * (its world's hash names the folder), so its predictions are shared by every run of that world;
 * any other target is cached in the run.
 */
export function untunedCacheFile(config: C3lConfig, runDir: string): string {
  const name = builtinName(config.finetune.model_dir ?? "");
  if (name && name.startsWith("world")) return `${worldDir(config.world)}.${name}.untuned-eval.jsonl`;
  return join(runDir, "samples", "evaluate-untuned-cache.jsonl");
}

/** The benchmarks evaluate.benchmarks names, on the model evaluate.model picks. */
export const evaluateStage: StageDeclaration = {
  name: "evaluate", kind: "evaluate", enabled: (config) => Object.keys(config.evaluate.benchmarks).length > 0,
  inputs: (_, config) => (config.finetune.enabled ? ["finetune"] : []), outputs: () => [EVAL_CACHE, EVAL_RESULTS, EVAL_UNTUNED_RESULTS], run: runEvaluate,
};
