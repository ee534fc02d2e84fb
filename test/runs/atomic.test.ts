import { describe, expect, test } from "@jest/globals";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "../../orchestrator/runs/atomic.js";
import { distModule, nodeChild, sleep, tempDir } from "./helpers.js";

describe("atomic writes", () => {
  test("replace the file and leave no temp file behind", () => {
    const dir = tempDir();
    const path = join(dir, "state.json");
    writeFileSync(path, "old");
    writeJsonAtomic(path, { a: 1 });
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ a: 1 });
    writeFileAtomic(path, "second\n");
    expect(readFileSync(path, "utf8")).toBe("second\n");
    expect(readdirSync(dir)).toEqual(["state.json"]);
  });

  test("a failed write leaves the old file and no temp file", () => {
    const dir = tempDir();
    const path = join(dir, "x.json");
    writeJsonAtomic(path, { keep: true });
    expect(() => writeFileAtomic(join(dir, "missing-dir", "y.json"), "z")).toThrow(/ENOENT/);
    // a non-empty folder in the way makes the rename fail after the temp file was written
    mkdirSync(join(dir, "target"));
    writeFileSync(join(dir, "target", "inside"), "");
    expect(() => writeFileAtomic(join(dir, "target"), "cannot replace a folder")).toThrow(/EISDIR|ENOTEMPTY|EEXIST/);
    expect(readdirSync(dir).sort()).toEqual(["target", "x.json"]);
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ keep: true });
  });

  test("readers never see a half file while a writer is SIGKILLed mid-loop", async () => {
    const dir = tempDir();
    const path = join(dir, "big.json");
    const child = nodeChild(`
      import { writeJsonAtomic } from ${JSON.stringify(distModule("atomic"))};
      const pad = "x".repeat(200000);
      for (let i = 0; ; i++) writeJsonAtomic(${JSON.stringify(path)}, { i, pad, end: "end" });
    `);
    const seen = new Set<number>();
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      let text: string;
      try {
        text = readFileSync(path, "utf8");
      } catch {
        await sleep(5); // not written yet
        continue;
      }
      const doc = JSON.parse(text) as { i: number; pad: string; end: string };
      expect(doc.end).toBe("end");
      expect(doc.pad.length).toBe(200000);
      seen.add(doc.i);
      await sleep(1);
    }
    child.kill("SIGKILL");
    const r = await child;
    expect(r.signal).toBe("SIGKILL");
    expect(seen.size).toBeGreaterThan(1); // the writer really was replacing the file under the reader
    const last = JSON.parse(readFileSync(path, "utf8")) as { end: string };
    expect(last.end).toBe("end");
    // a kill can leave at most one hidden temp file, never a damaged target
    expect(readdirSync(dir).filter((f) => !f.startsWith(".")).sort()).toEqual(["big.json"]);
    expect(readdirSync(dir).filter((f) => f.startsWith(".")).length).toBeLessThanOrEqual(1);
  });
});
