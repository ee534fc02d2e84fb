// score / rescore (the content relevance module): S(A|V), S(A) and S(I2C) for every parsed pair.
import type { ScoreItem } from "../../protocol/index.js";
import { dispatch, type StageBatch } from "../batches.js";
import { imageById, openSamples, readSamples, type StageContext, type StageOutcome } from "../context.js";
import { MODEL_ID } from "../../worker/session.js";
import { i2cStats } from "../../runs/summary.js";
import type { GeneratedRecord } from "./generate.js";
import { samplesOf, type StageDeclaration } from "./stage.js";

export interface ScoredRecord {
  id: string; // `${image_id}#${pair index}`
  image_id: string;
  question: string;
  answer: string;
  logp_with_image: number | null;
  logp_without_image: number | null;
  i2c: number | null;
  num_tokens: number;
  error: { code: string; message: string } | null;
}

/** Every parsed pair of a generate stage, as score items in a fixed order. */
export function pairsOf(ctx: StageContext, generateStage: string): ScoreItem[] {
  const images = imageById(ctx);
  const generated = [...readSamples<GeneratedRecord>(ctx, generateStage).values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  return generated.flatMap((g) => g.qa_pairs.map((pair, i) => ({
    id: `${g.image_id}#${i}`, image_path: images.get(g.image_id)!.path, question: pair.question, answer: pair.answer,
  })));
}

/** Chunks of whole images (an image's pairs share one encoded prefix in the worker), about `size` pairs each. */
function chunkByImage(items: ScoreItem[], size: number): ScoreItem[][] {
  const chunks: ScoreItem[][] = [];
  let current: ScoreItem[] = [];
  for (const item of items) {
    const sameImage = current.length > 0 && current[current.length - 1]!.image_path === item.image_path;
    if (current.length >= size && !sameImage) {
      chunks.push(current);
      current = [];
    }
    current.push(item);
  }
  if (current.length) chunks.push(current);
  return chunks;
}

export function runScore(generateStage: string) {
  return async (ctx: StageContext): Promise<StageOutcome> => {
    const s = ctx.config.scoring;
    await ctx.pool.useModel(ctx.modelDir);
    const items = pairsOf(ctx, generateStage);
    const out = openSamples<ScoredRecord>(ctx);
    const done = new Set(out.read().records.keys());
    const batches = chunkByImage(items, s.batch_size).flatMap((chunkItems, index): StageBatch<"score", ScoreItem[]>[] => {
      const missing = chunkItems.filter((item) => !done.has(item.id));
      if (missing.length === 0) return [];
      const content = { model_id: MODEL_ID, items: chunkItems, estimator: s.estimator, withhold: s.withhold, span: s.span, batch_size: chunkItems.length };
      return [{ what: `${ctx.stage} chunk ${index}`, type: "score", content, items: missing.length, ids: chunkItems.map((i) => i.id), chunk: chunkItems }];
    });
    let workers;
    try {
      workers = await dispatch(ctx, {
        out, done, total: items.length, batches, unit: "pairs",
        records: (batch, reply) => {
          const byId = new Map(batch.chunk.map((item) => [item.id, item]));
          return reply.results.map((r) => ({ ...r, image_id: imageOf(r.id), question: byId.get(r.id)!.question, answer: byId.get(r.id)!.answer }));
        },
        failedRecords: (batch, err) => batch.chunk.map((item) => ({
          id: item.id, image_id: imageOf(item.id), question: item.question, answer: item.answer,
          logp_with_image: null, logp_without_image: null, i2c: null, num_tokens: 0, error: { code: "batch_failed", message: err.message },
        })),
      });
    } finally {
      out.close();
    }
    const all = [...out.read().records.values()];
    const scores = all.filter((r) => r.i2c !== null).map((r) => r.i2c!);
    return {
      counts: { pairs: all.length, scored: scores.length, failed: all.length - scores.length },
      extra: { i2c: i2cStats(scores), workers },
    };
  };
}

function imageOf(pairId: string): string {
  return pairId.slice(0, pairId.lastIndexOf("#"));
}

const SCORES = { keys: ["scored", "pairs"], unit: "pairs" };

/** Each round's I2C scores of the pairs its generate stage wrote. */
export const scoreStage: StageDeclaration = {
  name: "score", perRound: true, kind: "score", inputs: (r) => [`r${r}-generate`], outputs: (name) => [samplesOf(name)],
  run: (ctx) => runScore(ctx.inputs[0]!)(ctx), throughput: SCORES,
};

/** The I2C scores of the final generation. */
export const rescoreStage: StageDeclaration = {
  name: "rescore", kind: "score", inputs: () => ["regenerate"], outputs: (name) => [samplesOf(name)],
  run: (ctx) => runScore(ctx.inputs[0]!)(ctx), throughput: SCORES,
};
