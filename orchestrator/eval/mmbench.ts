// MMBench (open-compass/MMBench): multiple choice from a TSV with base64 images; CircularEval or single pass; overall, per category, per l2-category.
import { resolve } from "node:path";
import { EvalInputError } from "./errors.js";
import { joinPredictions, unmatchedSummary } from "./join.js";
import { extractLetter, LETTER_SUFFIX, LETTERS, letterPrompt } from "./letters.js";
import { accuracyByGroup, metric, metricSegment, percent } from "./metrics.js";
import type { PredictionRecord } from "./predictions.js";
import { readText } from "./read.js";
import { parseTsv, type TsvRow } from "./tsv.js";
import type { Benchmark, BenchOptions, EvalQuestion, LoadedBenchmark, Metric, Prompt, ScoredBench } from "./types.js";

export const MMBENCH_MODES = ["circular", "single"] as const;
export type MmbenchMode = (typeof MMBENCH_MODES)[number];
/** As SEED-Bench's (seed.ts): the model writes a letter, or each option is scored as a continuation. */
export const MMBENCH_PROTOCOLS = ["generation", "likelihood"] as const;
export type MmbenchProtocol = (typeof MMBENCH_PROTOCOLS)[number];

/** Legacy circular files store rotation k of question i as row index i + k·1,000,000. */
export const ROTATION_STRIDE = 1_000_000;

export const MMBENCH_COLUMNS = ["index", "question", "hint", "A", "B", "C", "D", "answer", "category", "l2-category", "image"] as const;
const OPTION_COLUMNS = ["A", "B", "C", "D"] as const;

export interface MmbenchQuestion extends EvalQuestion {
  /** the question's index (index % 1,000,000 in legacy circular files) */
  question_id: number;
  rotation: number;
  /** the file's row index (question_id + rotation·1,000,000 in legacy files, else the index itself) */
  row_index: number;
  choices: string[];
  category: string;
  l2_category: string;
  split: string | null;
}

export const mmbench: Benchmark<MmbenchQuestion> = {
  name: "mmbench",
  title: "MMBench (multiple choice; CircularEval or single pass)",
  version: 1,
  options: {
    mode: { describe: "circular: a question counts only if every rotation of its options is answered right (MMBench's CircularEval); single: one pass, options as in the file", default: "circular", choices: MMBENCH_MODES },
    protocol: { describe: "generation: the model writes a letter; likelihood: the option with the highest log-likelihood after the (hint and) question (predictions carry choice_logliks in the rotation's option order)", default: "generation", choices: MMBENCH_PROTOCOLS },
  },
  load: loadMmbench,
  promptFor(q: MmbenchQuestion, options: BenchOptions): Prompt {
    if (options.protocol === "likelihood") return { text: q.text, image: q.image, suffix: null, continuations: q.choices };
    return { text: letterPrompt(q.text, q.choices), image: q.image, suffix: LETTER_SUFFIX };
  },
  score: scoreMmbench,
};

interface Row {
  line: number;
  index: number;
  question: string;
  hint: string | null;
  options: string[];
  /** position of the right option in `options` */
  answer: number;
  category: string;
  l2: string;
  split: string | null;
  image: string;
}

function loadMmbench(path: string, options: BenchOptions): LoadedBenchmark<MmbenchQuestion> {
  const abs = resolve(path);
  const mode = (options.mode ?? "circular") as MmbenchMode;
  const { text, file } = readText(abs);
  const { header, rows } = parseTsv(text, abs);
  const absent = MMBENCH_COLUMNS.filter((c) => !header.includes(c));
  if (absent.length > 0) {
    throw new EvalInputError(`the header lacks column${absent.length > 1 ? "s" : ""} ${absent.join(", ")} (MMBench TSV: ${MMBENCH_COLUMNS.join(", ")}; split optional)`, { file: abs, line: 1 });
  }
  if (rows.length === 0) throw new EvalInputError("holds no questions", { file: abs });
  const parsed = rows.map((r) => readRow(r, abs));
  resolveImageRefs(parsed, abs);
  const seen = new Map<number, number>();
  for (const r of parsed) {
    const first = seen.get(r.index);
    if (first !== undefined) throw new EvalInputError(`index ${r.index} repeats (first at line ${first})`, { file: abs, line: r.line });
    seen.set(r.index, r.line);
  }
  const legacy = parsed.some((r) => r.index >= ROTATION_STRIDE);
  const questions: MmbenchQuestion[] = [];
  for (const r of parsed) {
    const group = r.index % ROTATION_STRIDE;
    const rowRotation = Math.floor(r.index / ROTATION_STRIDE);
    // legacy files already hold every rotation as a row; a single pass keeps the original (rotation 0)
    if (legacy) {
      if (mode === "single" && rowRotation !== 0) continue;
      questions.push(item(r, abs, group, rowRotation, r.options, r.answer));
      continue;
    }
    const rotations = mode === "circular" ? r.options.length : 1;
    for (let k = 0; k < rotations; k++) {
      // LLaVA's model_vqa_mmbench.py --all-rounds: round k shows the options shifted left by k, lettered A, B, … again
      const shifted = [...r.options.slice(k), ...r.options.slice(0, k)];
      questions.push(item(r, abs, group, k, shifted, (r.answer - k + r.options.length) % r.options.length));
    }
  }
  const format = legacy ? "mmbench-legacy-circular" : "mmbench";
  const notes = legacy || mode === "single" ? [] : ["rotations generated from the file's options (LLaVA's --all-rounds order)"];
  return { bench: "mmbench", path: abs, format, files: [file], questions, notes };
}

function item(r: Row, file: string, group: number, rotation: number, choices: string[], answer: number): MmbenchQuestion {
  return {
    key: `${group}#${rotation}`,
    question_id: group,
    rotation,
    row_index: r.index,
    image: { kind: "base64", data: r.image },
    // LLaVA: the hint, when there is one, goes on the line before the question
    text: r.hint === null ? r.question : `${r.hint}\n${r.question}`,
    choices,
    answer: LETTERS[answer]!,
    category: r.category,
    l2_category: r.l2,
    split: r.split,
    source: { file, line: r.line },
  };
}

function readRow(row: TsvRow, file: string): Row {
  const where = { file, line: row.line };
  const c = row.cells;
  const index = c.index!.trim();
  if (!/^\d+$/.test(index)) throw new EvalInputError(`index: expected a non-negative integer, got ${JSON.stringify(index)}`, where);
  const options: string[] = [];
  for (const col of OPTION_COLUMNS) {
    const v = c[col]!;
    if (v.trim() === "") continue;
    if (options.length !== OPTION_COLUMNS.indexOf(col)) throw new EvalInputError(`option ${col} is given but an earlier option is empty`, where);
    options.push(v);
  }
  if (options.length < 2) throw new EvalInputError(`expected at least options A and B, got ${options.length}`, where);
  const answer = c.answer!.trim();
  if (answer === "") throw new EvalInputError("no answer (MMBench's test split has no public answers: score the dev split)", where);
  const at = LETTERS.indexOf(answer as (typeof LETTERS)[number]);
  if (at < 0 || at >= options.length) throw new EvalInputError(`answer: expected one of ${LETTERS.slice(0, options.length).join(", ")}, got ${JSON.stringify(answer)}`, where);
  const image = c.image!.trim();
  if (image === "") throw new EvalInputError("image: empty (expected base64 image data)", where);
  const hint = c.hint!;
  // pandas writes a missing hint as an empty cell; LLaVA also treats "nan"/"none" as no hint
  const noHint = hint.trim() === "" || ["nan", "none"].includes(hint.trim().toLowerCase());
  return {
    line: row.line,
    index: Number(index),
    question: c.question!,
    hint: noHint ? null : hint,
    options,
    answer: at,
    category: c.category!,
    l2: c["l2-category"]!,
    split: c.split ?? null,
    image,
  };
}

const BASE64 = /^[A-Za-z0-9+/\r\n]+={0,2}$/;

/** VLMEvalKit saves space by writing, in a short image cell, the index of the row that holds the image. */
function resolveImageRefs(rows: Row[], file: string): void {
  const byIndex = new Map(rows.map((r) => [String(r.index), r]));
  for (const r of rows) {
    if (r.image.length <= 64 && /^\d+$/.test(r.image)) {
      const target = byIndex.get(r.image);
      if (!target || target.image.length <= 64) throw new EvalInputError(`image: ${JSON.stringify(r.image)} refers to row index ${r.image}, which holds no image`, { file, line: r.line });
      r.image = target.image;
      continue;
    }
    if (!BASE64.test(r.image)) throw new EvalInputError("image: not base64 image data", { file, line: r.line });
  }
}

function scoreMmbench(loaded: LoadedBenchmark<MmbenchQuestion>, predictions: PredictionRecord[], context: { options: BenchOptions }): ScoredBench {
  const mode = (context.options.mode ?? "circular") as MmbenchMode;
  const protocol = (context.options.protocol ?? "generation") as MmbenchProtocol;
  for (const p of predictions) {
    if (protocol === "likelihood" && p.choice_logliks === null && p.prediction !== null) {
      throw new EvalInputError("the likelihood protocol reads `choice_logliks`, this line has only a generated `prediction` (use --option mmbench.protocol=generation)", p.source);
    }
    if (protocol === "generation" && p.prediction === null && p.choice_logliks !== null) {
      throw new EvalInputError("the generation protocol reads `prediction`, this line has only `choice_logliks` (use --option mmbench.protocol=likelihood)", p.source);
    }
  }
  const keys = new Set(loaded.questions.map((q) => q.key));
  const { byKey, unmatched } = joinPredictions(predictions, keys, (p) => predictionKey(p), (k) => `question ${k.replace("#", ", rotation ")}`);

  let matched = 0;
  let missing = 0;
  let unparseable = 0;
  const groups = new Map<number, { q: MmbenchQuestion; items: Array<Record<string, unknown>>; correct: boolean }>();
  for (const q of loaded.questions) {
    const p = byKey.get(q.key);
    if (p) matched += 1;
    let record: Record<string, unknown>;
    if (!p || (protocol === "generation" ? p.prediction === null : p.choice_logliks === null)) {
      missing += 1;
      record = { rotation: q.rotation, answer: q.answer, prediction: null, parsed: null, status: "missing" };
    } else if (protocol === "likelihood") {
      const ll = p.choice_logliks!;
      if (ll.length !== q.choices.length) throw new EvalInputError(`choice_logliks: expected ${q.choices.length} numbers (one per option, in rotation ${q.rotation}'s order), got ${ll.length}`, p.source);
      const best = Math.max(...ll);
      const at = ll.flatMap((v, i) => (v === best ? [i] : []));
      // a tie means the scores cannot separate the options: reported, not broken by position
      if (at.length > 1) unparseable += 1;
      record = at.length > 1
        ? { rotation: q.rotation, answer: q.answer, choice_logliks: ll, parsed: null, status: "unparseable", reason: `tie between ${at.map((i) => LETTERS[i]).join(", ")}` }
        : { rotation: q.rotation, answer: q.answer, choice_logliks: ll, parsed: LETTERS[at[0]!], status: "ok" };
    } else {
      const parse = extractLetter(p.prediction!, q.choices);
      if (parse.letter === null) unparseable += 1;
      record = parse.letter === null
        ? { rotation: q.rotation, answer: q.answer, prediction: p.prediction, parsed: null, status: "unparseable", reason: parse.reason }
        : { rotation: q.rotation, answer: q.answer, prediction: p.prediction, parsed: parse.letter, via: parse.via, status: "ok" };
    }
    record.correct = record.parsed === q.answer;
    const g = groups.get(q.question_id) ?? { q, items: [], correct: true };
    g.items.push(record);
    g.correct &&= record.correct as boolean;
    if (q.rotation === 0) g.q = q; // category and l2-category are read from the original order
    groups.set(q.question_id, g);
  }
  const all = [...groups.values()];
  const metrics: Record<string, Metric> = { accuracy: metric(percent(all.filter((g) => g.correct).length, all.length)) };
  if (mode === "circular") {
    const firsts = all.map((g) => g.items.find((i) => i.rotation === 0)).filter((i) => i !== undefined);
    metrics["vanilla.accuracy"] = metric(percent(firsts.filter((i) => i.correct).length, firsts.length));
  }
  for (const c of accuracyByGroup(all, (g) => g.q.category, (g) => g.correct)) metrics[`category.${metricSegment(c.group)}.accuracy`] = metric(c.accuracy);
  for (const c of accuracyByGroup(all, (g) => g.q.l2_category, (g) => g.correct)) metrics[`l2_category.${metricSegment(c.group)}.accuracy`] = metric(c.accuracy);

  const warnings: string[] = [];
  if (missing > 0) warnings.push(`${missing} of ${loaded.questions.length} prompts have no prediction (counted wrong${mode === "circular" ? "; the whole question fails" : ""})`);
  if (unparseable > 0) warnings.push(`${unparseable} predictions give no option ${protocol === "likelihood" ? "(tied log-likelihoods)" : "letter"} (counted wrong)`);
  if (unmatched.length > 0) warnings.push(`${unmatched.length} predictions match no prompt of ${loaded.path} in ${mode} mode (first: ${unmatchedSummary(unmatched).first[0]})`);
  return {
    status: "scored",
    headline: "accuracy",
    metrics,
    protocol: {
      mode,
      circular_source: mode === "single" ? null : loaded.format === "mmbench-legacy-circular" ? "rows of the legacy file (index + k·1,000,000)" : "generated: rotation k shows the options shifted left by k (LLaVA --all-rounds)",
      ...(protocol === "generation"
        ? {
          protocol: "generation",
          prompt: "hint (if any) and question, then one line per option 'A. …', then the suffix (LLaVA's model_vqa_mmbench.py --single-pred-prompt)",
          prompt_suffix: LETTER_SUFFIX,
          decoding: "greedy",
          parse_rule: "c3l option-letter extraction v1 (docs/EVAL.md: bare, leading, stated, token, text); no LLM matcher",
        }
        : {
          protocol: "likelihood",
          prompt: "hint (if any) and question only; each option of the rotation scored as a continuation (the options are not shown, so a rotation changes only their order: CircularEval then differs from one pass only by ties)",
          rule: "the option with the highest log-likelihood (as SEED-Bench's likelihood protocol); an exact tie is unparseable",
        }),
      missing: "counted wrong",
      unparseable: "counted wrong",
      headline: mode === "circular" ? "CircularEval accuracy: a question counts when every rotation is right" : "accuracy of one pass",
      format: loaded.format,
    },
    counts: { questions: all.length, prompts: loaded.questions.length, predictions: predictions.length, matched, missing, unparseable, unmatched: unmatched.length },
    details: { unmatched: unmatchedSummary(unmatched), notes: loaded.notes },
    per_question: all.map((g) => ({ question_id: g.q.question_id, category: g.q.category, l2_category: g.q.l2_category, correct: g.correct, rotations: g.items })),
    warnings,
  };
}

/** (index % 1,000,000, rotation): a legacy row index implies its rotation, which must agree with a given one. */
function predictionKey(p: PredictionRecord): string | null {
  const id = typeof p.question_id === "number" ? p.question_id : /^\d+$/.test(p.question_id) ? Number(p.question_id) : null;
  if (id === null || id < 0) throw new EvalInputError(`question_id: expected the MMBench index (an integer), got ${JSON.stringify(p.question_id)}`, p.source);
  const implied = Math.floor(id / ROTATION_STRIDE);
  if (implied > 0 && p.rotation !== null && p.rotation !== implied) {
    throw new EvalInputError(`question_id ${id} is rotation ${implied} of question ${id % ROTATION_STRIDE}, but rotation says ${p.rotation}`, p.source);
  }
  return `${id % ROTATION_STRIDE}#${implied > 0 ? implied : (p.rotation ?? 0)}`;
}
