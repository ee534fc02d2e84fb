// The config, from a YAML file and command-line overrides to a typed, validated, absolute C3lConfig:
// read → overrides → defaults → shape → cross-field rules → paths resolved → files that must exist.
import { dirname, resolve } from "node:path";
import { stringify } from "yaml";
import { loadConfigFile } from "./load.js";
import { isMapping, resolvePaths, withDefaults } from "./normalize.js";
import { applyOverrides } from "./overrides.js";
import type { C3lConfig } from "./schema.js";
import { validateFiles, validateRules, validateShape } from "./validate.js";

export { ConfigError } from "./errors.js";
export { expandSweep } from "./sweep.js";
export { applyOverrides, parseOverride, parseValue, type Override } from "./overrides.js";
export { defaultConfig } from "./normalize.js";
export { BUILTIN_PREFIX, BUILTINS, SCHEMA, type C3lConfig, type Dtype, type LoraConfig } from "./schema.js";

/** A usable config and no problems, or no config and every problem found. */
export type Resolved = { config: C3lConfig; problems: [] } | { config: null; problems: string[] };

export interface ResolveOptions {
  /** runs_dir resolves against it; default process.cwd(). */
  cwd?: string;
  /** Check that data folders, the manifest and the model folder exist; default true. */
  checkFiles?: boolean;
}

/** Reads, overrides, validates and normalizes a config file. Never throws for a bad config: see `problems`. */
export function resolveConfig(file: string, overrides: readonly string[] = [], options: ResolveOptions = {}): Resolved {
  const path = resolve(options.cwd ?? process.cwd(), file);
  const loaded = loadConfigFile(path, file);
  if (loaded.problems.length > 0) return { config: null, problems: loaded.problems };
  return resolveDocument(loaded.doc, { ...options, configDir: dirname(path), overrides });
}

/**
 * The same for an already parsed document (e.g. a run folder's config.json): relative
 * data.root and generator.model_dir resolve against `configDir`.
 */
export function resolveDocument(doc: unknown, options: ResolveOptions & { configDir: string; overrides?: readonly string[] }): Resolved {
  const cwd = options.cwd ?? process.cwd();
  const overridden = applyOverrides(doc, options.overrides ?? []);
  const filled = withDefaults(overridden.doc);
  const problems = [...overridden.problems, ...validateShape(filled), ...validateRules(filled, resolve(cwd, options.configDir))];
  if (!isMapping(filled)) return { config: null, problems };
  const resolved = resolvePaths(filled, { configDir: resolve(cwd, options.configDir), cwd });
  if (options.checkFiles ?? true) problems.push(...validateFiles(resolved));
  return problems.length > 0 ? { config: null, problems } : { config: resolved as unknown as C3lConfig, problems: [] };
}

/** The resolved config as YAML, keys in schema order (what `c3l config` prints and a run folder stores). */
export function configToYaml(config: C3lConfig): string {
  return stringify(config, { lineWidth: 0 });
}

export function configToJson(config: C3lConfig): string {
  return `${JSON.stringify(config, null, 2)}\n`;
}
