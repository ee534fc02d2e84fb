// `c3l validate`: every problem of a config (with overrides) at once; a ConfigError makes main.ts exit 2.
import { ConfigError, resolveConfig } from "../config/index.js";
import { EXIT } from "../errors.js";

export async function validate(options: { config: string; overrides: string[] }): Promise<number> {
  const resolved = resolveConfig(options.config, options.overrides);
  if (resolved.config === null) throw new ConfigError(resolved.problems, options.config);
  process.stdout.write(`${options.config}: ok\n`);
  return EXIT.ok;
}
