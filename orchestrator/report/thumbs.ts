// Gallery thumbnails made with sharp: small PNGs as data URIs, so the report stays one self-contained file.
import sharp from "sharp";
import { oneLine, vipsWarning } from "../pipeline/inputs.js";

export const THUMB_SIZE = 96;

/**
 * A PNG data URI of `path` fitted inside size × size: larger images are shrunk, tiny ones (synthetic
 * 48 px cells) are enlarged by a whole factor with nearest-neighbour so no detail is invented.
 * EXIF orientation is applied and an animation shows its first frame, as the worker sees the image
 * (py-worker/c3l_worker/inputs.py load_image). null (with a warning) when the image cannot be read;
 * every warning names the file, on one line.
 */
export async function thumbnail(path: string, warn: (m: string) => void, size = THUMB_SIZE): Promise<string | null> {
  try {
    // failOn "error" as the input check (pipeline/inputs.ts): an image the run used has a thumbnail.
    const image = sharp(path, { failOn: "error" }).rotate();
    image.on("warning", (w: string) => {
      const line = vipsWarning(w);
      if (line) warn(`thumbnail of ${path}: ${line}`);
    });
    const meta = await image.metadata();
    const width = meta.autoOrient?.width ?? meta.width ?? 0;
    const longest = Math.max(width, meta.autoOrient?.height ?? meta.height ?? 0);
    const factor = longest > 0 ? Math.floor(size / longest) : 1;
    const resized = factor >= 2
      ? image.resize({ width: width * factor, kernel: "nearest" })
      : image.resize(size, size, { fit: "inside", withoutEnlargement: true });
    const png = await resized.png({ compressionLevel: 9 }).toBuffer();
    return `data:image/png;base64,${png.toString("base64")}`;
  } catch (err) {
    warn(`thumbnail of ${path}: ${oneLine((err as Error).message)}`);
    return null;
  }
}
