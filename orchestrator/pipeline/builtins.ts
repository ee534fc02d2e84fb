// Assets a config can name as `builtin:NAME`: built once by the worker package into .cache/builtin/.
// smoke: 12 images and a tiny LLaVA, built on first use. world: the embedded synthetic world
// (images with ground truth, benchmarks, two pretrained tiny LLaVAs), built by a run's pretrain
// stage (stages/pretrain.ts) into a folder named by the hash of the config's `world` section.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { execa } from "execa";
import { dirname, join, resolve } from "node:path";
import { defaultConfig, type C3lConfig } from "../config/index.js";
import type { WorldConfig } from "../config/schema.js";
import { canonicalJson, getDotted } from "../runs/flatten.js";
import { isProcessAlive } from "../runs/lock.js";
import { PROJECT_ROOT, workerPython } from "../worker/index.js";

// C3L_BUILTIN_DIR moves it (a private world for one run, e.g. the chaos suite's real pretrain kills).
const CACHE = process.env.C3L_BUILTIN_DIR ? resolve(process.env.C3L_BUILTIN_DIR) : join(PROJECT_ROOT, ".cache", "builtin");
const SMOKE_DIR = join(CACHE, "smoke");

/** Part of the world folder's hash: bump when the builder's output changes for equal parameters. */
export const WORLD_LAYOUT = 2;
/** The world's marker, written last by the builder: its presence means the build finished. */
export const WORLD_MARKER = "world.json";

async function buildSmoke(): Promise<string> {
  // The builder returns at once when its folder is complete (it writes its marker last).
  await execa(workerPython(), ["-m", "c3l_worker.smoke", "--out", SMOKE_DIR, "--replace-stale"], {
    env: { HF_HUB_OFFLINE: "1", OMP_NUM_THREADS: "1" },
  });
  return SMOKE_DIR;
}

/** .cache/builtin/world-<hash>/: one folder per distinct `world` section, shared by every run that names it. */
export function worldDir(world: WorldConfig): string {
  const hash = createHash("sha256").update(canonicalJson({ layout: WORLD_LAYOUT, world })).digest("hex").slice(0, 12);
  return join(CACHE, `world-${hash}`);
}

/** The world section of a resolved config (or of a run's config.json, which may predate the section). */
export function worldOf(config: unknown): WorldConfig {
  const world = getDotted(config, "world");
  return world && typeof world === "object" ? (world as WorldConfig) : defaultConfig().world;
}

/** The finished world's marker (its parameters and build stats), or null while it is not built. */
export function readWorldMarker(dir: string): Record<string, unknown> | null {
  const file = join(dir, WORLD_MARKER);
  if (!existsSync(file)) return null;
  try {
    // Python's json writes NaN/Infinity (a stat of an empty window): read them as null, not as a torn file.
    return JSON.parse(readFileSync(file, "utf8").replace(/(?<=[:\[,]\s*)(?:NaN|-?Infinity)(?=\s*[,\]}])/g, "null")) as Record<string, unknown>;
  } catch {
    return null; // torn or foreign: the builder decides
  }
}

/** Whether a built world's marker records exactly these parameters (so no builder needs to start). */
export function worldMatches(marker: Record<string, unknown> | null, world: WorldConfig): boolean {
  if (!marker) return false;
  return Object.entries(world).every(([key, value]) => canonicalJson(marker[key]) === canonicalJson(value));
}

/** The files a built world holds, by the names configs use. */
export function worldPaths(dir: string) {
  return {
    data: { root: join(dir, "data"), manifest: join(dir, "data", "manifest.jsonl"), truth: join(dir, "data", "truth.jsonl") },
    models: { "world-generator": join(dir, "models", "generator"), "world-align": join(dir, "models", "align") } as Record<string, string>,
    benchImages: join(dir, "bench", "images"),
    benches: { "world-pope": join(dir, "bench", "pope"), "world-seed": join(dir, "bench", "seed.json"), "world-mmbench": join(dir, "bench", "mmbench.tsv") } as Record<string, string>,
  };
}

/** The builtin names that need the world built (data, models, benchmarks). */
const WORLD_NAMES = new Set(["world", "world-generator", "world-align", "world-pope", "world-seed", "world-mmbench"]);

/** Whether a config names any world builtin, so its run starts with the pretrain stage. */
export function usesWorld(config: C3lConfig): boolean {
  const values = [config.data.root, config.generator.model_dir, config.finetune.enabled ? config.finetune.model_dir : null,
    ...Object.values(config.evaluate.benchmarks)];
  return values.some((v) => typeof v === "string" && WORLD_NAMES.has(builtinName(v) ?? ""));
}

export interface WorldBuildOptions {
  threads?: number;
  /** each progress line of the builder (its "world: " prefix removed) */
  onLine?: (line: string) => void;
}

/**
 * Runs the world builder (python -m c3l_worker.world build); it returns at once when the folder is
 * complete with equal parameters and resumes a killed build from its checkpoints in <dir>.work.
 */
export async function buildWorld(world: WorldConfig, options: WorldBuildOptions = {}): Promise<string> {
  const dir = worldDir(world);
  const release = await takeBuildLock(dir, options.onLine);
  try {
    return await runBuilder(world, dir, options);
  } finally {
    release();
  }
}

/**
 * Alive on this host, read as the run lock reads it (runs/lock.ts): a killed builder not yet reaped
 * (a zombie) is gone, so a resume right after a kill does not wait on it.
 */
function alive(pid: unknown): boolean {
  if (typeof pid !== "number" || pid <= 0) return false;
  return isProcessAlive(pid);
}

/**
 * <dir>.lock ({pid, builder}): one builder per world folder. Another run building the same world, or
 * the builder a killed run left behind (it goes on), is waited for; a lock whose processes are both
 * gone is stale and taken over. The builder then resumes from (or returns at once after) their work.
 */
async function takeBuildLock(dir: string, onLine?: (line: string) => void): Promise<() => void> {
  const lock = `${dir}.lock`;
  mkdirSync(dirname(lock), { recursive: true });
  let told = false;
  for (;;) {
    try {
      writeFileSync(lock, JSON.stringify({ pid: process.pid, builder: null }), { flag: "wx" });
      return () => rmSync(lock, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    let holder: { pid?: unknown; builder?: unknown } = {};
    try {
      holder = JSON.parse(readFileSync(lock, "utf8"));
    } catch {
      // being written: look again
    }
    if (!alive(holder.pid) && !alive(holder.builder)) {
      rmSync(lock, { force: true }); // stale: both gone
      continue;
    }
    if (!told) onLine?.(`waiting for another builder of this world (pid ${String(holder.builder ?? holder.pid)}) to finish`);
    told = true;
    await new Promise((r) => setTimeout(r, 2000));
  }
}

async function runBuilder(world: WorldConfig, dir: string, options: WorldBuildOptions): Promise<string> {
  const args = ["-m", "c3l_worker.world", "build", "--out", dir, "--params", JSON.stringify(world), "--replace-stale", "--threads", String(options.threads ?? 1), "--parent-pid", String(process.pid)];
  const child = execa(workerPython(), args, { env: { HF_HUB_OFFLINE: "1", OMP_NUM_THREADS: String(options.threads ?? 1) }, reject: false, buffer: { stdout: true, stderr: false } });
  writeFileSync(`${dir}.lock`, JSON.stringify({ pid: process.pid, builder: child.pid ?? null })); // others wait; a killed run's builder stops by itself (--parent-pid)
  const tail: string[] = [];
  let pending = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      if (line.startsWith("world: ")) options.onLine?.(line.slice("world: ".length));
    }
  });
  const result = await child;
  if (pending) tail.push(pending);
  if (result.exitCode !== 0) {
    const why = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.exitCode}`;
    throw new Error(`the world builder ${why} (python ${args.slice(0, 4).join(" ")} ${dir}); its last lines:\n${tail.join("\n")}`);
  }
  return dir;
}

/** Where a builtin data set lives once built (a report reads it without building anything); `config` picks the world. */
export function builtinDataLocation(name: string, config?: unknown): { root: string; manifest: string } | null {
  if (name === "smoke") return { root: SMOKE_DIR, manifest: join(SMOKE_DIR, "manifest.jsonl") };
  if (name === "world") {
    const { root, manifest } = worldPaths(worldDir(worldOf(config))).data;
    return { root, manifest };
  }
  return null;
}

/** Builtin data sets; the world's is built by the pretrain stage before any stage reads it. */
export const BUILTIN_DATA: Record<string, (config?: C3lConfig) => Promise<{ root: string; manifest: string }>> = {
  smoke: async () => {
    await buildSmoke();
    return builtinDataLocation("smoke")!;
  },
  world: async (config) => builtinDataLocation("world", config)!,
};

/** A world model: built here when missing (c3l eval), at once when the pretrain stage built it. */
async function worldModel(name: string, world: WorldConfig): Promise<string> {
  const dir = worldDir(world);
  if (!worldMatches(readWorldMarker(dir), world)) await buildWorld(world, { onLine: (line) => process.stderr.write(`world: ${line}\n`) });
  return worldPaths(dir).models[name]!;
}

export const BUILTIN_MODELS: Record<string, (config?: C3lConfig) => Promise<string>> = {
  "smoke-llava": async () => join(await buildSmoke(), "model"),
  "world-generator": (config) => worldModel("world-generator", worldOf(config)),
  "world-align": (config) => worldModel("world-align", worldOf(config)),
};

export function builtinName(value: string): string | null {
  return value.startsWith("builtin:") ? value.slice("builtin:".length) : null;
}

/** A map of evaluate.benchmarks with world builtins resolved, and the options they need unless the config sets them. */
export function resolveBenchmarks(config: C3lConfig): { benches: Record<string, string>; options: Record<string, string> } {
  const paths = worldPaths(worldDir(config.world));
  const benches: Record<string, string> = {};
  const implied: Record<string, string> = {};
  for (const [bench, value] of Object.entries(config.evaluate.benchmarks)) {
    const name = builtinName(value);
    if (!name) {
      benches[bench] = value;
      continue;
    }
    const path = paths.benches[name];
    if (!path) throw new Error(`evaluate.benchmarks.${bench}: unknown builtin ${value}`);
    benches[bench] = path;
    if (name !== "world-mmbench") implied[`${bench}.images`] = paths.benchImages; // MMBench carries its images inline
    // The world's models never saw LLaVA's short-answer suffix nor its letter prompt: SEED and MMBench
    // are scored by per-choice likelihood (MMBench still CircularEval, over rotations of its options).
    if (name === "world-pope") implied[`${bench}.suffix`] = "";
    if (name === "world-seed" || name === "world-mmbench") implied[`${bench}.protocol`] = "likelihood";
  }
  return { benches, options: { ...implied, ...config.evaluate.options } };
}
