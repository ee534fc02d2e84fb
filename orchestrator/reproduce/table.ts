// The miniature paper table: per arm, mean ± sd over seeds of each column's metric (from each run's
// summary.json metrics), as JSON, Markdown and a self-contained HTML page.
import { worldFamilyNames } from "../pipeline/pair-format.js";
import { escapeHtml } from "../render/html.js";
import { renderMarkdown, type Align } from "../render/table.js";
import { barChartSvg } from "../report/svg.js";

/** A column: the summary metric it reads, its title, and how it is shown. */
export interface TableColumn {
  key: string;
  title: string;
  /** shown value = metric × scale (shares as %) */
  scale: number;
  digits: number;
}


export const COLUMNS: TableColumn[] = [
  { key: "grade.final.pairs", title: "final pairs", scale: 1, digits: 0 },
  { key: "grade.base.grounded_share", title: "grounded % (base generation)", scale: 100, digits: 1 },
  { key: "grade.regenerate.grounded_share", title: "grounded % (after contrast)", scale: 100, digits: 1 },
  { key: "grade.regenerate.malformed_share", title: "malformed % (after contrast)", scale: 100, digits: 1 },
  { key: "grade.filter_only.grounded_share", title: "grounded % (filter only, same run)", scale: 100, digits: 1 },
  { key: "grade.final.grounded_share", title: "grounded % (final data)", scale: 100, digits: 1 },
  ...worldFamilyNames().map((f) => ({ key: `grade.final.${f}.grounded_share`, title: `${f} grounded %`, scale: 100, digits: 1 })),
  { key: "grade.final.malformed_share", title: "malformed %", scale: 100, digits: 1 },
  { key: "grade.base.auroc_i2c", title: "I2C AUROC (base generation)", scale: 1, digits: 3 },
  { key: "pope.accuracy", title: "POPE accuracy (tuned target)", scale: 1, digits: 1 },
  { key: "pope.f1", title: "POPE mean F1 (tuned target)", scale: 1, digits: 1 },
  { key: "mmbench.accuracy", title: "MMBench CircularEval", scale: 1, digits: 1 },
  { key: "seed.accuracy", title: "SEED accuracy", scale: 1, digits: 1 },
];

export interface Stat {
  mean: number | null;
  /** sample standard deviation (n − 1); null with fewer than two values */
  sd: number | null;
  n: number;
}

export function meanSd(values: readonly number[]): Stat {
  const n = values.length;
  if (n === 0) return { mean: null, sd: null, n: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, sd: null, n };
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1);
  return { mean, sd: Math.sqrt(variance), n };
}

/** One finished run of an arm: its seed and its summary metrics. */
export interface ArmRun {
  arm: string;
  seed: number;
  run_id: string;
  metrics: Record<string, number>;
}

export interface ArmRow {
  arm: string;
  overrides: string[];
  seeds: number[];
  runs: string[];
  stats: Record<string, Stat>;
}

export interface ReproduceTable {
  columns: TableColumn[];
  rows: ArmRow[];
  /** estimator → the base-generation I2C AUROC of its arm */
  estimators: Record<string, { arm: string } & Stat>;
}

export function buildTable(arms: { name: string; overrides: string[] }[], runs: ArmRun[], estimators: Record<string, string> = {}, columns = COLUMNS): ReproduceTable {
  const rows = arms.map((arm) => {
    const mine = runs.filter((r) => r.arm === arm.name).sort((a, b) => a.seed - b.seed);
    const stats = Object.fromEntries(columns.map((c) => [c.key, meanSd(mine.map((r) => r.metrics[c.key]).filter((v): v is number => typeof v === "number" && Number.isFinite(v)))]));
    return { arm: arm.name, overrides: arm.overrides, seeds: mine.map((r) => r.seed), runs: mine.map((r) => r.run_id), stats };
  });
  const auroc = "grade.base.auroc_i2c";
  const est = Object.fromEntries(Object.entries(estimators).map(([name, arm]) => {
    const values = runs.filter((r) => r.arm === arm).map((r) => r.metrics[auroc]).filter((v): v is number => typeof v === "number");
    return [name, { arm, ...meanSd(values) }];
  }));
  return { columns, rows, estimators: est };
}

/** "51.2 ± 3.1", "51.2" (one seed), "–" (no value). */
export function formatStat(stat: Stat | undefined, column: Pick<TableColumn, "scale" | "digits">): string {
  if (!stat || stat.mean === null) return "–";
  const m = (stat.mean * column.scale).toFixed(column.digits);
  return stat.sd === null ? m : `${m} ± ${(stat.sd * column.scale).toFixed(column.digits)}`;
}

function cells(table: ReproduceTable): { headers: string[]; body: string[][] } {
  const headers = ["arm", "seeds", ...table.columns.map((c) => c.title)];
  const body = table.rows.map((r) => [r.arm, String(r.seeds.length), ...table.columns.map((c) => formatStat(r.stats[c.key], c))]);
  return { headers, body };
}

function estimatorLine(table: ReproduceTable): string | null {
  const parts = Object.entries(table.estimators).map(([name, s]) => `${name} ${formatStat(s, { scale: 1, digits: 3 })} (arm ${s.arm})`);
  return parts.length ? `I2C AUROC of the base generation by estimator: ${parts.join(", ")}` : null;
}

export function renderMarkdownTable(table: ReproduceTable): string {
  const { headers, body } = cells(table);
  const out = [renderMarkdown(headers, body, headers.map((_, i): Align => (i === 0 ? "left" : "right")))];
  const est = estimatorLine(table);
  if (est) out.push(`\n${est}\n`);
  out.push("\nmean ± sd over seeds (sample sd); shares in %, POPE F1 and SEED accuracy in %.\n");
  return out.join("");
}

/** Per arm, the grounded share of the final data as a bar with a ± sd whisker (inline SVG). */
export function groundedChart(table: ReproduceTable): string {
  const key = "grade.final.grounded_share";
  return barChartSvg(table.rows.map((r) => ({
    label: r.arm, value: r.stats[key]?.mean ?? null, sd: r.stats[key]?.sd ?? null,
    title: `${r.arm}: ${formatStat(r.stats[key], { scale: 100, digits: 1 })}% grounded (${r.stats[key]?.n ?? 0} seeds)`,
  })), "grounded share of the final data (mean ± sd over seeds)");
}

export function renderHtmlTable(table: ReproduceTable, title = "c3l reproduce"): string {
  const { headers, body } = cells(table);
  const rows = body.map((row, i) => `<tr title="${escapeHtml(table.rows[i]!.overrides.join(" "))}">${row.map((c, j) => `<td${j ? ' class="n"' : ""}>${escapeHtml(c)}</td>`).join("")}</tr>`);
  const est = estimatorLine(table);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:4px 8px}td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f3f3}</style>
</head><body><h1>${escapeHtml(title)}</h1>
<table><thead><tr>${headers.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr></thead>
<tbody>${rows.join("\n")}</tbody></table>
${est ? `<p>${escapeHtml(est)}</p>` : ""}
<figure>${groundedChart(table)}</figure>
<p>mean ± sd over seeds (sample sd); shares in %, POPE F1 and SEED accuracy in %. Hover a row for its overrides.</p>
</body></html>
`;
}
