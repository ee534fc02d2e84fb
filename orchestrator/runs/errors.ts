// Run-store errors: what failed and where (run, file, line), and how the command exits.
import { C3lError, type ExitCategory } from "../errors.js";

/** A run folder or one of its files is missing, damaged, or used wrongly (exit 1). */
export class RunStoreError extends C3lError {
  override name = "RunStoreError";
  readonly exit: ExitCategory = "failure";
}

/** The user named a run that does not exist or is ambiguous, or wrote a bad filter (exit 2: bad usage). */
export class RunArgumentError extends RunStoreError {
  override name = "RunArgumentError";
  override readonly exit: ExitCategory = "usage";
}

/** Another live process holds the run's lock (a second `run`/`resume` of the same run): exit 2, a run that cannot be resumed now. */
export class RunLockedError extends RunStoreError {
  override name = "RunLockedError";
  override readonly exit: ExitCategory = "usage";
}

/** A finished stage's outputs differ from what it left (truncated, edited, missing): the run cannot resume as it is (exit 2). */
export class RunDamagedError extends RunStoreError {
  override name = "RunDamagedError";
  override readonly exit: ExitCategory = "usage";
}
