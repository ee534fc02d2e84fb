// `c3l compare`: one row per run (changed config, counts, I2C, final size, metrics, seconds) vs a baseline.
import { buildComparison, loadCompareRun } from "../runs/compare.js";
import { RunArgumentError } from "../runs/errors.js";
import { renderComparison, type CompareFormat } from "../runs/format.js";
import { openRun } from "../runs/run-folder.js";
import { EXIT } from "../errors.js";

export interface CompareOptions {
  runs: string[];
  runsDir: string;
  baseline?: string;
  onlyChanged: boolean;
  format: CompareFormat;
}

export async function compare(options: CompareOptions): Promise<number> {
  if (options.runs.length < 2) throw new RunArgumentError(`compare needs at least two runs, got ${options.runs.length}`);
  const folders = options.runs.map((ref) => openRun(options.runsDir, ref));
  let baselineIndex = 0;
  if (options.baseline !== undefined) {
    const base = openRun(options.runsDir, options.baseline);
    baselineIndex = folders.findIndex((f) => f.dir === base.dir);
    if (baselineIndex === -1) {
      folders.unshift(base); // a baseline not among the runs is shown first
      baselineIndex = 0;
    }
  }
  const warn = (message: string) => process.stderr.write(`c3l compare: ${message}\n`);
  const table = buildComparison(folders.map((f) => loadCompareRun(f, warn)), { baselineIndex, onlyChanged: options.onlyChanged });
  process.stdout.write(renderComparison(table, options.format));
  for (const note of table.notes) warn(note);
  return EXIT.ok;
}
