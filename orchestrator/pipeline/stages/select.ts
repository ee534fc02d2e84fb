// select: positive and negative pseudo-labels from the scores (pure; recomputed whole on resume).
import { rmSync } from "node:fs";
import { openSamples, readSamples, type StageContext, type StageOutcome } from "../context.js";
import { selectPseudoLabels, type Selection } from "../select.js";
import type { ScoredRecord } from "./score.js";

export function runSelect(scoreStage: string) {
  return async (ctx: StageContext): Promise<StageOutcome> => {
    const scored = [...readSamples<ScoredRecord>(ctx, scoreStage).values()]
      .filter((r) => r.i2c !== null)
      .map((r) => ({ id: r.id, image_id: r.image_id, question: r.question, answer: r.answer, i2c: r.i2c! }));
    const result = selectPseudoLabels(scored, ctx.config.selection.neg_quantile);
    rmSync(ctx.run.samplesPath(ctx.stage), { force: true }); // a killed earlier attempt may have written part of it
    const out = openSamples<Selection>(ctx);
    out.append(result.selections);
    out.close();
    return {
      counts: {
        images: result.selections.length,
        negatives: result.selections.reduce((n, s) => n + s.negatives.length, 0),
        skipped_no_negative: result.skipped_no_negative,
        skipped_single_pair: result.skipped_single_pair,
      },
      extra: { threshold: result.threshold },
    };
  };
}
