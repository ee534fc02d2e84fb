// One import only: cli/main.ts loads this eagerly.
import { C3lError } from "../errors.js";

/** The run's inputs cannot be used at all (no images, no model config): it stops before any work. */
export class InputError extends C3lError {
  override name = "InputError";
  readonly exit = "input";
}
