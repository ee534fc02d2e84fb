// A model named in a config or on the command line, made a folder: `builtin:NAME` is where the
// builtin lives once built (a run's pretrain stage, or `c3l eval`, builds it first); anything else
// must be a local transformers checkpoint of a supported family (model-check.ts).
import { resolve } from "node:path";
import { ConfigError } from "../config/errors.js";
import type { C3lConfig } from "../config/index.js";
import { BUILTIN_NAMES } from "../config/builtin-names.js";
import { builtinModelDir, builtinName } from "./builtins.js";
import { checkModelFolder } from "./model-check.js";

/** The folder `value` names, unchecked; an unknown builtin is a usage error naming `key` (a config's were checked when it was read). */
export function modelLocation(value: string, key: string, config?: C3lConfig): string {
  const builtin = builtinName(value);
  if (builtin === null) return resolve(value);
  const dir = builtinModelDir(builtin, config);
  if (dir === null) throw new ConfigError([`${key}: unknown builtin ${JSON.stringify(value)}; known: ${BUILTIN_NAMES.models.map((n) => `builtin:${n}`).join(", ")}`]);
  return dir;
}

/** `key` names where the value came from in errors (e.g. "generator.model_dir"); `config` picks a builtin's world. */
export function resolveModelDir(value: string, key: string, config?: C3lConfig): string {
  const dir = modelLocation(value, key, config);
  checkModelFolder(dir, key);
  return dir;
}

/** The models a run of `config` loads, with the keys that name them: the generator, and finetune's target when it is needed. */
export function configModels(config: C3lConfig): { value: string; key: string }[] {
  const models = [{ value: config.generator.model_dir, key: "generator.model_dir" }];
  // The target is also needed untuned when evaluate.model is "target" (its start, measured alone).
  const target = config.finetune.enabled || config.evaluate.model === "target" ? config.finetune.model_dir : null;
  if (target) models.push({ value: target, key: "finetune.model_dir" });
  return models;
}

/** Checks the config's models that are not builtins (those are built, and checked, by the run): exit 4 naming a bad one. */
export function checkOwnModels(config: C3lConfig): void {
  for (const { value, key } of configModels(config)) if (builtinName(value) === null) resolveModelDir(value, key, config);
}
