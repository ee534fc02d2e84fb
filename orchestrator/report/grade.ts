// The grade stage's shares per graded set (base generation, regeneration, final data) of each run,
// read from the `grade.<set>.*` metrics the stage puts in summary.json.
import type { ReportRun } from "./load.js";
import { GRADE_PARTS, stackedBarsSvg, type Stack } from "./svg.js";

/** The sets the grade stage grades, in pipeline order (a run with rounds 0 has no regenerate). */
export const GRADE_SETS = ["base", "regenerate", "final"] as const;

export interface GradeRow {
  run: string;
  set: string;
  pairs: number | null;
  grounded_share: number | null;
  hallucinated_share: number | null;
  malformed_share: number | null;
  auroc_i2c: number | null;
}

export function gradeRows(runs: ReportRun[]): GradeRow[] {
  const rows: GradeRow[] = [];
  for (const run of runs) {
    for (const set of GRADE_SETS) {
      const get = (key: string) => {
        const v = run.metrics[`grade.${set}.${key}`];
        return typeof v === "number" && Number.isFinite(v) ? v : null;
      };
      if (get("pairs") === null && get("grounded_share") === null) continue; // not graded
      rows.push({ run: run.label, set, pairs: get("pairs"), grounded_share: get("grounded_share"),
        hallucinated_share: get("hallucinated_share"), malformed_share: get("malformed_share"), auroc_i2c: get("auroc_i2c") });
    }
  }
  return rows;
}

/** One 100% bar per (run, set): grounded, hallucinated, malformed. */
export function gradeChart(rows: GradeRow[], withRun: boolean): string {
  const stacks: Stack[] = rows.map((r) => ({
    label: withRun ? `${r.run}: ${r.set}` : r.set,
    parts: GRADE_PARTS.map((p) => ({ name: p.name, share: r[p.key], color: p.color })),
  }));
  return stackedBarsSvg(stacks, "pairs by grade, per graded set");
}
