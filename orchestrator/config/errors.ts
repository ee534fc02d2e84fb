// A config that cannot be used. Commands throw it; cli/main.ts prints it once and exits 2 (EXIT.usage).
// Few imports: main.ts loads this file eagerly, and it must not pull in the YAML parser.
import { C3lError } from "../errors.js";

export class ConfigError extends C3lError {
  override name = "ConfigError";
  readonly exit = "usage";
  /** Every problem, each `dot.path: expected …, got …` (or `file:line:col: …` for YAML syntax). */
  readonly problems: readonly string[];
  /** The config file the problems belong to, when there is one. */
  readonly source: string | undefined;

  constructor(problems: readonly string[], source?: string) {
    const what = source ?? "config";
    const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    super(`${what}: ${count}\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.problems = [...problems];
    this.source = source;
  }
}
