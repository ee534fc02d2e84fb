// One error hierarchy, one mapping: every error class the orchestrator exports is a C3lError, so it
// maps to one documented exit code, and every documented code is reachable from some error class.
import { describe, expect, test } from "@jest/globals";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { C3lError, EXIT, exitCodeOf } from "../../orchestrator/errors.js";
import { ConfigError } from "../../orchestrator/config/errors.js";
import { InputError } from "../../orchestrator/pipeline/errors.js";
import { RunStoreError } from "../../orchestrator/runs/errors.js";
import { BatchFailedError, PoolExhaustedError, WorkerExitedError } from "../../orchestrator/worker/errors.js";

const ROOT = join(import.meta.dirname, "..", "..");
const SOURCES = join(ROOT, "orchestrator");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [path] : [];
  });
}

describe("exit codes", () => {
  test("every exported error class is a C3lError (so it has its exit code)", async () => {
    const classes: string[] = [];
    for (const file of sourceFiles(SOURCES)) {
      if (file.endsWith(join("cli", "main.ts"))) continue; // runs the CLI when imported
      const module = (await import(file)) as Record<string, unknown>;
      for (const [name, value] of Object.entries(module)) {
        if (typeof value !== "function" || !(value.prototype instanceof Error) || value === C3lError) continue;
        classes.push(`${relative(ROOT, file)}:${name}`);
        expect({ name, isC3lError: value.prototype instanceof C3lError }).toEqual({ name, isC3lError: true });
      }
    }
    expect(classes.length).toBeGreaterThan(10); // the walk found the error modules
  });

  test("a run whose batches or workers are all spent exits 3, like any worker failure; a bug exits 1", () => {
    const cause = new WorkerExitedError(null, "SIGKILL", "", "while handling score", null);
    expect(exitCodeOf(new BatchFailedError("r0-score chunk 0", 3, cause))).toBe(EXIT.worker);
    expect(exitCodeOf(new PoolExhaustedError("no worker is left"))).toBe(EXIT.worker);
    expect(exitCodeOf(new TypeError("a bug"))).toBe(EXIT.failure);
  });

  test("every exit code but success is reached by an error class", () => {
    const reached = [new RunStoreError("a damaged run file"), new ConfigError(["seed: expected int"]), new PoolExhaustedError("none left"), new InputError("no images")].map(exitCodeOf);
    expect(reached.sort()).toEqual(Object.values(EXIT).filter((code) => code !== EXIT.ok).map(Number).sort());
  });

  test("the codes README.md documents are the codes EXIT defines", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const paragraph = readme.slice(readme.indexOf("Exit codes are stable"), readme.indexOf("the run was stopped by Ctrl-C"));
    const documented = [...paragraph.matchAll(/`(\d+)`/g)].map((m) => Number(m[1])).filter((n) => n < 128);
    expect(documented.sort()).toEqual(Object.values(EXIT).map(Number).sort());
  });
});
