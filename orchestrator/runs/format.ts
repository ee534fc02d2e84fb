// Renders tables for the terminal (aligned text), Markdown, CSV and JSON; used by `c3l runs` and `c3l compare`.
import { formatNumber, PROTOCOL_DIFFERS, type Cell, type CompareColumn, type CompareTable } from "./compare.js";

export type Align = "left" | "right";

/** Columns padded to their widest cell, two spaces apart, a dashed rule under the header; no trailing spaces. */
export function renderText(headers: string[], rows: string[][], align: Align[]): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((cell, c) => (align[c] === "right" ? cell.padStart(widths[c] as number) : cell.padEnd(widths[c] as number))).join("  ").trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n") + "\n";
}

export function renderMarkdown(headers: string[], rows: string[][], align: Align[]): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
  const line = (cells: string[]) => `| ${cells.map(esc).join(" | ")} |`;
  const rule = `|${align.map((a) => (a === "right" ? "---:" : "---")).join("|")}|`;
  return [line(headers), rule, ...rows.map(line)].join("\n") + "\n";
}

/** RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled. */
export function renderCsv(headers: string[], rows: string[][]): string {
  const field = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return [headers, ...rows].map((r) => r.map(field).join(",")).join("\n") + "\n";
}

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
    return renderCsv(headers, rows);
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
