import { resumeRun } from "../pipeline/launch.js";
import { EXIT } from "../errors.js";

export async function resume(args: { run: string; runsDir: string | null; force: boolean; redo: string | null }): Promise<number> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const { run, summary } = await resumeRun(args.run, args.runsDir, args.force, { argv: process.argv.slice(2), log, redo: args.redo });
  process.stdout.write(`${JSON.stringify({ run_id: run.id, run_dir: run.dir, status: summary.status, final: summary.final ? run.paths.final_dataset : null, final_size: summary.final?.size ?? 0 })}\n`);
  return EXIT.ok;
}
