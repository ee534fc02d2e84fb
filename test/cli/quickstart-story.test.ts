// The quickstart's closing story on fixed run metrics: what it says, in what order, and what it leaves
// out when the run lacks it.
import { describe, expect, test } from "@jest/globals";
import { storyLines } from "../../orchestrator/cli/quickstart.js";

const full = {
  "grade.base.pairs": 600, "grade.base.grounded_share": 0.4912, "grade.base.malformed_share": 0.081, "grade.base.auroc_i2c": 0.7412,
  "grade.regenerate.grounded_share": 0.556, "grade.filter_only.grounded_share": 0.702,
  "grade.final.pairs": 300, "grade.final.grounded_share": 0.78, "grade.final.malformed_share": 0.02,
  "pope.f1": 61.25, "untuned.pope.f1": 55, "pope.accuracy": 50.5, "seed.accuracy": 44.4, "mmbench.accuracy": 38, "untuned.mmbench.accuracy": 40.5,
  "pope.adversarial.f1": 50,
};
const config = { scoring: { estimator: "logratio" }, finetune: { enabled: true, model_dir: "builtin:world-align" } };

describe("quickstart story", () => {
  test("base → final grounded share with the filter-only reference, malformed share, AUROC, benchmarks against the untuned start", () => {
    expect(storyLines(full, config)).toEqual([
      "grounded share: base generation 49.1% → final data 78.0% (+28.9 points); filter-only reference 70.2%; regeneration after contrast 55.6%",
      "malformed share: base generation 8.1% → final data 2.0%",
      "I2C AUROC (logratio), grounded vs hallucinated pairs of the base generation: 0.741 (0.5 = chance)",
      "target tuned on the final data (builtin:world-align): POPE F1 61.3 (untuned 55.0, +6.3; accuracy 50.5, 50 = chance) · MMBench 38.0 (untuned 40.5, −2.5) · SEED 44.4",
    ]);
  });

  test("only what the run has: no filter-only set, no untuned numbers, no benchmarks, no grade at all", () => {
    const graded = { "grade.base.grounded_share": 0.5, "grade.final.grounded_share": 0.45, "grade.final.malformed_share": 0.1, "seed.accuracy": 40 };
    expect(storyLines(graded, { finetune: { enabled: false } })).toEqual([
      "grounded share: base generation 50.0% → final data 45.0% (−5.0 points)",
      "malformed share: final data 10.0%",
      "evaluated model: SEED 40.0",
    ]);
    expect(storyLines({ "grade.final.grounded_share": 0.6, "grade.final.auroc_i2c": 0.9 })).toEqual(["grounded share: final data 60.0%"]);
    expect(storyLines({})).toEqual([]);
    expect(storyLines({ "pope.f1": Number.NaN })).toEqual([]); // a non-number is missing, not "NaN"
  });
});
