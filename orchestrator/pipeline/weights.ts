// Per-example loss weights for the finetune stage (finetune.weight_by): the C3L paper filters AND
// reweights the data by its I2C score. The weight comes from the pair's rank within the final data,
// not from the score itself: kl and logratio I2C live on different scales (and shift with the
// model), so a rank makes the same setting mean the same thing under every estimator, bounds every
// weight (no pair dominates a batch), and keeps the mean at 1 (the loss scale and so the learning
// rate stay those of unweighted training).
import { tiedRanks } from "./ranks.js";

/**
 * Rank weights: w = 1 + spread·(2·r/(n−1) − 1), r the 0-based ascending rank of the score (tied
 * scores share their mean rank, so equal scores weigh the same). The lowest score weighs 1 − spread,
 * the highest 1 + spread, and the weights average 1; one score (or spread 0) weighs 1.
 */
export function rankWeights(scores: readonly number[], spread: number): number[] {
  const n = scores.length;
  if (!(spread >= 0 && spread <= 1)) throw new Error(`weight spread must be in [0, 1], got ${spread}`);
  if (scores.some((s) => !Number.isFinite(s))) throw new Error("rank weights need finite scores");
  if (n < 2) return scores.map(() => 1);
  return tiedRanks(scores).map((r) => 1 + spread * ((2 * r) / (n - 1) - 1));
}
