// No imports: cli/main.ts loads this eagerly to map errors to exit codes.

/** The run's inputs cannot be used at all (no images, no model config): it stops before any work. */
export class InputError extends Error {
  override name = "InputError";
}
