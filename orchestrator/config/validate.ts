// Every problem of a config at once, each `dot.path: expected …, got …`, with "did you mean …"
// for unknown keys, enum values and builtin names. Three layers: the shape (types, ranges, unknown
// keys), cross-field rules, then the file system (folders and files that must exist).
import { statSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { isMapping, type Mapping } from "./normalize.js";
import { BUILTIN_PREFIX, SCHEMA, walkFields, type Field, type Fields, type SectionField, type StringField } from "./schema.js";
import { closest } from "./suggest.js";

/** Shape problems of a defaults-filled document: types, ranges, enums, builtins, unknown keys. */
export function validateShape(doc: unknown): string[] {
  const problems: string[] = [];
  if (!isMapping(doc)) return [`(top level): expected a mapping of sections, got ${describe(doc)}`];
  checkSection(SCHEMA, doc, "", problems);
  return problems;
}

function checkSection(fields: Fields, value: Mapping, path: string, problems: string[]): void {
  for (const key of Object.keys(value)) {
    if (!(key in fields)) problems.push(unknownKey(join2(path, key), fields));
  }
  for (const [key, field] of Object.entries(fields)) checkField(field, value[key], join2(path, key), problems);
}

function checkField(field: Field, value: unknown, path: string, problems: string[]): void {
  const bad = (extra = "") => problems.push(`${path}: expected ${expected(field)}, got ${describe(value)}${extra}`);
  if (value === undefined) return void problems.push(`${path}: expected ${expected(field)}, got nothing`);
  if (value === null) {
    if (!("nullable" in field && field.nullable)) bad();
    return;
  }
  switch (field.type) {
    case "section":
      if (!isMapping(value)) return void bad();
      return checkSection(field.fields, value, path, problems);
    case "int":
      if (typeof value !== "number" || !Number.isInteger(value) || !inRange(field, value)) bad();
      return;
    case "float":
      if (typeof value !== "number" || !Number.isFinite(value) || !inRange(field, value)) bad();
      return;
    case "bool":
      if (typeof value !== "boolean") bad();
      return;
    case "enum": {
      if (typeof value === "string" && field.values.includes(value)) return;
      const near = typeof value === "string" ? closest(value, field.values) : undefined;
      return void bad(near ? ` (did you mean "${near}"?)` : "");
    }
    case "string":
      return checkString(field, value, path, problems, bad);
    case "list":
      if (!Array.isArray(value) || value.length < (field.minItems ?? 0)) return void bad();
      value.forEach((item, i) => {
        if (typeof item !== "string" || item === "") problems.push(`${path}[${i}]: expected a non-empty string, got ${describe(item)}`);
      });
      return;
    case "map":
      if (!isMapping(value)) return void bad();
      for (const [key, item] of Object.entries(value)) {
        if (typeof item !== "string" || item === "") problems.push(`${path}.${key}: expected ${field.path ? "a path" : "a non-empty string"}, got ${describe(item)}`);
        else if (item.startsWith(BUILTIN_PREFIX)) checkBuiltin(field.builtins ?? [], item, `${path}.${key}`, problems);
      }
      return;
    case "records":
      if (!Array.isArray(value)) return void bad();
      value.forEach((item, i) => {
        if (!isMapping(item)) problems.push(`${path}[${i}]: expected a mapping with ${Object.keys(field.fields).join(", ")}, got ${describe(item)}`);
        else checkSection(field.fields, item, `${path}[${i}]`, problems);
      });
  }
}

function checkString(field: StringField, value: unknown, path: string, problems: string[], bad: (extra?: string) => void): void {
  if (typeof value !== "string" || value === "") return void bad();
  if (field.keywords?.includes(value)) return;
  if (value.startsWith(BUILTIN_PREFIX)) return checkBuiltin(field.builtins ?? [], value, path, problems);
  if (field.pattern && !field.pattern.test(value)) bad();
}

function checkBuiltin(known: readonly string[], value: string, path: string, problems: string[]): void {
  const name = value.slice(BUILTIN_PREFIX.length);
  if (known.includes(name)) return;
  const near = closest(name, known);
  const list = known.length ? `known: ${known.map((k) => BUILTIN_PREFIX + k).join(", ")}` : "none are known here";
  problems.push(`${path}: unknown builtin "${value}"${near ? ` (did you mean "${BUILTIN_PREFIX}${near}"?)` : ""}; ${list}`);
}

function inRange(field: { min?: number; max?: number; exclusiveMin?: true; exclusiveMax?: true }, n: number): boolean {
  if (field.min !== undefined && (field.exclusiveMin ? n <= field.min : n < field.min)) return false;
  if (field.max !== undefined && (field.exclusiveMax ? n >= field.max : n > field.max)) return false;
  return true;
}

/** What a field accepts, in words: "an integer >= 1 or null", "one of kl, logratio". */
export function expected(field: Field): string {
  const orNull = "nullable" in field && field.nullable ? " or null" : "";
  switch (field.type) {
    case "section":
      return `a mapping${orNull}`;
    case "int":
      return `an integer${range(field)}${orNull}`;
    case "float":
      return `a number${range(field)}${orNull}`;
    case "bool":
      return "true or false";
    case "enum":
      return `one of ${field.values.join(", ")}`;
    case "string": {
      const what = field.pattern ? (field.patternDoc ?? `a string matching ${field.pattern}`) : field.path ? "a path" : "a non-empty string";
      const builtins = field.builtins?.length ? ` or ${field.builtins.map((b) => BUILTIN_PREFIX + b).join(", ")}` : "";
      const keywords = field.keywords?.length ? `${field.keywords.join(", ")} or ` : "";
      return `${keywords}${what}${builtins}${orNull}`;
    }
    case "list":
      return `a ${field.minItems ? "non-empty " : ""}list of non-empty strings${orNull}`;
    case "map":
      return `a mapping of names to ${field.path ? "paths" : "non-empty strings"}`;
    case "records":
      return `a list of mappings {${Object.keys(field.fields).join(", ")}}`;
  }
}

function range(field: { min?: number; max?: number; exclusiveMin?: true; exclusiveMax?: true }): string {
  const { min, max } = field;
  if (min !== undefined && max !== undefined) return ` in ${field.exclusiveMin ? "(" : "["}${min}, ${max}${field.exclusiveMax ? ")" : "]"}`;
  if (min !== undefined) return ` ${field.exclusiveMin ? ">" : ">="} ${min}`;
  if (max !== undefined) return ` ${field.exclusiveMax ? "<" : "<="} ${max}`;
  return "";
}

/** A value as a problem message shows it: strings quoted, collections named and abbreviated. */
export function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === "number") return Number.isNaN(value) ? ".nan" : Number.isFinite(value) ? String(value) : value > 0 ? ".inf" : "-.inf";
  if (typeof value === "boolean" || value === null) return String(value);
  const json = JSON.stringify(value) ?? String(value);
  const short = json.length > 60 ? `${json.slice(0, 57)}...` : json;
  return Array.isArray(value) ? `a list ${short}` : isMapping(value) ? `a mapping ${short}` : short;
}

const ALL_PATHS = walkFields(SCHEMA).map(([path]) => path);

/** "x.y: unknown key (did you mean x.z?)": a sibling first, else the same name elsewhere. */
function unknownKey(path: string, siblings: Fields): string {
  const key = path.slice(path.lastIndexOf(".") + 1);
  const parent = path.includes(".") ? path.slice(0, path.lastIndexOf(".")) : "";
  const sibling = closest(key, Object.keys(siblings));
  const elsewhere = sibling ? undefined : closest(key, ALL_PATHS.map((p) => p.slice(p.lastIndexOf(".") + 1)));
  const hint = sibling
    ? join2(parent, sibling)
    : elsewhere
      ? ALL_PATHS.find((p) => p.endsWith(`.${elsewhere}`) || p === elsewhere)
      : undefined;
  const known = hint ? `did you mean ${hint}?` : `known keys${parent ? ` of ${parent}` : ""}: ${Object.keys(siblings).join(", ")}`;
  return `${path}: unknown key (${known})`;
}

function join2(parent: string, key: string): string {
  return parent ? `${parent}.${key}` : key;
}

/** Cross-field rules, on a defaults-filled document with its paths still as written (each rule checks the types it reads). */
export function validateRules(doc: unknown, configDir: string): string[] {
  if (!isMapping(doc)) return [];
  const problems: string[] = [];
  for (const [path, field] of walkFields(SCHEMA)) {
    if (field.type !== "section" || !field.exactlyOne) continue;
    const section = getPath(doc, path);
    if (isMapping(section)) problems.push(...exactlyOne(field, section, path));
  }
  const data = doc.data;
  if (isMapping(data) && typeof data.root === "string") {
    const { images, manifest } = data;
    if (data.root.startsWith(BUILTIN_PREFIX)) {
      for (const key of ["images", "manifest"] as const) {
        if (data[key] != null) problems.push(`data.${key}: expected null with a builtin data.root (${data.root} brings its own images), got ${describe(data[key])}`);
      }
    } else if ((images == null) === (manifest == null)) {
      problems.push(`data.images, data.manifest: expected exactly one of them to be set (a folder of images or a JSONL manifest), got ${images == null ? "neither" : "both"}`);
    } else if (typeof images === "string" && images !== "") {
      const root = resolve(configDir, data.root);
      const folder = resolve(root, images);
      if (!isInside(root, folder)) problems.push(`data.images: expected a folder inside data.root (${root}), got ${describe(images)} (${folder})`);
    }
  }
  for (const name of ["contrast", "finetune"]) {
    const training = doc[name];
    if (isMapping(training) && isCount(training.steps) && isCount(training.warmup_steps) && training.warmup_steps > training.steps) {
      problems.push(`${name}.warmup_steps: expected at most ${name}.steps (${training.steps}), got ${training.warmup_steps}`);
    }
  }
  const finetune = isMapping(doc.finetune) ? doc.finetune : {};
  const evaluate = isMapping(doc.evaluate) ? doc.evaluate : {};
  if (evaluate.model === "finetuned" && finetune.enabled !== true) {
    problems.push(`evaluate.model: expected generator, base, target or a checkpoint folder while finetune.enabled is false (nothing is fine-tuned), got "finetuned"`);
  }
  if (evaluate.model === "target" && (finetune.model_dir === undefined || finetune.model_dir === null)) {
    problems.push(`evaluate.model: "target" evaluates finetune.model_dir untuned, but finetune.model_dir is not set`);
  }
  problems.push(...workersRules(isMapping(doc.workers) ? doc.workers : {}));
  return problems;
}

function workersRules(workers: Mapping): string[] {
  const problems: string[] = [];
  const remote = Array.isArray(workers.remote) ? workers.remote : [];
  if (workers.local === 0 && remote.length === 0) problems.push("workers.local, workers.remote: expected at least one worker, got local: 0 and no remote");
  if (Array.isArray(workers.devices)) {
    workers.devices.forEach((d, i) => {
      if (typeof d === "string" && !/^cuda:\d+$/.test(d)) problems.push(`workers.devices[${i}]: expected cuda:N, got ${describe(d)}`);
    });
  }
  if (remote.length > 0 && workers.client_key == null) problems.push("workers.client_key: expected our secret CURVE certificate (from `c3l keys`) while workers.remote is non-empty, got null");
  return problems;
}

function exactlyOne(field: SectionField, section: Mapping, path: string): string[] {
  return (field.exactlyOne ?? []).flatMap((group) => {
    const set = group.filter((k) => section[k] != null);
    if (set.length === 1) return [];
    const names = group.map((k) => `${path}.${k}`).join(", ");
    const got = set.length === 0 ? "none" : set.map((k) => `${k}: ${describe(section[k])}`).join(", ");
    const hint = set.length > 1 ? ` (set the others to null, or remove them with ~${path}.${set[0]})` : "";
    return [`${names}: expected exactly one of them to be non-null, got ${got}${hint}`];
  });
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v);
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

function getPath(doc: Mapping, path: string): unknown {
  return path.split(".").reduce<unknown>((node, key) => (isMapping(node) ? node[key] : undefined), doc);
}

/** Folders and files a resolved config names that must exist (paths absolute; builtins skipped). */
export function validateFiles(config: Mapping): string[] {
  const problems: string[] = [];
  const data = isMapping(config.data) ? config.data : {};
  const generator = isMapping(config.generator) ? config.generator : {};
  const check = (path: string, value: unknown, kind: "dir" | "file", note = "") => {
    if (typeof value !== "string" || !isAbsolute(value)) return true;
    const why = missing(value, kind);
    if (why) problems.push(`${path}: expected an existing ${kind === "dir" ? "folder" : "file"}${note}, got ${describe(value)} (${why})`);
    return !why;
  };
  check("data.root", data.root, "dir");
  check("data.images", data.images, "dir");
  check("data.manifest", data.manifest, "file");
  const checkModel = (path: string, value: unknown) => {
    if (check(path, value, "dir", " holding a transformers checkpoint") && typeof value === "string" && isAbsolute(value)) {
      const why = missing(join(value, "config.json"), "file");
      if (why) problems.push(`${path}: expected a transformers checkpoint folder (with config.json), got ${describe(value)} (config.json: ${why})`);
    }
  };
  checkModel("generator.model_dir", generator.model_dir);
  const finetune = isMapping(config.finetune) ? config.finetune : {};
  if (finetune.enabled === true) checkModel("finetune.model_dir", finetune.model_dir);
  if (finetune.enabled === true && Array.isArray(finetune.extra_data)) {
    finetune.extra_data.forEach((item, i) => {
      if (!isMapping(item)) return;
      check(`finetune.extra_data[${i}].json`, item.json, "file");
      check(`finetune.extra_data[${i}].images`, item.images, "dir");
    });
  }
  const workers = isMapping(config.workers) ? config.workers : {};
  check("workers.client_key", workers.client_key, "file");
  if (Array.isArray(workers.remote)) workers.remote.forEach((r, i) => isMapping(r) && check(`workers.remote[${i}].server_key`, r.server_key, "file"));
  const evaluate = isMapping(config.evaluate) ? config.evaluate : {};
  if (isMapping(evaluate.benchmarks)) {
    for (const [name, path] of Object.entries(evaluate.benchmarks)) {
      if (typeof path === "string" && isAbsolute(path) && missing(path, "dir") && missing(path, "file")) {
        problems.push(`evaluate.benchmarks.${name}: expected an existing file or folder, got ${describe(path)} (${missing(path, "file")})`);
      }
    }
    if (Object.keys(evaluate.benchmarks).length > 0) checkModel("evaluate.model", evaluate.model);
  }
  return problems;
}

function missing(path: string, kind: "dir" | "file"): string | undefined {
  try {
    const stat = statSync(path);
    if (kind === "dir" && !stat.isDirectory()) return "not a folder";
    if (kind === "file" && !stat.isFile()) return "not a file";
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? "no such file or folder" : code === "EACCES" ? "permission denied" : String(code ?? err);
  }
}
