// The reproduce file's targets, checked on the table's runs: per seed, the arm's metric minus the
// other arm's (paired by seed: the same seed shares the pipeline's sampling), or the arm's metric
// alone; met when mean − sd ≥ margin (the issue's rule; mean + sd ≤ margin with at_most), so noise across
// seeds counts against a claim.
import { renderMarkdown } from "../render/table.js";
import type { Target } from "./plan.js";
import { meanSd, type ArmRun, type Stat } from "./table.js";

export interface TargetResult extends Target {
  /** the per-seed values (differences when `than` is set), by seed */
  values: Record<number, number>;
  stat: Stat;
  met: boolean | null; // null: no value, or one seed only (no sd)
}

export function checkTargets(targets: Target[], runs: ArmRun[]): TargetResult[] {
  const metric = (arm: string, seed: number, key: string): number | undefined => {
    const v = runs.find((r) => r.arm === arm && r.seed === seed)?.metrics[key];
    return typeof v === "number" && Number.isFinite(v) ? v : undefined;
  };
  return targets.map((t) => {
    const values: Record<number, number> = {};
    for (const seed of [...new Set(runs.filter((r) => r.arm === t.arm).map((r) => r.seed))].sort((a, b) => a - b)) {
      const mine = metric(t.arm, seed, t.metric);
      const other = t.than === null ? 0 : metric(t.than, seed, t.than_metric ?? t.metric);
      if (mine !== undefined && other !== undefined) values[seed] = mine - other;
    }
    const stat = meanSd(Object.values(values));
    const met = stat.mean === null || stat.sd === null ? null : t.at_most ? stat.mean + stat.sd <= t.margin : stat.mean - stat.sd >= t.margin;
    return { ...t, values, stat, met };
  });
}

/** Shares (metrics named *_share) in points; other metrics as they are. */
function shown(metric: string, v: number): string {
  return metric.endsWith("_share") ? (100 * v).toFixed(1) : v.toFixed(3);
}

export function renderTargetsMarkdown(results: TargetResult[]): string {
  if (results.length === 0) return "";
  const rows = results.map((r) => {
    const other = r.than_metric && r.than_metric !== r.metric ? ` − ${r.than}: ${r.than_metric}` : ` − ${r.than}`;
    const what = r.than === null ? `${r.arm}: ${r.metric}` : r.than_metric && r.than_metric !== r.metric ? `${r.arm}: ${r.metric}${other}` : `${r.arm}${other}: ${r.metric}`;
    const value = r.stat.mean === null ? "–" : `${shown(r.metric, r.stat.mean)}${r.stat.sd === null ? "" : ` ± ${shown(r.metric, r.stat.sd)}`}`;
    const verdict = r.met === null ? "not measurable" : r.met ? "**met**" : "missed";
    const needed = r.at_most ? `≤ ${shown(r.metric, r.margin)} (mean + sd)` : `≥ ${shown(r.metric, r.margin)} (mean − sd)`;
    return [r.name, what, value, needed, verdict];
  });
  const table = renderMarkdown(["target", "measure", "mean ± sd over seeds", "needed", "met"], rows, ["left", "left", "right", "right", "left"]);
  return `${table}\nShares in points; a difference is paired by seed (the same seed shares the pipeline's sampling).\n`;
}
