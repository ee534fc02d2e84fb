// Bookkeeping files a resume can re-derive: a damaged state/<stage>.json is moved aside (the stage
// runs again, skipping its finished samples by id, so its outputs come out the same), and a damaged
// summary.json is rebuilt from the stage states. Each repair is named in the log and events.jsonl.
import { readdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { RunStoreError } from "./errors.js";
import type { RunFolder, SummaryPatch } from "./run-folder.js";
import { summaryOfStage, type RunSummary } from "./summary.js";

export function repairBookkeeping(run: RunFolder, log: (line: string) => void): void {
  const warn = (message: string) => {
    log(`warning: ${message}`);
    run.events.append({ type: "warning", message });
  };
  let files: string[] = [];
  try {
    files = readdirSync(run.paths.state_dir).filter((f) => !f.startsWith(".") && f.endsWith(".json"));
  } catch {
    // no state folder: nothing to repair
  }
  for (const file of files) {
    const stage = file.slice(0, -".json".length);
    try {
      run.readState(stage);
    } catch (err) {
      const path = join(run.paths.state_dir, file);
      const aside = join(run.paths.state_dir, `.${file}.damaged-${Date.now()}`);
      renameSync(path, aside);
      warn(`${(err as Error).message}: moved aside to ${aside}; stage ${stage} runs again (its finished samples are skipped by id)`);
    }
  }
  try {
    run.summary();
  } catch (err) {
    if (!(err instanceof RunStoreError)) throw err;
    run.updateSummary(fromStates(run)); // updateSummary starts afresh from the states when the file is unreadable
    warn(`${err.message}: rebuilt from the stage states`);
  }
}

/** What finished stages reported (I2C per scoring pass, the final dataset, metrics), as the runner had put it in the summary. */
function fromStates(run: RunFolder): SummaryPatch {
  const i2c: RunSummary["i2c"] = {};
  const metrics: RunSummary["metrics"] = {};
  let final: RunSummary["final"] = null;
  for (const [stage, state] of Object.entries(run.states())) {
    if (state.status !== "done") continue;
    const added = summaryOfStage(stage, state.extra);
    Object.assign(i2c, added.i2c);
    Object.assign(metrics, added.metrics);
    final = added.final ?? final;
  }
  return { i2c, metrics, final };
}
