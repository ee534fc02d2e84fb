// contrast (the contrastive learning module): fine-tune the generator on the pseudo-labels with
// L = L_LM + lambda·L_CL, checkpointing every N optimizer steps. A killed run or a dead worker
// continues from the last checkpoint with the same data order and RNG; the trained generator is
// exported so every later stage (and a resumed process) loads exactly it. The loop itself is
// ../training-loop.ts, shared with finetune.
import type { TrainExample } from "../../protocol/index.js";
import { imageById, readSamples, type StageContext, type StageOutcome } from "../context.js";
import { formatPair } from "../pair-format.js";
import type { Selection } from "../select.js";
import { trainAndExport } from "../training-loop.js";
import type { GeneratedRecord } from "./generate.js";
import { samplesOf, type StageDeclaration } from "./stage.js";

export function trainingExamples(ctx: StageContext, selectStage: string, generateStage: string): TrainExample[] {
  const images = imageById(ctx);
  const generated = readSamples<GeneratedRecord>(ctx, generateStage);
  return [...readSamples<Selection>(ctx, selectStage).values()]
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .map((s) => ({
      id: s.image_id,
      image_path: images.get(s.image_id)!.path,
      context: generated.get(s.image_id)!.prompt,
      positive: formatPair(s.positive.question, s.positive.answer),
      negatives: s.negatives.map((n) => formatPair(n.question, n.answer)),
    }));
}

export function runContrast(selectStage: string, generateStage: string) {
  return async (ctx: StageContext): Promise<StageOutcome> => {
    const c = ctx.config.contrast;
    const examples = trainingExamples(ctx, selectStage, generateStage);
    if (examples.length === 0) {
      const message = `${ctx.stage}: no image has both a positive and a negative pseudo-label, so the generator is NOT trained ` +
        `(the method does nothing this round): more images, a larger generation.k, or a higher selection.neg_quantile give it examples`;
      ctx.log(`warning: ${message}`);
      ctx.run.events.append({ type: "warning", stage: ctx.stage, message });
      return { counts: { examples: 0, steps: 0 }, extra: { model_dir: ctx.modelDir } };
    }
    const result = await trainAndExport(ctx, {
      examples, startModelDir: ctx.modelDir, training: c, seed: ctx.config.seed,
      loss: { form: c.form, tau: c.tau, lambda_cl: c.lambda_cl, beta: c.beta, in_batch_negatives: ctx.config.selection.in_batch_negatives, projection_head: c.projection_head },
    });
    const { steps } = result;
    return {
      counts: { examples: examples.length, steps: result.totalSteps, micro_batches: steps.length, failed_micro_batches: result.failedMicroBatches },
      extra: { model_dir: result.exportDir, first_loss: steps[0]?.loss ?? null, last_loss: steps[steps.length - 1]?.loss ?? null },
    };
  };
}

/** Each round's contrastive training of the generator. */
export const contrastStage: StageDeclaration = {
  name: "contrast", perRound: true, kind: "contrast", inputs: (r) => [`r${r}-select`, `r${r}-generate`],
  outputs: (name) => [samplesOf(name), `checkpoints/${name}/`, `models/${name}/`],
  run: (ctx) => runContrast(ctx.inputs[0]!, ctx.inputs[1]!)(ctx), trainsGenerator: true,
  throughput: { keys: ["micro_batches", "steps"], unit: "micro-batches" },
};
