// final.rank_by: the filter keeps the top pairs by I2C, a seeded random subset of equal budget, or
// the first pairs in image order; per_image_cap and dedup apply the same way to every order.
import { describe, expect, test } from "@jest/globals";
import { filterTopPairs, rankPairs } from "../../orchestrator/pipeline/filter.js";
import type { ScoredPair } from "../../orchestrator/pipeline/select.js";

// 4 images × 3 pairs; I2C rises with the image number, so i2c and image order disagree
const pairs: ScoredPair[] = [];
for (const img of ["img-b", "img-a", "img-d", "img-c"]) {
  for (let k = 2; k >= 0; k--) pairs.push({ id: `${img}#${k}`, image_id: img, question: `q${k}`, answer: "a", i2c: img.charCodeAt(4) + k / 10 });
}
pairs.push({ id: "img-a#10", image_id: "img-a", question: "q10", answer: "a", i2c: -5 });
pairs.push({ id: "img-a#11", image_id: "img-a", question: "q0", answer: "a", i2c: -6 }); // a duplicate of img-a#0

const ids = (list: ScoredPair[]) => list.map((p) => p.id);

describe("rank_by", () => {
  test("i2c: highest first", () => {
    expect(ids(filterTopPairs(pairs, { budget: 3, per_image_cap: null, dedup: true, rank_by: "i2c" }).kept)).toEqual(["img-d#2", "img-d#1", "img-d#0"]);
  });

  test("none: image order, then pair index (10 after 2)", () => {
    expect(ids(rankPairs(pairs, "none")).slice(0, 6)).toEqual(["img-a#0", "img-a#1", "img-a#2", "img-a#10", "img-a#11", "img-b#0"]);
    const r = filterTopPairs(pairs, { budget: 5, per_image_cap: null, dedup: true, rank_by: "none" });
    expect(ids(r.kept)).toEqual(["img-a#0", "img-a#1", "img-a#2", "img-a#10", "img-b#0"]);
    expect(r.dropped_duplicate).toBe(1); // img-a#11 repeats img-a#0's question and answer
  });

  test("per_image_cap spreads every order over images", () => {
    const r = filterTopPairs(pairs, { budget: 4, per_image_cap: 1, dedup: true, rank_by: "none" });
    expect(ids(r.kept)).toEqual(["img-a#0", "img-b#0", "img-c#0", "img-d#0"]);
    const random = filterTopPairs(pairs, { budget: 4, per_image_cap: 1, dedup: true, rank_by: "random", seed: 3 });
    expect(new Set(random.kept.map((p) => p.image_id)).size).toBe(4);
  });

  test("random: the same budget, seeded, independent of input order, different per seed", () => {
    const opts = { budget: 6, per_image_cap: null, dedup: false, rank_by: "random" as const };
    const a = ids(filterTopPairs(pairs, { ...opts, seed: 1 }).kept);
    expect(a).toHaveLength(6);
    expect(ids(filterTopPairs(pairs.slice().reverse(), { ...opts, seed: 1 }).kept)).toEqual(a);
    const seeds = [2, 3, 4, 5].map((seed) => ids(filterTopPairs(pairs, { ...opts, seed }).kept).join(","));
    expect(seeds.some((s) => s !== a.join(","))).toBe(true);
    // not the I2C order and not the image order
    expect(a).not.toEqual(ids(rankPairs(pairs, "i2c")).slice(0, 6));
    expect(a).not.toEqual(ids(rankPairs(pairs, "none")).slice(0, 6));
  });
});
