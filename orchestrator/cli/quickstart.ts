// The main job on the embedded default: configs/quickstart.yaml, the whole C3L pipeline on the
// embedded synthetic world (pretrained once into .cache/, then generate … grade → finetune →
// evaluate), ending with the story of the run in a few lines (grounded shares, malformed share,
// I2C AUROC, the target's benchmarks), then a compare-style summary on stderr and its JSON on stdout.
import { join } from "node:path";
import { buildComparison, loadCompareRun } from "../runs/compare.js";
import { renderText } from "../render/table.js";
import { cellText } from "../runs/format.js";
import { startRun } from "../pipeline/launch.js";
import type { RunFolder } from "../runs/run-folder.js";
import { PROJECT_ROOT } from "../worker/index.js";
import { EXIT } from "../errors.js";

export const QUICKSTART_CONFIG = join(PROJECT_ROOT, "configs", "quickstart.yaml");

/** One run's compare row turned on its side (key | value), the groups a reader looks at first. */
export function runSummaryTable(run: RunFolder): string {
  const table = buildComparison([loadCompareRun(run)]);
  const row = table.rows[0]!;
  const keep = table.columns.filter((c) => c.group === "final" || c.group === "metrics" || c.group === "seconds" || (c.group === "i2c" && c.key.endsWith(".mean")));
  return renderText(["", "value"], keep.map((c) => [c.key, cellText(row.values[c.key])]), ["left", "right"]);
}

/** The run's settings the story names (from its config.json). */
export interface StoryConfig {
  scoring?: { estimator?: string };
  finetune?: { enabled?: boolean; model_dir?: string | null };
}

const GRADED_SET_NAMES: Record<string, string> = { base: "base generation", regenerate: "regeneration", final: "final data" };
/** A graded set of a filter-only reference (the base generation filtered by I2C, no contrastive training). */
const FILTER_ONLY_SETS = ["filter_only", "base_filtered"];
const BENCHES: Array<[string, string, string]> = [["pope", "f1", "POPE F1"], ["mmbench", "accuracy", "MMBench"], ["seed", "accuracy", "SEED"]];

/**
 * What a user came for, in a few lines, from the run's summary metrics: base vs final grounded share
 * (and a filter-only reference when the run graded one), malformed share, the I2C AUROC of the
 * estimator used, and the tuned target on each benchmark against its untuned start
 * (`untuned.<bench>.<metric>`, when recorded). Whatever the run lacks is left out.
 */
export function storyLines(metrics: Record<string, number>, config: StoryConfig = {}): string[] {
  const get = (key: string): number | null => (typeof metrics[key] === "number" && Number.isFinite(metrics[key]) ? metrics[key]! : null);
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  const signed = (v: number, digits = 1) => `${v >= 0 ? "+" : "−"}${Math.abs(v).toFixed(digits)}`;
  const lines: string[] = [];
  const share = (set: string, what: string) => get(`grade.${set}.${what}`);

  const base = share("base", "grounded_share");
  const final = share("final", "grounded_share");
  if (base !== null || final !== null) {
    const parts: string[] = [];
    if (base !== null && final !== null) parts.push(`base generation ${pct(base)} → final data ${pct(final)} (${signed(100 * (final - base))} points)`);
    else parts.push(base !== null ? `base generation ${pct(base)}` : `final data ${pct(final!)}`);
    const filterOnly = FILTER_ONLY_SETS.map((s) => share(s, "grounded_share")).find((v) => v !== null);
    if (filterOnly !== undefined && filterOnly !== null) parts.push(`filter-only reference ${pct(filterOnly)}`);
    const regen = share("regenerate", "grounded_share");
    if (regen !== null) parts.push(`regeneration after contrast ${pct(regen)}`);
    lines.push(`grounded share: ${parts.join("; ")}`);
  }
  const malformed = (["base", "final"] as const).map((s) => [s, share(s, "malformed_share")] as const).filter(([, v]) => v !== null);
  if (malformed.length) lines.push(`malformed share: ${malformed.map(([s, v]) => `${GRADED_SET_NAMES[s]} ${pct(v!)}`).join(" → ")}`);
  const auroc = share("base", "auroc_i2c");
  if (auroc !== null) {
    const estimator = config.scoring?.estimator ? ` (${config.scoring.estimator})` : "";
    lines.push(`I2C AUROC${estimator}, grounded vs hallucinated pairs of the base generation: ${auroc.toFixed(3)} (0.5 = chance)`);
  }
  const benches = BENCHES.flatMap(([bench, metric, title]) => {
    const tuned = get(`${bench}.${metric}`);
    if (tuned === null) return [];
    const start = get(`untuned.${bench}.${metric}`);
    const notes = start === null ? [] : [`untuned ${start.toFixed(1)}, ${signed(tuned - start)}`];
    // POPE's F1 rewards saying "yes" (always "yes" scores 66.7 on its balanced splits): its accuracy tells whether the target sees.
    const accuracy = bench === "pope" ? get("pope.accuracy") : null;
    if (accuracy !== null) notes.push(`accuracy ${accuracy.toFixed(1)}, 50 = chance`);
    return [`${title} ${tuned.toFixed(1)}${notes.length ? ` (${notes.join("; ")})` : ""}`];
  });
  if (benches.length) {
    const target = config.finetune?.enabled ? `target tuned on the final data${config.finetune.model_dir ? ` (${config.finetune.model_dir})` : ""}` : "evaluated model";
    lines.push(`${target}: ${benches.join(" · ")}`);
  }
  return lines;
}

export async function quickstart(options: { threads: number; overrides: string[]; config?: string }): Promise<number> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const overrides = [`worker.threads=${options.threads}`, ...options.overrides];
  const { run, summary } = await startRun(options.config ?? QUICKSTART_CONFIG, overrides, "quickstart", { argv: process.argv.slice(2), log });
  const story = storyLines(summary.metrics ?? {}, run.config<StoryConfig>());
  log(`\nquickstart: run ${run.id}${story.map((line) => `\n  ${line}`).join("")}`);
  log(`\nevery number of the run:\n${runSummaryTable(run)}`);
  log(`quickstart: ${summary.final?.size ?? 0} pairs in ${run.paths.final_dataset}`);
  log(`  compare runs with: npx c3l runs; npx c3l compare ${run.id} <other run>; the paper table: npx c3l reproduce`);
  process.stdout.write(`${JSON.stringify({
    run_id: run.id, run_dir: run.dir, status: summary.status, final: run.paths.final_dataset, final_size: summary.final?.size ?? 0,
    counts: Object.fromEntries(Object.entries(summary.stages).map(([stage, s]) => [stage, s.counts])), i2c: summary.i2c, metrics: summary.metrics,
  }, null, 2)}\n`);
  log("quickstart: ok");
  return EXIT.ok;
}
