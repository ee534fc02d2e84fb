// The reproduce file (configs/reproduce.yaml): a base pipeline config, the seeds, the arms of the
// paper table as override lists, the worlds it is measured on (one table each) and the targets the
// table is checked against (paired differences over seeds). Every problem is reported at once, as
// `key: expected …, got …`.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse } from "yaml";
import { ConfigError } from "../config/errors.js";
import { sanitizeRunName } from "../runs/run-id.js";

export interface ReproducePlan {
  file: string;
  /** the pipeline config every arm starts from (absolute) */
  base: string;
  seeds: number[];
  /** overrides every arm gets, before its own */
  overrides: string[];
  /** arm name → its overrides, in table order */
  arms: { name: string; overrides: string[] }[];
  /** estimator → the arm whose base-generation AUROC stands for it (the kl vs logratio line) */
  estimators: Record<string, string>;
  /** world name → overrides every arm gets in it (one table per world); [] when the file names none */
  worlds: { name: string; overrides: string[] }[];
  targets: Target[];
}

/**
 * A claim the table is checked against: arm's metric minus `than`'s `than_metric` (paired by seed;
 * default the same metric), or arm's metric alone, must reach `margin`; met when the mean minus one
 * sd clears it. A negative margin with `than` bounds a difference from below; `at_most` flips the
 * test to mean + sd ≤ margin (e.g. malformed share ≤ 0.02).
 */
export interface Target {
  name: string;
  arm: string;
  metric: string;
  than: string | null;
  than_metric: string | null;
  margin: number;
  at_most: boolean;
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === "string" && s !== "");

export function loadPlan(file: string): ReproducePlan {
  const path = resolve(file);
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ConfigError([`(file): cannot read: ${(err as Error).message}`], path);
  }
  const problems: string[] = [];
  if (!isMap(doc)) throw new ConfigError([`(top level): expected a mapping with base, seeds, arms`], path);
  const KNOWN = ["base", "seeds", "overrides", "arms", "estimators", "worlds", "targets"];
  for (const key of Object.keys(doc)) if (!KNOWN.includes(key)) problems.push(`${key}: unknown key (known: ${KNOWN.join(", ")})`);
  if (typeof doc.base !== "string" || !doc.base) problems.push(`base: expected the pipeline config every arm starts from (relative to this file), got ${JSON.stringify(doc.base)}`);
  const seeds = doc.seeds ?? [0, 1, 2];
  if (!Array.isArray(seeds) || seeds.length === 0 || !seeds.every((s) => Number.isInteger(s) && s >= 0)) problems.push(`seeds: expected a non-empty list of integers >= 0, got ${JSON.stringify(seeds)}`);
  const overrides = doc.overrides ?? [];
  if (!isStrings(overrides)) problems.push(`overrides: expected a list of a.b=VALUE strings, got ${JSON.stringify(overrides)}`);
  const arms: ReproducePlan["arms"] = [];
  if (!isMap(doc.arms) || Object.keys(doc.arms).length === 0) problems.push(`arms: expected a mapping of arm name → list of overrides, got ${JSON.stringify(doc.arms)}`);
  else {
    for (const [name, list] of Object.entries(doc.arms)) {
      if (sanitizeRunName(name) !== name) problems.push(`arms.${name}: expected a name of [a-z0-9_-] (it names the runs), got ${JSON.stringify(name)}`);
      if (list !== null && !isStrings(list)) problems.push(`arms.${name}: expected a list of a.b=VALUE strings, got ${JSON.stringify(list)}`);
      else arms.push({ name, overrides: list ?? [] });
    }
  }
  const estimators = doc.estimators ?? {};
  if (!isMap(estimators)) problems.push(`estimators: expected a mapping of estimator → arm name, got ${JSON.stringify(estimators)}`);
  else {
    for (const [est, arm] of Object.entries(estimators)) {
      if (typeof arm !== "string" || !arms.some((a) => a.name === arm)) problems.push(`estimators.${est}: expected one of the arms (${arms.map((a) => a.name).join(", ")}), got ${JSON.stringify(arm)}`);
    }
  }
  const worlds: ReproducePlan["worlds"] = [];
  if (doc.worlds !== undefined) {
    if (!isMap(doc.worlds) || Object.keys(doc.worlds).length === 0) problems.push(`worlds: expected a mapping of world name → list of overrides (world.* keys), got ${JSON.stringify(doc.worlds)}`);
    else {
      for (const [name, list] of Object.entries(doc.worlds)) {
        if (sanitizeRunName(name) !== name) problems.push(`worlds.${name}: expected a name of [a-z0-9_-] (it names the runs), got ${JSON.stringify(name)}`);
        if (list !== null && !isStrings(list)) problems.push(`worlds.${name}: expected a list of a.b=VALUE strings, got ${JSON.stringify(list)}`);
        else worlds.push({ name, overrides: list ?? [] });
      }
    }
  }
  const targets: Target[] = [];
  const rawTargets = doc.targets ?? [];
  if (!Array.isArray(rawTargets)) problems.push(`targets: expected a list of {name, arm, metric, than?, margin}, got ${JSON.stringify(rawTargets)}`);
  else {
    rawTargets.forEach((t, i) => {
      const where = `targets[${i}]`;
      if (!isMap(t)) return problems.push(`${where}: expected {name, arm, metric, than?, margin}, got ${JSON.stringify(t)}`);
      const armNames = arms.map((a) => a.name);
      if (typeof t.name !== "string" || !t.name) problems.push(`${where}.name: expected a text, got ${JSON.stringify(t.name)}`);
      if (typeof t.arm !== "string" || !armNames.includes(t.arm)) problems.push(`${where}.arm: expected one of the arms (${armNames.join(", ")}), got ${JSON.stringify(t.arm)}`);
      if (t.than !== undefined && t.than !== null && (typeof t.than !== "string" || !armNames.includes(t.than))) problems.push(`${where}.than: expected one of the arms (${armNames.join(", ")}), got ${JSON.stringify(t.than)}`);
      if (typeof t.metric !== "string" || !t.metric) problems.push(`${where}.metric: expected a summary metric name (e.g. grade.final.grounded_share), got ${JSON.stringify(t.metric)}`);
      if (typeof t.margin !== "number" || !Number.isFinite(t.margin)) problems.push(`${where}.margin: expected a number, got ${JSON.stringify(t.margin)}`);
      if (t.than_metric !== undefined && (typeof t.than_metric !== "string" || !t.than_metric)) problems.push(`${where}.than_metric: expected a summary metric name, got ${JSON.stringify(t.than_metric)}`);
      if (t.at_most !== undefined && typeof t.at_most !== "boolean") problems.push(`${where}.at_most: expected true or false, got ${JSON.stringify(t.at_most)}`);
      const known = ["name", "arm", "metric", "than", "than_metric", "margin", "at_most"];
      for (const key of Object.keys(t)) if (!known.includes(key)) problems.push(`${where}.${key}: unknown key (known: ${known.join(", ")})`);
      targets.push({
        name: String(t.name), arm: String(t.arm), metric: String(t.metric), than: typeof t.than === "string" ? t.than : null,
        than_metric: typeof t.than_metric === "string" ? t.than_metric : null, margin: Number(t.margin), at_most: t.at_most === true,
      });
    });
  }
  if (problems.length) throw new ConfigError(problems, path);
  return {
    file: path, base: resolve(dirname(path), doc.base as string), seeds: seeds as number[], overrides: overrides as string[],
    arms, estimators: estimators as Record<string, string>, worlds, targets,
  };
}

/** The run name of one arm and seed (in a named world): finished runs with this name and config are reused. */
export function runName(arm: string, seed: number, world: string | null = null): string {
  return world === null ? `repro-${arm}-s${seed}` : `repro-${world}-${arm}-s${seed}`;
}
