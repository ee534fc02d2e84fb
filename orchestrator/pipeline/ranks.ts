// Ranks with ties: shared by the I2C rank weights (weights.ts) and the within-family percentiles of
// the pseudo-label selection (select.ts), so equal scores are treated alike in both.

/** The 0-based ascending rank of each score, tied scores sharing their mean rank. */
export function tiedRanks(scores: readonly number[]): number[] {
  const n = scores.length;
  const order = scores.map((_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  const rank = new Array<number>(n);
  for (let start = 0; start < n;) {
    let end = start;
    while (end + 1 < n && scores[order[end + 1]!] === scores[order[start]!]) end++;
    for (let k = start; k <= end; k++) rank[order[k]!] = (start + end) / 2;
    start = end + 1;
  }
  return rank;
}
