// Images a benchmark holds inline (MMBench's base64 cells) written once to files: the worker only takes paths.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ImageRef } from "./types.js";

/** A content name for an image: the file name for a file, the sha256 of the base64 text for an inline one. */
export function imageIdentity(image: ImageRef): string {
  return image.kind === "file" ? image.name : `base64:${sha256(image.data)}`;
}

/** The local path the worker reads: the file's own path, or `<dir>/<sha256>.png` written on first use (temp name + rename). */
export function imagePath(image: ImageRef, dir: string): string {
  if (image.kind === "file") {
    if (image.path === null) throw new Error(`image ${image.name} has no resolved path (checkImages should have refused it)`);
    return image.path;
  }
  const path = join(dir, `${sha256(image.data)}.png`);
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, Buffer.from(image.data, "base64"));
    renameSync(tmp, path);
  }
  return path;
}

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
