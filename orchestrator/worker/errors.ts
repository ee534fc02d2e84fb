// Every worker failure names what failed and where to look next (the worker's log file); a command
// ending with one exits 3 (EXIT.worker).
import { C3lError } from "../errors.js";

export class WorkerError extends C3lError {
  override name = "WorkerError";
  readonly exit = "worker";
  constructor(message: string, readonly logFile: string | null) {
    super(logFile ? `${message}\n  worker log: ${logFile}` : message);
  }
}

/** The worker process exited (or was killed) while requests were pending or before one was sent. */
export class WorkerExitedError extends WorkerError {
  override name = "WorkerExitedError";
  constructor(readonly exitCode: number | null, readonly signal: string | null, readonly stderrTail: string, what: string, logFile: string | null) {
    const how = signal ? `was killed by ${signal}` : `exited with code ${exitCode}`;
    const tail = stderrTail ? `\n  last worker stderr:\n${stderrTail.replace(/^/gm, "    ")}` : "";
    super(`worker ${how} ${what}${tail}`, logFile);
  }
}

/** No reply within the request's deadline: a handler hung or the work outgrew the deadline. */
export class WorkerTimeoutError extends WorkerError {
  override name = "WorkerTimeoutError";
}

/** ZMTP heartbeats stopped: the worker process is frozen or the connection is gone. */
export class WorkerUnresponsiveError extends WorkerError {
  override name = "WorkerUnresponsiveError";
}

/** The worker sent bytes that are not a valid protocol frame. */
export class WorkerProtocolError extends WorkerError {
  override name = "WorkerProtocolError";
}

/** The worker speaks another major protocol version. */
export class VersionMismatchError extends WorkerError {
  override name = "VersionMismatchError";
}

/** The worker ran the request and replied with an error (it keeps serving). */
export class WorkerReplyError extends WorkerError {
  override name = "WorkerReplyError";
  constructor(readonly type: string, readonly errorName: string, readonly errorMessage: string, readonly traceback: string, logFile: string | null) {
    super(`worker failed ${type}: ${errorName}: ${errorMessage}`, logFile);
  }
}

/** The request was abandoned because the worker was stopped or restarted. */
export class WorkerClosedError extends WorkerError {
  override name = "WorkerClosedError";
}

/** A request failed maxAttempts times (the worker restarted between tries); the caller records it as failed or stops. */
export class BatchFailedError extends WorkerError {
  override name = "BatchFailedError";
  constructor(readonly what: string, readonly attempts: number, override readonly cause: Error) {
    super(`${what} failed ${attempts} time(s); last error: ${cause.message}`, null);
  }
}

/** No worker is left to run the remaining batches (all dropped, or restarts failed). */
export class PoolExhaustedError extends WorkerError {
  override name = "PoolExhaustedError";
  constructor(message: string) {
    super(message, null);
  }
}

/** A CurveZMQ key file or key argument that cannot be used (a usage error, not a worker failure); names the file. */
export class CertificateError extends C3lError {
  override name = "CertificateError";
  readonly exit = "usage";
}
