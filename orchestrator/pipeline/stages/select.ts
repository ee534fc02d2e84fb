// select: positive and negative pseudo-labels from the scores (pure; recomputed whole on resume).
import { rmSync } from "node:fs";
import { openSamples, readSamples, type StageContext, type StageOutcome } from "../context.js";
import { usablePairs } from "../pair-format.js";
import { selectPseudoLabels, withinFamilyPercentiles, type Selection } from "../select.js";
import type { ScoredRecord } from "./score.js";
import { samplesOf, type StageDeclaration } from "./stage.js";

export function runSelect(scoreStage: string) {
  return async (ctx: StageContext): Promise<StageOutcome> => {
    // Pseudo-labels only among well-formed pairs: a malformed positive would teach the format away.
    const { pairs: scored, malformed } = usablePairs(ctx.config, readSamples<ScoredRecord>(ctx, scoreStage).values());
    const ranked = ctx.config.selection.rank_within === "family" ? withinFamilyPercentiles(scored) : scored;
    const result = selectPseudoLabels(ranked, ctx.config.selection.neg_quantile);
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
        malformed,
      },
      extra: { threshold: result.threshold },
    };
  };
}

/** Each round's pseudo-labels. */
export const selectStage: StageDeclaration = {
  name: "select", perRound: true, kind: "select", inputs: (r) => [`r${r}-score`], outputs: (name) => [samplesOf(name)],
  run: (ctx) => runSelect(ctx.inputs[0]!)(ctx), throughput: { keys: ["images"], unit: "images" },
};
