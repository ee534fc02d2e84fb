// A model folder checked before anything starts: its config.json names a supported family (the
// worker's one list, py-worker/c3l_worker/models/families.json), it needs no custom code, and it has
// its tokenizer, its processor settings and its chat template. Reads a few small JSON files; never
// loads weights or starts a worker. Every refusal is an InputError (exit 4) naming the folder.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "./errors.js";
import { PROJECT_ROOT } from "../worker/python.js";

interface FamilyEntry {
  model_types: string[];
}

const FAMILIES_FILE = join(PROJECT_ROOT, "py-worker", "c3l_worker", "models", "families.json");

let families: Record<string, string[]> | null = null;

/** name → the config.json model_type values it handles (the file is read once). */
export function supportedFamilies(): Record<string, string[]> {
  if (!families) {
    const listed = (JSON.parse(readFileSync(FAMILIES_FILE, "utf8")) as { families: Record<string, FamilyEntry> }).families;
    families = Object.fromEntries(Object.entries(listed).map(([name, entry]) => [name, entry.model_types]));
  }
  return families;
}

function describeFamilies(): string {
  return Object.entries(supportedFamilies()).map(([name, types]) => `${name} (model_type ${types.join(" or ")})`).join(", ");
}

/** The files a checkpoint needs besides its weights: any one of each group. */
const NEEDED: { what: string; files: string[] }[] = [
  { what: "tokenizer", files: ["tokenizer.json", "tokenizer.model", "vocab.json"] },
  { what: "processor settings", files: ["processor_config.json", "preprocessor_config.json"] },
];

function readJson(file: string, key: string, dir: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(readFileSync(file, "utf8"));
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch (err) {
    throw new InputError(`${key}: model folder ${dir}: ${file} is not valid JSON (${(err as Error).message})`);
  }
  throw new InputError(`${key}: model folder ${dir}: ${file} is not a JSON object`);
}

/** The chat template: chat_template.jinja / .json beside the tokenizer, or inside tokenizer_config.json or processor_config.json. */
function hasChatTemplate(dir: string, key: string): boolean {
  if (existsSync(join(dir, "chat_template.jinja")) || existsSync(join(dir, "chat_template.json"))) return true;
  return ["tokenizer_config.json", "processor_config.json"].some((name) => {
    const file = join(dir, name);
    return existsSync(file) && typeof readJson(file, key, dir).chat_template === "string";
  });
}

/**
 * Refuses a checkpoint folder c3l cannot use, naming `key` (where the value came from) and the
 * folder: no config.json, an unsupported model_type (listing the supported families), custom code
 * (`auto_map`: trust_remote_code is never used), a missing tokenizer, processor or chat template.
 */
export function checkModelFolder(dir: string, key: string): void {
  const configFile = join(dir, "config.json");
  if (!existsSync(configFile)) throw new InputError(`${key}: model folder ${dir} holds no config.json (a local transformers checkpoint folder is expected)`);
  const config = readJson(configFile, key, dir);
  if (config.auto_map !== undefined) {
    throw new InputError(`${key}: model folder ${dir} needs custom code (config.json auto_map, trust_remote_code), which c3l never runs; supported families: ${describeFamilies()}`);
  }
  const type = config.model_type;
  if (!Object.values(supportedFamilies()).some((types) => types.includes(type as string))) {
    throw new InputError(`${key}: model folder ${dir} has model_type ${JSON.stringify(type ?? null)}, which no model family supports; supported: ${describeFamilies()}`);
  }
  for (const { what, files } of NEEDED) {
    if (!files.some((f) => existsSync(join(dir, f)))) throw new InputError(`${key}: model folder ${dir} has no ${what} (${files.join(" or ")})`);
  }
  if (!hasChatTemplate(dir, key)) {
    throw new InputError(`${key}: model folder ${dir} has no chat template (chat_template.jinja, chat_template.json, or chat_template in tokenizer_config.json)`);
  }
}
