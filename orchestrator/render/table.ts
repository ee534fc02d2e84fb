// Text tables for the terminal (aligned columns) and Markdown; `c3l runs`, `c3l compare`, quickstart and reproduce print through them.

export type Align = "left" | "right";

/** Columns padded to their widest cell, two spaces apart, a dashed rule under the header; no trailing spaces. */
export function renderText(headers: string[], rows: string[][], align: Align[]): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((cell, c) => (align[c] === "right" ? cell.padStart(widths[c] as number) : cell.padEnd(widths[c] as number))).join("  ").trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n") + "\n";
}

/** A Markdown table; "|" in a cell is escaped and a line break becomes a space, so a cell never breaks the row. */
export function renderMarkdown(headers: string[], rows: string[][], align: Align[]): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
  const line = (cells: string[]) => `| ${cells.map(esc).join(" | ")} |`;
  const rule = `|${align.map((a) => (a === "right" ? "---:" : "---")).join("|")}|`;
  return [line(headers), rule, ...rows.map(line)].join("\n") + "\n";
}
