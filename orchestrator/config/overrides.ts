// Dotted command-line overrides, as in Hydra: `a.b=1` sets an existing key, `+a.new=1` adds one
// (an error if it exists), `~a.b` removes one (its default applies again). Values are YAML:
// `1` a number, `true` a bool, `null`, `[1, 2]` a list, `{r: 8}` a mapping, `abc` a string.
import { parseDocument } from "yaml";
import { isMapping, withDefaults, type Mapping } from "./normalize.js";
import { describe } from "./validate.js";
import { closest } from "./suggest.js";

export type Override =
  | { op: "set" | "add"; path: string[]; value: unknown; text: string }
  | { op: "remove"; path: string[]; text: string };

const FORMS = "expected KEY=VALUE, +KEY=VALUE or ~KEY, where KEY is a dotted path like generation.k";
const KEY_SEGMENT = /^[A-Za-z_][\w-]*$/;

/** One override, or a problem saying what is wrong with its form. */
export function parseOverride(text: string): Override | { problem: string } {
  const eq = text.indexOf("=");
  const left = eq < 0 ? text : text.slice(0, eq);
  const op = left.startsWith("+") ? "add" : left.startsWith("~") ? "remove" : "set";
  const key = op === "set" ? left : left.slice(1);
  const path = key.split(".");
  if (!path.every((segment) => KEY_SEGMENT.test(segment))) return { problem: `override "${text}": ${FORMS}` };
  const dotted = path.join(".");
  if (op === "remove") {
    return eq < 0 ? { op, path, text } : { problem: `${dotted}: ~${dotted} removes a key and takes no value (override "${text}")` };
  }
  if (eq < 0) return { problem: `override "${text}": ${FORMS} (no "=")` };
  const parsed = parseValue(text.slice(eq + 1));
  if ("error" in parsed) return { problem: `${dotted}: cannot parse the value of override "${text}" as YAML: ${parsed.error}` };
  return { op, path, value: parsed.value, text };
}

/**
 * A command-line value as YAML. Text that YAML would read as a block mapping, a block list or
 * a comment ("Q: what", "- x", "a #b") stays the literal string, as a shell user means it; an
 * empty value is the empty string (write null for null).
 */
export function parseValue(raw: string): { value: unknown } | { error: string } {
  if (raw === "") return { value: "" };
  const structured = /^\s*["'[{]/.test(raw);
  const document = parseDocument(raw, { prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    return structured ? { error: document.errors[0]!.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "") } : { value: raw };
  }
  const hasComment = Boolean(document.comment || document.commentBefore || document.contents?.comment || document.contents?.commentBefore);
  const value: unknown = document.toJS();
  if (!structured && (hasComment || (typeof value === "object" && value !== null))) return { value: raw };
  return { value };
}

/**
 * Applies overrides in order to a parsed config file, returning a new document and every problem.
 * Whether a key exists is judged against the file with its defaults filled in, so every schema
 * key can be set, and `+` is needed only for keys that are not there (e.g. under contrast.lora: null).
 */
export function applyOverrides(doc: unknown, overrides: readonly string[]): { doc: unknown; problems: string[] } {
  const problems: string[] = [];
  const out: unknown = structuredClone(doc);
  if (!isMapping(out)) return { doc: out, problems: overrides.length ? ["(top level): cannot apply overrides: the config is not a mapping"] : [] };
  const seen = new Map<string, string>();
  for (const text of overrides) {
    const parsed = parseOverride(text);
    if ("problem" in parsed) {
      problems.push(parsed.problem);
      continue;
    }
    const dotted = parsed.path.join(".");
    const earlier = seen.get(dotted);
    if (earlier !== undefined) {
      problems.push(`${dotted}: given more than once in overrides ("${earlier}", "${text}")`);
      continue;
    }
    seen.set(dotted, text);
    const problem = applyOne(out, parsed);
    if (problem) problems.push(problem);
  }
  return { doc: out, problems };
}

function applyOne(doc: Mapping, o: Override): string | undefined {
  const dotted = o.path.join(".");
  const found = lookup(withDefaults(doc) as Mapping, o.path);
  if (o.op === "add") {
    if (found.exists) return `${dotted}: cannot add a key that exists (override "${o.text}"; it is ${describe(found.value)}); to change it, write ${o.text.slice(1)}`;
    if (found.blocker !== undefined && found.blocker !== null) return `${dotted}: cannot add it (override "${o.text}"): ${found.blockerPath} is ${describe(found.blocker)}, not a mapping`;
    setIn(doc, o.path, o.value);
    return undefined;
  }
  if (!found.exists) {
    const verb = o.op === "set" ? "set" : "remove";
    const why = found.blocker === null
      ? `${found.blockerPath} is null`
      : found.blocker !== undefined
        ? `${found.blockerPath} is ${describe(found.blocker)}, not a mapping`
        : `no such key${found.suggestion ? ` (did you mean ${found.suggestion}?)` : ""}`;
    const add = o.op === "set" && (found.blocker === undefined || found.blocker === null) ? `; to add it, write +${o.text}` : "";
    return `${dotted}: cannot ${verb} it (override "${o.text}"): ${why}${add}`;
  }
  if (o.op === "set") setIn(doc, o.path, o.value);
  else removeIn(doc, o.path);
  return undefined;
}

interface Lookup {
  exists: boolean;
  value?: unknown;
  /** The value on the way that is not a mapping (null, a number, …), and its dotted path. */
  blocker?: unknown;
  blockerPath?: string;
  /** A near key at the level where the path left the document, as a dotted path. */
  suggestion?: string;
}

function lookup(view: Mapping, path: string[]): Lookup {
  let node: Mapping = view;
  for (let i = 0; i < path.length; i++) {
    const key = path[i]!;
    if (!(key in node)) {
      const near = closest(key, Object.keys(node));
      return { exists: false, suggestion: near ? [...path.slice(0, i), near].join(".") : undefined };
    }
    const value = node[key];
    if (i === path.length - 1) return { exists: true, value };
    if (!isMapping(value)) return { exists: false, blocker: value, blockerPath: path.slice(0, i + 1).join(".") };
    node = value;
  }
  return { exists: false };
}

/** Sets a value, creating mappings on the way (a null on the way becomes a mapping). */
function setIn(doc: Mapping, path: string[], value: unknown): void {
  let node = doc;
  for (const key of path.slice(0, -1)) {
    if (!isMapping(node[key])) node[key] = {};
    node = node[key] as Mapping;
  }
  node[path[path.length - 1]!] = value;
}

function removeIn(doc: Mapping, path: string[]): void {
  let node: unknown = doc;
  for (const key of path.slice(0, -1)) node = isMapping(node) ? node[key] : undefined;
  if (isMapping(node)) delete node[path[path.length - 1]!];
}
