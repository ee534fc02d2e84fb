// What a stage does, read from its name: r0-generate and regenerate generate, r0-score and rescore score, …
export type StageKind = "generate" | "score" | "select" | "contrast" | "filter";

const FINAL: Record<string, StageKind> = { regenerate: "generate", rescore: "score", filter: "filter" };

export function stageKind(stage: string): StageKind | null {
  const round = /^r\d+-(generate|score|select|contrast)$/.exec(stage);
  if (round) return round[1] as StageKind;
  return FINAL[stage] ?? null;
}

/** The count a stage's throughput is measured in, per kind (the first one present is used). */
export const THROUGHPUT_COUNTS: Record<StageKind, { keys: string[]; unit: string }> = {
  generate: { keys: ["images", "generated"], unit: "images" },
  score: { keys: ["scored", "pairs"], unit: "pairs" },
  select: { keys: ["images"], unit: "images" },
  contrast: { keys: ["micro_batches", "steps"], unit: "micro-batches" },
  filter: { keys: ["candidates"], unit: "pairs" },
};
