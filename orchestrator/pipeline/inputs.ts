// The run's images, from a folder or a JSONL manifest, all confined to the data root. Whole-input
// problems (no root, no images, an unreadable manifest file) stop the run before any work; one
// bad image or manifest line is recorded with its file, line or id, skipped and counted.
// Confinement is by real path: a symlink (or a linked folder on the way) that leaves the root is
// skipped like a `../` path, as the worker's --roots guard refuses it too; links inside are fine.
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { extname, isAbsolute, join, relative, resolve, sep } from "node:path";
import sharp from "sharp";
import { InputError } from "./errors.js";

/** Longest sample id: ids are file names, log lines and gallery captions (docs/CONFIG.md, data.manifest). */
export const MAX_ID_LENGTH = 200;
/**
 * Largest image, in pixels: PIL's decompression-bomb threshold (`Image.MAX_IMAGE_PIXELS`, 89.5
 * Mpixels), which the worker enforces as an error, so both sides refuse the same images.
 */
export const MAX_IMAGE_PIXELS = 89_478_485;
// Line breaks, C0/C1 controls, and the bidirectional overrides that reorder how text is shown.
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

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
  /** Where decoder warnings about an image that is still used go, one line each naming the file (default: stderr). */
  warn?: (line: string) => void;
}

const stderrWarn = (line: string): void => {
  process.stderr.write(`warning: ${line}\n`);
};

export async function resolveImages(source: DataSource): Promise<{ images: InputImage[]; skipped: SkippedInput[] }> {
  const root = resolve(source.root);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new InputError(`data.root: ${root} is not a directory`);
  const skipped: SkippedInput[] = [];
  const listed = source.manifest ? readManifest(root, source.manifest, skipped) : listFolder(root, source.images ?? ".", skipped);
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
  const problems = await checkImages(chosen, source.warn ?? stderrWarn);
  const images: InputImage[] = [];
  chosen.forEach((image, i) => {
    const problem = problems[i];
    if (problem) skipped.push({ id: image.id, reason: `image ${image.path} (id ${image.id}) ${problem}` });
    else images.push(image);
  });
  if (images.length === 0) {
    // Every reason at once (up to a screenful), so one pass fixes them all.
    const shown = skipped.slice(0, 20).map((s) => `\n  ${s.reason}`).join("");
    const more = skipped.length > 20 ? `\n  … and ${skipped.length - 20} more` : "";
    throw new InputError(`no usable images under ${root}${skipped.length ? `; ${skipped.length} skipped:${shown}${more}` : ""}`);
  }
  return { images, skipped };
}

/** The images of a folder under the root (recursively; links to folders are not followed); links out of the root are skipped into `skipped`. */
export function listFolder(root: string, folder: string, skipped: SkippedInput[] = []): InputImage[] {
  const dir = resolve(root, folder);
  if (!inside(root, dir)) throw new InputError(`data.images: ${dir} is outside the data root ${root}`);
  if (!existsSync(dir)) throw new InputError(`data.images: folder ${dir} does not exist`);
  const realRoot = realpathSync(root);
  const realDir = realpathSync(dir);
  if (!inside(realRoot, realDir)) throw new InputError(`data.images: ${dir} links to ${realDir}, outside the data root ${root}`);
  const found: InputImage[] = [];
  const walk = (current: string) => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const full = join(current, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase())) {
        const fromFolder = relative(dir, full).split(sep).join("/");
        const id = fromFolder.slice(0, -extname(fromFolder).length);
        const idIssue = idProblem(id);
        if (idIssue) {
          skipped.push({ id: printable(id), reason: `${full}: ${idIssue} (the id is the path under ${dir} without its extension)` });
          continue;
        }
        const escape = leavesRoot(realRoot, full);
        if (escape) {
          skipped.push({ id, reason: `image ${full} links to ${escape}, outside the data root ${root}` });
          continue;
        }
        found.push({ id, path: full, rel: relative(root, full).split(sep).join("/") });
      }
    }
  };
  walk(dir);
  if (found.length === 0 && skipped.length === 0) throw new InputError(`data.images: folder ${dir} holds no images (${[...IMAGE_EXTENSIONS].join(" ")})`);
  return found;
}

export function readManifest(root: string, manifest: string, skipped: SkippedInput[]): InputImage[] {
  const file = resolve(root, manifest);
  if (!existsSync(file)) throw new InputError(`data.manifest: ${file} does not exist`);
  const realRoot = realpathSync(root);
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
      skipped.push({ id: typeof id === "string" && id && !idProblem(id) ? id : `line ${index + 1}`, reason: `${where}: needs string "id" and "image"` });
      return;
    }
    const idIssue = idProblem(id);
    if (idIssue) {
      skipped.push({ id: `line ${index + 1}`, reason: `${where}: ${idIssue}` });
      return;
    }
    const path = isAbsolute(image) ? image : resolve(root, image);
    if (!inside(root, path)) {
      skipped.push({ id, reason: `${where}: image ${image} is outside the data root ${root}` });
      return;
    }
    const escape = leavesRoot(realRoot, path);
    if (escape) {
      skipped.push({ id, reason: `${where}: image ${image} links to ${escape}, outside the data root ${root}` });
      return;
    }
    images.push({ id, path, rel: relative(root, path).split(sep).join("/") });
  });
  if (images.length === 0 && skipped.length === 0) throw new InputError(`data.manifest: ${file} lists no images`);
  return images;
}

/** Why `id` cannot name a sample, or null: too long, or a character that breaks a log line or the report's layout. */
export function idProblem(id: string): string | null {
  if (id.length > MAX_ID_LENGTH) return `id is ${id.length} characters long; ids are at most ${MAX_ID_LENGTH}`;
  const control = CONTROL_CHARACTER.exec(id);
  if (control) {
    const code = `U+${control[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
    return `id ${printable(id)} holds a control character (${code}); ids are printable text`;
  }
  return null;
}

/** An id as JSON (control characters escaped), cut to 60 characters. */
function printable(id: string): string {
  return id.length > 60 ? `${JSON.stringify(id.slice(0, 60))}…` : JSON.stringify(id);
}

/** libvips messages come as several lines, often repeated: one line, each part once. */
export function oneLine(message: string): string {
  return [...new Set(message.split("\n").map((l) => l.trim()).filter(Boolean))].join("; ");
}

/** A sharp "warning" event as one line, or null for libvips' "read gave N warnings" (a count of the lines that follow). */
export function vipsWarning(message: string): string | null {
  return /^read gave \d+ warnings?$/.test(message.trim()) ? null : oneLine(message);
}

/**
 * Whether each image can be used (null) or why not (a reason that follows "image PATH (id ID)"), in order.
 * One image at a time: libvips keeps one error and warning buffer for the process, so under concurrent
 * decodes a message lands on another image or is lost ("Unknown error").
 */
async function checkImages(images: InputImage[], warn: (line: string) => void): Promise<Array<string | null>> {
  const byPath = new Map<string, string | null>(); // a manifest may list one file under many ids
  const results: Array<string | null> = [];
  for (const image of images) {
    if (!byPath.has(image.path)) byPath.set(image.path, await checkImage(image.path, warn));
    results.push(byPath.get(image.path)!);
  }
  return results;
}

/**
 * Decodes the image once, as the worker will (first frame, at most MAX_IMAGE_PIXELS), shrunk on load
 * where the format allows. Truncated or corrupt pixel data fails here, as it does in PIL; libvips
 * warnings about an image that still decodes are passed to `warn` naming the file.
 */
async function checkImage(path: string, warn: (line: string) => void): Promise<string | null> {
  if (!existsSync(path)) return "does not exist";
  const warnings: string[] = [];
  const note = (w: string) => {
    const line = vipsWarning(w);
    if (line) warnings.push(line);
  };
  try {
    const header = sharp(path, { limitInputPixels: false });
    header.on("warning", note);
    const meta = await header.metadata();
    if (!meta.width || !meta.height) return "has no dimensions";
    if (meta.width * meta.height > MAX_IMAGE_PIXELS) {
      return `is ${meta.width}×${meta.height} (${Math.round((meta.width * meta.height) / 1e6)} Mpixels); images are at most ${MAX_IMAGE_PIXELS} pixels (a decompression-bomb guard; the worker refuses them too)`;
    }
    // failOn "error" refuses what PIL refuses (truncated or broken data) and tolerates what it tolerates.
    const pixels = sharp(path, { failOn: "error", limitInputPixels: MAX_IMAGE_PIXELS });
    pixels.on("warning", note);
    await pixels.resize(64, 64, { fit: "inside" }).raw().toBuffer();
  } catch (err) {
    return `cannot be decoded: ${oneLine((err as Error).message)}`;
  }
  for (const w of new Set(warnings)) warn(`image ${path}: ${w}`);
  return null;
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, resolve(path));
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel)); // "..x.png" is inside
}

/** The real path of `path` when it (through a link anywhere along it) leaves the real root; null when inside or missing. */
function leavesRoot(realRoot: string, path: string): string | null {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return null; // missing or dangling: the image check says "does not exist"
  }
  return inside(realRoot, real) ? null : real;
}
