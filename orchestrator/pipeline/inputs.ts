// The run's images, from a folder or a JSONL manifest, all confined to the data root. Whole-input
// problems (no root, no images, an unreadable manifest file) stop the run before any work; one
// bad image or manifest line is recorded with its file, line or id, skipped and counted.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { extname, isAbsolute, join, relative, resolve, sep } from "node:path";
import sharp from "sharp";
import { InputError } from "./errors.js";

export interface InputImage {
  id: string;
  path: string; // absolute
  rel: string; // relative to the data root, as the final dataset writes it
}

export interface SkippedInput {
  id: string;
  reason: string;
}

export { InputError };

const IMAGE_EXTENSIONS = new Set([".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"]);

export interface DataSource {
  root: string;
  images: string | null;
  manifest: string | null;
  limit: number | null;
}

export async function resolveImages(source: DataSource): Promise<{ images: InputImage[]; skipped: SkippedInput[] }> {
  const root = resolve(source.root);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new InputError(`data.root: ${root} is not a directory`);
  const skipped: SkippedInput[] = [];
  const listed = source.manifest ? readManifest(root, source.manifest, skipped) : listFolder(root, source.images ?? ".");
  const seen = new Set<string>();
  const unique: InputImage[] = [];
  for (const image of listed) {
    if (seen.has(image.id)) {
      skipped.push({ id: image.id, reason: `duplicate id ${image.id} (${image.rel}); the first one is kept` });
      continue;
    }
    seen.add(image.id);
    unique.push(image);
  }
  unique.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const chosen = source.limit === null ? unique : unique.slice(0, source.limit);
  const images: InputImage[] = [];
  for (const image of chosen) {
    const problem = await checkImage(image);
    if (problem) skipped.push({ id: image.id, reason: problem });
    else images.push(image);
  }
  if (images.length === 0) {
    const why = skipped.length ? `; ${skipped.length} skipped, first: ${skipped[0]!.reason}` : "";
    throw new InputError(`no usable images under ${root}${why}`);
  }
  return { images, skipped };
}

export function listFolder(root: string, folder: string): InputImage[] {
  const dir = resolve(root, folder);
  if (!inside(root, dir)) throw new InputError(`data.images: ${dir} is outside the data root ${root}`);
  if (!existsSync(dir)) throw new InputError(`data.images: folder ${dir} does not exist`);
  const found: InputImage[] = [];
  const walk = (current: string) => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const full = join(current, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase())) {
        const fromFolder = relative(dir, full).split(sep).join("/");
        found.push({ id: fromFolder.slice(0, -extname(fromFolder).length), path: full, rel: relative(root, full).split(sep).join("/") });
      }
    }
  };
  walk(dir);
  if (found.length === 0) throw new InputError(`data.images: folder ${dir} holds no images (${[...IMAGE_EXTENSIONS].join(" ")})`);
  return found;
}

export function readManifest(root: string, manifest: string, skipped: SkippedInput[]): InputImage[] {
  const file = resolve(root, manifest);
  if (!existsSync(file)) throw new InputError(`data.manifest: ${file} does not exist`);
  const images: InputImage[] = [];
  readFileSync(file, "utf8").split("\n").forEach((line, index) => {
    if (!line.trim()) return;
    const where = `${file}:${index + 1}`;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      skipped.push({ id: `line ${index + 1}`, reason: `${where}: not JSON` });
      return;
    }
    const { id, image } = (record ?? {}) as { id?: unknown; image?: unknown };
    if (typeof id !== "string" || !id || typeof image !== "string" || !image) {
      skipped.push({ id: typeof id === "string" && id ? id : `line ${index + 1}`, reason: `${where}: needs string "id" and "image"` });
      return;
    }
    const path = isAbsolute(image) ? image : resolve(root, image);
    if (!inside(root, path)) {
      skipped.push({ id, reason: `${where}: image ${image} is outside the data root ${root}` });
      return;
    }
    images.push({ id, path, rel: relative(root, path).split(sep).join("/") });
  });
  if (images.length === 0 && skipped.length === 0) throw new InputError(`data.manifest: ${file} lists no images`);
  return images;
}

async function checkImage(image: InputImage): Promise<string | null> {
  if (!existsSync(image.path)) return `image ${image.path} (id ${image.id}) does not exist`;
  try {
    const meta = await sharp(image.path).metadata();
    if (!meta.width || !meta.height) return `image ${image.path} (id ${image.id}) has no dimensions`;
    return null;
  } catch (err) {
    return `image ${image.path} (id ${image.id}) cannot be decoded: ${(err as Error).message}`;
  }
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, resolve(path));
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}
