// The pseudo-labels (method step 3): per image the highest-I2C pair is the positive; the image's other
// pairs whose I2C is below the global `neg_quantile` of all scores are its negatives.
import { quantile } from "../runs/summary.js";
import { tiedRanks } from "./ranks.js";

export interface ScoredPair {
  id: string;
  image_id: string;
  question: string;
  answer: string;
  i2c: number;
  /** its question family (pair-format.ts); absent: "other" */
  family?: string;
}

export interface Selection {
  id: string; // the image id
  image_id: string;
  positive: ScoredPair;
  negatives: ScoredPair[];
}

export interface SelectResult {
  selections: Selection[];
  threshold: number | null;
  skipped_no_negative: number;
  skipped_single_pair: number;
}

/**
 * Each pair's I2C replaced by its percentile within its family (0 = the family's lowest, 1 = its
 * highest; ties share their mean rank; a family of one pair gets 0.5), for selection within families.
 */
export function withinFamilyPercentiles(pairs: ScoredPair[]): ScoredPair[] {
  const byFamily = new Map<string, number[]>(); // family → indices into pairs
  pairs.forEach((p, i) => byFamily.set(p.family ?? "other", [...(byFamily.get(p.family ?? "other") ?? []), i]));
  const percentile = new Array<number>(pairs.length);
  for (const members of byFamily.values()) {
    const ranks = tiedRanks(members.map((i) => pairs[i]!.i2c));
    members.forEach((i, k) => { percentile[i] = members.length > 1 ? ranks[k]! / (members.length - 1) : 0.5; });
  }
  return pairs.map((p, i) => ({ ...p, i2c: percentile[i]! }));
}

export function selectPseudoLabels(pairs: ScoredPair[], negQuantile: number): SelectResult {
  const scores = pairs.map((p) => p.i2c);
  const threshold = quantile(scores.slice().sort((a, b) => a - b), negQuantile);
  const byImage = new Map<string, ScoredPair[]>();
  for (const pair of pairs) {
    const list = byImage.get(pair.image_id) ?? [];
    list.push(pair);
    byImage.set(pair.image_id, list);
  }
  const result: SelectResult = { selections: [], threshold, skipped_no_negative: 0, skipped_single_pair: 0 };
  for (const imageId of [...byImage.keys()].sort()) {
    // Ties broken by id so the choice never depends on file order.
    const ranked = byImage.get(imageId)!.slice().sort((a, b) => b.i2c - a.i2c || a.id.localeCompare(b.id));
    if (ranked.length < 2) {
      result.skipped_single_pair++;
      continue;
    }
    const [positive, ...rest] = ranked as [ScoredPair, ...ScoredPair[]];
    const negatives = rest.filter((p) => threshold !== null && p.i2c < threshold);
    if (negatives.length === 0) {
      result.skipped_no_negative++;
      continue;
    }
    result.selections.push({ id: imageId, image_id: imageId, positive, negatives });
  }
  return result;
}
