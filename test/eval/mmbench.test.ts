// MMBench: the TSV (quoted cells, 2–4 options, base64 images, image references), CircularEval and single pass by hand, legacy circular files.
import { describe, expect, test } from "@jest/globals";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { mmbench } from "../../orchestrator/eval/mmbench.js";
import { readPredictions } from "../../orchestrator/eval/predictions.js";
import type { ScoredBench } from "../../orchestrator/eval/types.js";
import { legacyRows, MMBENCH_HEADER, mmbenchRows, PNG_1X1, tempDir, writeJsonl, writeTsv } from "./fixtures.js";

const circular = { mode: "circular" };
const single = { mode: "single" };

describe("MMBench TSV", () => {
  const dir = tempDir();
  const file = writeTsv(join(dir, "MMBench_DEV_EN.tsv"), MMBENCH_HEADER, mmbenchRows());

  test("reads quoted cells, short option lists, hints, base64 images and image references", () => {
    const loaded = mmbench.load(file, single);
    expect(loaded.questions).toHaveLength(3);
    const [q0, q1, q2] = loaded.questions;
    expect(q0).toMatchObject({ question_id: 0, rotation: 0, choices: ["a cat", "a dog", "a bird", "a fish"], answer: "B", category: "animal_recognition", l2_category: "fine-grained perception", split: "dev", image: { kind: "base64", data: PNG_1X1 } });
    expect(q1).toMatchObject({ choices: ["yes", "no"], text: 'Look closely.\nAt\tthe sky\nIs the sky "clear"?', source: { line: 3 } });
    expect(q2).toMatchObject({ choices: ["red", "green", "blue"], text: "Which color is the car?", image: { kind: "base64", data: PNG_1X1 }, source: { line: 5 } }); // "nan" hint = none; image "0" = row 0's
    expect(mmbench.promptFor(q1!, single).text).toBe("Look closely.\nAt\tthe sky\nIs the sky \"clear\"?\nA. yes\nB. no\nAnswer with the option's letter from the given choices directly.");
    expect(Buffer.from(q0!.image.kind === "base64" ? q0!.image.data : "", "base64").subarray(1, 4).toString()).toBe("PNG");
  });

  test("single pass, by hand: (B) right, 'a' right, 'B. green' wrong → 2 of 3", async () => {
    const loaded = mmbench.load(file, single);
    const preds = readPredictions(writeJsonl(join(dir, "single.jsonl"), [
      { question_id: 2, prediction: "B. green" },
      { question_id: 0, prediction: "(B)" },
      { question_id: 1, prediction: "a" },
    ])).records;
    const r = (await mmbench.score(loaded, preds, { options: single })) as ScoredBench;
    const v = (k: string) => r.metrics[k]!.value;
    expect(v("accuracy")).toBeCloseTo(200 / 3, 10);
    expect(v("category.animal_recognition.accuracy")).toBe(100);
    expect(v("category.existence.accuracy")).toBe(100);
    expect(v("category.color.accuracy")).toBe(0);
    expect(v("l2_category.fine-grained perception.accuracy")).toBe(100);
    expect(v("l2_category.coarse perception.accuracy")).toBe(50);
    expect(r.metrics["vanilla.accuracy"]).toBeUndefined();
    expect(r.protocol.mode).toBe("single");
    expect(r.counts).toEqual({ questions: 3, prompts: 3, predictions: 3, matched: 3, missing: 0, unparseable: 0, unmatched: 0 });
  });

  test("CircularEval on a plain file: rotations generated (options shifted left by k); a question counts only when all are right", async () => {
    const loaded = mmbench.load(file, circular);
    expect(loaded.questions).toHaveLength(4 + 2 + 3);
    const q0r1 = loaded.questions.find((q) => q.question_id === 0 && q.rotation === 1)!;
    expect(q0r1).toMatchObject({ choices: ["a dog", "a bird", "a fish", "a cat"], answer: "A" });
    const preds = readPredictions(writeJsonl(join(dir, "circ.jsonl"), [
      // question 0 (answer "a dog"): right in every rotation → counts
      { question_id: 0, rotation: 3, prediction: "C. a dog" },
      { question_id: 0, rotation: 0, prediction: "(B)" },
      { question_id: 0, rotation: 2, prediction: "D." },
      { question_id: 0, rotation: 1, prediction: "A" },
      // question 1 (answer "yes"): rotation 1 shows [no, yes], so "A" is wrong → fails
      { question_id: 1, rotation: 0, prediction: "a" },
      { question_id: 1, round_id: 1, prediction: "A" }, // LLaVA's name for the rotation
      // question 2 (answer "blue"): rotation 2 missing → fails
      { question_id: 2, rotation: 0, prediction: "The answer is C" },
      { question_id: 2, rotation: 1, prediction: "blue" }, // option text → B in [green, blue, red]
      { question_id: 2, rotation: 7, prediction: "A" }, // no such rotation
    ])).records;
    const r = (await mmbench.score(loaded, preds, { options: circular })) as ScoredBench;
    const v = (k: string) => r.metrics[k]!.value;
    expect(v("accuracy")).toBeCloseTo(100 / 3, 10);
    expect(v("vanilla.accuracy")).toBe(100); // rotation 0 alone: all three right
    expect(v("category.animal_recognition.accuracy")).toBe(100);
    expect(v("category.existence.accuracy")).toBe(0);
    expect(v("l2_category.coarse perception.accuracy")).toBe(0);
    expect(r.counts).toEqual({ questions: 3, prompts: 9, predictions: 9, matched: 8, missing: 1, unparseable: 0, unmatched: 1 });
    const q2 = r.per_question.find((g) => g.question_id === 2)!;
    expect(q2.correct).toBe(false);
    expect(q2.rotations).toContainEqual({ rotation: 1, answer: "B", prediction: "blue", parsed: "B", via: "text", status: "ok", correct: true });
    expect(r.protocol).toMatchObject({ mode: "circular", circular_source: expect.stringMatching(/generated/) });
  });

  test("likelihood protocol (as SEED's): the question alone, the rotation's options as continuations; the best log-likelihood wins, a tie is unparseable", async () => {
    const lik = { mode: "circular", protocol: "likelihood" };
    const loaded = mmbench.load(file, lik);
    const q0r1 = loaded.questions.find((q) => q.question_id === 0 && q.rotation === 1)!;
    expect(mmbench.promptFor(q0r1, lik)).toMatchObject({ text: "What animal is shown?", suffix: null, continuations: ["a dog", "a bird", "a fish", "a cat"] });
    // Scores follow the option texts through the rotations, as they do for a model that never sees the order.
    const byText: Record<string, number> = { "a cat": -3, "a dog": -1, "a bird": -2, "a fish": -4, yes: -1, no: -1, red: -1, green: -2, blue: -3 };
    const preds = readPredictions(writeJsonl(join(dir, "lik.jsonl"), loaded.questions.map((q) => (
      { question_id: q.question_id, rotation: q.rotation, choice_logliks: q.choices.map((c) => byText[c]!) })))).records;
    const r = (await mmbench.score(loaded, preds, { options: lik })) as ScoredBench;
    // question 0: "a dog" best in every rotation → right; question 1: yes/no tie → unparseable; question 2: "red" best, answer "blue" → wrong
    expect(r.metrics.accuracy!.value).toBeCloseTo(100 / 3, 10);
    expect(r.counts).toMatchObject({ questions: 3, prompts: 9, matched: 9, missing: 0, unparseable: 2 });
    expect(r.protocol).toMatchObject({ mode: "circular", protocol: "likelihood" });
    const q0 = r.per_question.find((g) => g.question_id === 0)!;
    expect(q0.rotations).toContainEqual({ rotation: 1, answer: "A", choice_logliks: [-1, -2, -4, -3], parsed: "A", status: "ok", correct: true });
    const gen = readPredictions(writeJsonl(join(dir, "lik-mismatch.jsonl"), [{ question_id: 0, rotation: 0, prediction: "B" }])).records;
    await expect(Promise.resolve().then(() => mmbench.score(loaded, gen, { options: lik }))).rejects.toThrow(/lik-mismatch\.jsonl:1: the likelihood protocol reads `choice_logliks`.*mmbench\.protocol=generation/);
    const wrongLength = readPredictions(writeJsonl(join(dir, "lik-length.jsonl"), [{ question_id: 2, rotation: 0, choice_logliks: [-1, -2] }])).records;
    await expect(Promise.resolve().then(() => mmbench.score(loaded, wrongLength, { options: lik }))).rejects.toThrow(/expected 3 numbers/);
  });

  test("an unparseable answer counts wrong and is counted", async () => {
    const loaded = mmbench.load(file, single);
    const preds = readPredictions(writeJsonl(join(dir, "unp.jsonl"), [{ question_id: 0, prediction: "I cannot tell" }])).records;
    const r = (await mmbench.score(loaded, preds, { options: single })) as ScoredBench;
    expect(r.counts).toMatchObject({ unparseable: 1, missing: 2 });
    expect(r.metrics.accuracy!.value).toBe(0);
  });
});

describe("MMBench legacy circular file (index + k·1,000,000)", () => {
  const dir = tempDir();
  const file = writeTsv(join(dir, "mmbench_dev_legacy.tsv"), MMBENCH_HEADER, legacyRows());

  test("groups rows by index % 1,000,000; predictions keyed by the row index (LLaVA) or by (id, rotation)", async () => {
    const loaded = mmbench.load(file, circular);
    expect(loaded.format).toBe("mmbench-legacy-circular");
    expect(loaded.questions.map((q) => q.key)).toEqual(["5#0", "5#1", "5#2", "7#0", "7#1"]);
    const preds = readPredictions(writeJsonl(join(dir, "legacy.jsonl"), [
      { question_id: 5, text: "C", answer_id: "x", model_id: "llava" }, // LLaVA's answer-file fields
      { question_id: 1000005, text: "B" },
      { question_id: 5, rotation: 2, prediction: "A" },
      { question_id: 7, prediction: "A" },
      { question_id: 1000007, prediction: "A" }, // rotation 1 of 7 answers B
    ])).records;
    const r = (await mmbench.score(loaded, preds, { options: circular })) as ScoredBench;
    expect(r.metrics.accuracy!.value).toBe(50);
    expect(r.metrics["vanilla.accuracy"]!.value).toBe(100);
    expect(r.metrics["category.color.accuracy"]!.value).toBe(100);
    expect(r.metrics["category.time.accuracy"]!.value).toBe(0);
    expect(r.protocol.circular_source).toMatch(/rows of the legacy file/);

    const one = mmbench.load(file, single);
    expect(one.questions.map((q) => q.key)).toEqual(["5#0", "7#0"]);
    const s = (await mmbench.score(one, preds, { options: single })) as ScoredBench;
    expect(s.metrics.accuracy!.value).toBe(100);
    expect(s.counts.unmatched).toBe(3);
  });

  test("a row index and a rotation that disagree is an error naming the line", () => {
    const loaded = mmbench.load(file, circular);
    const preds = readPredictions(writeJsonl(join(dir, "clash.jsonl"), [{ question_id: 5, prediction: "C" }, { question_id: 2000005, rotation: 1, prediction: "A" }])).records;
    expect(() => mmbench.score(loaded, preds, { options: circular })).toThrow(/clash\.jsonl:2: question_id 2000005 is rotation 2 of question 5, but rotation says 1/);
  });
});

describe("MMBench bad input names the file and the line", () => {
  const dir = tempDir();

  test("a missing column", () => {
    const file = writeTsv(join(dir, "nocat.tsv"), MMBENCH_HEADER.filter((h) => h !== "l2-category"), mmbenchRows());
    expect(() => mmbench.load(file, single)).toThrow(/nocat\.tsv:1: the header lacks column l2-category/);
  });

  test("a row with too few fields, an unclosed quote, a bad answer, a gap in the options, test-split rows, a bad image", () => {
    const path = join(dir, "short.tsv");
    const lines = [MMBENCH_HEADER.join("\t"), "0\tq\t\ta\tb"];
    writeFileSync(path, `${lines.join("\n")}\n`);
    expect(() => mmbench.load(path, single)).toThrow(/short\.tsv:2: 5 fields, but the header has 14 columns/);

    const unclosed = join(dir, "unclosed.tsv");
    writeFileSync(unclosed, `${MMBENCH_HEADER.join("\t")}\n0\t"never closed\tx\n`);
    expect(() => mmbench.load(unclosed, single)).toThrow(/unclosed\.tsv:2: a quoted field is never closed/);

    const cases: Array<[string, Record<string, string | number>, RegExp]> = [
      ["answer", { answer: "D" }, /answer: expected one of A, B, got "D"/],
      ["gap", { C: "", D: "x" }, /option D is given but an earlier option is empty/],
      ["test", { answer: "" }, /no answer \(MMBench's test split has no public answers/],
      ["image", { image: "%%% not base64 %%%" }, /image: not base64 image data/],
      ["imageref", { image: "42" }, /image: "42" refers to row index 42, which holds no image/],
      ["index", { index: "x1" }, /index: expected a non-negative integer, got "x1"/],
    ];
    for (const [name, patch, message] of cases) {
      const rows = mmbenchRows();
      rows[1] = { ...rows[1]!, ...patch };
      const f = writeTsv(join(dir, `${name}.tsv`), MMBENCH_HEADER, rows);
      // row 1 starts on line 3 (header is line 1)
      expect(() => mmbench.load(f, single)).toThrow(new RegExp(`${name}\\.tsv:3: ${message.source}`));
    }
  });

  test("a prediction id that is not an index", async () => {
    const loaded = mmbench.load(writeTsv(join(dir, "ok.tsv"), MMBENCH_HEADER, mmbenchRows()), single);
    const preds = readPredictions(writeJsonl(join(dir, "p.jsonl"), [{ question_id: "q1", prediction: "A" }])).records;
    expect(() => mmbench.score(loaded, preds, { options: single })).toThrow(/p\.jsonl:1: question_id: expected the MMBench index/);
  });
});
