// Assets a config can name as `builtin:NAME`, built by a worker (its build_smoke and build_world
// operations) into .cache/builtin/ and found there afterwards. smoke: 12 images and a tiny LLaVA.
// world: the embedded synthetic world (images with ground truth, benchmarks, two pretrained tiny
// LLaVAs), in a folder named by the hash of the config's `world` section. A run builds what its
// config names in its pretrain stage (stages/pretrain.ts); `c3l eval builtin:…` on its own worker.
// The folders' layout is the builders' (py-worker/c3l_worker/world/layout.json), read here.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { WORLD_LAYOUT } from "../config/builtin-names.js";
import { defaultConfig, type C3lConfig } from "../config/index.js";
import type { WorldConfig } from "../config/schema.js";
import type { BuildWorldReply } from "../protocol/index.js";
import { canonicalJson, getDotted } from "../runs/flatten.js";
import { isProcessAlive } from "../runs/lock.js";
import { PROJECT_ROOT } from "../worker/python.js";
import type { WorkerSession } from "../worker/session.js";

// C3L_BUILTIN_DIR moves it (a private world for one run, e.g. the chaos suite's real pretrain kills).
const CACHE = process.env.C3L_BUILTIN_DIR ? resolve(process.env.C3L_BUILTIN_DIR) : join(PROJECT_ROOT, ".cache", "builtin");
const SMOKE_DIR = join(CACHE, "smoke");
/** A build's length is the world's size (minutes to hours); a dead or frozen worker is noticed by its exit or heartbeats. */
const BUILD_TIMEOUT_MS = 24 * 3600_000;

/** .cache/builtin/world-<hash>/: one folder per distinct `world` section (and builder format), shared by every run that names it. */
export function worldDir(world: WorldConfig): string {
  const hash = createHash("sha256").update(canonicalJson({ layout: WORLD_LAYOUT.format, world })).digest("hex").slice(0, 12);
  return join(CACHE, `world-${hash}`);
}

/** The world section of a resolved config (or of a run's config.json, which may predate the section). */
export function worldOf(config: unknown): WorldConfig {
  const world = getDotted(config, "world");
  return world && typeof world === "object" ? (world as WorldConfig) : defaultConfig().world;
}

/** The finished world's marker (its parameters and build stats), or null while it is not built. */
export function readWorldMarker(dir: string): Record<string, unknown> | null {
  const file = join(dir, WORLD_LAYOUT.marker);
  if (!existsSync(file)) return null;
  try {
    // Python's json writes NaN/Infinity (a stat of an empty window): read them as null, not as a torn file.
    return JSON.parse(readFileSync(file, "utf8").replace(/(?<=[:\[,]\s*)(?:NaN|-?Infinity)(?=\s*[,\]}])/g, "null")) as Record<string, unknown>;
  } catch {
    return null; // torn or foreign: the builder decides
  }
}

/** Whether a built world's marker records exactly these parameters (so no build is needed). */
export function worldMatches(marker: Record<string, unknown> | null, world: WorldConfig): boolean {
  if (!marker) return false;
  return Object.entries(world).every(([key, value]) => canonicalJson(marker[key]) === canonicalJson(value));
}

/** The files a built world holds, by the names configs use (builtin:world-<name>). */
export function worldPaths(dir: string) {
  const at = (path: string) => join(dir, path);
  const named = (paths: Record<string, string>) => Object.fromEntries(Object.entries(paths).map(([name, path]) => [`world-${name}`, at(path)]));
  const data = WORLD_LAYOUT.splits.data;
  return {
    data: { root: at(data.root), manifest: at(data.manifest), truth: at(data.truth) },
    models: named(WORLD_LAYOUT.models),
    benchImages: at(WORLD_LAYOUT.splits.bench.images),
    benches: named(WORLD_LAYOUT.benchmarks),
  };
}

export function builtinName(value: string): string | null {
  return value.startsWith("builtin:") ? value.slice("builtin:".length) : null;
}

/** Which builds a set of config values (or command-line models) need. */
export interface BuiltinNeeds {
  smoke: boolean;
  world: boolean;
}

export function builtinNeeds(values: readonly (string | null | undefined)[]): BuiltinNeeds {
  const names = values.map((v) => (typeof v === "string" ? builtinName(v) : null)).filter((n): n is string => n !== null);
  return { smoke: names.some((n) => n === "smoke" || n === "smoke-llava"), world: names.some((n) => n === "world" || n.startsWith("world-")) };
}

/** The builtins a config names (its data, models and benchmarks). */
export function configNeeds(config: C3lConfig): BuiltinNeeds {
  return builtinNeeds([config.data.root, config.generator.model_dir, config.finetune.enabled || config.evaluate.model === "target" ? config.finetune.model_dir : null,
    ...Object.values(config.evaluate.benchmarks)]);
}

/** Whether a config names any builtin, so its run starts with the pretrain stage that builds them. */
export function usesBuiltins(config: C3lConfig): boolean {
  const needs = configNeeds(config);
  return needs.smoke || needs.world;
}

/** Where a builtin data set lives once built (a report reads it without building anything); `config` picks the world. */
export function builtinDataLocation(name: string, config?: unknown): { root: string; manifest: string } | null {
  if (name === "smoke") return { root: join(SMOKE_DIR, WORLD_LAYOUT.smoke.root), manifest: join(SMOKE_DIR, WORLD_LAYOUT.smoke.manifest) };
  if (name === "world") {
    const { root, manifest } = worldPaths(worldDir(worldOf(config))).data;
    return { root, manifest };
  }
  return null;
}

/** Where a builtin model lives once built, or null for an unknown name; `config` picks the world. */
export function builtinModelDir(name: string, config?: unknown): string | null {
  if (name === "smoke-llava") return join(SMOKE_DIR, WORLD_LAYOUT.smoke.model);
  return worldPaths(worldDir(worldOf(config))).models[name] ?? null;
}

export interface BuildOptions {
  /** each progress line of a build */
  onLine?: (line: string) => void;
}

/** What buildBuiltins built or found: whether each was complete already (cached), and the world's marker. */
export interface BuiltAssets {
  smoke?: { dir: string; cached: boolean };
  world?: { dir: string; cached: boolean; marker: BuildWorldReply["marker"] };
}

/**
 * Builds what `needs` asks for on the session's worker; a finished folder with equal parameters is
 * found at once, a killed world build resumes from its checkpoints in <dir>.work. A worker that dies
 * meanwhile is restarted and the build asked again (worker.max_attempts tries).
 */
export async function buildBuiltins(needs: BuiltinNeeds, world: WorldConfig, session: WorkerSession, options: BuildOptions = {}): Promise<BuiltAssets> {
  const built: BuiltAssets = {};
  const onProgress = options.onLine;
  if (needs.smoke) {
    const reply = await session.retryingDeadWorkers("building builtin:smoke", () =>
      session.request("build_smoke", { out_dir: SMOKE_DIR, replace_stale: true }, BUILD_TIMEOUT_MS, { onProgress }));
    built.smoke = { dir: reply.dir, cached: reply.already_built };
  }
  if (needs.world) {
    const dir = worldDir(world);
    const release = await takeBuildLock(dir, session, options.onLine);
    try {
      const reply = await session.retryingDeadWorkers("building the world", async () => {
        writeFileSync(`${dir}.lock`, JSON.stringify({ pid: process.pid, builder: session.pid ?? null })); // the worker restarted: others wait on the new one
        return session.request("build_world", { out_dir: dir, params: world as unknown as Record<string, unknown>, replace_stale: true }, BUILD_TIMEOUT_MS, { onProgress });
      });
      built.world = { dir: reply.dir, cached: reply.already_built, marker: reply.marker };
    } finally {
      release();
    }
  }
  return built;
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
 * <dir>.lock ({pid, builder}: the orchestrator and the worker building): one build per world folder.
 * Another run building the same world, or a killed run's worker still going, is waited for; a lock
 * whose processes are both gone is stale and taken over. The build then resumes from (or returns at
 * once after) their work.
 */
async function takeBuildLock(dir: string, session: WorkerSession, onLine?: (line: string) => void): Promise<() => void> {
  const lock = `${dir}.lock`;
  mkdirSync(dirname(lock), { recursive: true });
  let told = false;
  for (;;) {
    try {
      writeFileSync(lock, JSON.stringify({ pid: process.pid, builder: session.pid ?? null }), { flag: "wx" });
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
