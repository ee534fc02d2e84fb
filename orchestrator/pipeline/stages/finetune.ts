// finetune (the paper's evaluation protocol): instruction-tune a target model — finetune.model_dir,
// or the run's BASE generator, never the contrast-trained one — on the final dataset (plus any
// extra LLaVA-format data). Every (human, gpt) turn pair is one example trained with form "none":
// L_LM on the answer tokens only, the vision tower frozen by the worker. Checkpoints, exact resume
// and the export to models/finetune/ are the shared training loop's (../training-loop.ts).
// finetune.weight_by i2c weighs each final pair's loss by its I2C rank (../weights.ts), read from the
// filter stage's kept pairs, so a resumed run derives the same weights.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { TrainExample } from "../../protocol/index.js";
import { readSamples, type StageContext, type StageOutcome } from "../context.js";
import type { LlavaRecord } from "../filter.js";
import type { ScoredPair } from "../select.js";
import { trainAndExport } from "../training-loop.js";
import { rankWeights } from "../weights.js";
import { samplesOf, type StageDeclaration } from "./stage.js";

export interface ConversationExamples {
  examples: TrainExample[];
  /** records without an image (text-only LLaVA data), left out */
  text_only: number;
}

const IMAGE_TOKEN = "<image>";

/** The human turn as the model's context: LLaVA's `<image>` placeholder (with its newline) removed. */
export function stripImageToken(text: string): string {
  return text.replace(`${IMAGE_TOKEN}\n`, "").replace(`\n${IMAGE_TOKEN}`, "").replace(IMAGE_TOKEN, "").trim();
}

/**
 * One TrainExample per (human, gpt) turn pair: id `${record.id}#${turn}` (with `prefix` before it),
 * the record's image resolved by `imagePath`, the question as context, the answer as the positive.
 */
export function conversationExamples(records: unknown, file: string, imagePath: (image: string) => string, prefix = ""): ConversationExamples {
  if (!Array.isArray(records)) throw new Error(`${file}: expected a JSON list of LLaVA records ({id, image, conversations}), got ${typeof records}`);
  const examples: TrainExample[] = [];
  let textOnly = 0;
  records.forEach((record: Partial<LlavaRecord>, i) => {
    const where = `${file}: record ${i}${record?.id !== undefined ? ` (id ${JSON.stringify(record.id)})` : ""}`;
    if (typeof record !== "object" || record === null || !Array.isArray(record.conversations)) throw new Error(`${where}: expected {id, image, conversations: [...]}`);
    if (typeof record.image !== "string" || record.image === "") {
      textOnly++;
      return;
    }
    const id = String(record.id ?? i);
    const image = imagePath(record.image);
    const turns = record.conversations;
    for (let t = 0, turn = 0; t + 1 < turns.length; t += 2, turn++) {
      const human = turns[t];
      const gpt = turns[t + 1];
      if (human?.from !== "human" || gpt?.from !== "gpt" || typeof human.value !== "string" || typeof gpt.value !== "string") {
        throw new Error(`${where}: turns ${t} and ${t + 1} are not a human turn followed by a gpt turn with text values`);
      }
      examples.push({ id: `${prefix}${id}#${turn}`, image_path: image, context: stripImageToken(human.value), positive: gpt.value.trim(), negatives: [] });
    }
  });
  return { examples, text_only: textOnly };
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`${file}: cannot read LLaVA JSON: ${(err as Error).message}`);
  }
}

/**
 * The final dataset's examples with their I2C rank weights. The filter wrote each image's kept pairs
 * as turns in its kept order, so turn t of record R is the t-th kept pair of image R; its answer is
 * checked against the turn's, so a hand-edited dataset fails here instead of weighting the wrong pair.
 */
export function weightByI2c(examples: TrainExample[], kept: Iterable<ScoredPair>, spread: number): TrainExample[] {
  const byImage = new Map<string, ScoredPair[]>();
  for (const pair of kept) byImage.set(pair.image_id, [...(byImage.get(pair.image_id) ?? []), pair]);
  const pairs = examples.map((example) => {
    const hash = example.id.lastIndexOf("#");
    const pair = byImage.get(example.id.slice(0, hash))?.[Number(example.id.slice(hash + 1))];
    if (!pair || pair.answer.trim() !== example.positive) {
      throw new Error(`finetune.weight_by i2c: final example ${example.id} is not a pair the filter stage kept (samples/filter.jsonl); was final/dataset.json edited? (c3l resume --redo filter)`);
    }
    return pair;
  });
  const weights = rankWeights(pairs.map((p) => p.i2c), spread);
  return examples.map((example, i) => ({ ...example, weight: weights[i]! }));
}

export async function runFinetune(ctx: StageContext): Promise<StageOutcome> {
  const f = ctx.config.finetune;
  // The final dataset names images relative to the data root, as ctx.images' `rel`.
  const byRel = new Map(ctx.images.map((image) => [image.rel, image.path]));
  const datasetFile = ctx.run.paths.final_dataset;
  const own = conversationExamples(readJson(datasetFile), datasetFile, (image) => {
    const path = byRel.get(image);
    if (!path) throw new Error(`${datasetFile}: image ${JSON.stringify(image)} is not one of the run's input images`);
    return path;
  });
  const extra = f.extra_data.map((source, k) =>
    conversationExamples(readJson(source.json), source.json, (image) => resolve(source.images, image), `extra${k}:`));
  const ownExamples = f.weight_by === "i2c"
    ? weightByI2c(own.examples, readSamples<ScoredPair>(ctx, "filter").values(), f.weight_spread)
    : own.examples; // no weight field at all: the wire bytes of unweighted training are unchanged
  const examples = [...ownExamples, ...extra.flatMap((e) => e.examples)];
  const textOnly = own.text_only + extra.reduce((n, e) => n + e.text_only, 0);
  if (textOnly > 0) ctx.log(`${ctx.stage}: left out ${textOnly} record(s) without an image`);
  if (examples.length === 0) {
    ctx.log(`${ctx.stage}: no training examples (the final dataset is empty); the target is not trained`);
    return { counts: { examples: 0, steps: 0 }, extra: { model_dir: ctx.targetModelDir, target_model_dir: ctx.targetModelDir } };
  }
  ctx.log(`${ctx.stage}: ${examples.length} examples (${own.examples.length} from the final dataset) on ${ctx.targetModelDir}`);
  const result = await trainAndExport(ctx, {
    examples, startModelDir: ctx.targetModelDir, training: f, seed: f.seed ?? ctx.config.seed,
    loss: { form: "none", in_batch_negatives: false },
  });
  const { steps } = result;
  return {
    counts: {
      examples: examples.length, extra_examples: examples.length - own.examples.length, text_only_skipped: textOnly,
      steps: result.totalSteps, micro_batches: steps.length, failed_micro_batches: result.failedMicroBatches,
    },
    extra: {
      model_dir: result.exportDir, target_model_dir: ctx.targetModelDir,
      first_loss: steps[0]?.loss ?? null, last_loss: steps[steps.length - 1]?.loss ?? null,
      weight_by: f.weight_by, weights: f.weight_by === "none" ? null : weightStats(ownExamples),
    },
  };
}

function weightStats(examples: TrainExample[]): { min: number; max: number; mean: number } | null {
  const w = examples.map((e) => e.weight ?? 1);
  if (w.length === 0) return null;
  return { min: Math.min(...w), max: Math.max(...w), mean: w.reduce((a, b) => a + b, 0) / w.length };
}

/** The target model instruction-tuned on the final dataset (finetune.enabled). */
export const finetuneStage: StageDeclaration = {
  name: "finetune", kind: "finetune", enabled: (config) => config.finetune.enabled, inputs: () => ["filter"],
  outputs: (name) => [samplesOf(name), `checkpoints/${name}/`, `models/${name}/`], run: runFinetune,
};
