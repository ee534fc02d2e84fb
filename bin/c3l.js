#!/usr/bin/env node
// The `c3l` command: runs the compiled orchestrator (npm run setup builds dist/).
import { existsSync } from "node:fs";

const main = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(main)) {
  process.stderr.write("c3l is not built yet: run `npm run setup` in the c3l checkout first.\n");
  process.exit(2);
}
await import(main.href);
