// Stable exit codes (documented in README.md): scripts may rely on them.
export const EXIT = {
  ok: 0,
  failure: 1, // anything not listed below
  usage: 2, // bad command line or config
  worker: 3, // the worker failed: died, hung, refused, or replied with an error
  input: 4, // the run's inputs are unusable (no images, no model config); nothing was started
} as const;
