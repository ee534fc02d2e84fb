// What the report reads about a stage, from the stages' own declarations (pipeline/stages).
import { declarationOf } from "../pipeline/stages/index.js";

export { stageKind, type StageKind } from "../pipeline/stages/index.js";

/** The counts a stage's throughput is measured in (the first one present is used), or null. */
export function throughputOf(stage: string): { keys: string[]; unit: string } | null {
  return declarationOf(stage)?.declaration.throughput ?? null;
}
