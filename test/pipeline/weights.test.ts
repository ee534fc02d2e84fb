// finetune.weight_by i2c: the rank mapping from I2C scores to loss weights, and how the finetune
// stage matches the final dataset's examples to the filter's kept pairs, on fixed inputs.
import { describe, expect, test } from "@jest/globals";
import type { TrainExample } from "../../orchestrator/protocol/index.js";
import type { ScoredPair } from "../../orchestrator/pipeline/select.js";
import { weightByI2c } from "../../orchestrator/pipeline/stages/finetune.js";
import { rankWeights } from "../../orchestrator/pipeline/weights.js";

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe("rankWeights", () => {
  test("w = 1 + spread·(2·rank/(n−1) − 1): lowest 1 − spread, highest 1 + spread, in score order", () => {
    expect(rankWeights([0.3, -2, 7, 1.5, 0.9], 0.5)).toEqual([0.75, 0.5, 1.5, 1.25, 1]);
    expect(rankWeights([0.3, -2, 7, 1.5, 0.9], 1)).toEqual([0.5, 0, 2, 1.5, 1]);
  });

  test("scale-free: any increasing map of the scores gives the same weights", () => {
    const kl = [0.02, 0.5, 0.11, 3.2];
    expect(rankWeights(kl.map((x) => Math.log(x) * 40 - 7), 0.5)).toEqual(rankWeights(kl, 0.5));
  });

  test("ties share their mean rank; the mean weight is 1", () => {
    const w = rankWeights([1, 2, 2, 2, 5], 0.5);
    expect(w).toEqual([0.5, 1, 1, 1, 1.5]);
    expect(mean(rankWeights([4, 4, 1, 9, 9, 9, 0.5], 0.8))).toBeCloseTo(1, 12);
  });

  test("one score, no scores, or spread 0 weigh 1; bad input is refused", () => {
    expect(rankWeights([3.5], 1)).toEqual([1]);
    expect(rankWeights([], 0.5)).toEqual([]);
    expect(rankWeights([1, 9, 4], 0)).toEqual([1, 1, 1]);
    expect(() => rankWeights([1, NaN], 0.5)).toThrow(/finite/);
    expect(() => rankWeights([1, 2], 1.5)).toThrow(/spread/);
  });
});

describe("weightByI2c", () => {
  const pair = (image: string, i: number, answer: string, i2c: number): ScoredPair =>
    ({ id: `${image}#${i}`, image_id: image, question: `q${i}`, answer, i2c });
  // The filter's kept pairs in kept order (top I2C first); the dataset's turns follow it per image.
  const kept = [pair("b", 4, "blue .", 0.9), pair("a", 2, "red .", 0.7), pair("a", 0, "two .", 0.1), pair("b", 1, "yes .", 0.4)];
  const example = (id: string, positive: string): TrainExample => ({ id, image_path: `/img/${id}.png`, context: "q", positive, negatives: [] });
  const examples = [example("a#0", "red ."), example("a#1", "two ."), example("b#0", "blue ."), example("b#1", "yes .")];

  test("turn t of image R is R's t-th kept pair; weights by its I2C rank", () => {
    expect(weightByI2c(examples, kept, 0.5).map((e) => [e.id, e.weight])).toEqual([
      ["a#0", 1 + 0.5 * (2 * 2 / 3 - 1)], ["a#1", 0.5], ["b#0", 1.5], ["b#1", 1 + 0.5 * (2 * 1 / 3 - 1)],
    ]);
    expect(examples[0]).not.toHaveProperty("weight"); // the inputs are left as they were
  });

  test("an example that is not the kept pair at its turn is refused, naming it", () => {
    expect(() => weightByI2c([example("a#0", "two .")], kept, 0.5)).toThrow(/a#0 is not a pair the filter stage kept/);
    expect(() => weightByI2c([example("c#0", "red .")], kept, 0.5)).toThrow(/c#0/);
  });
});
