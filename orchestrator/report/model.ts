// Everything the report shows, as plain rows per figure: the same rows feed the page, data/<figure>.json and .csv.
import { flattenConfig, type FlatValue } from "../runs/flatten.js";
import type { Cell } from "../render/csv.js";
import { galleryRows, type GalleryRow } from "./gallery.js";
import { gradeRows } from "./grade.js";
import { binEdges, cdfRows, histRows, i2cSeries, scoringPasses, statRows, thresholdRows } from "./i2c.js";
import { imageIndex } from "./images.js";
import type { ReportRun, Warn } from "./load.js";
import { configDiffRows, countRows, funnelRows, metricRows, timelineRows } from "./tables.js";
import { thumbnail } from "./thumbs.js";
import { trainingRows } from "./training.js";

/** Tableau 10: distinct, colour-blind-friendlier than the defaults; runs past ten reuse colours. */
const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

export interface Figure {
  columns: string[];
  rows: Array<Record<string, Cell>>;
}

export interface RunInfo {
  label: string;
  id: string;
  dir: string;
  status: string;
  color: string;
  final_size: number | null;
  failed_samples: number | null;
}

export interface ReportModel {
  generated_at: string;
  runs: RunInfo[];
  /** the first run's resolved config, flattened (shown for a single run) */
  config: Record<string, FlatValue>;
  passes: string[];
  /** shared I2C histogram bin edges */
  edges: number[];
  top_k: number;
  /** thumbnail data URIs; gallery rows point into it with `thumb` */
  thumbs: string[];
  figures: Record<FigureName, Figure>;
}

export const FIGURE_NAMES = ["runs", "timeline", "funnel", "counts", "config_diff", "i2c_hist", "i2c_cdf", "i2c_thresholds", "i2c_stats", "training", "grade", "metrics", "gallery"] as const;
export type FigureName = (typeof FIGURE_NAMES)[number];

function figure<T extends object>(columns: string[], rows: T[]): Figure {
  return { columns, rows: rows as unknown as Array<Record<string, Cell>> };
}

export async function buildModel(runs: ReportRun[], topK: number, warn: Warn): Promise<ReportModel> {
  const info: RunInfo[] = runs.map((r, i) => ({
    label: r.label, id: r.id, dir: r.dir, status: r.status, color: PALETTE[i % PALETTE.length] as string, final_size: r.final_size, failed_samples: r.failed_samples,
  }));
  const passes = scoringPasses(runs);
  const series = i2cSeries(runs, passes);
  const edges = binEdges(series);
  const { rows: gallery, thumbs } = await withThumbnails(runs, galleryRows(runs, topK), warn);
  return {
    generated_at: new Date().toISOString(),
    runs: info,
    config: runs[0] ? flattenConfig(runs[0].config) : {},
    passes,
    edges,
    top_k: topK,
    thumbs,
    figures: {
      runs: figure(["label", "id", "status", "final_size", "failed_samples", "dir", "color"], info),
      timeline: figure(["run", "stage", "status", "attempts", "started_at", "seconds", "items", "unit", "per_second"], timelineRows(runs)),
      funnel: figure(["run", "pass", "generated", "pairs", "unparseable", "failed", "positives", "negatives", "kept"], funnelRows(runs)),
      counts: figure(["run", "stage", "count", "value"], countRows(runs)),
      config_diff: figure(["key", "run", "value", "baseline"], configDiffRows(runs)),
      i2c_hist: figure(["run", "pass", "bin", "lo", "hi", "count", "share"], histRows(series, edges)),
      i2c_cdf: figure(["run", "pass", "i2c", "cdf"], cdfRows(series)),
      i2c_thresholds: figure(["run", "stage", "pass", "threshold"], thresholdRows(runs)),
      i2c_stats: figure(["run", "pass", "n", "mean", "q10", "q25", "q50", "q75", "q90", "share_below_0"], statRows(series)),
      training: figure(["run", "stage", "micro", "step", "loss", "loss_lm", "loss_cl", "lr", "grad_norm", "failed"], trainingRows(runs)),
      grade: figure(["run", "set", "pairs", "grounded_share", "hallucinated_share", "malformed_share", "auroc_i2c"], gradeRows(runs)),
      metrics: figure(["run", "protocol", "metric", "value"], metricRows(runs)),
      gallery: figure(["run", "pass", "group", "rank", "id", "image_id", "question", "answer", "logp_with_image", "logp_without_image", "i2c", "kept", "image"], gallery),
    },
  };
}

type GalleryWithImage = GalleryRow & { image: string | null; thumb: number | null };

/** Adds each row's image path and thumbnail (one per distinct image, shared by its rows). */
async function withThumbnails(runs: ReportRun[], rows: GalleryRow[], warn: Warn): Promise<{ rows: GalleryWithImage[]; thumbs: string[] }> {
  const indexes = new Map(runs.map((r) => [r.label, imageIndex(r.config)]));
  const thumbs: string[] = [];
  const byPath = new Map<string, number | null>();
  const out: GalleryWithImage[] = [];
  const missing = new Set<string>();
  for (const row of rows) {
    const path = indexes.get(row.run)?.get(row.image_id) ?? null;
    if (path === null && !missing.has(`${row.run}\0${row.image_id}`)) {
      missing.add(`${row.run}\0${row.image_id}`);
      warn(`${row.run}: no image found for ${row.image_id} (from its config's data.root); shown without a thumbnail`);
    }
    let thumb: number | null = null;
    if (path !== null) {
      if (!byPath.has(path)) {
        const uri = await thumbnail(path, warn);
        byPath.set(path, uri === null ? null : thumbs.push(uri) - 1);
      }
      thumb = byPath.get(path) ?? null;
    }
    out.push({ ...row, image: path, thumb });
  }
  return { rows: out, thumbs };
}
