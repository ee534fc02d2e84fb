// The reproduce file (configs/reproduce.yaml): a base pipeline config, the seeds, and the arms of the
// paper table as override lists. Every problem is reported at once, as `key: expected …, got …`.
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
  for (const key of Object.keys(doc)) if (!["base", "seeds", "overrides", "arms", "estimators"].includes(key)) problems.push(`${key}: unknown key (known: base, seeds, overrides, arms, estimators)`);
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
  if (problems.length) throw new ConfigError(problems, path);
  return {
    file: path, base: resolve(dirname(path), doc.base as string), seeds: seeds as number[], overrides: overrides as string[],
    arms, estimators: estimators as Record<string, string>,
  };
}

/** The run name of one arm and seed: finished runs with this name and config are reused. */
export function runName(arm: string, seed: number): string {
  return `repro-${arm}-s${seed}`;
}
