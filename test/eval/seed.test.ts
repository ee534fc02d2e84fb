// SEED-Bench: the JSON file, image questions only, both protocols scored by hand, bad input named by file and line.
import { describe, expect, test } from "@jest/globals";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { readPredictions } from "../../orchestrator/eval/predictions.js";
import { seed } from "../../orchestrator/eval/seed.js";
import type { ScoredBench } from "../../orchestrator/eval/types.js";
import { pyJson, seedQ, tempDir, writeJsonl, writeSeed } from "./fixtures.js";

const gen = { protocol: "generation", images: null };
const lik = { protocol: "likelihood", images: null };

describe("SEED-Bench", () => {
  const dir = tempDir();
  const file = writeSeed(join(dir, "SEED-Bench.json"));

  test("reads image questions, skips video ones, names dimensions from question_type", () => {
    const loaded = seed.load(file, gen);
    expect(loaded.questions.map((q) => q.question_id)).toEqual(["101", "102", "103", "104"]);
    expect(loaded.notes).toEqual(["skipped 1 video questions (only image questions are scored)"]);
    expect(loaded.questions[2]).toMatchObject({ dimension: 5, dimension_name: "Instances Counting", answer: "C", choices: ["One", "Two", "Three", "Four"] });
  });

  test("generation: letters read by the rule; missing and unparseable count wrong (by hand: 2 of 4)", async () => {
    const loaded = seed.load(file, gen);
    const preds = readPredictions(writeJsonl(join(dir, "gen.jsonl"), [
      { question_id: 104, prediction: null }, // the model gave nothing
      { question_id: "102", prediction: "b" },
      { question_id: 101, prediction: "A" }, // an int id joins the string id "101" (LLaVA's answer files)
      { question_id: "103", prediction: "" },
    ])).records;
    const r = (await seed.score(loaded, preds, { options: gen })) as ScoredBench;
    expect(r.metrics.accuracy!.value).toBe(50);
    expect(r.metrics["dimension.Scene Understanding.accuracy"]!.value).toBe(100);
    expect(r.metrics["dimension.Instances Counting.accuracy"]!.value).toBe(0);
    expect(r.counts).toMatchObject({ questions: 4, matched: 4, missing: 1, unparseable: 1, unmatched: 0 });
    expect(r.per_question).toContainEqual({ question_id: "103", dimension: 5, answer: "C", correct: false, status: "unparseable", prediction: "", parsed: null, reason: "empty answer" });
    expect(r.protocol).toMatchObject({ protocol: "generation", prompt_suffix: "Answer with the option's letter from the given choices directly." });
  });

  test("likelihood: the highest log-likelihood wins; a tie is unparseable (by hand: 3 of 4)", async () => {
    const loaded = seed.load(file, lik);
    const preds = readPredictions(writeJsonl(join(dir, "lik.jsonl"), [
      { question_id: "101", choice_logliks: [-1, -2, -3, -4] },
      { question_id: "102", choice_logliks: [-5, -1, -1, -9] },
      { question_id: "103", choice_logliks: [-3, -2, -0.5, -9] },
      { question_id: "104", choice_logliks: [-1, -2, -3, -0.1] },
    ])).records;
    const r = (await seed.score(loaded, preds, { options: lik })) as ScoredBench;
    expect(r.metrics.accuracy!.value).toBe(75);
    expect(r.metrics["dimension.Scene Understanding.accuracy"]!.value).toBe(50);
    expect(r.counts.unparseable).toBe(1);
    expect(r.protocol.protocol).toBe("likelihood");
    expect(seed.promptFor(loaded.questions[0]!, lik)).toMatchObject({ text: "What is the main setting of the image?", continuations: ["One", "Two", "Three", "Four"], suffix: null });
  });

  test("a protocol mismatch is named, with the option to use", () => {
    const loaded = seed.load(file, gen);
    const preds = readPredictions(writeJsonl(join(dir, "mismatch.jsonl"), [{ question_id: "101", choice_logliks: [0, 1, 2, 3] }])).records;
    expect(() => seed.score(loaded, preds, { options: gen })).toThrow(/mismatch\.jsonl:1: the generation protocol reads `prediction`.*seed\.protocol=likelihood/);
  });

  test("promptFor: question, lettered choices, suffix", () => {
    const loaded = seed.load(file, gen);
    expect(seed.promptFor(loaded.questions[0]!, gen).text).toBe("What is the main setting of the image?\nA. One\nB. Two\nC. Three\nD. Four\nAnswer with the option's letter from the given choices directly.");
  });

  test("bad input: the line of the offending question in a pretty-printed file; a one-line file; not SEED at all", () => {
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ questions: [seedQ("1", 1, "A", "q"), seedQ("2", 1, "E", "q")], question_type: {} }, null, 4));
    const line = JSON.stringify({ questions: [seedQ("1", 1, "A", "q"), seedQ("2", 1, "E", "q")] }, null, 4).split("\n").findIndex((l) => l.includes('"question_id": "2"')) + 1;
    expect(() => seed.load(bad, gen)).toThrow(new RegExp(`bad\\.json:${line}: questions\\[1\\] \\(question_id "2"\\): answer: expected one of A, B, C, D, got "E"`));

    const oneLine = join(dir, "one.json");
    writeFileSync(oneLine, pyJson({ questions: [{ ...seedQ("7", 3, "A", "q"), choice_c: 3 }] }));
    expect(() => seed.load(oneLine, gen)).toThrow(/one\.json:1: questions\[0\] \(question_id "7"\): choice_c: expected a string, got the number 3/);

    const notSeed = join(dir, "not.json");
    writeFileSync(notSeed, "[1, 2]");
    expect(() => seed.load(notSeed, gen)).toThrow(/not\.json:1: expected SEED-Bench's \{"questions"/);

    const broken = join(dir, "broken.json");
    writeFileSync(broken, '{\n  "questions": [\n    {"question_id": "1",\n  ]\n}');
    expect(() => seed.load(broken, gen)).toThrow(/broken\.json:4: not JSON/);
  });
});
