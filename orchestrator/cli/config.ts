// `c3l config`: the resolved config (defaults filled, overrides applied, paths absolute) on stdout.
import { ConfigError, configToJson, configToYaml, resolveConfig } from "../config/index.js";
import { EXIT } from "../errors.js";

export async function config(options: { config: string; overrides: string[]; format: "yaml" | "json" }): Promise<number> {
  const resolved = resolveConfig(options.config, options.overrides);
  if (resolved.config === null) throw new ConfigError(resolved.problems, options.config);
  process.stdout.write(options.format === "json" ? configToJson(resolved.config) : configToYaml(resolved.config));
  return EXIT.ok;
}
