// Assets a config can name as `builtin:NAME`: built once by the worker package into .cache/builtin/.
import { execa } from "execa";
import { join } from "node:path";
import { PROJECT_ROOT, workerPython } from "../worker/index.js";

const SMOKE_DIR = join(PROJECT_ROOT, ".cache", "builtin", "smoke");

async function buildSmoke(): Promise<string> {
  // The builder returns at once when its folder is complete (it writes its marker last).
  await execa(workerPython(), ["-m", "c3l_worker.smoke", "--out", SMOKE_DIR, "--replace-stale"], {
    env: { HF_HUB_OFFLINE: "1", OMP_NUM_THREADS: "1" },
  });
  return SMOKE_DIR;
}

/** Where a builtin data set lives once built (a report reads it without building anything). */
export function builtinDataLocation(name: string): { root: string; manifest: string } | null {
  return name === "smoke" ? { root: SMOKE_DIR, manifest: join(SMOKE_DIR, "manifest.jsonl") } : null;
}

export const BUILTIN_DATA: Record<string, () => Promise<{ root: string; manifest: string }>> = {
  smoke: async () => {
    await buildSmoke();
    return builtinDataLocation("smoke")!;
  },
};

export const BUILTIN_MODELS: Record<string, () => Promise<string>> = {
  "smoke-llava": async () => join(await buildSmoke(), "model"),
};

export function builtinName(value: string): string | null {
  return value.startsWith("builtin:") ? value.slice("builtin:".length) : null;
}
