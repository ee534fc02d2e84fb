// Bad input: each problem names the file, line or sample id; per-sample problems are skipped and
// counted, whole-input problems stop the run before any work.
import { describe, expect, test } from "@jest/globals";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { InputError, resolveImages } from "../../orchestrator/pipeline/inputs.js";

async function png(path: string): Promise<void> {
  await sharp({ create: { width: 8, height: 8, channels: 3, background: "#ff0000" } }).png().toFile(path);
}

async function dataRoot(): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), "c3l-inputs-"));
  mkdirSync(join(root, "imgs", "sub"), { recursive: true });
  await png(join(root, "imgs", "b.png"));
  await png(join(root, "imgs", "sub", "a.png"));
  writeFileSync(join(root, "imgs", "broken.png"), "not an image");
  writeFileSync(join(root, "imgs", "notes.txt"), "ignored");
  return root;
}

describe("image inputs", () => {
  test("a folder: ids are paths without extension, sorted; an undecodable image is skipped by id", async () => {
    const root = await dataRoot();
    const { images, skipped } = await resolveImages({ root, images: "imgs", manifest: null, limit: null });
    expect(images.map((i) => [i.id, i.rel])).toEqual([["b", "imgs/b.png"], ["sub/a", "imgs/sub/a.png"]]);
    expect(skipped).toHaveLength(1);
    expect(skipped[0]!.id).toBe("broken");
    expect(skipped[0]!.reason).toMatch(/broken\.png.*cannot be decoded/);
  });

  test("a manifest: bad lines, missing keys, duplicates, paths outside the root and missing files are named", async () => {
    const root = await dataRoot();
    writeFileSync(join(root, "m.jsonl"), [
      JSON.stringify({ id: "x", image: "imgs/b.png" }),
      "{not json",
      JSON.stringify({ image: "imgs/b.png" }),
      JSON.stringify({ id: "x", image: "imgs/sub/a.png" }),
      JSON.stringify({ id: "escape", image: "../../etc/passwd" }),
      JSON.stringify({ id: "gone", image: "imgs/gone.png" }),
      "",
    ].join("\n"));
    const { images, skipped } = await resolveImages({ root, images: null, manifest: "m.jsonl", limit: null });
    expect(images.map((i) => i.id)).toEqual(["x"]);
    const reasons = skipped.map((s) => `${s.id}: ${s.reason}`).join("\n");
    expect(reasons).toMatch(/line 2: .*m\.jsonl:2: not JSON/);
    expect(reasons).toMatch(/m\.jsonl:3: needs string "id" and "image"/);
    expect(reasons).toMatch(/x: duplicate id x/);
    expect(reasons).toMatch(/escape: .*outside the data root/);
    expect(reasons).toMatch(/gone: .*does not exist/);
  });

  test("limit keeps the first images by id", async () => {
    const root = await dataRoot();
    const { images } = await resolveImages({ root, images: "imgs", manifest: null, limit: 1 });
    expect(images.map((i) => i.id)).toEqual(["b"]);
  });

  test("whole-input problems stop before any work, naming the path", async () => {
    const root = await dataRoot();
    mkdirSync(join(root, "empty"));
    await expect(resolveImages({ root, images: "empty", manifest: null, limit: null })).rejects.toThrow(/empty holds no images/);
    await expect(resolveImages({ root: join(root, "nope"), images: ".", manifest: null, limit: null })).rejects.toThrow(InputError);
    await expect(resolveImages({ root, images: null, manifest: "missing.jsonl", limit: null })).rejects.toThrow(/missing\.jsonl does not exist/);
    await expect(resolveImages({ root, images: "..", manifest: null, limit: null })).rejects.toThrow(/outside the data root/);
  });
});
