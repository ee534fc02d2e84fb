// Bad input: each problem names the file, line or sample id; per-sample problems are skipped and
// counted, whole-input problems stop the run before any work.
import { describe, expect, test } from "@jest/globals";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { InputError, MAX_ID_LENGTH, resolveImages } from "../../orchestrator/pipeline/inputs.js";

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

  test("symlinks: a link that leaves the data root is skipped naming the file; links inside it are read", async () => {
    const root = await dataRoot();
    const outside = mkdtempSync(join(tmpdir(), "c3l-outside-"));
    await png(join(outside, "secret.png"));
    mkdirSync(join(outside, "dir"));
    await png(join(outside, "dir", "deep.png"));
    symlinkSync(join(outside, "secret.png"), join(root, "imgs", "escape.png")); // a file link out of the root
    symlinkSync(join(root, "imgs", "b.png"), join(root, "imgs", "alias.png")); // a link that stays inside
    symlinkSync("../b.png", join(root, "imgs", "sub", "rel.png")); // relative, inside
    symlinkSync(join(outside, "dir"), join(root, "linked-dir")); // a folder link out of the root

    const folder = await resolveImages({ root, images: "imgs", manifest: null, limit: null });
    expect(folder.images.map((i) => i.id)).toEqual(["alias", "b", "sub/a", "sub/rel"]);
    const escape = folder.skipped.find((s) => s.id === "escape");
    expect(escape?.reason).toMatch(/imgs\/escape\.png.*links to .*secret\.png.*outside the data root/);
    await expect(resolveImages({ root, images: "linked-dir", manifest: null, limit: null })).rejects.toThrow(/linked-dir.*outside the data root/);

    writeFileSync(join(root, "m.jsonl"), [
      JSON.stringify({ id: "in", image: "imgs/alias.png" }),
      JSON.stringify({ id: "out", image: "imgs/escape.png" }),
      JSON.stringify({ id: "out-dir", image: "linked-dir/deep.png" }),
    ].join("\n"));
    const listed = await resolveImages({ root, images: null, manifest: "m.jsonl", limit: null });
    expect(listed.images.map((i) => i.id)).toEqual(["in"]);
    const reasons = listed.skipped.map((s) => `${s.id}: ${s.reason}`).join("\n");
    expect(reasons).toMatch(/out: .*m\.jsonl:2: image imgs\/escape\.png links to .*secret\.png, outside the data root/);
    expect(reasons).toMatch(/out-dir: .*m\.jsonl:3: image linked-dir\/deep\.png links to .*deep\.png, outside the data root/);
  });

  test(`ids are at most ${MAX_ID_LENGTH} characters and hold no control characters; the manifest line is named`, async () => {
    const root = await dataRoot();
    writeFileSync(join(root, "m.jsonl"), [
      JSON.stringify({ id: "x".repeat(MAX_ID_LENGTH), image: "imgs/b.png" }),
      JSON.stringify({ id: "y".repeat(5000), image: "imgs/b.png" }),
      JSON.stringify({ id: "bell\u0007", image: "imgs/b.png" }),
      JSON.stringify({ id: "猫/🐱 é", image: "imgs/b.png" }),
    ].join("\n"));
    const { images, skipped } = await resolveImages({ root, images: null, manifest: "m.jsonl", limit: null });
    expect(images.map((i) => i.id)).toEqual(["x".repeat(MAX_ID_LENGTH), "猫/🐱 é"]);
    const reasons = skipped.map((s) => s.reason).join("\n");
    expect(reasons).toMatch(new RegExp(`m\\.jsonl:2: id is 5000 characters long; ids are at most ${MAX_ID_LENGTH}`));
    expect(reasons.length).toBeLessThan(1000); // the long id is not repeated in full
    expect(reasons).toMatch(/m\.jsonl:3: id "bell\\u0007" holds a control character/);
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
