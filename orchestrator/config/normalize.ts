// Defaults filled in from the schema, and relative paths made absolute. Tolerant of invalid input:
// whatever does not fit the schema is kept as it is, for validate.ts to report.
import { isAbsolute, resolve } from "node:path";
import { BUILTIN_PREFIX, SCHEMA, type C3lConfig, type Field, type Fields, type PathBase } from "./schema.js";

export type Mapping = Record<string, unknown>;

export function isMapping(value: unknown): value is Mapping {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A deep copy of `doc` with every missing schema key at its default (schema keys first, in schema order; unknown keys kept after them). */
export function withDefaults(doc: unknown): unknown {
  return isMapping(doc) ? fillSection(SCHEMA, doc, []) : doc;
}

/** The all-defaults config. */
export function defaultConfig(): C3lConfig {
  return withDefaults({}) as C3lConfig;
}

function fillSection(fields: Fields, given: Mapping, exactlyOne: readonly (readonly string[])[]): Mapping {
  const out: Mapping = {};
  // When one key of an exactly-one group is given a value, the others default to null.
  const nulled = new Set(exactlyOne.filter((group) => group.some((k) => given[k] != null)).flat());
  for (const [key, field] of Object.entries(fields)) {
    out[key] = key in given ? fill(field, given[key]) : nulled.has(key) ? null : defaultOf(field);
  }
  for (const [key, value] of Object.entries(given)) if (!(key in fields)) out[key] = structuredClone(value);
  return out;
}

function fill(field: Field, value: unknown): unknown {
  if (field.type === "section" && isMapping(value)) return fillSection(field.fields, value, field.exactlyOne ?? []);
  if (field.type === "records" && Array.isArray(value)) return value.map((item) => (isMapping(item) ? fillSection(field.fields, item, []) : structuredClone(item)));
  return structuredClone(value);
}

function defaultOf(field: Field): unknown {
  if (field.type === "section") return field.nullable ? null : fillSection(field.fields, {}, field.exactlyOne ?? []);
  if (field.type === "map") return { ...field.default };
  return (field.type === "list" || field.type === "records") && field.default !== null ? [...field.default] : field.default;
}

export interface PathBases {
  /** Directory of the config file: relative data.root and generator.model_dir resolve against it. */
  configDir: string;
  /** runs_dir resolves against it. */
  cwd: string;
}

/** `doc` (defaults filled) with every relative path made absolute; builtin:NAME values are kept as they are. */
export function resolvePaths(doc: Mapping, bases: PathBases): Mapping {
  const out = structuredClone(doc);
  resolveIn(out, SCHEMA, "config_dir", bases.configDir);
  resolveIn(out, SCHEMA, "cwd", bases.cwd);
  // Under a builtin (or invalid) root, data.images/manifest are left as given: validate.ts reports them.
  const root = isMapping(out.data) ? out.data.root : undefined;
  if (typeof root === "string" && isAbsolute(root)) resolveIn(out, SCHEMA, "data_root", root);
  return out;
}

function resolveIn(doc: Mapping, fields: Fields, base: PathBase, dir: string): void {
  for (const [key, field] of Object.entries(fields)) {
    const value = doc[key];
    if (field.type === "section" && isMapping(value)) resolveIn(value, field.fields, base, dir);
    else if (field.type === "records" && Array.isArray(value)) value.forEach((item) => isMapping(item) && resolveIn(item, field.fields, base, dir));
    else if (field.type === "map" && field.path === base && isMapping(value)) {
      for (const [name, path] of Object.entries(value)) value[name] = resolvePath(path, dir);
    } else if (field.type === "string" && field.path === base && !(typeof value === "string" && field.keywords?.includes(value))) {
      doc[key] = resolvePath(value, dir);
    }
  }
}

/** An absolute path for a relative or absolute one; anything else (builtin:NAME, "", not a string) unchanged. */
export function resolvePath(value: unknown, dir: string): unknown {
  if (typeof value !== "string" || value === "" || value.startsWith(BUILTIN_PREFIX)) return value;
  return resolve(dir, value);
}
