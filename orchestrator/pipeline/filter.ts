// The final dataset (method step 5): the top pairs by I2C within a global budget, an optional
// per-image cap and exact-duplicate removal, written as LLaVA conversation JSON. The controls of
// the paper table rank differently under the same budget, cap and dedup: a seeded random order,
// or none (image order: the base generation as it came).
import { seededIndex } from "./plan.js";
import type { ScoredPair } from "./select.js";

export type RankBy = "i2c" | "random" | "none";

export interface FilterOptions {
  budget: number;
  per_image_cap: number | null;
  dedup: boolean;
  /** default i2c */
  rank_by?: RankBy;
  /** the random order's seed (the run's seed) */
  seed?: number;
}

/** `${image_id}#${index}` → [image id, pair index], so pair 10 follows pair 9. */
function idParts(id: string): [string, number] {
  const hash = id.lastIndexOf("#");
  const index = hash === -1 ? NaN : Number(id.slice(hash + 1));
  return Number.isInteger(index) ? [id.slice(0, hash), index] : [id, -1];
}

function byId(a: ScoredPair, b: ScoredPair): number {
  const [ia, na] = idParts(a.id);
  const [ib, nb] = idParts(b.id);
  return ia < ib ? -1 : ia > ib ? 1 : na - nb || a.id.localeCompare(b.id);
}

/** The pairs in the order the filter takes them. */
export function rankPairs(pairs: ScoredPair[], rankBy: RankBy, seed = 0): ScoredPair[] {
  const ranked = pairs.slice();
  if (rankBy === "i2c") return ranked.sort((a, b) => b.i2c - a.i2c || a.id.localeCompare(b.id));
  if (rankBy === "none") return ranked.sort(byId);
  // random: a key per pair id, so the order does not depend on the order pairs were read in
  const key = new Map(ranked.map((p) => [p.id, seededIndex(seed, `rank#${p.id}`, 2 ** 32)]));
  return ranked.sort((a, b) => key.get(a.id)! - key.get(b.id)! || a.id.localeCompare(b.id));
}

export interface FilterResult {
  kept: ScoredPair[];
  dropped_duplicate: number;
  dropped_cap: number;
  dropped_budget: number;
}

export function filterTopPairs(pairs: ScoredPair[], options: FilterOptions): FilterResult {
  const ranked = rankPairs(pairs, options.rank_by ?? "i2c", options.seed ?? 0);
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

/** One record per image, its kept pairs as turns in rank order; `<image>` once, in the first human turn. */
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
