// generate / regenerate: the generator writes K question/answer pairs per image. Output that does
// not parse is kept with its raw text and the reason, and counted — never dropped silently.
import type { GenerateResult, QAPair } from "../../protocol/index.js";
import { openSamples, progressFor, type StageContext, type StageOutcome } from "../context.js";
import { chunk, chunkSeed, renderPrompt, seededIndex } from "../plan.js";
import { BatchFailedError, GENERATOR_ID } from "../session.js";

export interface GeneratedRecord {
  id: string; // the image id
  image_id: string;
  prompt: string;
  text: string | null;
  finish_reason: GenerateResult["finish_reason"] | "failed";
  num_tokens: number;
  qa_pairs: QAPair[];
  parse_error: string | null;
  error: { code: string; message: string } | null;
}

/** The prompt an image gets: a seeded pick from the pool, the same in every round. */
export function promptFor(ctx: StageContext, imageId: string): string {
  const { prompts, k } = ctx.config.generation;
  return renderPrompt(prompts[seededIndex(ctx.config.seed, imageId, prompts.length)]!, k);
}

export async function runGenerate(ctx: StageContext): Promise<StageOutcome> {
  const g = ctx.config.generation;
  await ctx.session.useModel(ctx.modelDir);
  const out = openSamples<GeneratedRecord>(ctx);
  const done = new Set(out.read().records.keys());
  const chunks = chunk(ctx.images, g.batch_size);
  const progress = progressFor(ctx, ctx.images.length);
  progress.skip(ctx.images.filter((image) => done.has(image.id)).length);
  try {
    for (const [index, images] of chunks.entries()) {
      const missing = images.filter((image) => !done.has(image.id));
      if (missing.length === 0) continue;
      // The whole chunk is sent again so its batch and seed, and so its sampled text, match an uninterrupted run.
      const request = {
        model_id: GENERATOR_ID,
        items: images.map((image) => ({ id: image.id, image_path: image.path, prompt: promptFor(ctx, image.id) })),
        max_new_tokens: g.max_new_tokens, do_sample: g.do_sample, temperature: g.temperature, top_p: g.top_p,
        stop: g.stop, seed: chunkSeed(ctx.config.seed, ctx.stage, index), batch_size: images.length,
      };
      let records: GeneratedRecord[];
      try {
        const reply = await ctx.session.withRetries(`${ctx.stage} chunk ${index}`, () => ctx.session.request("generate", request));
        records = reply.results.map((r) => ({
          id: r.id, image_id: r.id, prompt: request.items.find((i) => i.id === r.id)!.prompt, text: r.text,
          finish_reason: r.finish_reason, num_tokens: r.num_tokens, qa_pairs: r.qa_pairs, parse_error: r.parse_error, error: r.error,
        }));
      } catch (err) {
        if (!(err instanceof BatchFailedError)) throw err;
        ctx.log(`${ctx.stage}: ${err.message}; its ${images.length} images are recorded as failed`);
        records = request.items.map((item) => failed(item.id, item.prompt, err.message));
      }
      out.append(records.filter((r) => !done.has(r.id)));
      for (const r of records) done.add(r.id);
      progress.advance(missing.length);
    }
  } finally {
    out.close();
  }
  return { counts: countGenerated([...out.read().records.values()]) };
}

function failed(id: string, prompt: string, message: string): GeneratedRecord {
  return { id, image_id: id, prompt, text: null, finish_reason: "failed", num_tokens: 0, qa_pairs: [], parse_error: null,
    error: { code: "batch_failed", message } };
}

export function countGenerated(records: GeneratedRecord[]): Record<string, number> {
  const ok = records.filter((r) => r.error === null);
  return {
    images: records.length,
    generated: ok.length,
    pairs: ok.reduce((n, r) => n + r.qa_pairs.length, 0),
    unparseable: ok.filter((r) => r.qa_pairs.length === 0).length,
    partly_parsed: ok.filter((r) => r.qa_pairs.length > 0 && r.parse_error !== null).length,
    failed: records.length - ok.length,
  };
}
