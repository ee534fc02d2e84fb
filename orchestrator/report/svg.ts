// Small charts as inline SVG strings: no script, no network, so they show in any page that embeds
// them (the reproduce table's HTML, the run report) and in a browser with scripts off.
import { escapeHtml } from "../render/html.js";

const num = (v: number) => String(Math.round(v * 100) / 100);
const pct = (v: number, digits = 1) => `${(100 * v).toFixed(digits)}%`;

export interface Bar {
  label: string;
  /** a share in [0, 1]; null: no value (a labelled gap) */
  value: number | null;
  /** the spread drawn as a whisker from value − sd to value + sd; null: none */
  sd: number | null;
  /** the bar's tooltip */
  title?: string;
}

/** Geometry of barChartSvg, exported so tests can turn pixels back into shares. */
export const BAR_CHART = { top: 28, plotHeight: 180, left: 48, slot: 72, barWidth: 40 } as const;

/**
 * Vertical bars of shares on a 0–100% axis, one per entry, with a whisker of ± sd (capped) over each;
 * a bar is `<g class="bar">` with data-label, data-value and data-sd for readers and tests.
 */
export function barChartSvg(bars: readonly Bar[], title: string): string {
  const { top, plotHeight, left, slot, barWidth } = BAR_CHART;
  const bottom = top + plotHeight;
  const width = left + slot * Math.max(1, bars.length) + 12;
  const height = bottom + 44;
  const y = (share: number) => bottom - Math.min(1, Math.max(0, share)) * plotHeight;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((t) =>
    `<line class="grid" x1="${left}" x2="${width - 12}" y1="${num(y(t))}" y2="${num(y(t))}" stroke="#ddd"/>`
    + `<text x="${left - 6}" y="${num(y(t) + 4)}" text-anchor="end" font-size="11">${pct(t, 0)}</text>`);
  const groups = bars.map((bar, i) => {
    const cx = left + slot * i + slot / 2;
    const label = `<text x="${num(cx)}" y="${bottom + 16}" text-anchor="middle" font-size="11">${escapeHtml(bar.label)}</text>`;
    const attrs = `class="bar" data-label="${escapeHtml(bar.label)}" data-value="${bar.value ?? ""}" data-sd="${bar.sd ?? ""}"`;
    if (bar.value === null) {
      return `<g ${attrs}>${label}<text x="${num(cx)}" y="${bottom - 6}" text-anchor="middle" font-size="10" fill="#888">no data</text></g>`;
    }
    const tip = `<title>${escapeHtml(bar.title ?? `${bar.label}: ${pct(bar.value)}${bar.sd !== null ? ` ± ${pct(bar.sd)}` : ""}`)}</title>`;
    const rect = `<rect x="${num(cx - barWidth / 2)}" y="${num(y(bar.value))}" width="${barWidth}" height="${num(bottom - y(bar.value))}" fill="#4e79a7"/>`;
    let whisker = "";
    if (bar.sd !== null && bar.sd > 0) {
      const [hi, lo] = [y(bar.value + bar.sd), y(bar.value - bar.sd)];
      whisker = `<line class="whisker" x1="${num(cx)}" x2="${num(cx)}" y1="${num(hi)}" y2="${num(lo)}" stroke="#222" stroke-width="1.5"/>`
        + [hi, lo].map((yy) => `<line class="cap" x1="${num(cx - 8)}" x2="${num(cx + 8)}" y1="${num(yy)}" y2="${num(yy)}" stroke="#222" stroke-width="1.5"/>`).join("");
    }
    const value = `<text x="${num(cx)}" y="${num(y(bar.value) - 4)}" text-anchor="middle" font-size="10">${pct(bar.value)}</text>`;
    return `<g ${attrs}>${tip}${rect}${whisker}${bar.sd !== null && bar.sd > 0 ? "" : value}${label}</g>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" class="c3l-chart" role="img" aria-label="${escapeHtml(title)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui,sans-serif">`
    + `<text x="${left}" y="16" font-size="13" font-weight="600">${escapeHtml(title)}</text>${ticks.join("")}${groups.join("")}`
    + `<line x1="${left}" x2="${width - 12}" y1="${bottom}" y2="${bottom}" stroke="#444"/></svg>`;
}

export interface StackPart {
  name: string;
  /** a share in [0, 1]; null counts as 0 */
  share: number | null;
  color: string;
}

export interface Stack {
  label: string;
  parts: StackPart[];
}

/** Geometry of stackedBarsSvg. */
export const STACKED = { labelWidth: 150, barWidth: 360, row: 24, top: 28 } as const;

/**
 * Horizontal 100% bars, one per entry, each split into its parts (`<rect class="seg" data-part
 * data-share>`) in order, with a legend of the first entry's parts.
 */
export function stackedBarsSvg(stacks: readonly Stack[], title: string): string {
  const { labelWidth, barWidth, row, top } = STACKED;
  const width = labelWidth + barWidth + 20;
  const legendY = top + row * stacks.length + 14;
  const height = legendY + 14;
  const rows = stacks.map((stack, i) => {
    const y0 = top + row * i;
    let x = labelWidth;
    const segs = stack.parts.map((part) => {
      const share = Math.max(0, part.share ?? 0);
      const w = share * barWidth;
      const seg = `<rect class="seg" data-part="${escapeHtml(part.name)}" data-share="${part.share ?? ""}" x="${num(x)}" y="${y0}" width="${num(w)}" height="${row - 6}" fill="${escapeHtml(part.color)}"><title>${escapeHtml(`${stack.label}: ${part.name} ${part.share === null ? "n/a" : pct(part.share)}`)}</title></rect>`
        + (w >= 34 ? `<text x="${num(x + w / 2)}" y="${y0 + row - 11}" text-anchor="middle" font-size="10" fill="#fff">${pct(share, 0)}</text>` : "");
      x += w;
      return seg;
    });
    return `<g class="stack" data-label="${escapeHtml(stack.label)}"><text x="${labelWidth - 8}" y="${y0 + row - 11}" text-anchor="end" font-size="11">${escapeHtml(stack.label)}</text>${segs.join("")}</g>`;
  });
  let lx = labelWidth;
  const legend = (stacks[0]?.parts ?? []).map((part) => {
    const item = `<rect x="${lx}" y="${legendY - 9}" width="10" height="10" fill="${escapeHtml(part.color)}"/><text x="${lx + 14}" y="${legendY}" font-size="11">${escapeHtml(part.name)}</text>`;
    lx += 24 + part.name.length * 7;
    return item;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" class="c3l-chart" role="img" aria-label="${escapeHtml(title)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui,sans-serif">`
    + `<text x="0" y="16" font-size="13" font-weight="600">${escapeHtml(title)}</text>${rows.join("")}${legend.join("")}</svg>`;
}

/** The grader's three labels, in stacking order, with their colours. */
export const GRADE_PARTS = [
  { name: "grounded", key: "grounded_share", color: "#59a14f" },
  { name: "hallucinated", key: "hallucinated_share", color: "#e15759" },
  { name: "malformed", key: "malformed_share", color: "#9c9c9c" },
] as const;
