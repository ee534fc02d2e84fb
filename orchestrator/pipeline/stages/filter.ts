// filter: the final dataset — the pairs of the last scoring pass kept in final.rank_by order (top I2C,
// seeded random, or image order) within the budget, as LLaVA conversation JSON.
import { mkdirSync, rmSync } from "node:fs";
import { dirname, relative } from "node:path";
import type { C3lConfig } from "../../config/index.js";
import { writeJsonAtomic } from "../../runs/atomic.js";
import { imageById, openSamples, readSamples, type StageContext, type StageOutcome } from "../context.js";
import { filterTopPairs, toLlavaConversations, type FilterResult } from "../filter.js";
import { usablePairs } from "../pair-format.js";
import type { ScoredPair } from "../select.js";
import type { ScoredRecord } from "./score.js";
import { samplesOf, type StageDeclaration } from "./stage.js";

/** The config's final filter over scored records: well-formed pairs only, then final.* (also grade's filter_only). */
export function finalFilter(config: C3lConfig, records: Iterable<ScoredRecord>): FilterResult & { candidates: number; malformed: number } {
  const { pairs, malformed } = usablePairs(config, records);
  return { ...filterTopPairs(pairs, { ...config.final, seed: config.seed }), candidates: pairs.length, malformed };
}

export function runFilter(scoreStage: string) {
  return async (ctx: StageContext): Promise<StageOutcome> => {
    const result = finalFilter(ctx.config, readSamples<ScoredRecord>(ctx, scoreStage).values());
    const images = imageById(ctx);
    const records = toLlavaConversations(result.kept, (id) => images.get(id)!.rel);
    const dataset = ctx.run.paths.final_dataset;
    mkdirSync(dirname(dataset), { recursive: true });
    writeJsonAtomic(dataset, records);
    rmSync(ctx.run.samplesPath(ctx.stage), { force: true });
    const out = openSamples<ScoredPair>(ctx);
    out.append(result.kept);
    out.close();
    return {
      counts: {
        candidates: result.candidates, malformed: result.malformed, kept: result.kept.length, images: records.length,
        dropped_duplicate: result.dropped_duplicate, dropped_cap: result.dropped_cap, dropped_budget: result.dropped_budget,
      },
      extra: { rank_by: ctx.config.final.rank_by, final: { size: result.kept.length, path: relative(ctx.run.dir, dataset) } },
    };
  };
}

/** The final dataset: the final generation's pairs ranked and kept within the budget. */
export const filterStage: StageDeclaration = {
  name: "filter", kind: "filter", inputs: () => ["rescore"], outputs: (name) => [samplesOf(name), "final/dataset.json"],
  run: (ctx) => runFilter(ctx.inputs[0]!)(ctx), throughput: { keys: ["candidates"], unit: "pairs" },
};
