// The sample gallery: per run, the top-k and bottom-k pairs by I2C of its last scoring pass, with the filter's decision.
import type { ReportRun } from "./load.js";
import type { ScoreRecord } from "./i2c.js";
import { stageKind } from "./stages.js";

export interface GalleryRow {
  run: string;
  /** the scoring pass the scores come from (the last one the run has: what the filter read) */
  pass: string;
  group: "top" | "bottom";
  /** 1 = highest I2C within the run's pass */
  rank: number;
  id: string;
  image_id: string;
  question: string;
  answer: string;
  logp_with_image: number | null;
  logp_without_image: number | null;
  i2c: number;
  /** in samples/filter.jsonl; null when the run has no filter stage */
  kept: boolean | null;
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** Top-k then bottom-k by I2C (ties by id) per run; a pair in both (fewer than 2k pairs) is listed once, as top. */
export function galleryRows(runs: ReportRun[], k: number): GalleryRow[] {
  return runs.flatMap((run) => {
    const pass = run.stages.filter((s) => stageKind(s) === "score").at(-1);
    if (!pass) return [];
    const filter = run.stages.find((s) => stageKind(s) === "filter");
    const kept = filter ? new Set(run.samples(filter).map((r) => r.id)) : null;
    const scored = run.samples<ScoreRecord>(pass)
      .filter((r) => num(r.i2c) !== null)
      .sort((a, b) => (b.i2c as number) - (a.i2c as number) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const picks = new Map<number, "top" | "bottom">();
    scored.slice(0, k).forEach((_, i) => picks.set(i, "top"));
    for (let i = Math.max(0, scored.length - k); i < scored.length; i += 1) if (!picks.has(i)) picks.set(i, "bottom");
    return [...picks].sort(([a], [b]) => a - b).map(([i, group]) => {
      const r = scored[i] as ScoreRecord;
      return {
        run: run.label,
        pass,
        group,
        rank: i + 1,
        id: r.id,
        image_id: r.image_id ?? r.id.replace(/#\d+$/, ""),
        question: r.question ?? "",
        answer: r.answer ?? "",
        logp_with_image: num(r.logp_with_image),
        logp_without_image: num(r.logp_without_image),
        i2c: r.i2c as number,
        kept: kept ? kept.has(r.id) : null,
      };
    });
  });
}
