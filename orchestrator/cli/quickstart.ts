// The main job on the embedded default: configs/quickstart.yaml, the whole C3L pipeline on the
// embedded synthetic world (pretrained once into .cache/, then generate … grade → finetune →
// evaluate), ending with a compare-style summary of the run on stderr and its JSON on stdout.
import { join } from "node:path";
import { buildComparison, loadCompareRun } from "../runs/compare.js";
import { cellText, renderText } from "../runs/format.js";
import { startRun } from "../pipeline/launch.js";
import type { RunFolder } from "../runs/run-folder.js";
import { PROJECT_ROOT } from "../worker/index.js";
import { EXIT } from "./exit-codes.js";

export const QUICKSTART_CONFIG = join(PROJECT_ROOT, "configs", "quickstart.yaml");

/** One run's compare row turned on its side (key | value), the groups a reader looks at first. */
export function runSummaryTable(run: RunFolder): string {
  const table = buildComparison([loadCompareRun(run)]);
  const row = table.rows[0]!;
  const keep = table.columns.filter((c) => c.group === "final" || c.group === "metrics" || c.group === "seconds" || (c.group === "i2c" && c.key.endsWith(".mean")));
  return renderText(["", "value"], keep.map((c) => [c.key, cellText(row.values[c.key])]), ["left", "right"]);
}

export async function quickstart(options: { threads: number; overrides: string[]; config?: string }): Promise<number> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const overrides = [`worker.threads=${options.threads}`, ...options.overrides];
  const { run, summary } = await startRun(options.config ?? QUICKSTART_CONFIG, overrides, "quickstart", { argv: process.argv.slice(2), log });
  log(`\nquickstart: run ${run.id}\n${runSummaryTable(run)}`);
  log(`quickstart: ${summary.final?.size ?? 0} pairs in ${run.paths.final_dataset}`);
  log(`  compare runs with: npx c3l runs; npx c3l compare ${run.id} <other run>; the paper table: npx c3l reproduce`);
  process.stdout.write(`${JSON.stringify({
    run_id: run.id, run_dir: run.dir, status: summary.status, final: run.paths.final_dataset, final_size: summary.final?.size ?? 0,
    counts: Object.fromEntries(Object.entries(summary.stages).map(([stage, s]) => [stage, s.counts])), i2c: summary.i2c, metrics: summary.metrics,
  }, null, 2)}\n`);
  log("quickstart: ok");
  return EXIT.ok;
}
