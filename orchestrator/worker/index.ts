export { Worker, type WorkerOptions } from "./worker.js";
export * from "./errors.js";
export { PROJECT_ROOT, workerPython } from "./python.js";
