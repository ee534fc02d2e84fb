// `c3l validate`: every problem of a config (with overrides) at once (a ConfigError: exit 2), then
// its model folders that are not builtins, as a run would check them before starting (exit 4).
import { ConfigError, resolveConfig } from "../config/index.js";
import { EXIT } from "../errors.js";
import { checkOwnModels } from "../pipeline/model-dir.js";

export async function validate(options: { config: string; overrides: string[] }): Promise<number> {
  const resolved = resolveConfig(options.config, options.overrides);
  if (resolved.config === null) throw new ConfigError(resolved.problems, options.config);
  checkOwnModels(resolved.config);
  process.stdout.write(`${options.config}: ok\n`);
  return EXIT.ok;
}
