// Benchmarks by name (a typo gets "did you mean …"), and their `--option BENCH.KEY=VALUE` settings.
import { resolve } from "node:path";
import { closest } from "../config/suggest.js";
import { EvalInputError } from "./errors.js";
import { llavaBench } from "./llava-bench.js";
import { mmbench } from "./mmbench.js";
import { pope } from "./pope.js";
import { seed } from "./seed.js";
import type { Benchmark, BenchOptions, EvalQuestion } from "./types.js";

const BENCHMARKS: ReadonlyArray<Benchmark<any>> = [pope, seed, mmbench, llavaBench];

/** Other spellings people use for the same benchmark. */
const ALIASES: Record<string, string> = { "seed-bench": "seed", seedbench: "seed", "llava-bench-in-the-wild": "llava-bench", llavabench: "llava-bench" };

export function benchmarkNames(): string[] {
  return BENCHMARKS.map((b) => b.name);
}

export function getBenchmark(name: string): Benchmark<EvalQuestion> {
  const canonical = ALIASES[name.toLowerCase()] ?? name.toLowerCase();
  const found = BENCHMARKS.find((b) => b.name === canonical);
  if (found) return found as Benchmark<EvalQuestion>;
  const guess = closest(name, [...benchmarkNames(), ...Object.keys(ALIASES)]);
  const suggestion = guess ? ALIASES[guess] ?? guess : undefined;
  throw new EvalInputError(`unknown benchmark ${JSON.stringify(name)}${suggestion ? ` (did you mean ${suggestion}?)` : ""}; known: ${benchmarkNames().join(", ")}`);
}

/** `NAME=VALUE` (a --bench or a routed --predictions argument); `what` names the flag in errors. */
export function splitAssignment(arg: string, what: string): [string, string] {
  const at = arg.indexOf("=");
  if (at <= 0 || at === arg.length - 1) throw new EvalInputError(`${what} ${JSON.stringify(arg)}: expected NAME=PATH, e.g. pope=data/pope/coco`);
  return [arg.slice(0, at), arg.slice(at + 1)];
}

/** `--option` arguments (`BENCH.KEY=VALUE`), or config's `evaluate.options` (`BENCH.KEY` → VALUE). */
export type OptionAssignments = readonly string[] | Readonly<Record<string, string>>;

/** `BENCH.KEY=VALUE` split at the first "=" and the first "." before it: the one parser of `--option`. */
export function parseOptionAssignment(arg: string): { bench: string; key: string; value: string } {
  const eq = arg.indexOf("=");
  const dot = arg.indexOf(".");
  if (eq <= 0 || dot <= 0 || dot > eq) throw new EvalInputError(`--option ${JSON.stringify(arg)}: expected BENCH.KEY=VALUE, e.g. mmbench.mode=single`);
  return { bench: arg.slice(0, dot), key: arg.slice(dot + 1, eq), value: arg.slice(eq + 1) };
}

/**
 * Each chosen benchmark's options: defaults, then the assignments in order (values checked
 * against the allowed ones, paths made absolute). An option for a benchmark not being scored is an error.
 */
export function resolveOptions(benches: string[], assignments: OptionAssignments): Map<string, BenchOptions> {
  const out = new Map<string, BenchOptions>();
  for (const name of benches) {
    const spec = getBenchmark(name).options;
    out.set(name, Object.fromEntries(Object.entries(spec).map(([k, s]) => [k, s.default])));
  }
  const args = isList(assignments) ? assignments : Object.entries(assignments).map(([k, v]) => `${k}=${v}`);
  for (const arg of args) {
    const { bench: name, key, value } = parseOptionAssignment(arg);
    const bench = getBenchmark(name);
    const options = out.get(bench.name);
    if (!options) throw new EvalInputError(`--option ${arg}: ${bench.name} is not being scored (no --bench ${bench.name}=PATH)`);
    const spec = bench.options[key];
    if (!spec) {
      const guess = closest(key, Object.keys(bench.options));
      throw new EvalInputError(`--option ${arg}: ${bench.name} has no option ${JSON.stringify(key)}${guess ? ` (did you mean ${guess}?)` : ""}; its options: ${Object.keys(bench.options).join(", ") || "none"}`);
    }
    if (spec.choices && !spec.choices.includes(value)) {
      const guess = closest(value, spec.choices);
      throw new EvalInputError(`--option ${arg}: expected one of ${spec.choices.join(", ")}, got ${JSON.stringify(value)}${guess ? ` (did you mean ${guess}?)` : ""}`);
    }
    options[key] = spec.path ? resolve(value) : value;
  }
  return out;
}

function isList(a: OptionAssignments): a is readonly string[] {
  return Array.isArray(a);
}
