// Starting and resuming runs: assets and inputs are resolved and checked BEFORE a run folder or a
// model exists, then the worker starts and the stages run. A run whose inputs are built by a setup
// stage (pretrain: the embedded world) starts its folder and workers first, runs the setup stages,
// and only then resolves its inputs. Resume refuses changed inputs or config.
import { existsSync, readFileSync, rmSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { join, resolve } from "node:path";
import { ConfigError, configToJson, configToYaml, defaultConfig, resolveConfig, type C3lConfig } from "../config/index.js";
import { writeJsonAtomic } from "../runs/atomic.js";
import { RunArgumentError } from "../runs/errors.js";
import { diffConfig } from "../runs/flatten.js";
import { diffInputs, hashInput, type InputSpec } from "../runs/inputs.js";
import { buildManifest } from "../runs/manifest.js";
import { repairBookkeeping } from "../runs/repair.js";
import { createRun, openRun, type RunFolder } from "../runs/run-folder.js";
import type { RunSummary } from "../runs/summary.js";
import type { WorkerOptions } from "../worker/index.js";
import type { HelloReply } from "../protocol/index.js";
import { builtinDataLocation, builtinName } from "./builtins.js";
import { resolveImages, type DataSource } from "./inputs.js";
import { checkOwnModels, configModels, resolveModelDir } from "./model-dir.js";
import { checkFinishedStages, runSetupStages, runStages, setupSpecs } from "./runner.js";
import { poolFromConfig } from "../worker/from-config.js";
import type { WorkerPool } from "../worker/pool.js";
import { stopOnSignals } from "./stop-signals.js";
import { stageSpecs, type StageSpec } from "./stages/index.js";

export interface LaunchOptions {
  argv: string[];
  log: (line: string) => void;
  /** Test hook: worker options such as a fixture command. */
  worker?: Partial<WorkerOptions>;
  /** resume only: run this stage and every later one again */
  redo?: string | null;
}

/** Where the run came from, so resume can tell whether the config file changed since. */
interface RunSource {
  config_file: string;
  overrides: string[];
}

interface Assets {
  source: DataSource;
  modelDir: string;
  /** finetune's target model; the base generator when finetune.model_dir is null. */
  targetModelDir: string;
}

/** The config's data and models as files; builtins were built by the pretrain stage. */
function resolveAssets(config: C3lConfig): Assets {
  const dataBuiltin = builtinName(config.data.root);
  const source: DataSource = dataBuiltin
    ? { ...builtinDataLocation(dataBuiltin, config)!, images: null, limit: config.data.limit }
    : { root: config.data.root, images: config.data.images, manifest: config.data.manifest, limit: config.data.limit };
  const [generator, target] = configModels(config).map(({ value, key }) => resolveModelDir(value, key, config));
  return { source, modelDir: generator!, targetModelDir: target ?? generator! };
}

/**
 * What a run whose setup stages build its builtins can check before its folder exists: the data and
 * models that are not builtins. Unusable ones stop it here (exit 4), leaving no run behind.
 */
async function checkOwnInputs(config: C3lConfig): Promise<void> {
  checkOwnModels(config);
  if (builtinName(config.data.root) === null) {
    await resolveImages({ root: config.data.root, images: config.data.images, manifest: config.data.manifest, limit: config.data.limit });
  }
}

function inputSpecs(assets: Assets): Record<string, InputSpec> {
  // resolve, not join: the manifest or image folder may already be absolute.
  const data = resolve(assets.source.root, assets.source.manifest ?? assets.source.images ?? ".");
  const specs: Record<string, InputSpec> = { data: { path: data, kind: "data" }, model: { path: assets.modelDir, kind: "model" } };
  if (assets.targetModelDir !== assets.modelDir) specs.target_model = { path: assets.targetModelDir, kind: "model" };
  return specs;
}

export async function startRun(configFile: string, overrides: string[], name: string | null, options: LaunchOptions): Promise<{ run: RunFolder; summary: RunSummary }> {
  const resolved = resolveConfig(configFile, overrides);
  if (!resolved.config) throw new ConfigError(resolved.problems, configFile);
  const config = resolved.config;
  const manifestFor = (specs: Record<string, InputSpec>) => buildManifest({ argv: options.argv, config: JSON.parse(configToJson(config)), seed: config.seed, device: config.generator.device, inputs: specs });
  const create = (specs: Record<string, InputSpec>) => createRun(config.runs_dir, { name, configYaml: configToYaml(config), configJson: JSON.parse(configToJson(config)), manifest: manifestFor(specs) });
  // A run whose inputs a setup stage builds (builtins) gets its folder and workers first; the rest of its inputs are checked before.
  const builds = setupSpecs(config).length > 0;
  if (builds) await checkOwnInputs(config);
  const early = builds ? create({}) : null;
  if (early) {
    writeJsonAtomic(join(early.dir, "source.json"), { config_file: configFile, overrides } satisfies RunSource);
    options.log(`run ${early.id} in ${early.dir}`);
    const pool = await setUp(early, config, options);
    const { assets, inputs } = await orStop(early, pool, async () => {
      const assets = resolveAssets(config);
      const inputs = await resolveImages(assets.source);
      recordInputs(early, inputSpecs(assets));
      return { assets, inputs };
    });
    return { run: early, summary: await execute(early, config, assets, inputs, options, pool) };
  }
  const assets = resolveAssets(config);
  const inputs = await resolveImages(assets.source); // whole-input problems stop here, before any run exists
  const run = create(inputSpecs(assets));
  writeJsonAtomic(join(run.dir, "source.json"), { config_file: configFile, overrides } satisfies RunSource);
  options.log(`run ${run.id} in ${run.dir}`);
  return { run, summary: await execute(run, config, assets, inputs, options) };
}

export async function resumeRun(ref: string, runsDir: string | null, force: boolean, options: LaunchOptions): Promise<{ run: RunFolder; summary: RunSummary }> {
  const run = openRun(runsDir, ref);
  run.lock();
  stopOnSignals(run, options.log); // released when the run ends (execute), or with the process
  const config = runConfig(run, options.log);
  repairBookkeeping(run, options.log);
  const redo = options.redo ? stagesFrom(run, config, options.redo) : null; // a bad --redo is refused before anything runs
  const changes = [...handEdits(run, config), ...configChanges(run, config)];
  if (!force) refuseChanges(run, changes); // before any worker starts
  checkFinishedStages(run, config, redo?.map((s) => s.name) ?? []); // so is a damaged finished stage (one --redo runs again aside)
  const pool = setupSpecs(config).length > 0 ? await setUp(run, config, options) : null; // continues a killed build
  const assets = await orStop(run, pool, async () => {
    const assets = resolveAssets(config);
    const now = Object.fromEntries(Object.entries(inputSpecs(assets)).map(([k, spec]) => [k, hashInput(spec)]));
    // Killed inside pretrain: the inputs did not exist when the run began, so they are recorded now.
    if (Object.keys(run.manifest().inputs).length === 0) recordInputs(run, inputSpecs(assets));
    changes.push(...diffInputs(run.manifest().inputs, now).map((line) => `input ${line}`));
    if (!force) refuseChanges(run, changes);
    return assets;
  });
  if (changes.length > 0) {
    const list = changes.map((c) => `  ${c}`).join("\n");
    options.log(`resuming ${run.id} despite changes (--force):\n${list}`);
    run.events.append({ type: "warning", message: "resumed with --force despite changes", changes });
  }
  const inputs = await orStop(run, pool, async () => {
    if (redo) forgetStages(run, redo, options.log); // after the refusals above: nothing is deleted for a resume that does not happen
    return resolveImages(assets.source);
  });
  options.log(`resuming run ${run.id}`);
  return { run, summary: await execute(run, config, assets, inputs, options, pool) };
}

/** Refuses to resume a run whose inputs or config changed since it began (--force resumes anyway). */
function refuseChanges(run: RunFolder, changes: string[]): void {
  if (changes.length === 0) return;
  const list = changes.map((c) => `  ${c}`).join("\n");
  throw new RunArgumentError(`run ${run.id} cannot resume: its inputs or config changed since it began:\n${list}\n(--force resumes anyway, with the run's own config)`);
}

/** config.json, the config the run was created with; a damaged one is re-derived from config.yaml (the same config as YAML). */
function runConfig(run: RunFolder, log: (line: string) => void): C3lConfig {
  try {
    return run.config<C3lConfig>();
  } catch (err) {
    const fromYaml = readYamlConfig(run);
    if (!fromYaml) throw new RunArgumentError(`run ${run.id} cannot resume: ${(err as Error).message}, and ${run.paths.config_yaml} cannot stand in for it`);
    writeJsonAtomic(run.paths.config_json, fromYaml);
    const message = `${run.paths.config_json} was damaged (${(err as Error).message}); rebuilt from ${run.paths.config_yaml}`;
    log(`warning: ${message}`);
    run.events.append({ type: "warning", message });
    return fromYaml as unknown as C3lConfig;
  }
}

function readYamlConfig(run: RunFolder): Record<string, unknown> | null {
  try {
    const value: unknown = parseYaml(readFileSync(run.paths.config_yaml, "utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** config.yaml is a copy for people to read: an edit there would be silently ignored (config.json rules), so it is named as a change. */
function handEdits(run: RunFolder, config: C3lConfig): string[] {
  const yaml = readYamlConfig(run);
  if (!yaml) return [`${run.paths.config_yaml} no longer parses as a config (it is a copy for reading; the run uses config.json)`];
  return diffConfig(config, yaml).map((line) =>
    `${run.paths.config_yaml} edited by hand: ${line} (the run uses config.json; to run other settings, start a new run: c3l run ${run.paths.config_yaml})`);
}

/** `stage` and every stage after it, for --redo. */
function stagesFrom(run: RunFolder, config: C3lConfig, stage: string): StageSpec[] {
  const specs = stageSpecs(config);
  const from = specs.findIndex((s) => s.name === stage);
  if (from < 0) throw new RunArgumentError(`--redo ${stage}: not a stage of run ${run.id} (its stages: ${specs.map((s) => s.name).join(", ")})`);
  return specs.slice(from);
}

/** Forgets these stages: their state files and outputs go, so they run again. */
function forgetStages(run: RunFolder, specs: StageSpec[], log: (line: string) => void): void {
  for (const spec of specs) {
    for (const output of spec.outputs) rmSync(join(run.dir, output), { recursive: true, force: true });
    rmSync(run.statePath(spec.name), { force: true });
  }
  const names = specs.map((s) => s.name);
  run.updateSummary({ status: "running", ...(names.includes("filter") ? { final: null } : {}) });
  run.events.append({ type: "warning", message: `redo: ${names.join(", ")} will run again` });
  log(`redo: ${names.join(", ")} will run again`);
}

/** Starts the workers and runs the setup stages (pretrain); on failure the workers stop and the run is unlocked, so `c3l resume` can continue it. */
async function setUp(run: RunFolder, config: C3lConfig, options: LaunchOptions): Promise<WorkerPool> {
  const pool = await startPool(run, config, options);
  await orStop(run, pool, () => runSetupStages({ config, run, pool, log: options.log }));
  return pool;
}

/** Runs `step`; if it throws, stops the started workers (if any) and unlocks the run before passing the error on. */
async function orStop<T>(run: RunFolder, pool: WorkerPool | null, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    await pool?.stop();
    run.unlock();
    throw err;
  }
}

/** The config's workers, started, with their versions recorded in the manifest; a signal meanwhile stops the run. */
async function startPool(run: RunFolder, config: C3lConfig, options: LaunchOptions): Promise<WorkerPool> {
  const pool = poolFromConfig({ config, workerLog: run.paths.worker_log, log: options.log, worker: options.worker });
  stopOnSignals(run, options.log);
  await orStop(run, pool, () => pool.start());
  recordWorkerVersions(run, pool.lead.hello, options.log);
  return pool;
}

/** manifest.json's input fingerprints, for a run whose inputs were built after it began. */
function recordInputs(run: RunFolder, specs: Record<string, InputSpec>): void {
  writeJsonAtomic(run.paths.manifest, { ...run.manifest(), inputs: Object.fromEntries(Object.entries(specs).map(([k, spec]) => [k, hashInput(spec)])) });
}

/**
 * manifest.json's python/torch/transformers versions come from the worker's handshake, known only
 * once a worker runs: filled in at the first start; a resume on other versions is logged as a warning.
 */
function recordWorkerVersions(run: RunFolder, hello: HelloReply | null, log: (line: string) => void): void {
  if (!hello) return;
  const manifest = run.manifest();
  const now = { python: hello.python_version, torch: hello.torch_version, transformers: hello.transformers_version, worker: hello.worker_version, protocol: hello.protocol_version };
  if (manifest.worker === null || Object.values(manifest.versions).includes(null)) {
    writeJsonAtomic(run.paths.manifest, { ...manifest, versions: { ...manifest.versions, ...now }, worker: manifest.worker ?? hello });
    return;
  }
  const changed = (Object.keys(now) as (keyof typeof now)[]).filter((k) => manifest.versions[k] !== now[k]).map((k) => `${k} ${manifest.versions[k]} → ${now[k]}`);
  if (changed.length > 0) {
    const message = `resumed on other worker versions than the run began with: ${changed.join(", ")}`;
    log(`warning: ${message}`);
    run.events.append({ type: "warning", message });
  }
}

/** The config file (with the run's overrides) re-resolved and compared with the run's config. */
function configChanges(run: RunFolder, config: C3lConfig): string[] {
  const sourcePath = join(run.dir, "source.json");
  if (!existsSync(sourcePath)) return [];
  const source = JSON.parse(readFileSync(sourcePath, "utf8")) as RunSource;
  if (!existsSync(source.config_file)) return [];
  const again = resolveConfig(source.config_file, source.overrides);
  if (!again.config) return [`config ${source.config_file} no longer validates: ${again.problems[0]}`];
  // A key added to c3l after the run began is not a change while the config file leaves it at its default.
  const asBegun = withAbsentDefaults(config, JSON.parse(configToJson(defaultConfig())));
  return diffConfig(asBegun, JSON.parse(configToJson(again.config))).map((line) => `config ${line}`);
}

/** `config` with every key it lacks (and `defaults` has) filled in from `defaults`; sections it set to null stay null. */
function withAbsentDefaults(config: unknown, defaults: unknown): unknown {
  const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isMap(config) || !isMap(defaults)) return config;
  const out: Record<string, unknown> = { ...config };
  for (const [key, value] of Object.entries(defaults)) out[key] = key in config ? withAbsentDefaults(config[key], value) : value;
  return out;
}

/** Runs the stages on the workers (started here unless the setup stages started them), then stops them and unlocks the run. */
async function execute(run: RunFolder, config: C3lConfig, assets: Assets, inputs: Awaited<ReturnType<typeof resolveImages>>, options: LaunchOptions, started: WorkerPool | null = null): Promise<RunSummary> {
  for (const skipped of inputs.skipped) {
    options.log(`skipped input ${skipped.id}: ${skipped.reason}`);
    run.events.append({ type: "warning", message: `skipped input ${skipped.id}: ${skipped.reason}` });
  }
  const release = stopOnSignals(run, options.log);
  let pool: WorkerPool | null = started;
  try {
    pool ??= await startPool(run, config, options);
    return await runStages({ config, run, baseModelDir: assets.modelDir, targetModelDir: assets.targetModelDir, images: inputs.images, skippedInputs: inputs.skipped, pool, log: options.log });
  } finally {
    release();
    await pool?.stop();
    run.unlock();
  }
}
