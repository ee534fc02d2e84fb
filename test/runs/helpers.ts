// Temp folders and child node processes that use the BUILT run store (dist/, as `c3l` runs it).
import { execa } from "execa";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { PROJECT_ROOT } from "../../orchestrator/worker/python.js";

export function tempDir(prefix = "c3l-runs-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** file URL of a built run-store module, e.g. distModule("jsonl") */
export function distModule(name: string): string {
  const path = join(PROJECT_ROOT, "dist", "runs", `${name}.js`);
  if (!existsSync(path)) throw new Error(`${path} is missing: build first (npx tsc -p tsconfig.build.json)`);
  return pathToFileURL(path).href;
}

/** Runs an ES module snippet in a child node process (not awaited: the caller may kill it). */
export function nodeChild(code: string) {
  return execa("node", ["--input-type=module", "-e", code], { reject: false, buffer: true });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const c3l = (args: string[], cwd?: string) =>
  execa("node", [join(PROJECT_ROOT, "bin", "c3l.js"), ...args], { reject: false, cwd: cwd ?? PROJECT_ROOT });

/** A small RFC 4180 reader: enough to prove the CSV parses back to the same cells. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 1; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { row.push(field); field = ""; }
    else if (c === "\n") { row.push(field); rows.push(row); row = []; field = ""; }
    else field += c;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  return rows;
}
