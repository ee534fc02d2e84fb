// `--sweep a.b=1,2 c=x,y`: a grid of override lists, one per combination (the cartesian product).
import { ConfigError } from "./errors.js";

/**
 * One override list per combination, in a stable order: the first spec varies slowest
 * (a.b=1 c=x, a.b=1 c=y, a.b=2 c=x, a.b=2 c=y). Commas inside quotes, [] and {} do not split,
 * so `a=[1,2],[3]` sweeps two lists. `+a.new=1,2` sweeps an added key. No specs: one empty list.
 * Throws a ConfigError listing every bad spec.
 */
export function expandSweep(specs: readonly string[]): string[][] {
  const problems: string[] = [];
  const axes: string[][] = [];
  const keys = new Set<string>();
  for (const spec of specs) {
    const eq = spec.indexOf("=");
    const key = eq < 0 ? "" : spec.slice(0, eq);
    if (eq <= 0 || key.startsWith("~") || !/^\+?[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*$/.test(key)) {
      problems.push(`sweep "${spec}": expected KEY=V1,V2,… (or +KEY=V1,V2,…), where KEY is a dotted path like generation.k`);
      continue;
    }
    const bare = key.replace(/^\+/, "");
    if (keys.has(bare)) {
      problems.push(`${bare}: swept more than once`);
      continue;
    }
    keys.add(bare);
    const values = splitValues(spec.slice(eq + 1));
    if (values.some((v) => v.trim() === "")) {
      problems.push(`${bare}: sweep "${spec}" has an empty value (write '' for the empty string)`);
      continue;
    }
    axes.push(values.map((v) => `${key}=${v}`));
  }
  if (problems.length > 0) throw new ConfigError(problems, "--sweep");
  return axes.reduce<string[][]>((combos, axis) => combos.flatMap((combo) => axis.map((o) => [...combo, o])), [[]]);
}

/** Splits on top-level commas: not inside quotes, brackets or braces. */
function splitValues(text: string): string[] {
  const values: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "[" || c === "{") depth++;
    else if (c === "]" || c === "}") depth--;
    else if (c === "," && depth === 0) {
      values.push(text.slice(start, i));
      start = i + 1;
    }
  }
  values.push(text.slice(start));
  return values;
}
