// The names a config may give as `builtin:NAME`, in one place: the smoke set's, and the world's,
// read from the builders' own layout file (py-worker/c3l_worker/world/layout.json), which also says
// where each file of a built folder lies. The config
// schema accepts these; pipeline/builtins.ts says where each lives and builds it.
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The world folder's layout, as the builder writes it (paths relative to the world folder). */
export interface WorldLayout {
  format: number;
  marker: string;
  splits: Record<"data" | "bench", { root: string; images: string; manifest: string; truth: string }>;
  benchmarks: Record<string, string>;
  models: Record<string, string>;
  /** The smoke folder (builtin:smoke, builtin:smoke-llava), relative to it. */
  smoke: { marker: string; root: string; images: string; manifest: string; truth: string; model: string };
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const WORLD_LAYOUT = JSON.parse(readFileSync(join(ROOT, "py-worker", "c3l_worker", "world", "layout.json"), "utf8")) as WorldLayout;

const world = (names: Record<string, string>) => Object.keys(names).map((name) => `world-${name}`);

export const BUILTIN_NAMES = {
  data: ["smoke", "world"],
  models: ["smoke-llava", ...world(WORLD_LAYOUT.models)],
  benchmarks: world(WORLD_LAYOUT.benchmarks),
};
