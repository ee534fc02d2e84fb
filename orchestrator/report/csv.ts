// Rows as RFC 4180 CSV: one header line, then one line per row; every figure's data is also written this way.

export type Cell = string | number | boolean | null | undefined;

/** A field quoted when it holds a comma, quote, CR or LF (quotes doubled); null/undefined/non-finite numbers are blank. */
export function csvField(value: Cell): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number" && !Number.isFinite(value)) return "";
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** CSV text for `rows` with the given columns in order (a missing key is a blank cell); lines end with \n. */
export function toCsv(columns: readonly string[], rows: readonly Record<string, Cell>[]): string {
  const lines = [columns.map(csvField).join(",")];
  for (const row of rows) lines.push(columns.map((c) => csvField(row[c])).join(","));
  return `${lines.join("\n")}\n`;
}
