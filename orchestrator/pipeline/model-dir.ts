// A model named in a config or on the command line, made a folder: `builtin:NAME` is where the
// builtin lives once built (a run's pretrain stage, or `c3l eval`, builds it first); anything else
// must be a folder holding config.json (a local transformers checkpoint).
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { ConfigError } from "../config/errors.js";
import type { C3lConfig } from "../config/index.js";
import { BUILTIN_MODEL_NAMES, builtinModelDir, builtinName } from "./builtins.js";
import { InputError } from "./errors.js";

/** The folder `value` names, unchecked; an unknown builtin is a usage error naming `key` (a config's were checked when it was read). */
export function modelLocation(value: string, key: string, config?: C3lConfig): string {
  const builtin = builtinName(value);
  if (builtin === null) return resolve(value);
  const dir = builtinModelDir(builtin, config);
  if (dir === null) throw new ConfigError([`${key}: unknown builtin ${JSON.stringify(value)}; known: ${BUILTIN_MODEL_NAMES.map((n) => `builtin:${n}`).join(", ")}`]);
  return dir;
}

/** `key` names where the value came from in errors (e.g. "generator.model_dir"); `config` picks a builtin's world. */
export function resolveModelDir(value: string, key: string, config?: C3lConfig): string {
  const dir = modelLocation(value, key, config);
  if (!existsSync(join(dir, "config.json"))) {
    throw new InputError(`${key}: model folder ${dir} holds no config.json (a local transformers checkpoint folder is expected)`);
  }
  return dir;
}
