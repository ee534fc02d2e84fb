// No imports: cli/main.ts loads this eagerly to map errors to exit codes.

/**
 * A benchmark file, a predictions file or an eval command line is unusable (exit 2). The message
 * names the file and, where there is one, the line: `FILE:LINE: what is wrong`.
 */
export class EvalInputError extends Error {
  override name = "EvalInputError";
  readonly file: string | null;
  readonly line: number | null;

  constructor(message: string, where?: { file: string; line?: number | null }) {
    const prefix = where ? (where.line != null ? `${where.file}:${where.line}: ` : `${where.file}: `) : "";
    super(prefix + message);
    this.file = where?.file ?? null;
    this.line = where?.line ?? null;
  }
}
