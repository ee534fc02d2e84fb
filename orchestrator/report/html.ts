// The report page: static tables rendered here, charts and gallery controls by the inlined Chart.js bundle and assets/report.js.
import type { Cell } from "../render/csv.js";
import { escapeHtml } from "../render/html.js";
import { formatNumber } from "../runs/compare.js";
import { FIGURE_NAMES, type ReportModel } from "./model.js";
import { gradeChart, type GradeRow } from "./grade.js";
import { countKeys, type CountRow } from "./tables.js";

export interface PageAssets {
  chartJs: string;
  reportJs: string;
  reportCss: string;
}

/** Text for a cell: numbers with 4 significant digits, null/undefined as an em dash. */
export function show(value: Cell): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") return Number.isFinite(value) ? formatNumber(value) : String(value);
  return String(value);
}

const h = (value: Cell) => escapeHtml(show(value));

/** JSON safe inside <script>: "<" escaped so no "</script>" or "<!--" can end the element early. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/** Inlined JavaScript with any "</script" made harmless (the same text inside a string or regex). */
function inlineScript(code: string): string {
  return code.replace(/<\/script/gi, "<\\/script");
}

function table(head: string[], rows: string[][], cls = ""): string {
  return `<table${cls ? ` class="${cls}"` : ""}><thead><tr>${head.map((c) => `<th>${c}</th>`).join("")}</tr></thead><tbody>${
    rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("")}</tbody></table>`;
}

const swatch = (color: string) => `<span class="swatch" style="background:${escapeHtml(color)}"></span>`;

function runsSection(m: ReportModel): string {
  const rows = m.runs.map((r) => [`${swatch(r.color)}${h(r.label)}`, `<code>${h(r.id)}</code>`, `<span class="status ${h(r.status)}">${h(r.status)}</span>`, h(r.final_size), h(r.failed_samples), `<code class="path">${h(r.dir)}</code>`]);
  return table(["run", "id", "status", "final size", "failed samples", "folder"], rows);
}

function timelineSection(m: ReportModel): string {
  const byRunStage = new Map(m.figures.timeline.rows.map((r) => [`${r.run}\0${r.stage}`, r]));
  const stages = [...new Set(m.figures.timeline.rows.map((r) => r.stage as string))];
  const rows = stages.map((stage) => [`<code>${h(stage)}</code>`, ...m.runs.map((run) => {
    const r = byRunStage.get(`${run.label}\0${stage}`);
    if (!r) return "—";
    const rate = r.per_second === null ? "" : `<span class="sub">${h(r.per_second)} ${h(r.unit)}/s</span>`;
    const status = r.status === "done" ? "" : ` <span class="status ${h(r.status)}">${h(r.status)}</span>`;
    return `${h(r.seconds)} s${status}${rate}`;
  })]);
  return `<div class="chart wide short"><canvas id="chart-timeline" aria-label="wall seconds per stage"></canvas></div>${
    table(["stage", ...m.runs.map((r) => `${swatch(r.color)}${h(r.label)}`)], rows, "numeric")}`;
}

function countsSection(m: ReportModel): string {
  const rows = m.figures.counts.rows as unknown as CountRow[];
  if (rows.length === 0) return `<p class="empty">no stage has counts yet</p>`;
  const color = new Map(m.runs.map((r) => [r.label, r.color]));
  const funnel = m.figures.funnel.rows.map((r) => [`${swatch(color.get(r.run as string) ?? "#888")}${h(r.run)}`, `<code>${h(r.pass)}</code>`,
    h(r.generated), h(r.pairs), h(r.unparseable), h(r.failed), h(r.positives), h(r.negatives), h(r.kept)]);
  const value = new Map(rows.map((r) => [`${r.run}\0${r.stage}\0${r.count}`, r.value]));
  const body = countKeys(rows).map(({ stage, count }) => {
    const cells = m.runs.map((run) => value.get(`${run.label}\0${stage}\0${count}`));
    const differs = new Set(cells.map(String)).size > 1;
    return [`<code>${h(stage)}</code>`, h(count), ...cells.map((v) => (differs ? `<mark>${h(v)}</mark>` : h(v)))];
  });
  return `<p>Per pass: a round (generate → score → select) or the final pass (regenerate → rescore → filter). Generated: texts written;
    pairs: Q/A pairs parsed from them; failed: generation and scoring failures; selected: images with a positive, and negatives; kept: in the final dataset.</p>
    ${table(["run", "pass", "generated", "pairs", "unparseable", "failed", "selected", "negatives", "kept"], funnel, "numeric")}
    <details><summary>every count of every stage${m.runs.length > 1 ? " (differences marked)" : ""}</summary>${
    table(["stage", "count", ...m.runs.map((r) => `${swatch(r.color)}${h(r.label)}`)], body, "numeric")}</details>`;
}

function configSection(m: ReportModel): string {
  const full = `<details><summary>the first run's resolved config (${Object.keys(m.config).length} keys)</summary>${
    table(["key", "value"], Object.entries(m.config).map(([k, v]) => [`<code>${h(k)}</code>`, h(v)]))}</details>`;
  if (m.runs.length < 2) return `<p class="empty">one run: nothing to compare against</p>${full}`;
  const rows = m.figures.config_diff.rows;
  if (rows.length === 0) return `<p class="empty">all runs share the same config</p>${full}`;
  const keys = [...new Set(rows.map((r) => r.key as string))];
  const cell = new Map(rows.map((r) => [`${r.key}\0${r.run}`, r]));
  const body = keys.map((key) => [`<code>${h(key)}</code>`, ...m.runs.map((run, i) => {
    const r = cell.get(`${key}\0${run.label}`);
    const text = r && "value" in r && r.value !== undefined ? h(r.value) : "<i>(absent)</i>";
    return i > 0 && r?.value !== r?.baseline ? `<mark>${text}</mark>` : text;
  })]);
  return `<p>keys whose values differ, against the first run (${h(m.runs[0]?.label)})</p>${
    table(["key", ...m.runs.map((r, i) => `${swatch(r.color)}${h(r.label)}${i === 0 ? " (baseline)" : ""}`)], body)}${full}`;
}

function i2cSection(m: ReportModel): string {
  if (m.figures.i2c_cdf.rows.length === 0) return `<p class="empty">no scored pairs yet</p>`;
  const thresholds = m.figures.i2c_thresholds.rows;
  const stats = m.figures.i2c_stats.rows.map((r) => {
    const t = thresholds.find((x) => x.run === r.run && x.pass === r.pass);
    const run = m.runs.find((x) => x.label === r.run);
    return [`${swatch(run?.color ?? "#888")}${h(r.run)}`, `<code>${h(r.pass)}</code>`, h(r.n), h(r.mean), h(r.q10), h(r.q50), h(r.q90), h(r.share_below_0), t ? `${h(t.threshold)} <span class="sub">${h(t.stage)}</span>` : "—"];
  });
  return `<p>Per scoring pass: round 0 against the pass after contrastive training (dashed: earlier passes). Vertical dotted lines: the
    selection thresholds (pairs below are negatives). A shift to the right between passes is the method's visible effect.</p>
    <div class="grid2"><div class="chart"><canvas id="chart-i2c-cdf" aria-label="I2C CDF"></canvas></div>
    <div class="chart"><canvas id="chart-i2c-hist" aria-label="I2C histogram"></canvas></div></div>
    ${table(["run", "pass", "n", "mean", "q10", "median", "q90", "share < 0", "selection threshold"], stats, "numeric")}`;
}

function trainingSection(m: ReportModel): string {
  if (m.figures.training.rows.length === 0) return `<p class="empty">no contrast stage has trained yet</p>`;
  const charts = [["loss", "total loss L"], ["loss_lm", "L_LM"], ["loss_cl", "L_CL"], ["lr", "learning rate"]];
  return `<p>Per micro-step of every contrast stage: L = L_LM + λ·L_CL.</p><div class="grid2">${charts.map(([k, title]) =>
    `<div class="chart"><canvas id="chart-train-${k}" data-curve="${k}" data-title="${escapeHtml(title as string)}" aria-label="${escapeHtml(title as string)}"></canvas></div>`).join("")}</div>`;
}

function gradeSection(m: ReportModel): string {
  const rows = m.figures.grade.rows as unknown as GradeRow[];
  if (rows.length === 0) return `<p class="empty">no grade stage (it runs when the images have ground truth: the embedded world)</p>`;
  const color = new Map(m.runs.map((r) => [r.label, r.color]));
  const share = (v: number | null) => (v === null ? "—" : `${(100 * v).toFixed(1)}%`);
  const body = rows.map((r) => [`${swatch(color.get(r.run) ?? "#888")}${h(r.run)}`, `<code>${h(r.set)}</code>`, h(r.pairs),
    share(r.grounded_share), share(r.hallucinated_share), share(r.malformed_share), h(r.auroc_i2c)]);
  return `<p>Every pair of the base generation, the regeneration after contrastive training and the final data, labelled against the
    images' ground truth by the grade stage; the I2C AUROC is how well the score separates grounded from hallucinated pairs.</p>
    <figure>${gradeChart(rows, m.runs.length > 1)}</figure>
    ${table(["run", "set", "pairs", "grounded", "hallucinated", "malformed", "I2C AUROC"], body, "numeric")}`;
}

function metricsSection(m: ReportModel): string {
  const rows = m.figures.metrics.rows;
  if (rows.length === 0) return `<p class="empty">no evaluation metrics yet</p>`;
  const keys = [...new Map(rows.map((r) => [`${r.protocol}\0${r.metric}`, r])).values()];
  const value = new Map(rows.map((r) => [`${r.run}\0${r.metric}`, r.value]));
  const body = keys.map((k) => [h(k.protocol || "—"), `<code>${h(k.metric)}</code>`, ...m.runs.map((run) => h(value.get(`${run.label}\0${k.metric}`)))]);
  return table(["protocol", "metric", ...m.runs.map((r) => `${swatch(r.color)}${h(r.label)}`)], body, "numeric");
}

function gallerySection(m: ReportModel): string {
  const rows = m.figures.gallery.rows;
  if (rows.length === 0) return `<p class="empty">no scored pairs yet</p>`;
  const passes = [...new Set(rows.map((r) => `${r.run}: ${r.pass}`))].join(", ");
  const color = new Map(m.runs.map((r) => [r.label, r.color]));
  const body = rows.map((r, order) => {
    const thumb = typeof r.thumb === "number" ? m.thumbs[r.thumb] : undefined;
    const img = thumb ? `<img src="${thumb}" alt="${h(r.image_id)}" title="${h(r.image)}">` : `<div class="noimg">no image</div>`;
    const kept = r.kept === null ? `<span class="kept na">—</span>` : r.kept ? `<span class="kept yes">kept</span>` : `<span class="kept no">dropped</span>`;
    const text = `${r.run} ${r.image_id} ${r.question} ${r.answer}`.toLowerCase();
    const num = (v: Cell) => (typeof v === "number" ? String(v) : "");
    return `<tr data-run="${h(r.run)}" data-rank="${num(r.rank)}" data-i2c="${num(r.i2c)}" data-sav="${num(r.logp_with_image)}" data-sa="${num(r.logp_without_image)}" data-kept="${r.kept === true ? 1 : 0}" data-group="${h(r.group)}" data-text="${escapeHtml(text)}" data-order="${order}">`
      + `<td class="thumb">${img}</td>`
      + `<td>${swatch(color.get(r.run as string) ?? "#888")}${h(r.run)}<span class="sub">${h(r.image_id)}</span><span class="sub">${h(r.group)} · #${h(r.rank)} of ${h(r.pass)}</span></td>`
      + `<td class="text">${h(r.question)}</td><td class="text">${h(r.answer)}</td>`
      + `<td class="num">${h(r.logp_with_image)}</td><td class="num">${h(r.logp_without_image)}</td><td class="num i2c">${h(r.i2c)}</td><td>${kept}</td></tr>`;
  }).join("");
  const head = [["", "image"], ["run", "run"], ["", "instruction"], ["", "answer"], ["sav", "S(A|V)"], ["sa", "S(A)"], ["i2c", "I2C"], ["kept", "filter"]]
    .map(([key, label]) => (key ? `<th data-sort="${key}" tabindex="0" role="button">${label}<span class="arrow"></span></th>` : `<th>${label}</th>`)).join("");
  const runOptions = m.runs.length > 1 ? `<label>run <select id="gallery-run"><option value="">all</option>${m.runs.map((r) => `<option>${h(r.label)}</option>`).join("")}</select></label>` : "";
  return `<p>Top ${m.top_k} and bottom ${m.top_k} pairs by I2C of each run's last scoring pass (${h(passes)}); S(A|V) and S(A) are the answer's
    mean log-probability with and without the image; "kept" means the pair is in the final dataset.</p>
    <div class="controls">
      <label>sort <select id="gallery-sort">
        <option value="rank:asc">run, then I2C rank</option><option value="i2c:desc">I2C high → low</option><option value="i2c:asc">I2C low → high</option>
        <option value="sav:desc">S(A|V) high → low</option><option value="sa:desc">S(A) high → low</option><option value="kept:desc">kept first</option></select></label>
      <label>show <select id="gallery-group"><option value="">top and bottom</option><option value="top">top ${m.top_k}</option><option value="bottom">bottom ${m.top_k}</option></select></label>
      ${runOptions}
      <label><input type="checkbox" id="gallery-kept"> kept only</label>
      <input type="search" id="gallery-filter" placeholder="filter: words in instruction, answer, image id">
      <span id="gallery-count" class="sub"></span>
    </div>
    <table id="gallery-table" class="gallery"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function dataSection(): string {
  const links = FIGURE_NAMES.map((f) => `<li><code>${f}</code>: <a href="data/${f}.json">JSON</a> · <a href="data/${f}.csv">CSV</a></li>`).join("");
  return `<p>Every figure's data lies next to this page, in <code>data/</code>:</p><ul class="files">${links}</ul>`;
}

const SECTIONS: Array<[string, string, (m: ReportModel) => string]> = [
  ["runs", "Runs", runsSection],
  ["timeline", "Stage timeline", timelineSection],
  ["counts", "Sample counts", countsSection],
  ["config", "Config diff", configSection],
  ["i2c", "I2C distributions", i2cSection],
  ["training", "Training curves", trainingSection],
  ["grade", "Grading", gradeSection],
  ["metrics", "Evaluation metrics", metricsSection],
  ["gallery", "Sample gallery", gallerySection],
  ["data", "Data", () => dataSection()],
];

/** The page's chart data: the rows the charts draw, nothing else. */
function chartPayload(m: ReportModel) {
  const f = m.figures;
  return {
    runs: m.runs.map((r) => ({ label: r.label, color: r.color })),
    passes: m.passes,
    edges: m.edges,
    timeline: f.timeline.rows,
    hist: f.i2c_hist.rows,
    cdf: f.i2c_cdf.rows,
    thresholds: f.i2c_thresholds.rows,
    training: f.training.rows,
  };
}

export function renderPage(m: ReportModel, assets: PageAssets): string {
  const title = m.runs.length === 1 ? `c3l report: ${m.runs[0]?.label}` : `c3l report: ${m.runs.length} runs`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${assets.reportCss}</style>
</head><body>
<header><h1>${escapeHtml(title)}</h1><p class="sub">generated ${h(m.generated_at)} by <code>c3l report</code> · opens offline, no network</p>
<nav>${SECTIONS.map(([id, name]) => `<a href="#${id}">${name}</a>`).join("")}</nav></header>
<main>
${SECTIONS.map(([id, name, render]) => `<section id="${id}"><h2>${name}</h2>${render(m)}</section>`).join("\n")}
</main>
<script type="application/json" id="c3l-data">${scriptJson(chartPayload(m))}</script>
<script>${inlineScript(assets.chartJs)}</script>
<script>${inlineScript(assets.reportJs)}</script>
</body></html>
`;
}
