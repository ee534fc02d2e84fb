// `c3l report`: an HTML report of one or more runs (plots, tables, sample gallery) plus each figure's data; prints index.html's path.
import { join, resolve } from "node:path";
import { RunArgumentError } from "../runs/errors.js";
import { openRun, type RunFolder } from "../runs/run-folder.js";
import { EXIT } from "../errors.js";

export interface ReportCliOptions {
  runs: string[];
  runsDir: string;
  /** default: <first run>/report */
  out?: string;
  topK: number;
}

export async function report(options: ReportCliOptions): Promise<number> {
  if (options.runs.length === 0) throw new RunArgumentError("name at least one run: an id, a unique id prefix, a name, or a path");
  if (!Number.isInteger(options.topK) || options.topK < 1) throw new RunArgumentError(`--top-k: expected a whole number ≥ 1, got ${options.topK}`);
  const log = (message: string) => process.stderr.write(`c3l report: ${message}\n`);
  const folders: RunFolder[] = [];
  for (const ref of options.runs) {
    const folder = openRun(options.runsDir, ref);
    if (folders.some((f) => f.dir === folder.dir)) log(`${ref}: ${folder.id} is named twice; shown once`);
    else folders.push(folder);
  }
  const outDir = resolve(options.out ?? join((folders[0] as RunFolder).dir, "report"));
  const { buildReport } = await import("../report/index.js");
  const result = await buildReport({ runs: folders, outDir, topK: options.topK, warn: log });
  log(`${folders.length} run${folders.length > 1 ? "s" : ""}; figures' data in ${join(outDir, "data")} (${result.data.length} files)`);
  process.stdout.write(`${result.index}\n`);
  return EXIT.ok;
}
