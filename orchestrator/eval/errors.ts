// One import only: cli/main.ts loads this eagerly.
import { C3lError } from "../errors.js";

/**
 * A benchmark file, a predictions file or an eval command line is unusable (exit 2). The message
 * names the file and, where there is one, the line: `FILE:LINE: what is wrong`.
 */
export class EvalInputError extends C3lError {
  override name = "EvalInputError";
  readonly exit = "usage";
  readonly file: string | null;
  readonly line: number | null;

  constructor(message: string, where?: { file: string; line?: number | null }) {
    const prefix = where ? (where.line != null ? `${where.file}:${where.line}: ` : `${where.file}: `) : "";
    super(prefix + message);
    this.file = where?.file ?? null;
    this.line = where?.line ?? null;
  }
}
