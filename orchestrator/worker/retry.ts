// The one retry policy of every loop that talks to a worker (a session's loads and batches, the
// pool's queue, the training loop): what a failure means, and how a failed try is reported.
import { BatchFailedError, PoolExhaustedError, WorkerError, WorkerReplyError } from "./errors.js";

/**
 * fatal: not the failure of one request (our own bug, or a retry budget already spent, a pool with
 *        no worker left): thrown at once, never retried.
 * reply: the worker ran the request and replied with an error; it keeps serving, and the same
 *        request would fail the same way again.
 * lost:  the worker died, hung or stopped answering: restart it (a local one) and try again.
 */
export type FailureKind = "fatal" | "reply" | "lost";

export function failureKind(err: unknown): FailureKind {
  if (!(err instanceof WorkerError) || err instanceof BatchFailedError || err instanceof PoolExhaustedError) return "fatal";
  return err instanceof WorkerReplyError ? "reply" : "lost";
}

/** The first line of an error's message (worker errors go on with the log file and stderr tail). */
export function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0]!;
}

/** The log line of a failed try: "r0-score chunk 3: attempt 1/3 failed: worker was killed by SIGKILL …". */
export function attemptFailed(what: string, attempt: number, maxAttempts: number, err: unknown): string {
  return `${what}: attempt ${attempt}/${maxAttempts} failed: ${firstLine(err)}`;
}
