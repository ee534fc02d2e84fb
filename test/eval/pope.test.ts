// POPE: LLaVA's parse rule, hand-computed confusion counts and rates, both file layouts, bad input named by file and line.
import { describe, expect, test } from "@jest/globals";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EvalInputError } from "../../orchestrator/eval/errors.js";
import { checkImages } from "../../orchestrator/eval/images.js";
import { parsePopeAnswer, pope } from "../../orchestrator/eval/pope.js";
import { readPredictions, type PredictionRecord } from "../../orchestrator/eval/predictions.js";
import type { BenchOptions, ScoredBench } from "../../orchestrator/eval/types.js";
import { popeLine, tempDir, writeJsonl, writeLlavaPopeMerged, writePopeFolder } from "./fixtures.js";

const opts: BenchOptions = { images: null, annotations: null };

describe("parsePopeAnswer (LLaVA eval_pope.py)", () => {
  test.each([
    ["Yes.", "yes"],
    ["Yes, there is a dining table in the image.", "yes"],
    ["No, there is not", "no"],
    ["No", "no"],
    ["no.", "no"],
    ["There is no tv in the image.", "no"],
    ["It is not there", "no"],
    ["Yes. No dog, though.", "yes"], // only the first sentence counts
    ["", "yes"], // the rule reads an empty answer as yes
    ["  No  ", "no"], // trimmed like LLaVA's answer files
    ["NO", "yes"], // only "No", "no", "not" count
    ["Not really", "yes"],
    ["None", "yes"],
  ])("%j → %s", (answer, expected) => {
    expect(parsePopeAnswer(answer)).toBe(expected);
  });
});

/** The predictions of the hand computation in the comments below, in shuffled order. */
function writePredictions(path: string): string {
  return writeJsonl(path, [
    { question_id: 3, split: "popular", prediction: "no." },
    { question_id: 4, split: "random", prediction: "Yes, there is an orange" },
    { question_id: 0, split: "popular", prediction: "yes" },
    { question_id: 2, split: "random", prediction: "" },
    { question_id: 99, split: "popular", prediction: "yes" }, // no such question
    { question_id: 1, split: "random", prediction: "No, there is not" },
    { question_id: 2, split: "popular", prediction: "Not sure" },
    { question_id: 0, split: "random", prediction: "Yes." },
    { question_id: 1, split: "popular", prediction: "No" },
    { question_id: 3, split: "random", prediction: "There is no tv in the image." },
    // random/5 has no prediction
  ]);
}

async function score(benchPath: string, predictions: PredictionRecord[], options = opts): Promise<ScoredBench> {
  const loaded = pope.load(benchPath, options);
  const out = await pope.score(loaded, predictions, { options });
  if (out.status !== "scored") throw new Error("not scored");
  return out;
}

describe("POPE scoring", () => {
  const dir = tempDir();
  const folder = writePopeFolder(join(dir, "coco"));
  const preds = readPredictions(writePredictions(join(dir, "preds.jsonl"))).records;

  test("per-split folder, shuffled predictions: TP/FP/TN/FN and rates by hand", async () => {
    const r = await score(folder, preds);
    // random: labels y y y n n n; predictions Yes.→TP, "No, there is not"→FN, ""→TP, "…no tv…"→TN, "Yes, …"→FP, missing
    expect(r.details.confusion).toEqual({
      random: { TP: 2, FP: 1, TN: 1, FN: 1, answered: 5, missing: 1, empty: 1 },
      // popular: labels y n y n; yes→TP, No→TN, "Not sure"→TP (the rule), no.→TN
      popular: { TP: 2, FP: 0, TN: 2, FN: 0, answered: 4, missing: 0, empty: 0 },
    });
    const v = (name: string) => r.metrics[name]!.value!;
    expect(v("random.accuracy")).toBeCloseTo(60, 10); // 3 / 5
    expect(v("random.precision")).toBeCloseTo(200 / 3, 10); // 2 / 3
    expect(v("random.recall")).toBeCloseTo(200 / 3, 10); // 2 / 3
    expect(v("random.f1")).toBeCloseTo(200 / 3, 10);
    expect(v("random.yes_ratio")).toBeCloseTo(60, 10); // 3 yes of 5
    expect(v("popular.f1")).toBe(100);
    expect(v("popular.yes_ratio")).toBe(50);
    expect(v("f1")).toBeCloseTo((200 / 3 + 100) / 2, 10); // headline: mean F1 over splits
    expect(v("accuracy")).toBeCloseTo(80, 10);
    expect(r.headline).toBe("f1");
    expect(r.metrics["random.yes_ratio"]!.higher_is_better).toBeNull();
    expect(r.metrics.f1).toMatchObject({ higher_is_better: true, version: 1, unit: "%" });
    expect(r.counts).toEqual({ questions: 10, prompts: 10, predictions: 10, matched: 9, missing: 1, unparseable: 0, unmatched: 1 });
    expect(r.protocol).toMatchObject({ splits: ["random", "popular"], prompt_suffix: "Answer the question using a single word or phrase." });
    expect(r.per_question).toContainEqual({ split: "random", question_id: 1, label: "yes", prediction: "No, there is not", parsed: "no", correct: false, status: "ok" });
    expect(r.per_question).toContainEqual({ split: "random", question_id: 5, label: "no", prediction: null, parsed: null, correct: false, status: "missing" });
    expect(r.warnings.join("\n")).toMatch(/random: 1 empty predictions, read as "yes"/);
  });

  test("one split file alone: split from the file name; predictions need no split", async () => {
    const r = await score(join(folder, "coco_pope_popular.json"), preds.filter((p) => p.split === "popular").map((p) => ({ ...p, split: null })));
    expect(r.metrics.f1!.value).toBe(100);
    expect(r.counts.unmatched).toBe(1);
  });

  test("LLaVA's merged file with labels from the annotation folder gives the same numbers (ids unique, no split needed)", async () => {
    const merged = writeLlavaPopeMerged(join(dir, "llava_pope_test.jsonl"));
    // merged ids: random 0..5 → 1..6, popular 0..3 → 7..10
    const remap = preds.filter((p) => p.question_id !== 99).map((p) => ({ ...p, question_id: (p.question_id as number) + (p.split === "random" ? 1 : 7), split: null }));
    const withAnnotations = await score(merged, remap, { images: null, annotations: folder });
    const perSplit = await score(folder, preds);
    expect(withAnnotations.metrics).toEqual(perSplit.metrics);
    expect(withAnnotations.protocol.format).toBe("pope-merged+labels");

    const labelled = writeLlavaPopeMerged(join(dir, "merged_labelled.jsonl"), true);
    expect((await score(labelled, remap)).metrics).toEqual(perSplit.metrics);
  });

  test("a merged file without labels or annotation folder is refused, naming the option", () => {
    const merged = writeLlavaPopeMerged(join(dir, "nolabels.jsonl"));
    expect(() => pope.load(merged, opts)).toThrow(/nolabels\.jsonl: a merged POPE file without labels: .*--option pope\.annotations=DIR/);
  });

  test("a merged file that does not line up with the annotation files is an error, not a silent misalignment", () => {
    const bad = join(dir, "misaligned.jsonl");
    writeJsonl(bad, [
      { question_id: 1, image: "COCO_val2014_000000548882.jpg", text: "Is there a sandwich in the image?", category: "random" }, // the label file's 1st is "dining table"
      ...[2, 3, 4, 5, 6].map((q) => ({ question_id: q, image: "COCO_val2014_000000548882.jpg", text: "x", category: "random" })),
    ]);
    expect(() => pope.load(bad, { images: null, annotations: folder })).toThrow(/misaligned\.jsonl:1: does not match .*coco_pope_random\.json:1/);
  });
});

describe("POPE bad input names the file and the line", () => {
  const dir = tempDir();

  test("a malformed line", () => {
    const path = join(dir, "coco_pope_random.json");
    writeFileSync(path, `${JSON.stringify(popeLine("random", 0, "yes"))}\n{"question_id": 1, "image": \n`);
    expect(() => pope.load(path, opts)).toThrow(new RegExp(`${path}:2: not JSON`));
  });

  test("a label that is not yes/no, a repeated id", () => {
    const a = writeJsonl(join(dir, "coco_pope_popular.json"), [popeLine("popular", 0, "yes"), popeLine("popular", 1, "Yes")]);
    expect(() => pope.load(a, opts)).toThrow(/coco_pope_popular\.json:2: label: expected "yes" or "no", got the string "Yes"/);
    const b = writeJsonl(join(dir, "coco_pope_adversarial.json"), [popeLine("adversarial", 0, "yes"), popeLine("adversarial", 0, "no")]);
    expect(() => pope.load(b, opts)).toThrow(/coco_pope_adversarial\.json:2: question_id 0 repeats \(first at line 1\)/);
  });

  test("an unknown split: in a file name, a category, a prediction", async () => {
    const folder = join(dir, "typo");
    writePopeFolder(folder);
    writeJsonl(join(folder, "coco_pope_adversarail.json"), [popeLine("adversarial", 0, "yes")]);
    expect(() => pope.load(folder, opts)).toThrow(/coco_pope_adversarail\.json: unknown POPE split in the file name "adversarail" \(did you mean adversarial\?\)/);

    const merged = writeJsonl(join(dir, "merged.jsonl"), [{ question_id: 1, image: "a.jpg", text: "Is there a cat?", category: "populr", label: "no" }]);
    expect(() => pope.load(merged, opts)).toThrow(/merged\.jsonl:1: unknown POPE category "populr" \(did you mean popular\?\)/);

    const good = writePopeFolder(join(dir, "good"));
    const predPath = writeJsonl(join(dir, "p.jsonl"), [{ question_id: 0, split: "random", prediction: "yes" }, { question_id: 0, split: "randon", prediction: "no" }]);
    const loaded = pope.load(good, opts);
    expect(() => pope.score(loaded, readPredictions(predPath).records, { options: opts })).toThrow(/p\.jsonl:2: unknown POPE split "randon" \(did you mean random\?\)/);
  });

  test("a prediction without split whose id is in two splits; a second prediction for one question", () => {
    const loaded = pope.load(writePopeFolder(join(dir, "two")), opts);
    const noSplit = readPredictions(writeJsonl(join(dir, "nosplit.jsonl"), [{ question_id: 1, prediction: "yes" }])).records;
    expect(() => pope.score(loaded, noSplit, { options: opts })).toThrow(/nosplit\.jsonl:1: no split, and question_id 1 is in several splits \(random, popular\)/);
    const dup = readPredictions(writeJsonl(join(dir, "dup.jsonl"), [{ question_id: 1, split: "random", prediction: "yes" }, { question_id: 2, split: "random", prediction: "no" }, { question_id: 1, split: "random", prediction: "no" }])).records;
    expect(() => pope.score(loaded, dup, { options: opts })).toThrow(/dup\.jsonl:3: a second prediction for split random, question_id 1 \(the first is at .*dup\.jsonl:1\)/);
  });

  test("the errors are EvalInputError (exit 2)", () => {
    expect(() => pope.load(join(dir, "absent"), opts)).toThrow(EvalInputError);
  });
});

test("promptFor appends the suffix once", () => {
  const dir = tempDir();
  const loaded = pope.load(writePopeFolder(join(dir, "coco")), { images: "/imgs", annotations: null });
  const q = loaded.questions[0]!;
  expect(pope.promptFor(q, opts)).toEqual({
    text: "Is there a dining table in the image?\nAnswer the question using a single word or phrase.",
    image: { kind: "file", name: "COCO_val2014_000000548882.jpg", path: "/imgs/COCO_val2014_000000548882.jpg" },
    suffix: "Answer the question using a single word or phrase.",
  });
  const merged = pope.load(writeLlavaPopeMerged(join(dir, "m.jsonl"), true), opts);
  expect(pope.promptFor(merged.questions[0]!, opts).text).toBe("Is there a dining table in the image?\nAnswer the question using a single word or phrase.");
});

test("checkImages (for the model-running side) names the question's file and line when an image is absent", () => {
  const dir = tempDir();
  const folder = writePopeFolder(join(dir, "coco"));
  const images = join(dir, "val2014");
  mkdirSync(images);
  const loaded = pope.load(folder, { images, annotations: null });
  for (const q of loaded.questions.filter((x) => x.split === "random")) writeFileSync(join(images, q.image.kind === "file" ? q.image.name : ""), "");
  // the popular split's image (…548883.jpg) was never written: its first question is line 1 of coco_pope_popular.json
  expect(() => checkImages("pope", loaded.questions.filter((q) => q.split === "random"))).not.toThrow();
  expect(() => checkImages("pope", loaded.questions)).toThrow(/coco_pope_popular\.json:1: image .*COCO_val2014_000000548883\.jpg does not exist \(and 3 more questions' images\)/);
  expect(() => checkImages("pope", pope.load(folder, opts).questions)).toThrow(/coco_pope_random\.json:1: image "COCO_val2014_000000548882\.jpg": no image folder given; add --option pope\.images=DIR/);
});
