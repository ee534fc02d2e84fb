// generate / regenerate: the generator writes K question/answer pairs per image. Output that does
// not parse is kept with its raw text and the reason, and counted — never dropped silently.
import { C3lError } from "../../errors.js";
import type { GenerateResult, QAPair } from "../../protocol/index.js";
import { openSamples, type StageContext, type StageOutcome } from "../context.js";
import { dispatch, type StageBatch } from "../batches.js";
import { chunk, chunkSeed, renderPrompt, seededIndex } from "../seeded.js";
import { MODEL_ID } from "../../worker/session.js";

import { samplesOf, type StageDeclaration } from "./stage.js";
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
  await ctx.pool.useModel(ctx.modelDir);
  const out = openSamples<GeneratedRecord>(ctx);
  const done = new Set(out.read().records.keys());
  const batches = chunk(ctx.images, g.batch_size).flatMap((images, index): StageBatch<"generate", Map<string, string>>[] => {
    const missing = images.filter((image) => !done.has(image.id));
    if (missing.length === 0) return [];
    // The whole chunk is sent again so its batch and seed, and so its sampled text, match an
    // uninterrupted run; the seed is the chunk's, so the text does not depend on the worker either.
    const items = images.map((image) => ({ id: image.id, image_path: image.path, prompt: promptFor(ctx, image.id) }));
    const content = {
      model_id: MODEL_ID, items,
      max_new_tokens: g.max_new_tokens, do_sample: g.do_sample, temperature: g.temperature, top_p: g.top_p,
      stop: g.stop, seed: chunkSeed(ctx.config.seed, ctx.stage, index), batch_size: images.length,
    };
    return [{ what: `${ctx.stage} chunk ${index}`, type: "generate", content, items: missing.length,
      ids: items.map((i) => i.id), chunk: new Map(items.map((i) => [i.id, i.prompt])) }];
  });
  let workers;
  try {
    workers = await dispatch(ctx, {
      out, done, total: ctx.images.length, batches, unit: "images",
      records: (batch, reply) => reply.results.map((r) => ({
        id: r.id, image_id: r.id, prompt: batch.chunk.get(r.id)!, text: r.text,
        finish_reason: r.finish_reason, num_tokens: r.num_tokens, qa_pairs: r.qa_pairs, parse_error: r.parse_error, error: r.error,
      })),
      failedRecords: (batch, err) => [...batch.chunk].map(([id, prompt]) => failed(id, prompt, err.message)),
    });
  } finally {
    out.close();
  }
  const records = [...out.read().records.values()];
  const counts = countGenerated(records);
  if (counts.generated! > 0 && counts.pairs === 0) throw new NothingParsedError(ctx, records);
  return { counts, extra: { workers } };
}

/** A generate stage that parsed no pair at all: going on would end "done" with an empty dataset. */
export class NothingParsedError extends C3lError {
  override name = "NothingParsedError";
  readonly exit = "failure"; // the run started and stopped: resumable once the model or prompt is fixed

  constructor(ctx: StageContext, records: GeneratedRecord[]) {
    const ok = records.filter((r) => r.error === null);
    const cut = ok.filter((r) => r.finish_reason === "length").length;
    const reasons = new Map<string, number>();
    for (const r of ok) if (r.parse_error) reasons.set(r.parse_error, (reasons.get(r.parse_error) ?? 0) + 1);
    const top = [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([reason, n]) => `${n}× ${reason}`).join("; ");
    const example = ok.find((r) => r.text)?.text?.slice(0, 160) ?? "";
    super(
      `${ctx.stage}: none of the ${ok.length} generations parsed into question/answer pairs${top ? ` (${top})` : ""}, ` +
        `so the run would end with an empty dataset; the model (${ctx.modelDir}) does not write the format the prompts ask for.\n` +
        `  first output: ${JSON.stringify(example)}\n` +
        `  try: generation.prompts that this model was trained to answer (builtin:smoke-llava knows only configs/smoke.yaml's prompt), ` +
        (cut > 0 ? `a larger generation.max_new_tokens (${cut} outputs were cut at ${ctx.config.generation.max_new_tokens} tokens), ` : "") +
        `or an instruction-tuned checkpoint; the raw outputs are in ${ctx.run.samplesPath(ctx.stage)}`,
    );
  }
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

const GENERATES = { keys: ["images", "generated"], unit: "images" };

/** Each round's generation with the current generator. */
export const generateStage: StageDeclaration = {
  name: "generate", perRound: true, kind: "generate", inputs: () => [], outputs: (name) => [samplesOf(name)], run: runGenerate, throughput: GENERATES,
};

/** The final generation, with the generator the rounds trained. */
export const regenerateStage: StageDeclaration = {
  name: "regenerate", kind: "generate", inputs: () => [], outputs: (name) => [samplesOf(name)], run: runGenerate, throughput: GENERATES,
};
