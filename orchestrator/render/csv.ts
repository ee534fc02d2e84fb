// RFC 4180 CSV: the one quoting rule for `c3l compare --format csv` and every report figure's data.

export type Cell = string | number | boolean | null | undefined;

/** A field quoted when it holds a comma, quote, CR or LF (quotes doubled); null/undefined/non-finite numbers are blank. */
export function csvField(value: Cell): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number" && !Number.isFinite(value)) return "";
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** CSV text with one line per row (the header is the first row); lines end with \n. */
export function csvLines(rows: readonly (readonly Cell[])[]): string {
  return `${rows.map((r) => r.map(csvField).join(",")).join("\n")}\n`;
}

/** CSV text for `rows` with the given columns in order (a missing key is a blank cell). */
export function toCsv(columns: readonly string[], rows: readonly Record<string, Cell>[]): string {
  return csvLines([columns, ...rows.map((row) => columns.map((c) => row[c]))]);
}
