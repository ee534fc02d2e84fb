import { expandSweep } from "../config/index.js";
import { startRun } from "../pipeline/launch.js";
import { EXIT } from "../errors.js";

export interface RunArgs {
  config: string;
  overrides: string[];
  name: string | null;
  sweep: string[];
}

/** Runs one config, or one run per sweep combination; prints one JSON line per run on stdout. */
export async function run(args: RunArgs): Promise<number> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const grid = args.sweep.length ? expandSweep(args.sweep) : [[]];
  for (const [index, combination] of grid.entries()) {
    const name = grid.length > 1 ? `${args.name ?? "sweep"}-${index}` : args.name;
    if (grid.length > 1) log(`sweep ${index + 1}/${grid.length}: ${combination.join(" ")}`);
    const { run: folder, summary } = await startRun(args.config, [...args.overrides, ...combination], name, { argv: process.argv.slice(2), log });
    process.stdout.write(`${JSON.stringify({ run_id: folder.id, run_dir: folder.dir, status: summary.status, final: summary.final ? folder.paths.final_dataset : null, final_size: summary.final?.size ?? 0, overrides: combination })}\n`);
  }
  return EXIT.ok;
}
