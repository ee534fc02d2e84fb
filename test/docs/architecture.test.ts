// docs/ARCHITECTURE.md matches the tree: every folder of the orchestrator and of the worker package
// is named in it, and every repository path it names exists.
import { describe, expect, test } from "@jest/globals";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

const ROOT = join(import.meta.dirname, "..", "..");
const DOC = readFileSync(join(ROOT, "docs", "ARCHITECTURE.md"), "utf8");

function folders(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== "__pycache__")
    .flatMap((e) => [join(dir, e.name), ...folders(join(dir, e.name))]);
}

describe("docs/ARCHITECTURE.md", () => {
  test("names every folder of orchestrator/ and py-worker/c3l_worker/", () => {
    const all = [join(ROOT, "orchestrator"), join(ROOT, "py-worker", "c3l_worker")].flatMap((top) => [top, ...folders(top)]);
    const missing = all.map((dir) => relative(ROOT, dir)).filter((dir) => {
      const last = dir.split("/").at(-1)!;
      return !DOC.includes(`${dir}/`) && !DOC.includes(`\`${last}/\``); // the full path, or the sub-folder in its parent's row
    });
    expect(missing).toEqual([]);
    expect(all.length).toBeGreaterThan(15);
  });

  test("every repository path it names exists", () => {
    const paths = [...DOC.matchAll(/`((?:orchestrator|py-worker|proto|docs|scripts|configs)\/[^`\s]*)`/g)].map((m) => m[1]!.replace(/<[^>]+>.*$/, ""));
    expect(paths.length).toBeGreaterThan(20);
    expect(paths.filter((p) => !existsSync(join(ROOT, p)))).toEqual([]);
  });
});
