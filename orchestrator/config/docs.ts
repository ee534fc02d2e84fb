// docs/CONFIG.md and configs/default.yaml, rendered from the schema
// (scripts/gen-config-docs.mjs writes them; test/config/docs.test.ts checks they are up to date).
import { stringify } from "yaml";
import { BUILTIN_PREFIX, SCHEMA, walkFields, type Field, type Fields } from "./schema.js";
import { expected } from "./validate.js";

const GENERATED = "generated from orchestrator/config/schema.ts by `node scripts/gen-config-docs.mjs`; do not edit by hand";

/** configs/default.yaml: every key at its default, each with its meaning as a comment. */
export function renderDefaultYaml(): string {
  const lines = [
    "# A REFERENCE LISTING, not an experiment: every c3l setting at its default, each with what it means.",
    "# Copy the keys you need into your own config (missing keys take these defaults). Run as it is, it",
    "# makes next to nothing: the tiny built-in smoke model was not trained on the default prompt pool",
    "# (a real instruction-tuned checkpoint is), so few or none of its outputs parse, and a generate stage",
    "# that parses none stops the run saying why. To run something, start from configs/quickstart.yaml",
    "# (the main job on the embedded world) or configs/smoke.yaml (checks an install in seconds):",
    "#   npx c3l config configs/default.yaml generation.k=3     # the resolved config, with an override",
    "#   npx c3l run configs/quickstart.yaml",
    `# (${GENERATED}.)`,
  ];
  emitFields(SCHEMA, 0, lines);
  return `${lines.join("\n")}\n`;
}

function emitFields(fields: Fields, depth: number, lines: string[], prefix = ""): void {
  const indent = "  ".repeat(depth);
  for (const [key, field] of Object.entries(fields)) {
    if (depth === 0) lines.push("");
    lines.push(...wrap(field.doc, 96 - indent.length).map((l) => `${indent}# ${l}`));
    if (field.type === "section" && field.nullable) {
      lines.push(`${indent}${key}: null`, `${indent}# or, with every field at its default:`, `${indent}# ${key}:`);
      const inner: string[] = [];
      emitFields(field.fields, 1, inner);
      lines.push(...inner.filter((l) => !l.trimStart().startsWith("#")).map((l) => `${indent}# ${l}`));
    } else if (field.type === "section") {
      lines.push(`${indent}${key}:`);
      emitFields(field.fields, depth + 1, lines, `${prefix}${key}.`);
    } else if (field.type === "list" && field.default !== null && field.default.length > 0) {
      lines.push(`${indent}${key}:`, ...field.default.map((item) => `${indent}  - ${JSON.stringify(item)}`));
    } else {
      lines.push(`${indent}${key}: ${scalar(field)}`);
    }
  }
}

/** A default as YAML; floats keep a decimal point so they read as floats. */
function scalar(field: Exclude<Field, { type: "section" }>): string {
  const value = field.default;
  if (field.type === "float" && typeof value === "number" && Number.isInteger(value)) return value.toFixed(1);
  if (Array.isArray(value)) return "[]";
  return stringify(value).trimEnd();
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}

/** docs/CONFIG.md: how configs are read, then every key with its type, default and meaning. */
export function renderConfigDocs(): string {
  const builtins = walkFields(SCHEMA).flatMap(([path, f]) =>
    (f.type === "string" || f.type === "map") && f.builtins ? f.builtins.map((b) => `  - \`${path}${f.type === "map" ? ".NAME" : ""}: ${BUILTIN_PREFIX}${b}\``) : []);
  const out = [
    "# Configuration reference",
    "",
    `<!-- ${GENERATED}. -->`,
    "",
    "An experiment is one YAML file (keys in snake_case). Keys left out take their defaults;",
    "unknown keys are errors, with \"did you mean …\". `configs/default.yaml` lists every key at its",
    "default; `configs/smoke.yaml` is the quick end-to-end check.",
    "",
    "```bash",
    "npx c3l validate my.yaml                   # every problem at once, exit 2 if any",
    "npx c3l config my.yaml generation.k=3      # the resolved config (defaults filled, paths absolute)",
    "npx c3l run my.yaml generation.k=3 --name k3",
    "npx c3l run my.yaml --sweep generation.k=3,5 contrast.lambda_cl=0.1,1   # one run per combination",
    "```",
    "",
    "## Overrides",
    "Arguments after the file change it before validation, in order:",
    "",
    "- `a.b=VALUE` sets a key (every key of the schema can be set, whether or not the file has it);",
    "- `+a.b=VALUE` adds a key that is not there, e.g. `+contrast.lora.r=16` turns LoRA on (an error if it exists);",
    "- `~a.b` removes a key from the file, so its default applies again.",
    "",
    "Values are YAML: `k=3` is a number, `do_sample=false` a bool, `limit=null` null, `stop=[\"\\n\\n\"]` a list,",
    "`lora={r: 8}` a mapping, `device=cuda` a string (quote to force a string: `x='3'`). A value that YAML would",
    "read as a block mapping, a block list or a comment (`Q: what`, `- x`, `a #b`) stays the literal string;",
    "`x=` is the empty string. A key given twice is an error.",
    "",
    "`--sweep KEY=V1,V2,… …` runs the grid of all combinations (the first key varies slowest); commas inside",
    "quotes, `[]` and `{}` do not split values.",
    "",
    "## Paths",
    "- `data.root` and `generator.model_dir`: relative to the directory of the config file.",
    "- `data.images` and `data.manifest`: relative to `data.root`; `data.images` must stay inside it.",
    "- `finetune.model_dir`, `finetune.extra_data[].json` / `.images`, `evaluate.benchmarks.*` and a path in",
    "  `evaluate.model`: relative to the directory of the config file.",
    "- `runs_dir`: relative to the current directory.",
    "- `builtin:NAME` names an asset c3l builds and caches itself (the run's pretrain stage builds them; the `world-*` ones from the `world` section):",
    ...builtins,
    "",
    "`c3l validate` also checks that the folders and files named exist, and that a model folder holds a",
    "`config.json`.",
    "",
    "## Rules between keys",
    "- Exactly one of `data.images` / `data.manifest` is set, unless `data.root` is builtin (then neither).",
    "- Exactly one of `contrast.steps` / `contrast.epochs` is non-null; setting one (in the file or an",
    "  override) makes the other default to null.",
    "- The same for `finetune.steps` / `finetune.epochs`.",
    "- `contrast.warmup_steps` is at most `contrast.steps`; `finetune.warmup_steps` at most `finetune.steps`.",
    "- `evaluate.model: finetuned` needs `finetune.enabled: true`.",
    "",
    "## Finetune loss weights",
    "The C3L paper filters the data by its I2C score and reweights it. With `finetune.weight_by: i2c` each pair of",
    "the final dataset weighs its loss by its I2C rank r (0 = lowest) among the n final pairs:",
    "`w = 1 + s·(2·r/(n−1) − 1)` with `s = finetune.weight_spread` (default 0.5: weights from 0.5 to 1.5; tied",
    "scores share their mean rank; one pair weighs 1). Why ranks, not the scores: kl and logratio I2C have",
    "different scales, and both shift with the model, so a temperature tuned for one estimator means",
    "nothing for the other; a rank is scale-free, bounds every weight (no pair dominates a batch) and keeps",
    "the mean at exactly 1, so the loss scale and the learning rate stay those of unweighted training. The",
    "worker's loss is Σ w·L / N over a micro-batch's N examples (proto/SPEC.md, `train_step`), so all weights",
    "1 train exactly as `weight_by: none`. `finetune.extra_data` examples weigh 1.",
    "",
    "## Keys",
  ];
  const longDefaults: string[] = [];
  const section = (title: string, doc: string, fields: Fields, prefix: string) => {
    out.push("", `### ${title}`, escape(doc), "", "| key | type | default | meaning |", "|---|---|---|---|");
    for (const [path, field] of walkFields(fields, prefix)) {
      if (field.type === "section") {
        out.push(`| \`${path}\` | ${escape(expected(field))} | ${field.nullable ? "`null`" : "(section)"} | ${escape(field.doc)} |`);
        continue;
      }
      let shown = field.type === "list" || field.default === null ? JSON.stringify(field.default) : scalar(field);
      if (shown.length > 40) {
        longDefaults.push("", `Default of \`${path}\`:`, "", ...(field.default as readonly string[]).map((s) => `- \`${s}\``));
        shown = "(below)";
      } else shown = `\`${shown}\``;
      out.push(`| \`${path}\` | ${escape(expected(field))} | ${shown} | ${escape(field.doc)} |`);
    }
  };
  const topLevel = Object.fromEntries(Object.entries(SCHEMA).filter(([, f]) => f.type !== "section")) as Fields;
  section("Top level", "Keys outside any section.", topLevel, "");
  for (const [key, field] of Object.entries(SCHEMA)) {
    if (field.type === "section") section(`\`${key}\``, field.doc, field.fields, key);
  }
  out.push(...longDefaults);
  return `${out.join("\n")}\n`;
}

function escape(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/</g, "&lt;");
}
