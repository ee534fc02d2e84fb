import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The checkout's root: orchestrator/worker/ in source, dist/worker/ when built. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The project's virtual environment python (scripts/setup.sh makes it), or $C3L_PYTHON. */
export function workerPython(): string {
  const fromEnv = process.env.C3L_PYTHON;
  if (fromEnv) return fromEnv;
  const venv = join(PROJECT_ROOT, ".venv", "bin", "python");
  if (!existsSync(venv)) {
    throw new Error(`no Python environment at ${venv}: run \`npm run setup\` (or set C3L_PYTHON to a python with c3l_worker installed)`);
  }
  return venv;
}
