// The main job on the embedded default: the whole C3L pipeline on the built-in smoke world (12
// images, a tiny LLaVA trained to write Q/A pairs, both built into .cache/ on first use).
import { join } from "node:path";
import { startRun } from "../pipeline/launch.js";
import { PROJECT_ROOT } from "../worker/index.js";
import { EXIT } from "./exit-codes.js";

export const QUICKSTART_CONFIG = join(PROJECT_ROOT, "configs", "smoke.yaml");

export async function quickstart(options: { threads: number; overrides: string[] }): Promise<number> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const overrides = [`worker.threads=${options.threads}`, ...options.overrides];
  const { run, summary } = await startRun(QUICKSTART_CONFIG, overrides, "quickstart", { argv: process.argv.slice(2), log });
  const mean = (stage: string) => summary.i2c[stage]?.mean ?? null;
  log(`quickstart: ${summary.final?.size ?? 0} pairs in ${run.paths.final_dataset}`);
  log(`  mean I2C of generated pairs: ${mean("r0-score")?.toFixed(4)} before contrastive training, ${mean("rescore")?.toFixed(4)} after`);
  log(`  compare runs with: npx c3l runs; npx c3l compare ${run.id} <other run>`);
  process.stdout.write(`${JSON.stringify({
    run_id: run.id, run_dir: run.dir, status: summary.status, final: run.paths.final_dataset, final_size: summary.final?.size ?? 0,
    counts: Object.fromEntries(Object.entries(summary.stages).map(([stage, s]) => [stage, s.counts])), i2c: summary.i2c,
  }, null, 2)}\n`);
  log("quickstart: ok");
  return EXIT.ok;
}
