// grade: when the images have ground truth (the embedded world's truth.jsonl beside its manifest),
// every pair of these sets is labelled grounded / hallucinated / malformed by the world's grader
// (the worker's grade_pairs operation): the base generation (r0-generate scored by r0-score; with
// rounds 0, regenerate — the base generator's own output), the regeneration after contrastive
// training, the final dataset, and (rounds > 0) filter_only: the base generation put through the
// same final filter (budget, ranking, family balance), the I2C-filter-alone reference on the same
// images and sampled pairs, so "C3L vs filtering alone" is paired within the run. Files in grade/,
// `grade.<set>.*` metrics in summary.json.
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import type { C3lConfig } from "../../config/index.js";
import { writeFileAtomic, writeJsonAtomic } from "../../runs/atomic.js";
import type { GradePairsReply } from "../../protocol/index.js";
import { builtinName, worldDir, worldPaths } from "../builtins.js";
import { readSamples, type StageContext, type StageOutcome } from "../context.js";
import type { ScoredPair } from "../select.js";
import type { GeneratedRecord } from "./generate.js";
import { finalFilter } from "./filter.js";
import type { ScoredRecord } from "./score.js";
import { samplesOf, type StageDeclaration } from "./stage.js";

export const GRADE_DIR = "grade";

/** The ground truth of the config's images: the world's, or a truth.jsonl beside a manifest; null when none. */
export function truthFile(config: C3lConfig): string | null {
  const builtin = builtinName(config.data.root);
  if (builtin === "world") return worldPaths(worldDir(config.world)).data.truth; // built by pretrain, maybe later
  if (builtin !== null || config.data.manifest === null) return null;
  const file = join(dirname(config.data.manifest), "truth.jsonl");
  return existsSync(file) ? file : null;
}

/** One graded set: the pairs of a scoring stage (or the filter's kept pairs) and the generate stage they came from. */
export interface GradeSet {
  name: "base" | "regenerate" | "final" | "filter_only";
  pairs: string;
  generated: string | null;
  /** filter_only: the pairs of `pairs` as the final filter would keep them */
  filtered?: true;
}

export function gradeSets(rounds: number): GradeSet[] {
  const base: GradeSet = rounds > 0 ? { name: "base", pairs: "r0-score", generated: "r0-generate" } : { name: "base", pairs: "rescore", generated: "regenerate" };
  const afterContrast: GradeSet[] = rounds > 0
    ? [{ name: "regenerate", pairs: "rescore", generated: "regenerate" }, { name: "filter_only", pairs: "r0-score", generated: null, filtered: true }]
    : [];
  return [base, ...afterContrast, { name: "final", pairs: "filter", generated: null }];
}

/** The pairs a set grades: a stage's records, or (filtered) the final filter applied to them. */
function setPairs(ctx: StageContext, set: GradeSet): { id: string; image_id: string; question: string; answer: string; i2c: number | null }[] {
  const records = [...readSamples<ScoredRecord | ScoredPair>(ctx, set.pairs).values()];
  const pairs = set.filtered ? finalFilter(ctx.config, records as ScoredRecord[]).kept : records;
  return pairs.map((r) => ({ id: r.id, image_id: r.image_id, question: r.question, answer: r.answer, i2c: r.i2c ?? null }));
}

/** The grader's verdict on one file of pairs (the worker's grade_pairs reply). */
export type GradeResult = GradePairsReply;

/** Grades a file of pairs against the truth on the stage's worker (restarted and asked again if it dies). */
function grade(ctx: StageContext, truth: string, pairsFile: string, labelsFile: string): Promise<GradeResult> {
  return ctx.session.retryingDeadWorkers(`${ctx.stage}: grading ${pairsFile}`, () =>
    ctx.session.request("grade_pairs", { truth_file: truth, pairs_file: pairsFile, labels_file: labelsFile }));
}

/** `grade.<set>.<metric>` and `grade.<set>.<family>.grounded_share`, numbers only. */
export function gradeMetrics(set: string, result: GradeResult, unparsedShare: number | null): Record<string, number> {
  const out: Record<string, number> = {};
  const put = (key: string, value: number | null | undefined) => {
    if (typeof value === "number" && Number.isFinite(value)) out[`grade.${set}.${key}`] = value;
  };
  put("pairs", result.pairs);
  put("grounded_share", result.grounded_share);
  put("hallucinated_share", result.hallucinated_share);
  put("malformed_share", result.malformed_share);
  put("auroc_i2c", result.auroc_i2c);
  put("unparsed_generation_share", unparsedShare);
  for (const [family, c] of Object.entries(result.by_family)) put(`${family}.grounded_share`, c.pairs ? c.grounded / c.pairs : null);
  return out;
}

export async function runGrade(ctx: StageContext): Promise<StageOutcome> {
  const truth = truthFile(ctx.config);
  if (!truth || !existsSync(truth)) throw new Error(`grade: no ground truth for data.root ${ctx.config.data.root} (expected ${truth ?? "truth.jsonl beside data.manifest"})`);
  const dir = join(ctx.run.dir, GRADE_DIR);
  mkdirSync(dir, { recursive: true });
  const metrics: Record<string, number> = {};
  const counts: Record<string, number> = {};
  for (const set of gradeSets(ctx.config.rounds)) {
    const pairs = setPairs(ctx, set);
    const pairsFile = join(dir, `${set.name}.pairs.jsonl`);
    writeFileAtomic(pairsFile, pairs.map((p) => JSON.stringify(p) + "\n").join(""));
    const result = await grade(ctx, truth, pairsFile, join(dir, `${set.name}.labels.jsonl`));
    let unparsed: number | null = null;
    if (set.generated) {
      const generated = [...readSamples<GeneratedRecord>(ctx, set.generated).values()];
      unparsed = generated.length ? generated.filter((g) => g.qa_pairs.length === 0).length / generated.length : null;
    }
    writeJsonAtomic(join(dir, `${set.name}.json`), { set: set.name, pairs_from: set.pairs, generated_by: set.generated, truth, unparsed_generation_share: unparsed, ...result });
    Object.assign(metrics, gradeMetrics(set.name, result, unparsed));
    counts[`${set.name}_pairs`] = result.pairs;
    const share = (v: number | null) => (v === null ? "n/a" : `${(100 * v).toFixed(1)}%`);
    ctx.log(`${ctx.stage}: ${set.name}: ${result.pairs} pairs, ${share(result.grounded_share)} grounded, ${share(result.hallucinated_share)} hallucinated, ${share(result.malformed_share)} malformed, I2C AUROC ${result.auroc_i2c?.toFixed(3) ?? "n/a"}`);
  }
  return { counts, extra: { truth, metrics } };
}

/** With ground truth (the embedded world): every graded set labelled grounded / hallucinated / malformed. */
export const gradeStage: StageDeclaration = {
  name: "grade", kind: "grade", enabled: (config) => truthFile(config) !== null,
  inputs: (rounds) => [...new Set(gradeSets(rounds).flatMap((s) => [s.pairs, ...(s.generated ? [s.generated] : [])]))],
  outputs: () => [`${GRADE_DIR}/`], run: runGrade,
};
