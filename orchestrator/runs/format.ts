// Renders a comparison of runs as an aligned text table, Markdown, CSV or JSON (`c3l compare`), and the cell text `c3l runs` shows.
import { csvLines } from "../render/csv.js";
import { renderMarkdown, renderText, type Align } from "../render/table.js";
import { formatNumber, PROTOCOL_DIFFERS, type Cell, type CompareColumn, type CompareTable } from "./compare.js";

export function cellText(v: Cell | undefined, maxLength = Infinity): string {
  if (v === null || v === undefined) return "-";
  const s = typeof v === "number" ? formatNumber(v) : String(v);
  return s.length > maxLength ? `${s.slice(0, maxLength - 1)}…` : s;
}

export type CompareFormat = "table" | "md" | "csv" | "json";

/**
 * table / md: a `base` column marks the baseline with "*"; a numeric cell that differs from the
 * baseline's reads "value (change)", e.g. "0.443 (+0.031)" or "118 (-1.7%)"; blank cells are "-";
 * in `table`, text longer than 40 characters is cut with "…".
 * csv: a `baseline` column (true/false); raw values (blank when absent); a `<key>.change` column
 * after each numeric column. json: the CompareTable itself.
 */
export function renderComparison(table: CompareTable, format: CompareFormat): string {
  if (format === "json") return `${JSON.stringify(table, null, 2)}\n`;
  const cols = table.columns;
  const title = (c: CompareColumn) => (c.protocol_differs ? `${c.key} ${PROTOCOL_DIFFERS}` : c.key);
  if (format === "csv") {
    const headers = ["baseline", ...cols.flatMap((c) => (c.change ? [c.key, `${c.key}.change`] : [title(c)]))];
    const rows = table.rows.map((r) => [
      String(r.baseline),
      ...cols.flatMap((c) => {
        const v = r.values[c.key];
        const text = v === null || v === undefined ? "" : String(v);
        return c.change ? [text, r.changes[c.key]?.text ?? ""] : [text];
      }),
    ]);
    return csvLines([headers, ...rows]);
  }
  const headers = ["base", ...cols.map(title)];
  const align: Align[] = ["left", ...cols.map((c): Align => (c.numeric ? "right" : "left"))];
  const rows = table.rows.map((r) => [
    r.baseline ? "*" : "",
    ...cols.map((c) => {
      const text = cellText(r.values[c.key], format === "table" ? 40 : Infinity);
      const ch = r.changes[c.key];
      return ch ? `${text} (${ch.text})` : text;
    }),
  ]);
  return format === "md" ? renderMarkdown(headers, rows, align) : renderText(headers, rows, align);
}
