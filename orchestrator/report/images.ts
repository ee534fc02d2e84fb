// Where a run's images are, by image id, read from its config the way the pipeline found them (never built here).
import { getDotted } from "../runs/flatten.js";
import { builtinDataLocation, builtinName } from "../pipeline/builtins.js";
import { listFolder, readManifest, type InputImage } from "../pipeline/inputs.js";

/** A builtin data set's root where pipeline/builtins.ts puts it; a report never builds one. */
function dataRoot(root: string, config: unknown): string {
  const name = builtinName(root);
  return name ? (builtinDataLocation(name, config)?.root ?? root) : root;
}

/** image id → absolute path for the run's config (data.manifest, data.images, or the builtin's manifest.jsonl); empty when unknown. */
export function imageIndex(config: unknown): Map<string, string> {
  const rootValue = getDotted(config, "data.root");
  if (typeof rootValue !== "string") return new Map();
  const root = dataRoot(rootValue, config);
  const manifestValue = getDotted(config, "data.manifest");
  const imagesValue = getDotted(config, "data.images");
  const builtin = builtinName(rootValue);
  const manifest = typeof manifestValue === "string" ? manifestValue : builtin ? (builtinDataLocation(builtin, config)?.manifest ?? null) : null;
  let images: InputImage[];
  try {
    // The pipeline's own readers, so the report finds exactly the images the run used.
    images = manifest ? readManifest(root, manifest, []) : listFolder(root, typeof imagesValue === "string" ? imagesValue : ".");
  } catch {
    return new Map(); // inputs gone or moved since the run: the report shows no thumbnails
  }
  const index = new Map<string, string>();
  for (const image of images) if (!index.has(image.id)) index.set(image.id, image.path);
  return index;
}
