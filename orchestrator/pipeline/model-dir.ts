// A model named in a config or on the command line, made a folder: `builtin:NAME` is built (into .cache)
// on first use; anything else must be a folder holding config.json (a local transformers checkpoint).
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { ConfigError } from "../config/errors.js";
import type { C3lConfig } from "../config/index.js";
import { BUILTIN_MODELS, builtinName } from "./builtins.js";
import { InputError } from "./errors.js";

/** `key` names where the value came from in errors (e.g. "generator.model_dir"); `config` picks a builtin's world. */
export async function resolveModelDir(value: string, key: string, config?: C3lConfig): Promise<string> {
  const builtin = builtinName(value);
  let dir = resolve(value);
  if (builtin !== null) {
    const build = BUILTIN_MODELS[builtin];
    // a config's builtins were checked when it was read; a command line's are checked here (exit 2, as in a config)
    if (!build) throw new ConfigError([`${key}: unknown builtin ${JSON.stringify(value)}; known: ${Object.keys(BUILTIN_MODELS).map((n) => `builtin:${n}`).join(", ")}`]);
    dir = await build(config);
  }
  if (!existsSync(join(dir, "config.json"))) {
    throw new InputError(`${key}: model folder ${dir} holds no config.json (a local transformers checkpoint folder is expected)`);
  }
  return dir;
}
