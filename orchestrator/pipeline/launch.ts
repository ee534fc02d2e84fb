// Starting and resuming runs: assets and inputs are resolved and checked BEFORE a run folder or a
// model exists, then the worker starts and the stages run. Resume refuses changed inputs or config.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ConfigError, configToJson, configToYaml, resolveConfig, type C3lConfig } from "../config/index.js";
import { writeJsonAtomic } from "../runs/atomic.js";
import { RunArgumentError } from "../runs/errors.js";
import { diffConfig } from "../runs/flatten.js";
import { diffInputs, hashInput, type InputSpec } from "../runs/inputs.js";
import { buildManifest } from "../runs/manifest.js";
import { createRun, openRun, type RunFolder } from "../runs/run-folder.js";
import type { RunSummary } from "../runs/summary.js";
import type { WorkerOptions } from "../worker/index.js";
import { BUILTIN_DATA, BUILTIN_MODELS, builtinName, usesWorld } from "./builtins.js";
import { InputError } from "./errors.js";
import { resolveImages, type DataSource } from "./inputs.js";
import { runStages } from "./runner.js";
import { runPretrain } from "./stages/pretrain.js";
import { poolFromConfig } from "./pool-config.js";

export interface LaunchOptions {
  argv: string[];
  log: (line: string) => void;
  /** Test hook: worker options such as a fixture command. */
  worker?: Partial<WorkerOptions>;
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

async function resolveModel(value: string, key: string, config: C3lConfig): Promise<string> {
  const builtin = builtinName(value);
  const dir = builtin ? await BUILTIN_MODELS[builtin]!(config) : value;
  if (!existsSync(join(dir, "config.json"))) {
    throw new InputError(`${key}: ${dir} holds no config.json (a local transformers checkpoint folder is expected)`);
  }
  return dir;
}

async function resolveAssets(config: C3lConfig): Promise<Assets> {
  const dataBuiltin = builtinName(config.data.root);
  const source: DataSource = dataBuiltin
    ? { ...(await BUILTIN_DATA[dataBuiltin]!(config)), images: null, limit: config.data.limit }
    : { root: config.data.root, images: config.data.images, manifest: config.data.manifest, limit: config.data.limit };
  const modelDir = await resolveModel(config.generator.model_dir, "generator.model_dir", config);
  const target = config.finetune.enabled ? config.finetune.model_dir : null;
  const targetModelDir = target ? await resolveModel(target, "finetune.model_dir", config) : modelDir;
  return { source, modelDir, targetModelDir };
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
  // A world run's inputs are built by its pretrain stage, so its folder comes first (see stages/pretrain.ts).
  const early = usesWorld(config) ? create({}) : null;
  if (early) {
    writeJsonAtomic(join(early.dir, "source.json"), { config_file: configFile, overrides } satisfies RunSource);
    options.log(`run ${early.id} in ${early.dir}`);
    await pretrainOrUnlock(early, config, options.log);
  }
  const assets = await resolveAssets(config);
  const inputs = await resolveImages(assets.source); // whole-input problems stop here, before any run exists (world runs aside)
  if (early) recordInputs(early, inputSpecs(assets));
  const run = early ?? create(inputSpecs(assets));
  writeJsonAtomic(join(run.dir, "source.json"), { config_file: configFile, overrides } satisfies RunSource);
  if (!early) options.log(`run ${run.id} in ${run.dir}`);
  return { run, summary: await execute(run, config, assets, inputs, options) };
}

export async function resumeRun(ref: string, runsDir: string | null, force: boolean, options: LaunchOptions): Promise<{ run: RunFolder; summary: RunSummary }> {
  const run = openRun(runsDir, ref);
  run.lock();
  const config = run.config<C3lConfig>();
  const changes = configChanges(run, config);
  if (usesWorld(config) && (changes.length === 0 || force)) await pretrainOrUnlock(run, config, options.log); // continues a killed build
  const assets = await resolveAssets(config);
  const now = Object.fromEntries(Object.entries(inputSpecs(assets)).map(([k, spec]) => [k, hashInput(spec)]));
  // Killed inside pretrain: the inputs did not exist when the run began, so they are recorded now.
  if (Object.keys(run.manifest().inputs).length === 0) recordInputs(run, inputSpecs(assets));
  changes.push(...diffInputs(run.manifest().inputs, now).map((line) => `input ${line}`));
  if (changes.length > 0) {
    const list = changes.map((c) => `  ${c}`).join("\n");
    if (!force) throw new RunArgumentError(`run ${run.id} cannot resume: its inputs or config changed since it began:\n${list}\n(--force resumes anyway, with the run's own config)`);
    options.log(`resuming ${run.id} despite changes (--force):\n${list}`);
    run.events.append({ type: "warning", message: "resumed with --force despite changes", changes });
  }
  const inputs = await resolveImages(assets.source);
  options.log(`resuming run ${run.id}`);
  return { run, summary: await execute(run, config, assets, inputs, options) };
}

/** The pretrain stage; a failed build releases the run's lock, so `c3l resume` can continue it. */
async function pretrainOrUnlock(run: RunFolder, config: C3lConfig, log: (line: string) => void): Promise<void> {
  try {
    await runPretrain(run, config, log);
  } catch (err) {
    run.unlock();
    throw err;
  }
}

/** manifest.json's input fingerprints, for a run whose inputs were built after it began. */
function recordInputs(run: RunFolder, specs: Record<string, InputSpec>): void {
  writeJsonAtomic(run.paths.manifest, { ...run.manifest(), inputs: Object.fromEntries(Object.entries(specs).map(([k, spec]) => [k, hashInput(spec)])) });
}

/** The config file (with the run's overrides) re-resolved and compared with the run's config. */
function configChanges(run: RunFolder, config: C3lConfig): string[] {
  const sourcePath = join(run.dir, "source.json");
  if (!existsSync(sourcePath)) return [];
  const source = JSON.parse(readFileSync(sourcePath, "utf8")) as RunSource;
  if (!existsSync(source.config_file)) return [];
  const again = resolveConfig(source.config_file, source.overrides);
  if (!again.config) return [`config ${source.config_file} no longer validates: ${again.problems[0]}`];
  return diffConfig(config, JSON.parse(configToJson(again.config))).map((line) => `config ${line}`);
}

async function execute(run: RunFolder, config: C3lConfig, assets: Assets, inputs: Awaited<ReturnType<typeof resolveImages>>, options: LaunchOptions): Promise<RunSummary> {
  for (const skipped of inputs.skipped) {
    options.log(`skipped input ${skipped.id}: ${skipped.reason}`);
    run.events.append({ type: "warning", message: `skipped input ${skipped.id}: ${skipped.reason}` });
  }
  const pool = poolFromConfig({ config, workerLog: run.paths.worker_log, log: options.log, worker: options.worker });
  try {
    await pool.start();
    return await runStages({ config, run, baseModelDir: assets.modelDir, targetModelDir: assets.targetModelDir, images: inputs.images, skippedInputs: inputs.skipped, pool, log: options.log });
  } finally {
    await pool.stop();
    run.unlock();
  }
}
