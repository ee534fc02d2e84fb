// Before a model runs: every image a benchmark names must exist (offline re-scoring never opens images).
import { existsSync } from "node:fs";
import { EvalInputError } from "./errors.js";
import type { EvalQuestion } from "./types.js";

/** Throws for the first question whose image file is absent, naming the benchmark file and line, and how many are absent. */
export function checkImages(bench: string, questions: EvalQuestion[]): void {
  const absent = questions.filter((q) => q.image.kind === "file" && (q.image.path === null || !existsSync(q.image.path)));
  if (absent.length === 0) return;
  const first = absent[0]!;
  const image = first.image as Extract<EvalQuestion["image"], { kind: "file" }>;
  const more = absent.length > 1 ? ` (and ${absent.length - 1} more questions' images)` : "";
  if (image.path === null) {
    throw new EvalInputError(`image ${JSON.stringify(image.name)}: no image folder given; add --option ${bench}.images=DIR${more}`, first.source);
  }
  throw new EvalInputError(`image ${image.path} does not exist${more}`, first.source);
}
