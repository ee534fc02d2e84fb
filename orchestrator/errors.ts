// One error hierarchy: every error c3l throws on purpose is a C3lError that says how a command ending
// with it exits (the codes README.md documents). cli/main.ts maps every error once, with exitCodeOf;
// anything else (a bug) exits 1. No imports: cli/main.ts and every error module load this eagerly.

export const EXIT = {
  ok: 0,
  failure: 1, // anything not listed below
  usage: 2, // bad command line or config, or a run that cannot be found or resumed
  worker: 3, // the worker failed: died, hung, refused, or replied with an error
  input: 4, // the run's inputs are unusable (no images, no model config); nothing was started
} as const;

export type ExitCategory = Exclude<keyof typeof EXIT, "ok">;

export abstract class C3lError extends Error {
  /** How a command that ends with this error exits. */
  abstract readonly exit: ExitCategory;
}

/** The process exit code for an error that ended a command. */
export function exitCodeOf(err: unknown): number {
  return err instanceof C3lError ? EXIT[err.exit] : EXIT.failure;
}
