// The final dataset (method step 5): the top pairs by I2C within a global budget, an optional
// per-image cap and exact-duplicate removal, written as LLaVA conversation JSON.
import type { ScoredPair } from "./select.js";

export interface FilterOptions {
  budget: number;
  per_image_cap: number | null;
  dedup: boolean;
}

export interface FilterResult {
  kept: ScoredPair[];
  dropped_duplicate: number;
  dropped_cap: number;
  dropped_budget: number;
}

export function filterTopPairs(pairs: ScoredPair[], options: FilterOptions): FilterResult {
  const ranked = pairs.slice().sort((a, b) => b.i2c - a.i2c || a.id.localeCompare(b.id));
  const seen = new Set<string>();
  const perImage = new Map<string, number>();
  const result: FilterResult = { kept: [], dropped_duplicate: 0, dropped_cap: 0, dropped_budget: 0 };
  for (const pair of ranked) {
    const key = JSON.stringify([pair.image_id, pair.question.trim(), pair.answer.trim()]);
    if (options.dedup && seen.has(key)) {
      result.dropped_duplicate++;
      continue;
    }
    seen.add(key);
    const count = perImage.get(pair.image_id) ?? 0;
    if (options.per_image_cap !== null && count >= options.per_image_cap) {
      result.dropped_cap++;
      continue;
    }
    if (result.kept.length >= options.budget) {
      result.dropped_budget++;
      continue;
    }
    perImage.set(pair.image_id, count + 1);
    result.kept.push(pair);
  }
  return result;
}

export interface LlavaRecord {
  id: string;
  image: string;
  conversations: { from: "human" | "gpt"; value: string }[];
}

/** One record per image, its kept pairs as turns in I2C order; `<image>` once, in the first human turn. */
export function toLlavaConversations(kept: ScoredPair[], imagePathOf: (imageId: string) => string): LlavaRecord[] {
  const byImage = new Map<string, ScoredPair[]>();
  for (const pair of kept) byImage.set(pair.image_id, [...(byImage.get(pair.image_id) ?? []), pair]);
  return [...byImage.keys()].sort().map((imageId) => ({
    id: imageId,
    image: imagePathOf(imageId),
    conversations: byImage.get(imageId)!.flatMap((pair, turn) => [
      { from: "human" as const, value: turn === 0 ? `<image>\n${pair.question}` : pair.question },
      { from: "gpt" as const, value: pair.answer },
    ]),
  }));
}
