// SEED-Bench (AILab-CVC/SEED-Bench): four-choice questions; image questions only (dimensions 1–9); accuracy overall and per dimension.
import { join, resolve } from "node:path";
import { EvalInputError } from "./errors.js";
import { joinPredictions, unmatchedSummary } from "./join.js";
import { extractLetter, LETTER_SUFFIX, LETTERS, letterPrompt } from "./letters.js";
import { accuracyByGroup, metric, metricSegment, percent } from "./metrics.js";
import type { PredictionRecord } from "./predictions.js";
import { describe, idKey, readJson } from "./read.js";
import type { Benchmark, BenchOptions, EvalQuestion, LoadedBenchmark, Metric, Prompt, ScoredBench, SourceLine } from "./types.js";

export const SEED_PROTOCOLS = ["generation", "likelihood"] as const;
export type SeedProtocol = (typeof SEED_PROTOCOLS)[number];

export interface SeedQuestion extends EvalQuestion {
  choices: string[];
  dimension: number;
  dimension_name: string;
}

export const seed: Benchmark<SeedQuestion> = {
  name: "seed",
  title: "SEED-Bench (image questions, dimensions 1–9)",
  version: 1,
  options: {
    protocol: { describe: "generation: the model writes a letter; likelihood: the choice with the highest log-likelihood (predictions carry choice_logliks)", default: "generation", choices: SEED_PROTOCOLS },
    images: { describe: "folder holding the images named by data_id (SEED-Bench-image); only needed to run a model", default: null, path: true },
  },
  load: loadSeed,
  promptFor(q: SeedQuestion, options: BenchOptions): Prompt {
    if (options.protocol === "likelihood") return { text: q.text, image: q.image, suffix: null, continuations: q.choices };
    return { text: letterPrompt(q.text, q.choices), image: q.image, suffix: LETTER_SUFFIX };
  },
  score: scoreSeed,
};

const CHOICE_FIELDS = ["choice_a", "choice_b", "choice_c", "choice_d"] as const;

function loadSeed(path: string, options: BenchOptions): LoadedBenchmark<SeedQuestion> {
  const abs = resolve(path);
  const { value, text, file } = readJson(abs);
  if (value === null || typeof value !== "object" || Array.isArray(value) || !Array.isArray((value as { questions?: unknown }).questions)) {
    throw new EvalInputError('expected SEED-Bench\'s {"questions": [...], "question_type": {...}}', { file: abs, line: 1 });
  }
  const doc = value as { questions: unknown[]; question_type?: unknown };
  const names = new Map<number, string>();
  if (doc.question_type !== undefined) {
    if (doc.question_type === null || typeof doc.question_type !== "object" || Array.isArray(doc.question_type)) {
      throw new EvalInputError(`question_type: expected an object of name → dimension id, got ${describe(doc.question_type)}`, { file: abs, line: lineOf(text, '"question_type"') });
    }
    for (const [name, id] of Object.entries(doc.question_type)) if (typeof id === "number") names.set(id, name);
  }
  const images = options.images ?? null;
  const questions: SeedQuestion[] = [];
  const skipped = new Map<string, number>();
  const seen = new Map<string, number>();
  doc.questions.forEach((raw, i) => {
    const locate = (id?: unknown): SourceLine => ({ file: abs, line: (id !== undefined ? lineOfId(text, id) : null) ?? 1 });
    const fail = (message: string, id?: unknown): never => {
      throw new EvalInputError(`questions[${i}]${id !== undefined ? ` (question_id ${JSON.stringify(id)})` : ""}: ${message}`, locate(id));
    };
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) fail(`expected an object, got ${describe(raw)}`);
    const q = raw as Record<string, unknown>;
    const id = q.question_id;
    const where = locate(id);
    if (!(typeof id === "string" && id !== "") && !(typeof id === "number" && Number.isInteger(id))) {
      fail(`question_id: expected a string or an integer, got ${id === undefined ? "nothing (missing)" : describe(id)}`);
    }
    const question_id = id as string | number;
    const dataType = q.data_type;
    if (typeof dataType !== "string") return fail(`data_type: expected "image" or "video", got ${dataType === undefined ? "nothing (missing)" : describe(dataType)}`, id);
    const first = seen.get(idKey(question_id));
    if (first !== undefined) fail(`question_id repeats (first at questions[${first}])`, id);
    seen.set(idKey(question_id), i);
    if (dataType !== "image") {
      // video dimensions (10–12) need frames, not an image: not part of the image protocol
      skipped.set(dataType, (skipped.get(dataType) ?? 0) + 1);
      return;
    }
    const str = (field: string): string => {
      const v = q[field];
      if (typeof v !== "string") fail(`${field}: expected a string, got ${v === undefined ? "nothing (missing)" : describe(v)}`, id);
      return v as string;
    };
    const dimension = q.question_type_id;
    if (typeof dimension !== "number" || !Number.isInteger(dimension)) fail(`question_type_id: expected an integer dimension, got ${dimension === undefined ? "nothing (missing)" : describe(dimension)}`, id);
    const answer = str("answer");
    if (!["A", "B", "C", "D"].includes(answer)) fail(`answer: expected one of A, B, C, D, got ${JSON.stringify(answer)}`, id);
    const dataId = str("data_id");
    questions.push({
      key: idKey(question_id),
      question_id,
      image: { kind: "file", name: dataId, path: images ? join(images, dataId) : null },
      text: str("question"),
      choices: CHOICE_FIELDS.map(str),
      answer,
      dimension: dimension as number,
      dimension_name: names.get(dimension as number) ?? `dimension ${dimension}`,
      source: where,
    });
  });
  if (questions.length === 0) throw new EvalInputError('no image questions (data_type "image")', { file: abs });
  const notes = [...skipped.entries()].map(([type, n]) => `skipped ${n} ${type} questions (only image questions are scored)`);
  return { bench: "seed", path: abs, format: "seed-bench-json", files: [file], questions, notes };
}

/** The line where a question's id is written (SEED-Bench.json may be pretty-printed or one line). */
function lineOfId(text: string, id: unknown): number | null {
  if (typeof id !== "string" && typeof id !== "number") return null;
  return lineOf(text, `"question_id": ${JSON.stringify(id)}`) ?? lineOf(text, `"question_id":${JSON.stringify(id)}`);
}

function lineOf(text: string, needle: string): number | null {
  const at = text.indexOf(needle);
  return at === -1 ? null : text.slice(0, at).split("\n").length;
}

function scoreSeed(loaded: LoadedBenchmark<SeedQuestion>, predictions: PredictionRecord[], context: { options: BenchOptions }): ScoredBench {
  const protocol = (context.options.protocol ?? "generation") as SeedProtocol;
  const keys = new Set(loaded.questions.map((q) => q.key));
  for (const p of predictions) {
    if (protocol === "likelihood" && p.choice_logliks === null && p.prediction !== null) {
      throw new EvalInputError("the likelihood protocol reads `choice_logliks`, this line has only a generated `prediction` (use --option seed.protocol=generation)", p.source);
    }
    if (protocol === "generation" && p.prediction === null && p.choice_logliks !== null) {
      throw new EvalInputError("the generation protocol reads `prediction`, this line has only `choice_logliks` (use --option seed.protocol=likelihood)", p.source);
    }
  }
  const { byKey, unmatched } = joinPredictions(predictions, keys, (p) => idKey(p.question_id), (k) => `question_id ${k}`);

  let matched = 0;
  let missing = 0;
  let unparseable = 0;
  const scored: Array<{ q: SeedQuestion; correct: boolean }> = [];
  const perQuestion: Array<Record<string, unknown>> = [];
  for (const q of loaded.questions) {
    const p = byKey.get(q.key);
    if (p) matched += 1;
    let record: Record<string, unknown>;
    if (!p || (protocol === "generation" ? p.prediction === null : p.choice_logliks === null)) {
      missing += 1;
      record = { status: "missing", parsed: null };
    } else if (protocol === "generation") {
      const parse = extractLetter(p.prediction!, q.choices);
      if (parse.letter === null) unparseable += 1;
      record = parse.letter === null
        ? { status: "unparseable", prediction: p.prediction, parsed: null, reason: parse.reason }
        : { status: "ok", prediction: p.prediction, parsed: parse.letter, via: parse.via };
    } else {
      const ll = p.choice_logliks!;
      if (ll.length !== q.choices.length) throw new EvalInputError(`choice_logliks: expected ${q.choices.length} numbers (one per choice), got ${ll.length}`, p.source);
      const best = Math.max(...ll);
      const at = ll.flatMap((v, i) => (v === best ? [i] : []));
      // a tie means the scores cannot separate the choices: reported, not broken by position
      if (at.length > 1) unparseable += 1;
      record = at.length > 1
        ? { status: "unparseable", choice_logliks: ll, parsed: null, reason: `tie between ${at.map((i) => LETTERS[i]).join(", ")}` }
        : { status: "ok", choice_logliks: ll, parsed: LETTERS[at[0]!] };
    }
    const correct = record.parsed === q.answer;
    scored.push({ q, correct });
    perQuestion.push({ question_id: q.question_id, dimension: q.dimension, answer: q.answer, correct, ...record });
  }

  const metrics: Record<string, Metric> = { accuracy: metric(percent(scored.filter((s) => s.correct).length, scored.length)) };
  const dims = accuracyByGroup(scored, (s) => String(s.q.dimension).padStart(3, "0"), (s) => s.correct);
  const dimensionTable: Record<string, unknown> = {};
  for (const d of dims) {
    const n = Number(d.group);
    const name = loaded.questions.find((q) => q.dimension === n)!.dimension_name;
    metrics[`dimension.${metricSegment(name)}.accuracy`] = metric(d.accuracy);
    dimensionTable[String(n)] = { name, correct: d.correct, total: d.total };
  }
  const warnings: string[] = [];
  if (missing > 0) warnings.push(`${missing} of ${loaded.questions.length} questions have no prediction (counted wrong)`);
  if (unparseable > 0) warnings.push(`${unparseable} predictions give no option (counted wrong)`);
  if (unmatched.length > 0) warnings.push(`${unmatched.length} predictions match no image question of ${loaded.path} (first: ${unmatchedSummary(unmatched).first[0]})`);
  return {
    status: "scored",
    headline: "accuracy",
    metrics,
    protocol: protocol === "generation"
      ? {
        protocol: "generation",
        prompt: "question, then one line per choice 'A. …', then the suffix",
        prompt_suffix: LETTER_SUFFIX,
        decoding: "greedy",
        parse_rule: "c3l option-letter extraction v1 (docs/EVAL.md: bare, leading, stated, token, text)",
        missing: "counted wrong (as LLaVA's scripts/convert_seed_for_submission.py)",
        unparseable: "counted wrong",
        headline: "accuracy over all image questions (not the mean of dimensions)",
        data_types: ["image"],
      }
      : {
        protocol: "likelihood",
        prompt: "question only; each choice scored as a continuation",
        rule: "the choice with the highest log-likelihood (SEED-Bench eval.py: lowest loss); an exact tie is unparseable",
        missing: "counted wrong",
        headline: "accuracy over all image questions (not the mean of dimensions)",
        data_types: ["image"],
      },
    counts: { questions: loaded.questions.length, prompts: loaded.questions.length, predictions: predictions.length, matched, missing, unparseable, unmatched: unmatched.length },
    details: { dimensions: dimensionTable, unmatched: unmatchedSummary(unmatched), notes: loaded.notes },
    per_question: perQuestion,
    warnings,
  };
}
