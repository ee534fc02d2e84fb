// Run-store errors: what failed and where (run, file, line); the CLI maps them to exit codes once.

/** A run folder or one of its files is missing, damaged, or used wrongly (exit 1). */
export class RunStoreError extends Error {
  override name = "RunStoreError";
}

/** The user named a run that does not exist or is ambiguous, or wrote a bad filter (exit 2: bad usage). */
export class RunArgumentError extends RunStoreError {
  override name = "RunArgumentError";
}

/** Another live process holds the run's lock (a second `run`/`resume` of the same run): exit 2, a run that cannot be resumed now. */
export class RunLockedError extends RunStoreError {
  override name = "RunLockedError";
}

/** A finished stage's outputs differ from what it left (truncated, edited, missing): the run cannot resume as it is (exit 2). */
export class RunDamagedError extends RunStoreError {
  override name = "RunDamagedError";
}
