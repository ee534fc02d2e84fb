// `c3l runs`: one line per run, newest first (stdout: the data only).
import { renderText, type Align } from "../render/table.js";
import { cellText } from "../runs/format.js";
import { filterRuns, listRuns, parseRunFilter, type RunListing } from "../runs/store.js";
import { EXIT } from "../errors.js";

export interface RunsOptions {
  runsDir: string;
  filters: string[];
  format: "table" | "json";
}

export async function runs(options: RunsOptions): Promise<number> {
  const filters = options.filters.map(parseRunFilter);
  const listed = filterRuns(listRuns(options.runsDir), filters);
  if (options.format === "json") {
    process.stdout.write(`${JSON.stringify(listed, null, 2)}\n`);
    return EXIT.ok;
  }
  for (const run of listed) if (run.problem) process.stderr.write(`c3l runs: ${run.id}: ${run.problem}\n`);
  if (listed.length === 0) {
    process.stderr.write(`c3l runs: no runs${filters.length ? " match" : ""} in ${options.runsDir}\n`);
    return EXIT.ok;
  }
  const headers = ["id", "name", "status", "stage", "progress", "final", "i2c_mean", "created"];
  const align: Align[] = ["left", "left", "left", "left", "right", "right", "right", "left"];
  process.stdout.write(renderText(headers, listed.map(row), align));
  return EXIT.ok;
}

function row(run: RunListing): string[] {
  const p = run.progress;
  return [
    run.id,
    run.name ?? "-",
    run.status,
    run.stage ?? "-",
    p ? `${p.done}/${p.total}` : "-",
    cellText(run.final_size),
    run.i2c_mean === null ? "-" : `${cellText(run.i2c_mean)} (${run.i2c_stage})`,
    run.created_at ? run.created_at.replace("T", " ").replace(/\.\d+Z$/, "Z") : "-",
  ];
}
