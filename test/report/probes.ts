// Browser-side probes, as JavaScript source: the project type-checks without the DOM library, so page code stays text here.

/** Per canvas: whether Chart.js drew it, its share of painted pixels, datasets with data by their `c3l` kind, pixels near each colour. */
export const CANVAS_PROBE = `(colors) => Array.from(document.querySelectorAll("canvas")).map((c) => {
  const chart = Chart.getChart(c);
  const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  let painted = 0;
  const near = Object.fromEntries(Object.keys(colors).map((k) => [k, 0]));
  for (let i = 0; i < px.length; i += 4) {
    if (px[i + 3] === 0) continue;
    painted += 1;
    for (const [k, [r, g, b]] of Object.entries(colors)) {
      if (Math.abs(px[i] - r) + Math.abs(px[i + 1] - g) + Math.abs(px[i + 2] - b) < 60) near[k] += 1;
    }
  }
  const kinds = {};
  for (const d of chart ? chart.data.datasets : []) if (d.data.length > 0) kinds[d.c3l || "?"] = (kinds[d.c3l || "?"] || 0) + 1;
  return { id: c.id, charted: !!chart, paintedShare: painted / (c.width * c.height), kinds, near };
})`;

export interface CanvasProbe {
  id: string;
  charted: boolean;
  paintedShare: number;
  kinds: Record<string, number>;
  near: Record<string, number>;
}

/** The gallery's thumbnails: natural width and the start of the src. */
export const THUMB_PROBE = `Array.from(document.querySelectorAll("#gallery-table img")).map((i) => [i.naturalWidth, i.src.slice(0, 22)])`;
