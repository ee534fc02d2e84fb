// The run report: `c3l report` turns run folders into a self-contained HTML page plus every figure's data as JSON and CSV.
export { buildReport, loadAssets, type ReportOptions, type ReportResult } from "./build.js";
export { galleryRows, type GalleryRow } from "./gallery.js";
export { binEdges, cdfPoints, histogram, i2cSeries, scoringPasses, thresholdRows, type I2CSeries } from "./i2c.js";
export { renderPage, scriptJson } from "./html.js";
export { loadReportRun, type ReportRun } from "./load.js";
export { buildModel, FIGURE_NAMES, type FigureName, type ReportModel } from "./model.js";
export { configDiffRows, countRows, metricRows, timelineRows } from "./tables.js";
export { trainingRows, CURVES } from "./training.js";
