#!/usr/bin/env node
// Writes docs/CONFIG.md and configs/default.yaml from the config schema (orchestrator/config/schema.ts).
// Builds dist/ first. `--check` writes nothing and exits 1 when either file is stale.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
// Type errors elsewhere are the type check's business (tsc still emits); only the docs module matters here.
spawnSync(join(root, "node_modules", ".bin", "tsc"), ["-p", join(root, "tsconfig.build.json")], { stdio: "inherit" });
const { renderConfigDocs, renderDefaultYaml } = await import(pathToFileURL(join(root, "dist", "config", "docs.js")).href);

const outputs = [
  [join(root, "docs", "CONFIG.md"), renderConfigDocs()],
  [join(root, "configs", "default.yaml"), renderDefaultYaml()],
];
const check = process.argv.includes("--check");
let stale = 0;
for (const [path, text] of outputs) {
  const current = existsSync(path) ? readFileSync(path, "utf8") : null;
  if (current === text) continue;
  if (check) {
    process.stderr.write(`${path} is stale: run node scripts/gen-config-docs.mjs\n`);
    stale++;
  } else {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    process.stderr.write(`wrote ${path}\n`);
  }
}
process.exit(stale ? 1 : 0);
