// The final dataset (method step 5): the top pairs by I2C within a global budget, an optional
// per-image cap and exact-duplicate removal, written as LLaVA conversation JSON. The controls of
// the paper table rank differently under the same budget, cap and dedup: a seeded random order,
// or none (image order: the base generation as it came). With family_balance: proportional each
// question family gets the budget share it has among the candidates (equal: the same share each),
// so a family whose I2C runs low (existence answers echo their question) is not ranked out of the
// data altogether.
import { seededIndex } from "./seeded.js";
import type { ScoredPair } from "./select.js";

export type RankBy = "i2c" | "random" | "none";
export type FamilyBalance = "none" | "proportional" | "equal";

export interface FilterOptions {
  budget: number;
  per_image_cap: number | null;
  dedup: boolean;
  /** default i2c */
  rank_by?: RankBy;
  /** the random order's seed (the run's seed) */
  seed?: number;
  /** default none: one global ranking */
  family_balance?: FamilyBalance;
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

/**
 * Per-family budgets, summing to min(budget, candidates) (largest remainders, ties by family name):
 * proportional to each family's share of the candidates, or equal for every family present (a
 * generator that drifted towards some families after contrast does not take the others' budget).
 * A family with fewer pairs than its budget leaves the rest to the others (filterTopPairs).
 */
export function familyQuotas(pairs: ScoredPair[], budget: number, mode: "proportional" | "equal" = "proportional"): Map<string, number> {
  const counts = new Map<string, number>();
  for (const p of pairs) counts.set(familyOf(p), (counts.get(familyOf(p)) ?? 0) + 1);
  const total = Math.min(budget, pairs.length);
  const families = [...counts.keys()].sort();
  const exact = families.map((f) => (mode === "equal" ? total / families.length : (total * counts.get(f)!) / pairs.length));
  const quotas = new Map(families.map((f, i) => [f, Math.floor(exact[i]!)]));
  let left = total - [...quotas.values()].reduce((a, b) => a + b, 0);
  const byRemainder = families.map((f, i) => [f, exact[i]! - Math.floor(exact[i]!)] as const).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  for (const [f] of byRemainder) if (left-- > 0) quotas.set(f, quotas.get(f)! + 1);
  return quotas;
}

const familyOf = (p: ScoredPair) => p.family ?? "other";

export function filterTopPairs(pairs: ScoredPair[], options: FilterOptions): FilterResult {
  const ranked = rankPairs(pairs, options.rank_by ?? "i2c", options.seed ?? 0);
  const seen = new Set<string>();
  const perImage = new Map<string, number>();
  const result: FilterResult = { kept: [], dropped_duplicate: 0, dropped_cap: 0, dropped_budget: 0 };
  const eligible: ScoredPair[] = [];
  for (const pair of ranked) {
    const key = JSON.stringify([pair.image_id, pair.question.trim(), pair.answer.trim()]);
    if (options.dedup && seen.has(key)) {
      result.dropped_duplicate++;
      continue;
    }
    seen.add(key);
    eligible.push(pair);
  }
  // Per-family budgets (balanced), then whatever budget a family could not use goes by rank to the rest.
  const balance = options.family_balance ?? "none";
  const quotas = balance === "none" ? null : familyQuotas(eligible, options.budget, balance);
  const taken = new Set<ScoredPair>();
  const perFamily = new Map<string, number>();
  const passes = quotas ? [true, false] : [false];
  for (const withQuota of passes) {
    for (const pair of eligible) {
      if (taken.has(pair) || result.kept.length >= options.budget) continue;
      if (withQuota && (perFamily.get(familyOf(pair)) ?? 0) >= quotas!.get(familyOf(pair))!) continue;
      const count = perImage.get(pair.image_id) ?? 0;
      if (options.per_image_cap !== null && count >= options.per_image_cap) continue;
      perImage.set(pair.image_id, count + 1);
      perFamily.set(familyOf(pair), (perFamily.get(familyOf(pair)) ?? 0) + 1);
      taken.add(pair);
      result.kept.push(pair);
    }
  }
  for (const pair of eligible) {
    if (taken.has(pair)) continue;
    if (options.per_image_cap !== null && (perImage.get(pair.image_id) ?? 0) >= options.per_image_cap) result.dropped_cap++;
    else result.dropped_budget++;
  }
  // Kept in rank order, whichever pass took them.
  const order = new Map(eligible.map((p, i) => [p, i]));
  result.kept.sort((a, b) => order.get(a)! - order.get(b)!);
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
