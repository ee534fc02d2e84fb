// Ctrl-C or SIGTERM during a run: the run is marked "stopped" (resumable, neither failed nor
// running) and the process exits 130 / 143. Every write of a run is synchronous, so a handler that
// runs between two event-loop turns never interrupts one; the workers are killed by the exit hooks.
import type { RunFolder } from "../runs/run-folder.js";

const EXIT_CODE: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

let current: { run: RunFolder; log: (line: string) => void } | null = null;
let installed = false;

function handle(signal: NodeJS.Signals): void {
  try {
    if (current) {
      const { run, log } = current;
      run.updateSummary({ status: "stopped", progress: null });
      run.events.append({ type: "stopped", signal });
      log(`${signal}: run ${run.id} stopped; continue it with: c3l resume ${run.dir}`);
    }
  } finally {
    process.exit(EXIT_CODE[signal] ?? 1);
  }
}

/** From now until the returned release is called, a signal stops `run` (one run at a time, as a sweep runs them). */
export function stopOnSignals(run: RunFolder, log: (line: string) => void): () => void {
  current = { run, log };
  if (!installed) {
    process.on("SIGINT", handle);
    process.on("SIGTERM", handle);
    installed = true;
  }
  return () => {
    if (current?.run === run) current = null;
  };
}
