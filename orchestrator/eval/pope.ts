// POPE (AoiDragon/POPE): yes/no object-hallucination questions in three splits; F1 per split, headline = mean F1.
import { readdirSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { closest } from "../config/suggest.js";
import { EvalInputError } from "./errors.js";
import { joinPredictions, unmatchedSummary } from "./join.js";
import { mean, metric, percent } from "./metrics.js";
import type { PredictionRecord } from "./predictions.js";
import { describe, idKey, readId, readJsonLines, readString, type JsonLine } from "./read.js";
import type { Benchmark, BenchOptions, DataFile, EvalQuestion, LoadedBenchmark, Metric, Prompt, ScoredBench, ScoreContext } from "./types.js";

export const POPE_SPLITS = ["random", "popular", "adversarial"] as const;
export type PopeSplit = (typeof POPE_SPLITS)[number];

/** LLaVA-1.5's short-answer suffix (LLaVA's llava_pope_test.jsonl questions end with it). */
export const POPE_SUFFIX = "Answer the question using a single word or phrase.";

export interface PopeQuestion extends EvalQuestion {
  split: PopeSplit;
  answer: "yes" | "no";
}

/** `<dataset>_pope_<split>.json`, e.g. coco_pope_random.json (JSON Lines despite the name). */
const SPLIT_FILE = /^(.+)_pope_([^.]+)\.jsonl?$/;

/**
 * The parse rule of LLaVA's llava/eval/eval_pope.py and POPE's evaluate.py: keep the text before
 * the first "."; drop every ","; split on single spaces; "no" if a word is exactly "No", "no" or
 * "not", else "yes". Quirks kept on purpose, so numbers match published ones: "" → yes, "NO" → yes,
 * "Not really" → yes, "No\n…" (no space after No) → yes. The answer is trimmed first, as LLaVA's
 * answer files are (`outputs.strip()`).
 */
export function parsePopeAnswer(answer: string): "yes" | "no" {
  let text = answer.trim();
  const dot = text.indexOf(".");
  if (dot !== -1) text = text.slice(0, dot);
  const words = text.replaceAll(",", "").split(" ");
  return words.includes("No") || words.includes("not") || words.includes("no") ? "no" : "yes";
}

export const pope: Benchmark<PopeQuestion> = {
  name: "pope",
  title: "POPE (polling-based object probing; random, popular, adversarial)",
  version: 1,
  options: {
    images: { describe: "folder holding the images named in the question files (COCO val2014); only needed to run a model", default: null, path: true },
    annotations: { describe: "folder of per-split label files, for a merged question file without labels (LLaVA's llava_pope_test.jsonl + playground/data/eval/pope/coco)", default: null, path: true },
    suffix: { describe: `the line appended to each question (LLaVA-1.5's, by default); empty or "none": the question alone (models never trained on the suffix, e.g. the builtin world's)`, default: POPE_SUFFIX },
  },
  load: loadPope,
  promptFor(q: PopeQuestion, options: BenchOptions): Prompt {
    const suffix = popeSuffix(options);
    return { text: suffix ? withSuffix(q.text, suffix) : q.text, image: q.image, suffix: suffix || null };
  },
  score: scorePope,
};

/** The suffix option as used: LLaVA's by default, "" for none. */
export function popeSuffix(options: BenchOptions): string {
  const value = options.suffix ?? POPE_SUFFIX;
  return value === "none" ? "" : value;
}

/** Appends `suffix` on a new line unless the text already ends with it (LLaVA's files carry it already). */
export function withSuffix(text: string, suffix: string): string {
  return text.trimEnd().endsWith(suffix) ? text : `${text}\n${suffix}`;
}

function stripSuffix(text: string, suffix: string): string {
  const t = text.trimEnd();
  return t.endsWith(suffix) ? t.slice(0, t.length - suffix.length).trimEnd() : text;
}

export function popeSplit(name: string, where: { file: string; line?: number | null }, what = "split"): PopeSplit {
  if ((POPE_SPLITS as readonly string[]).includes(name)) return name as PopeSplit;
  const guess = closest(name, POPE_SPLITS);
  throw new EvalInputError(`unknown POPE ${what} ${JSON.stringify(name)}${guess ? ` (did you mean ${guess}?)` : ""}; the splits are ${POPE_SPLITS.join(", ")}`, where);
}

function loadPope(path: string, options: BenchOptions): LoadedBenchmark<PopeQuestion> {
  const abs = resolve(path);
  const images = options.images ?? null;
  let st;
  try {
    st = statSync(abs);
  } catch {
    throw new EvalInputError("does not exist", { file: abs });
  }
  if (st.isDirectory()) {
    const { questions, files } = loadSplitFolder(abs, images);
    return { bench: "pope", path: abs, format: "pope-per-split", files, questions, notes: [] };
  }
  const { lines, file } = readJsonLines(abs);
  if (lines.length === 0) throw new EvalInputError("holds no questions", { file: abs });
  if ("category" in lines[0]!.value) return loadMerged(abs, lines, file, options.annotations ?? null, images);
  const m = SPLIT_FILE.exec(basename(abs));
  if (!m) {
    throw new EvalInputError(`cannot tell the split: name per-split files <dataset>_pope_<split>.json (split: ${POPE_SPLITS.join(", ")}), or give a merged file whose lines carry \`category\``, { file: abs });
  }
  const split = popeSplit(m[2]!, { file: abs }, "split in the file name");
  return { bench: "pope", path: abs, format: "pope-per-split", files: [file], questions: readSplitLines(abs, lines, split, images), notes: [] };
}

function loadSplitFolder(dir: string, images: string | null): { questions: PopeQuestion[]; files: DataFile[] } {
  const found = new Map<PopeSplit, string>();
  const datasets = new Set<string>();
  for (const name of readdirSync(dir).sort()) {
    const m = SPLIT_FILE.exec(name);
    if (!m) continue;
    // a near-miss like coco_pope_randm.json is a typo to report; llava_pope_test.jsonl is another file
    if (!(POPE_SPLITS as readonly string[]).includes(m[2]!) && closest(m[2]!, POPE_SPLITS) === undefined) continue;
    const split = popeSplit(m[2]!, { file: join(dir, name) }, "split in the file name");
    datasets.add(m[1]!);
    if (found.has(split)) throw new EvalInputError(`two files for split ${split}: ${basename(found.get(split)!)} and ${name}`, { file: dir });
    found.set(split, join(dir, name));
  }
  if (datasets.size > 1) throw new EvalInputError(`split files of several POPE datasets (${[...datasets].join(", ")}): give a folder that holds one`, { file: dir });
  if (found.size === 0) throw new EvalInputError(`no POPE split files (<dataset>_pope_{${POPE_SPLITS.join(",")}}.json) in this folder`, { file: dir });
  const questions: PopeQuestion[] = [];
  const files: DataFile[] = [];
  for (const split of POPE_SPLITS) {
    const path = found.get(split);
    if (!path) continue;
    const { lines, file } = readJsonLines(path);
    files.push(file);
    questions.push(...readSplitLines(path, lines, split, images));
  }
  return { questions, files };
}

function readSplitLines(path: string, lines: JsonLine[], split: PopeSplit, images: string | null): PopeQuestion[] {
  const seen = new Map<string, number>();
  return lines.map(({ value, line }) => {
    const where = { file: path, line };
    const q = readQuestion(value, where, split, images, true);
    const first = seen.get(idKey(q.question_id));
    if (first !== undefined) throw new EvalInputError(`question_id ${JSON.stringify(q.question_id)} repeats (first at line ${first})`, where);
    seen.set(idKey(q.question_id), line);
    return q;
  });
}

function readQuestion(value: Record<string, unknown>, where: { file: string; line: number }, split: PopeSplit, images: string | null, needLabel: boolean): PopeQuestion {
  const question_id = readId(value.question_id, "question_id", where);
  const image = readString(value, "image", where, false);
  const text = readString(value, "text", where, false);
  let answer: "yes" | "no" = "yes";
  if (needLabel) {
    const label = value.label;
    if (label !== "yes" && label !== "no") throw new EvalInputError(`label: expected "yes" or "no", got ${label === undefined ? "nothing (missing)" : describe(label)}`, where);
    answer = label;
  }
  return {
    key: `${split}/${idKey(question_id)}`,
    question_id,
    split,
    image: { kind: "file", name: image, path: images ? join(images, image) : null },
    text,
    answer,
    source: where,
  };
}

/**
 * LLaVA's llava_pope_test.jsonl: all splits in one file, unique ids, `category` = split. Without
 * labels in it, the labels come from the per-split files, matched the way LLaVA's eval_pope.py does
 * (the n-th question of a category ↔ the n-th line of its split file), but checked: the image and the
 * question text must agree, or it is an error rather than a silent misalignment.
 */
function loadMerged(path: string, lines: JsonLine[], file: DataFile, annotations: string | null, images: string | null): LoadedBenchmark<PopeQuestion> {
  const hasLabels = lines.every(({ value }) => "label" in value);
  const seen = new Map<string, number>();
  const questions = lines.map(({ value, line }) => {
    const where = { file: path, line };
    const split = popeSplit(readString(value, "category", where, false), where, "category");
    const q = readQuestion(value, where, split, images, hasLabels);
    const first = seen.get(idKey(q.question_id));
    if (first !== undefined) throw new EvalInputError(`question_id ${JSON.stringify(q.question_id)} repeats (first at line ${first}); a merged file needs unique ids`, where);
    seen.set(idKey(q.question_id), line);
    return q;
  });
  if (hasLabels) return { bench: "pope", path, format: "pope-merged", files: [file], questions, notes: [] };
  if (!annotations) {
    throw new EvalInputError("a merged POPE file without labels: name the folder of per-split label files with --option pope.annotations=DIR (LLaVA keeps them in playground/data/eval/pope/coco)", { file: path });
  }
  const labelled = loadSplitFolder(resolve(annotations), null);
  for (const split of POPE_SPLITS) {
    const mine = questions.filter((q) => q.split === split);
    const theirs = labelled.questions.filter((q) => q.split === split);
    if (mine.length === 0) continue;
    if (theirs.length !== mine.length) {
      throw new EvalInputError(`${mine.length} ${split} questions, but the ${split} label file has ${theirs.length}`, { file: path });
    }
    mine.forEach((q, i) => {
      const ref = theirs[i]!;
      const sameImage = ref.image.kind === "file" && q.image.kind === "file" && ref.image.name === q.image.name;
      if (!sameImage || norm(stripSuffix(q.text, POPE_SUFFIX)) !== norm(ref.text)) {
        throw new EvalInputError(`does not match ${ref.source.file}:${ref.source.line} (the ${i + 1}th ${split} question there), so labels cannot be taken from it`, q.source);
      }
      q.answer = ref.answer;
    });
  }
  return { bench: "pope", path, format: "pope-merged+labels", files: [file, ...labelled.files], questions, notes: [] };
}

const norm = (s: string) => s.replace(/\s+/g, " ").trim();

interface Confusion {
  TP: number;
  FP: number;
  TN: number;
  FN: number;
  answered: number;
  missing: number;
  /** empty answers, read as "yes" by the rule */
  empty: number;
}

function scorePope(loaded: LoadedBenchmark<PopeQuestion>, predictions: PredictionRecord[], context: ScoreContext): ScoredBench {
  const keys = new Set(loaded.questions.map((q) => q.key));
  const splitsOf = new Map<string, PopeSplit[]>(); // question_id → splits holding it
  for (const q of loaded.questions) splitsOf.set(idKey(q.question_id), [...(splitsOf.get(idKey(q.question_id)) ?? []), q.split]);
  const loadedSplits = POPE_SPLITS.filter((s) => loaded.questions.some((q) => q.split === s));

  const { byKey, unmatched } = joinPredictions(predictions, keys, (p) => {
    const id = idKey(p.question_id);
    const holders = splitsOf.get(id) ?? [];
    if (p.split !== null) {
      const split = popeSplit(p.split, p.source);
      // in a merged file ids are unique, so a split that disagrees with the file is a mistake, not another question
      if (loaded.format.startsWith("pope-merged") && holders.length === 1 && holders[0] !== split) {
        throw new EvalInputError(`question_id ${JSON.stringify(p.question_id)} is a ${holders[0]} question in ${loaded.path}, the prediction says split ${split}`, p.source);
      }
      return `${split}/${id}`;
    }
    if (holders.length > 1) {
      throw new EvalInputError(`no split, and question_id ${JSON.stringify(p.question_id)} is in several splits (${holders.join(", ")}): give "split"`, p.source);
    }
    return holders.length === 1 ? `${holders[0]}/${id}` : null;
  }, (key) => `split ${key.replace("/", ", question_id ")}`);

  const confusion = new Map<PopeSplit, Confusion>(loadedSplits.map((s) => [s, { TP: 0, FP: 0, TN: 0, FN: 0, answered: 0, missing: 0, empty: 0 }]));
  const perQuestion: Array<Record<string, unknown>> = [];
  let matched = 0;
  let missing = 0;
  for (const q of loaded.questions) {
    const c = confusion.get(q.split)!;
    const p = byKey.get(q.key);
    if (p) matched += 1;
    if (!p || p.prediction === null) {
      // a missing answer has no cell in the confusion matrix: it is counted and left out
      c.missing += 1;
      missing += 1;
      perQuestion.push({ split: q.split, question_id: q.question_id, label: q.answer, prediction: null, parsed: null, correct: false, status: "missing" });
      continue;
    }
    const parsed = parsePopeAnswer(p.prediction);
    c.answered += 1;
    if (p.prediction.trim() === "") c.empty += 1;
    if (parsed === "yes") q.answer === "yes" ? c.TP++ : c.FP++;
    else q.answer === "no" ? c.TN++ : c.FN++;
    perQuestion.push({ split: q.split, question_id: q.question_id, label: q.answer, prediction: p.prediction, parsed, correct: parsed === q.answer, status: "ok" });
  }

  const metrics: Record<string, Metric> = {};
  const f1s: Array<number | null> = [];
  const accs: Array<number | null> = [];
  const details: Record<string, unknown> = {};
  const warnings: string[] = [];
  for (const split of loadedSplits) {
    const c = confusion.get(split)!;
    const m = rates(c);
    f1s.push(m.f1);
    accs.push(m.accuracy);
    metrics[`${split}.accuracy`] = metric(m.accuracy);
    metrics[`${split}.precision`] = metric(m.precision);
    metrics[`${split}.recall`] = metric(m.recall);
    metrics[`${split}.f1`] = metric(m.f1);
    metrics[`${split}.yes_ratio`] = metric(m.yes_ratio, { higherIsBetter: null });
    details[split] = { ...c };
    if (c.missing > 0) warnings.push(`${split}: ${c.missing} of ${c.missing + c.answered} questions have no prediction (left out of the counts)`);
    if (c.empty > 0) warnings.push(`${split}: ${c.empty} empty predictions, read as "yes" by LLaVA's rule`);
  }
  const headline: Record<string, Metric> = { f1: metric(mean(f1s)), accuracy: metric(mean(accs)) };
  if (unmatched.length > 0) warnings.push(`${unmatched.length} predictions match no question of ${loaded.path} (first: ${unmatchedSummary(unmatched).first[0]})`);
  return {
    status: "scored",
    headline: "f1",
    metrics: { ...headline, ...metrics },
    protocol: {
      prompt_suffix: popeSuffix(context.options),
      decoding: "greedy",
      parse_rule: "llava-eval-pope: text before the first '.', commas removed, split on ' '; 'No'/'no'/'not' as a word → no, else yes (empty → yes)",
      parse_rule_source: "haotian-liu/LLaVA llava/eval/eval_pope.py (= AoiDragon/POPE evaluate.py)",
      positive_label: "yes",
      zero_division: "precision, recall or F1 with a zero denominator is 0 (no question answered in a split: every metric of it is null)",
      missing: "left out of TP/FP/TN/FN and every rate; counted per split",
      headline: "f1 = mean of the per-split F1 over the loaded splits (accuracy likewise)",
      splits: loadedSplits,
      format: loaded.format,
    },
    counts: {
      questions: loaded.questions.length,
      prompts: loaded.questions.length,
      predictions: predictions.length,
      matched,
      missing,
      unparseable: 0, // the rule reads every string as yes or no
      unmatched: unmatched.length,
    },
    details: { confusion: details, unmatched: unmatchedSummary(unmatched) },
    per_question: perQuestion,
    warnings,
  };
}

/** Rates as LLaVA prints them (×100), with 0 for a zero denominator instead of a ZeroDivisionError. */
export function rates(c: { TP: number; FP: number; TN: number; FN: number }): { accuracy: number | null; precision: number | null; recall: number | null; f1: number | null; yes_ratio: number | null } {
  const n = c.TP + c.FP + c.TN + c.FN;
  if (n === 0) return { accuracy: null, precision: null, recall: null, f1: null, yes_ratio: null };
  const precision = c.TP + c.FP === 0 ? 0 : c.TP / (c.TP + c.FP);
  const recall = c.TP + c.FN === 0 ? 0 : c.TP / (c.TP + c.FN);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { accuracy: percent(c.TP + c.TN, n), precision: 100 * precision, recall: 100 * recall, f1: 100 * f1, yes_ratio: percent(c.TP + c.FP, n) };
}
