// Where a run's images are, by image id, read from its config the way the pipeline found them (never built here).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { extname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { getDotted } from "../runs/flatten.js";
import { builtinDataLocation, builtinName } from "../pipeline/builtins.js";

const IMAGE_EXTENSIONS = new Set([".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"]);

/** A builtin data set's root where pipeline/builtins.ts puts it; a report never builds one. */
function dataRoot(root: string): string {
  const name = builtinName(root);
  return name ? (builtinDataLocation(name)?.root ?? root) : root;
}

/** image id → absolute path for the run's config (data.manifest, data.images, or the builtin's manifest.jsonl); empty when unknown. */
export function imageIndex(config: unknown): Map<string, string> {
  const index = new Map<string, string>();
  const rootValue = getDotted(config, "data.root");
  if (typeof rootValue !== "string") return index;
  const root = dataRoot(rootValue);
  const manifestValue = getDotted(config, "data.manifest");
  const imagesValue = getDotted(config, "data.images");
  const builtin = builtinName(rootValue);
  const manifest = typeof manifestValue === "string" ? resolve(root, manifestValue) : builtin ? (builtinDataLocation(builtin)?.manifest ?? null) : null;
  if (manifest) {
    if (!existsSync(manifest)) return index;
    for (const line of readFileSync(manifest, "utf8").split("\n")) {
      try {
        const { id, image } = JSON.parse(line) as { id?: unknown; image?: unknown };
        if (typeof id === "string" && typeof image === "string" && !index.has(id)) index.set(id, isAbsolute(image) ? image : resolve(root, image));
      } catch {
        // blank or damaged lines were skipped by the run too
      }
    }
    return index;
  }
  const folder = resolve(root, typeof imagesValue === "string" ? imagesValue : ".");
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) {
        const rel = relative(folder, full).split(sep).join("/");
        const id = rel.slice(0, -extname(rel).length);
        if (!index.has(id)) index.set(id, full);
      }
    }
  };
  walk(folder);
  return index;
}
