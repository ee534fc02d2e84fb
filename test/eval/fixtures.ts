// Small benchmark files written in each benchmark's real format (spacing and quoting as their own tools write them).
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function tempDir(prefix = "c3l-eval-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Python's json.dumps default layout ({"a": 1, "b": [1, 2]}), as POPE and LLaVA wrote their files. */
export function pyJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pyJson).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${pyJson(v)}`).join(", ")}}`;
  }
  return JSON.stringify(value);
}

export function writeJsonl(path: string, rows: unknown[]): string {
  writeFileSync(path, rows.map((r) => `${pyJson(r)}\n`).join(""));
  return path;
}

/** A valid 1×1 PNG: MMBench cells hold base64 images like it. */
export const PNG_1X1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

export const POPE_LABELS = {
  random: ["yes", "yes", "yes", "no", "no", "no"],
  popular: ["yes", "no", "yes", "no"],
} as const;

const OBJECTS = ["dining table", "sandwich", "bottle", "tv", "orange", "zebra"];

export function popeLine(split: string, id: number, label: string): Record<string, unknown> {
  const imageId = 548882 + (split === "popular" ? 1 : 0);
  return { question_id: id, image: `COCO_val2014_000000${imageId}.jpg`, image_id: imageId, text: `Is there a ${OBJECTS[id]} in the image?`, label };
}

/** POPE's output/coco/: coco_pope_<split>.json, JSON Lines, question_id restarting at 0 per split. */
export function writePopeFolder(dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const [split, labels] of Object.entries(POPE_LABELS)) {
    writeJsonl(join(dir, `coco_pope_${split}.json`), labels.map((label, id) => popeLine(split, id, label)));
  }
  return dir;
}

/** LLaVA's llava_pope_test.jsonl: splits merged, unique ids, `category`, the suffix in the text, no label. */
export function writeLlavaPopeMerged(path: string, withLabels = false): string {
  const rows: unknown[] = [];
  let qid = 1;
  for (const [split, labels] of Object.entries(POPE_LABELS)) {
    labels.forEach((label, id) => {
      const base = popeLine(split, id, label);
      rows.push({
        question_id: qid++, image: base.image, text: `${base.text as string}\nAnswer the question using a single word or phrase.`, category: split,
        ...(withLabels ? { label } : {}),
      });
    });
  }
  return writeJsonl(path, rows);
}

/** SEED-Bench.json (SEED-Bench-1): one object, questions[] with string ids, plus question_type. */
export function writeSeed(path: string, pretty = true): string {
  const doc = {
    questions: [
      seedQ("101", 1, "A", "What is the main setting of the image?"),
      seedQ("102", 1, "B", "Where was the picture taken?"),
      seedQ("103", 5, "C", "How many towels are in the image?"),
      seedQ("104", 5, "D", "How many cups are on the table?"),
      { answer: "B", choice_a: "throwing something", choice_b: "catching something", choice_c: "lifting", choice_d: "poking", data_id: "94328.webm", data_type: "video", question: "What is the action being carried out in the video?", question_id: "v1738", question_type_id: 10 },
    ],
    question_type: { "Scene Understanding": 1, "Instance Identity": 2, "Instance Attributes": 3, "Instance Location": 4, "Instances Counting": 5, "Spatial Relation": 6, "Instance Interaction": 7, "Visual Reasoning": 8, "Text Understanding": 9, "Action Recognition": 10, "Action Prediction": 11, "Procedure Understanding": 12 },
  };
  writeFileSync(path, pretty ? JSON.stringify(doc, null, 4) : pyJson(doc));
  return path;
}

export function seedQ(id: string, dim: number, answer: string, question: string): Record<string, unknown> {
  return { answer, choice_a: "One", choice_b: "Two", choice_c: "Three", choice_d: "Four", data_id: `1454426_25911119${id}.jpg`, data_type: "image", question, question_id: id, question_type_id: dim };
}

export const MMBENCH_HEADER = ["index", "question", "hint", "A", "B", "C", "D", "answer", "category", "image", "source", "l2-category", "comment", "split"];

/** pandas to_csv(sep="\t") quoting: a cell holding a tab, a newline or a quote is quoted, quotes doubled. */
export function tsvCell(value: string | number): string {
  const s = String(value);
  return /[\t\n\r"]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function writeTsv(path: string, header: string[], rows: Array<Record<string, string | number>>): string {
  const lines = [header.join("\t"), ...rows.map((r) => header.map((h) => tsvCell(r[h] ?? "")).join("\t"))];
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}

/** Three MMBench dev questions: 4, 2 and 3 options; a hint with a newline and a tab; row 2 refers to row 0's image. */
export function mmbenchRows(): Array<Record<string, string | number>> {
  return [
    { index: 0, question: "What animal is shown?", hint: "", A: "a cat", B: "a dog", C: "a bird", D: "a fish", answer: "B", category: "animal_recognition", image: PNG_1X1, source: "coco", "l2-category": "fine-grained perception", comment: "", split: "dev" },
    { index: 1, question: "Is the sky \"clear\"?", hint: "Look closely.\nAt\tthe sky", A: "yes", B: "no", C: "", D: "", answer: "A", category: "existence", image: PNG_1X1, source: "coco", "l2-category": "coarse perception", comment: "", split: "dev" },
    { index: 2, question: "Which color is the car?", hint: "nan", A: "red", B: "green", C: "blue", D: "", answer: "C", category: "color", image: "0", source: "coco", "l2-category": "coarse perception", comment: "", split: "dev" },
  ];
}

/** A legacy circular file: rotation k of question i is row i + k·1,000,000, with its own option order and answer. */
export function legacyRows(): Array<Record<string, string | number>> {
  const base = { hint: "", D: "", category: "color", source: "x", "l2-category": "coarse perception", comment: "", split: "dev" };
  return [
    { ...base, index: 5, question: "Which color?", A: "red", B: "green", C: "blue", answer: "C", image: PNG_1X1 },
    { ...base, index: 1000005, question: "Which color?", A: "green", B: "blue", C: "red", answer: "B", image: "5" },
    { ...base, index: 2000005, question: "Which color?", A: "blue", B: "red", C: "green", answer: "A", image: "5" },
    { ...base, index: 7, question: "Is it day?", A: "yes", B: "no", C: "", answer: "A", category: "time", image: PNG_1X1 },
    { ...base, index: 1000007, question: "Is it day?", A: "no", B: "yes", C: "", answer: "B", category: "time", image: "7" },
  ];
}

/** llava-bench-in-the-wild/: questions.jsonl, context.jsonl, answers_gpt4.jsonl, images/. */
export function writeLlavaBench(dir: string): string {
  mkdirSync(join(dir, "images"), { recursive: true });
  writeJsonl(join(dir, "questions.jsonl"), [
    { question_id: 0, image: "001.jpg", text: "What is the name of this famous sight in the photo?", category: "conv" },
    { question_id: 1, image: "001.jpg", text: "Describe this photo in detail.", category: "detail" },
    { question_id: 2, image: "002.jpg", text: "What might be the purpose of this artwork?", category: "complex" },
    { question_id: 3, image: "002.jpg", text: "What color is the sky?", category: "conv" },
  ]);
  writeJsonl(join(dir, "context.jsonl"), [
    { id: "001", image: "001.jpg", caption: "A mountain with a temple at its top." },
    { id: "002", image: "002.jpg", caption: "A painting of a blue sky over a field." },
  ]);
  writeJsonl(join(dir, "answers_gpt4.jsonl"), [0, 1, 2, 3].map((id) => ({ question_id: id, prompt: "…", text: `reference answer ${id}`, answer_id: `ref${id}`, model_id: "gpt-4-0314", metadata: {} })));
  return dir;
}
