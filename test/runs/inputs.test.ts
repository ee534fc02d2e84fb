import { describe, expect, test } from "@jest/globals";
import { mkdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { diffInputs, hashModelDir, hashPath } from "../../orchestrator/runs/inputs.js";
import { tempDir } from "./helpers.js";

function imageFolder(n: number): string {
  const dir = join(tempDir(), "images");
  mkdirSync(join(dir, "sub"), { recursive: true });
  for (let i = 0; i < n; i += 1) writeFileSync(join(dir, i % 2 ? "sub" : "", `img${String(i).padStart(5, "0")}.png`), `png-${i}`);
  return dir;
}

describe("input fingerprints", () => {
  test("a data folder's hash is stable and changes when a file changes, is added or is removed", () => {
    const dir = imageFolder(20);
    const a = hashPath(dir);
    expect(a).toMatchObject({ type: "dir", kind: "data", files: 20 });
    expect(a.entries["sub/img00001.png"]).toMatch(/^\d+:\d+$/);
    expect(hashPath(dir).sha256).toBe(a.sha256);

    writeFileSync(join(dir, ".DS_Store"), "ignored"); // hidden files are not inputs
    expect(hashPath(dir).sha256).toBe(a.sha256);

    const f = join(dir, "img00000.png");
    const st = statSync(f);
    writeFileSync(f, "PNG-0"); // same size, new content
    utimesSync(f, st.atime, new Date(st.mtimeMs + 5000));
    const changed = hashPath(dir);
    expect(changed.sha256).not.toBe(a.sha256);
    expect(diffInputs({ data: a }, { data: changed })).toEqual([`data (${dir}): 1 changed (img00000.png)`]);

    writeFileSync(join(dir, "sub", "new.png"), "n");
    rmSync(join(dir, "sub", "img00003.png"));
    const b = hashPath(dir);
    expect(b.files).toBe(20);
    expect(diffInputs({ data: changed }, { data: b })).toEqual([`data (${dir}): 1 added (sub/new.png); 1 removed (sub/img00003.png)`]);
    expect(diffInputs({ data: b }, { data: hashPath(dir) })).toEqual([]);
  });

  test("a missing input is reported as gone", () => {
    const dir = imageFolder(2);
    const a = hashPath(dir);
    rmSync(dir, { recursive: true });
    const gone = hashPath(dir);
    expect(gone.type).toBe("missing");
    expect(diffInputs({ data: a }, { data: gone })).toEqual([`data: ${dir} no longer exists`]);
  });

  test("a single file (a JSONL manifest) is hashed by content", () => {
    const file = join(tempDir(), "manifest.jsonl");
    writeFileSync(file, '{"id":"a","image":"a.png"}\n');
    const a = hashPath(file);
    expect(a.type).toBe("file");
    writeFileSync(file, '{"id":"b","image":"a.png"}\n'); // same size
    const st = statSync(file);
    utimesSync(file, st.atime, st.mtime);
    expect(hashPath(file).sha256).not.toBe(a.sha256);
  });

  test("a model folder: config.json by content (even with its mtime restored), weights by size and mtime", () => {
    const dir = join(tempDir(), "model");
    mkdirSync(dir);
    writeFileSync(join(dir, "config.json"), '{"hidden_size": 64}');
    writeFileSync(join(dir, "model.safetensors"), Buffer.alloc((1 << 20) + 10));
    const a = hashModelDir(dir);
    expect(a.entries["config.json"]).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(a.entries["model.safetensors"]).toMatch(/^1048586:\d+$/);
    const cfg = join(dir, "config.json");
    const st = statSync(cfg);
    writeFileSync(cfg, '{"hidden_size": 65}');
    utimesSync(cfg, st.atime, st.mtime);
    const b = hashModelDir(dir);
    expect(diffInputs({ model: a }, { model: b })).toEqual([`model (${dir}): 1 changed (config.json)`]);
    writeFileSync(join(dir, "model.safetensors"), Buffer.alloc((1 << 20) + 11));
    expect(diffInputs({ model: b }, { model: hashModelDir(dir) })).toEqual([`model (${dir}): 1 changed (model.safetensors)`]);
  });

  test("thousands of images hash fast (stat only)", () => {
    const dir = imageFolder(3000);
    const t0 = performance.now();
    const fp = hashPath(dir);
    const ms = performance.now() - t0;
    rmSync(dir, { recursive: true });
    expect(fp.files).toBe(3000);
    expect(ms).toBeLessThan(3000);
  });
});
