// `buildReport`: runs → model → DIR/index.html (self-contained) and DIR/data/<figure>.json + .csv.
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { toCsv } from "../render/csv.js";
import { writeFileAtomic } from "../runs/atomic.js";
import type { RunFolder } from "../runs/run-folder.js";
import { PROJECT_ROOT } from "../worker/python.js";
import { renderPage, type PageAssets } from "./html.js";
import { loadReportRun, uniqueLabels, type Warn } from "./load.js";
import { buildModel, FIGURE_NAMES, type ReportModel } from "./model.js";

export interface ReportOptions {
  runs: RunFolder[];
  outDir: string;
  /** how many pairs from the top and from the bottom of each run's I2C ranking the gallery shows */
  topK?: number;
  warn?: Warn;
}

export interface ReportResult {
  index: string;
  /** data/<figure>.json and .csv, absolute */
  data: string[];
  model: ReportModel;
}

/** The page's assets: Chart.js's browser bundle from its npm package, and this folder's script and style. */
export function loadAssets(): PageAssets {
  // chart.js exports only its module entry points; the UMD bundle lies beside the CommonJS one.
  const chartDir = dirname(createRequire(import.meta.url).resolve("chart.js"));
  const assets = join(PROJECT_ROOT, "orchestrator", "report", "assets");
  return {
    chartJs: readFileSync(join(chartDir, "chart.umd.min.js"), "utf8"),
    reportJs: readFileSync(join(assets, "report.js"), "utf8"),
    reportCss: readFileSync(join(assets, "report.css"), "utf8"),
  };
}

export async function buildReport(options: ReportOptions): Promise<ReportResult> {
  const warn = options.warn ?? (() => {});
  const runs = options.runs.map((f) => loadReportRun(f, warn));
  uniqueLabels(runs);
  const model = await buildModel(runs, options.topK ?? 10, warn);
  const dataDir = join(options.outDir, "data");
  mkdirSync(dataDir, { recursive: true });
  const data: string[] = [];
  for (const name of FIGURE_NAMES) {
    const fig = model.figures[name];
    const json = join(dataDir, `${name}.json`);
    const csv = join(dataDir, `${name}.csv`);
    writeFileAtomic(json, `${JSON.stringify(fig.rows.map((r) => pick(r, fig.columns)), null, 1)}\n`);
    writeFileAtomic(csv, toCsv(fig.columns, fig.rows));
    data.push(json, csv);
  }
  const index = join(options.outDir, "index.html");
  writeFileAtomic(index, renderPage(model, loadAssets()));
  return { index, data, model };
}

/** The row's documented columns only (gallery rows also carry a thumbnail index for the page). */
function pick(row: Record<string, unknown>, columns: string[]): Record<string, unknown> {
  return Object.fromEntries(columns.filter((c) => c in row).map((c) => [c, row[c]]));
}
