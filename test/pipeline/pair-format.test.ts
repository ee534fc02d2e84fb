// The pair-format check (format section) and the family-balanced final filter, on fixed inputs.
import { describe, expect, test } from "@jest/globals";
import { resolveDocument } from "../../orchestrator/config/index.js";
import { familyQuotas, filterTopPairs } from "../../orchestrator/pipeline/filter.js";
import { classifyPair, pairFormat, usablePairs } from "../../orchestrator/pipeline/pair-format.js";
import { gradeSets } from "../../orchestrator/pipeline/stages/grade.js";
import { selectPseudoLabels, withinFamilyPercentiles, type ScoredPair } from "../../orchestrator/pipeline/select.js";

function config(format: object) {
  const r = resolveDocument({ format }, { configDir: "/", checkFiles: false });
  expect(r.problems).toEqual([]);
  return r.config!;
}

describe("pair format", () => {
  test("the world preset: the grader's templates, decoder spacing tolerated; unknown questions and off-family answers are malformed", () => {
    const f = pairFormat(config({ preset: "world" }));
    expect(classifyPair(f, "what colour is the square?", "the square is red.")).toEqual({ family: "colour", malformed: null });
    expect(classifyPair(f, "is there a red circle ?", "no , there is no red circle .")).toEqual({ family: "existence", malformed: null });
    expect(classifyPair(f, "how many shapes are there ?", "there are 3 shapes .")).toEqual({ family: "count", malformed: null });
    expect(classifyPair(f, "what colour is the square ?", "there are 2 shapes .").malformed).toMatch(/family colour/);
    expect(classifyPair(f, "what colour is the blob ?", "the blob is red .").malformed).toMatch(/matches no family/);
    expect(classifyPair(f, "what is this ?", "a square .")).toEqual({ family: "other", malformed: "the question matches no family of format.families" });
  });

  test("configured families: first match wins, case-insensitive; null answer accepts any; unmatched: other keeps the pair", () => {
    const families = [{ name: "count", question: "^how many", answer: "\\d" }, { name: "any", question: "\\?$", answer: null }];
    const strict = pairFormat(config({ families }));
    expect(classifyPair(strict, "How  many dogs?", "3 dogs")).toEqual({ family: "count", malformed: null });
    expect(classifyPair(strict, "how many dogs?", "several").malformed).toMatch(/family count/);
    expect(classifyPair(strict, "why is the sky blue?", "")).toEqual({ family: "any", malformed: null });
    expect(classifyPair(strict, "describe it", "a dog").malformed).not.toBeNull();
    expect(classifyPair(pairFormat(config({ families, unmatched: "other" })), "describe it", "a dog")).toEqual({ family: "other", malformed: null });
    expect(classifyPair(pairFormat(config({})), "anything", "at all")).toEqual({ family: "other", malformed: null });
  });

  test("a bad pattern names its key", () => {
    expect(() => pairFormat(config({ families: [{ name: "x", question: "(", answer: null }] }))).toThrow(/format\.families\[0\]\.question: not a valid regular expression/);
  });

  test("usablePairs drops malformed and unscored pairs, counts the malformed, and tags families", () => {
    const c = config({ preset: "world" });
    const r = usablePairs(c, [
      { id: "a#0", image_id: "a", question: "where is the cross ?", answer: "the cross is at the top left .", i2c: 1 },
      { id: "a#1", image_id: "a", question: "where is the cross ?", answer: "red", i2c: 5 },
      { id: "a#2", image_id: "a", question: "how many shapes are there ?", answer: "there are 2 shapes .", i2c: null },
    ]);
    expect(r).toEqual({ malformed: 1, pairs: [{ id: "a#0", image_id: "a", question: "where is the cross ?", answer: "the cross is at the top left .", i2c: 1, family: "position" }] });
  });
});

describe("family-balanced filter", () => {
  const pair = (id: string, family: string, i2c: number): ScoredPair => ({ id, image_id: id.split("#")[0]!, question: `q ${id}`, answer: "a", i2c, family });
  // existence scores low across the board: a global ranking would drop it entirely
  const pairs = [
    ...[9, 8, 7, 6, 5, 4].map((s, i) => pair(`c${i}#0`, "colour", s)),
    ...[1, 0.5].map((s, i) => pair(`e${i}#0`, "existence", s)),
  ];

  test("quotas follow the candidates' family shares and sum to the budget", () => {
    expect(Object.fromEntries(familyQuotas(pairs, 4))).toEqual({ colour: 3, existence: 1 });
    expect(Object.fromEntries(familyQuotas(pairs, 100))).toEqual({ colour: 6, existence: 2 });
  });

  test("equal quotas give every family present the same share; what a family lacks goes to the others by rank", () => {
    expect(Object.fromEntries(familyQuotas(pairs, 4, "equal"))).toEqual({ colour: 2, existence: 2 });
    expect(Object.fromEntries(familyQuotas(pairs, 5, "equal"))).toEqual({ colour: 3, existence: 2 }); // remainder by family name
    const r = filterTopPairs(pairs, { budget: 6, per_image_cap: null, dedup: true, family_balance: "equal" });
    expect(r.kept.map((p) => p.id)).toEqual(["c0#0", "c1#0", "c2#0", "c3#0", "e0#0", "e1#0"]); // existence has 2 of its 3: colour takes the rest
  });

  test("proportional keeps each family's share, best first within it; none ranks globally", () => {
    const balanced = filterTopPairs(pairs, { budget: 4, per_image_cap: null, dedup: true, family_balance: "proportional" });
    expect(balanced.kept.map((p) => p.id)).toEqual(["c0#0", "c1#0", "c2#0", "e0#0"]);
    expect(balanced.dropped_budget).toBe(4);
    const global = filterTopPairs(pairs, { budget: 4, per_image_cap: null, dedup: true });
    expect(global.kept.map((p) => p.family)).toEqual(["colour", "colour", "colour", "colour"]);
  });

  test("budget a family cannot use (its pairs capped) goes to the others by rank", () => {
    const capped = [...pairs, pair("e0#1", "existence", 0.9)]; // image e0 has two existence pairs; cap 1 per image
    const r = filterTopPairs(capped, { budget: 6, per_image_cap: 1, dedup: true, family_balance: "proportional" });
    expect(r.kept).toHaveLength(6);
    expect(r.kept.filter((p) => p.family === "existence").map((p) => p.id)).toEqual(["e0#0", "e1#0"]);
    expect(r.dropped_cap + r.dropped_budget + r.kept.length).toBe(capped.length);
  });
});

describe("selection within families", () => {
  test("percentiles within each family (ties share their mean rank, a lone pair 0.5): the positive is the best pair of its family", () => {
    const p = (id: string, family: string, i2c: number): ScoredPair => ({ id, image_id: id.split("#")[0]!, question: id, answer: "a", i2c, family });
    const pairs = [p("a#0", "colour", 9), p("a#1", "existence", 1), p("b#0", "colour", 5), p("b#1", "existence", 0.5), p("c#0", "colour", 5), p("c#1", "count", 3)];
    const ranked = withinFamilyPercentiles(pairs);
    expect(Object.fromEntries(ranked.map((r) => [r.id, r.i2c]))).toEqual({ "a#0": 1, "a#1": 1, "b#0": 0.25, "b#1": 0, "c#0": 0.25, "c#1": 0.5 });
    // image b: by raw I2C the colour pair wins; within families it is its family's lowest, as is the existence pair
    expect(selectPseudoLabels(pairs, 0.5).selections.find((s) => s.id === "b")!.positive.id).toBe("b#0");
    expect(ranked.map((r) => r.question)).toEqual(pairs.map((q) => q.question));
  });
});

describe("graded sets", () => {
  test("with contrast rounds the base generation is also graded through the final filter (filter_only, paired in the run); without, it is the final data", () => {
    expect(gradeSets(1).map((s) => [s.name, s.pairs, s.filtered ?? false])).toEqual([
      ["base", "r0-score", false], ["regenerate", "rescore", false], ["filter_only", "r0-score", true], ["final", "filter", false]]);
    expect(gradeSets(0).map((s) => s.name)).toEqual(["base", "final"]);
  });
});
