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
import { BUILTIN_DATA, BUILTIN_MODELS, builtinName } from "./builtins.js";
import { InputError } from "./errors.js";
import { resolveImages, type DataSource } from "./inputs.js";
import { runStages } from "./runner.js";
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

async function resolveModel(value: string, key: string): Promise<string> {
  const builtin = builtinName(value);
  const dir = builtin ? await BUILTIN_MODELS[builtin]!() : value;
  if (!existsSync(join(dir, "config.json"))) {
    throw new InputError(`${key}: ${dir} holds no config.json (a local transformers checkpoint folder is expected)`);
  }
  return dir;
}

async function resolveAssets(config: C3lConfig): Promise<Assets> {
  const dataBuiltin = builtinName(config.data.root);
  const source: DataSource = dataBuiltin
    ? { ...(await BUILTIN_DATA[dataBuiltin]!()), images: null, limit: config.data.limit }
    : { root: config.data.root, images: config.data.images, manifest: config.data.manifest, limit: config.data.limit };
  const modelDir = await resolveModel(config.generator.model_dir, "generator.model_dir");
  const target = config.finetune.enabled ? config.finetune.model_dir : null;
  const targetModelDir = target ? await resolveModel(target, "finetune.model_dir") : modelDir;
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
  const assets = await resolveAssets(config);
  const inputs = await resolveImages(assets.source); // whole-input problems stop here, before any run exists
  const manifest = buildManifest({ argv: options.argv, config: JSON.parse(configToJson(config)), seed: config.seed, device: config.generator.device, inputs: inputSpecs(assets) });
  const run = createRun(config.runs_dir, { name, configYaml: configToYaml(config), configJson: JSON.parse(configToJson(config)), manifest });
  writeJsonAtomic(join(run.dir, "source.json"), { config_file: configFile, overrides } satisfies RunSource);
  options.log(`run ${run.id} in ${run.dir}`);
  return { run, summary: await execute(run, config, assets, inputs, options) };
}

export async function resumeRun(ref: string, runsDir: string | null, force: boolean, options: LaunchOptions): Promise<{ run: RunFolder; summary: RunSummary }> {
  const run = openRun(runsDir, ref);
  run.lock();
  const config = run.config<C3lConfig>();
  const changes = configChanges(run, config);
  const assets = await resolveAssets(config);
  const now = Object.fromEntries(Object.entries(inputSpecs(assets)).map(([k, spec]) => [k, hashInput(spec)]));
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
