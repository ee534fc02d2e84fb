// Tab-separated values as pandas writes them (MMBench): a header row; a field may be "quoted" to hold tabs, newlines or "".
import { EvalInputError } from "./errors.js";

export interface TsvRow {
  /** the physical line the row starts on (quoted fields may span lines) */
  line: number;
  cells: Record<string, string>;
}

export function parseTsv(text: string, file: string): { header: string[]; rows: TsvRow[] } {
  const records = splitRecords(text, file);
  const first = records.shift();
  if (!first || (first.fields.length === 1 && first.fields[0] === "")) throw new EvalInputError("empty file, expected a header row", { file, line: 1 });
  const header = first.fields.map((h) => h.trim());
  const seen = new Set<string>();
  for (const h of header) {
    if (seen.has(h)) throw new EvalInputError(`column ${JSON.stringify(h)} appears twice in the header`, { file, line: first.line });
    seen.add(h);
  }
  const rows: TsvRow[] = [];
  for (const r of records) {
    if (r.fields.length === 1 && r.fields[0] === "") continue; // a blank line
    if (r.fields.length !== header.length) {
      throw new EvalInputError(`${r.fields.length} fields, but the header has ${header.length} columns`, { file, line: r.line });
    }
    rows.push({ line: r.line, cells: Object.fromEntries(header.map((h, i) => [h, r.fields[i]!])) });
  }
  return { header, rows };
}

const PLAIN = /[^\t\n\r]*/y;

function splitRecords(text: string, file: string): Array<{ line: number; fields: string[] }> {
  const out: Array<{ line: number; fields: string[] }> = [];
  let fields: string[] = [];
  let field = "";
  let line = 1;
  let start = 1;
  let i = 0;
  const n = text.length;
  const endRecord = () => {
    fields.push(field);
    out.push({ line: start, fields });
    fields = [];
    field = "";
  };
  while (i < n) {
    const c = text[i]!;
    if (c === '"' && field === "") {
      const openedAt = line;
      i += 1;
      for (;;) {
        if (i >= n) throw new EvalInputError("a quoted field is never closed", { file, line: openedAt });
        const d = text[i]!;
        if (d === '"') {
          if (text[i + 1] === '"') { field += '"'; i += 2; continue; }
          i += 1;
          break;
        }
        if (d === "\n") line += 1;
        field += d;
        i += 1;
      }
      const next = text[i];
      if (next !== undefined && next !== "\t" && next !== "\n" && !(next === "\r" && text[i + 1] === "\n")) {
        throw new EvalInputError(`text after a closing quote: ${JSON.stringify(text.slice(i, i + 20))}`, { file, line });
      }
      continue;
    }
    if (c === "\t") { fields.push(field); field = ""; i += 1; continue; }
    if (c === "\r" && text[i + 1] === "\n") { i += 1; continue; }
    if (c === "\n") { endRecord(); line += 1; start = line; i += 1; continue; }
    // the plain run up to the next tab, newline or carriage return in one slice: image cells are ~100 kB
    PLAIN.lastIndex = i;
    PLAIN.exec(text);
    const end = Math.max(PLAIN.lastIndex, i + 1);
    field += text.slice(i, end);
    i = end;
  }
  if (field !== "" || fields.length > 0) endRecord();
  return out;
}
