// LLaVA-Bench (in-the-wild): open-ended answers scored by a judge against GPT-4 reference answers; skipped without a judge.
import { existsSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { EvalInputError } from "./errors.js";
import { joinPredictions, unmatchedSummary } from "./join.js";
import { recordedJudge } from "./judge.js";
import { metric, percent } from "./metrics.js";
import type { PredictionRecord } from "./predictions.js";
import { describe, idKey, readId, readJsonLines, readString } from "./read.js";
import type { Benchmark, BenchOptions, BenchOutcome, Counts, EvalQuestion, Judge, LoadedBenchmark, Metric, ScoreContext } from "./types.js";

export const LLAVA_BENCH_CATEGORIES = ["conv", "detail", "complex"] as const;

export interface LlavaBenchQuestion extends EvalQuestion {
  category: (typeof LLAVA_BENCH_CATEGORIES)[number];
  /** the image's captions from context.jsonl, given to the judge */
  context: string[];
}

export const SKIP_NO_JUDGE =
  "LLaVA-Bench is scored by a judge model (GPT-4 in the paper) and none is configured, so it is skipped, not scored; "
  + "re-score saved judge reviews with --option llava-bench.reviews=FILE";

export const llavaBench: Benchmark<LlavaBenchQuestion> = {
  name: "llava-bench",
  title: "LLaVA-Bench (in-the-wild), judged against GPT-4 reference answers",
  version: 1,
  options: {
    images: { describe: "image folder (default: images/ beside questions.jsonl)", default: null, path: true },
    reviews: { describe: "judge reviews saved by LLaVA's eval_gpt_review_bench.py (question_id, tuple): replayed as the judge", default: null, path: true },
  },
  load: loadLlavaBench,
  promptFor(q: LlavaBenchQuestion) {
    return { text: q.text, image: q.image, suffix: null }; // LLaVA's llavabench.sh asks the question as written
  },
  score: scoreLlavaBench,
};

function loadLlavaBench(path: string, options: BenchOptions): LoadedBenchmark<LlavaBenchQuestion> {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new EvalInputError("does not exist", { file: abs });
  const dir = statSync(abs).isDirectory() ? abs : dirname(abs);
  const questionsPath = statSync(abs).isDirectory() ? join(dir, "questions.jsonl") : abs;
  for (const f of [questionsPath, join(dir, "context.jsonl"), join(dir, "answers_gpt4.jsonl")]) {
    if (!existsSync(f)) throw new EvalInputError(`missing: LLaVA-Bench needs questions.jsonl, context.jsonl and answers_gpt4.jsonl in ${dir}`, { file: f });
  }
  const images = options.images ?? join(dir, "images");

  const contextPath = join(dir, "context.jsonl");
  const ctx = readJsonLines(contextPath);
  const captions = new Map<string, string[]>();
  for (const { value, line } of ctx.lines) {
    const where = { file: contextPath, line };
    const image = readString(value, "image", where, false);
    const caption = value.caption;
    // LLaVA joins the caption with newlines; it may be one string or a list of sentences
    if (typeof caption === "string") captions.set(image, [caption]);
    else if (Array.isArray(caption) && caption.every((c) => typeof c === "string")) captions.set(image, caption as string[]);
    else throw new EvalInputError(`caption: expected a string or a list of strings, got ${caption === undefined ? "nothing (missing)" : describe(caption)}`, where);
  }

  const answersPath = join(dir, "answers_gpt4.jsonl");
  const ans = readJsonLines(answersPath);
  const references = new Map<string, string>();
  for (const { value, line } of ans.lines) {
    const where = { file: answersPath, line };
    references.set(idKey(readId(value.question_id, "question_id", where)), readString(value, "text", where));
  }

  const qs = readJsonLines(questionsPath);
  const seen = new Map<string, number>();
  const questions = qs.lines.map(({ value, line }): LlavaBenchQuestion => {
    const where = { file: questionsPath, line };
    const question_id = readId(value.question_id, "question_id", where);
    const key = idKey(question_id);
    if (seen.has(key)) throw new EvalInputError(`question_id ${JSON.stringify(question_id)} repeats (first at line ${seen.get(key)})`, where);
    seen.set(key, line);
    const image = readString(value, "image", where, false);
    const category = readString(value, "category", where, false);
    if (!(LLAVA_BENCH_CATEGORIES as readonly string[]).includes(category)) {
      throw new EvalInputError(`category: expected one of ${LLAVA_BENCH_CATEGORIES.join(", ")}, got ${JSON.stringify(category)}`, where);
    }
    const reference = references.get(key);
    if (reference === undefined) throw new EvalInputError(`question_id ${JSON.stringify(question_id)} has no reference answer in ${basename(answersPath)}`, where);
    const context = captions.get(image);
    if (!context) throw new EvalInputError(`image ${JSON.stringify(image)} has no context in ${basename(contextPath)}`, where);
    return {
      key,
      question_id,
      image: { kind: "file", name: image, path: join(images, image) },
      text: readString(value, "text", where, false),
      answer: reference,
      category: category as LlavaBenchQuestion["category"],
      context,
      source: where,
    };
  });
  if (questions.length === 0) throw new EvalInputError("holds no questions", { file: questionsPath });
  return { bench: "llava-bench", path: abs, format: "llava-bench-in-the-wild", files: [qs.file, ctx.file, ans.file], questions, notes: [] };
}

async function scoreLlavaBench(loaded: LoadedBenchmark<LlavaBenchQuestion>, predictions: PredictionRecord[], context: ScoreContext): Promise<BenchOutcome> {
  // Saved reviews (the reviews option) replay as the judge, in place of any judge the caller gave.
  const judge = context.options.reviews ? recordedJudge(context.options.reviews) : (context.judge ?? null);
  const keys = new Set(loaded.questions.map((q) => q.key));
  const { byKey, unmatched } = joinPredictions(predictions, keys, (p) => idKey(p.question_id), (k) => `question_id ${k}`);
  const answered = loaded.questions.filter((q) => byKey.get(q.key)?.prediction != null);
  const counts: Counts = {
    questions: loaded.questions.length,
    prompts: loaded.questions.length,
    predictions: predictions.length,
    matched: loaded.questions.filter((q) => byKey.has(q.key)).length,
    missing: loaded.questions.length - answered.length,
    unparseable: 0,
    unmatched: unmatched.length,
  };
  const protocol: Record<string, unknown> = {
    prompt: "the question as written, no suffix (LLaVA's llavabench.sh)",
    decoding: "greedy",
    judge_order: "Assistant 1 = GPT-4 reference answer, Assistant 2 = the model (LLaVA's eval_gpt_review_bench.py)",
    score: "100 × mean model score / mean reference score, per category and over all (LLaVA's summarize_gpt_review.py)",
    missing: "left out of the means; counted",
    unparseable: "a review without a score pair is left out of the means; counted (LLaVA would average in [-1, -1])",
    judge: judge ? judge.identity : null,
  };
  if (!judge) return { status: "skipped", reason: SKIP_NO_JUDGE, protocol, counts };
  return judgeAll(loaded, byKey, judge, counts, protocol, unmatched);
}

async function judgeAll(
  loaded: LoadedBenchmark<LlavaBenchQuestion>,
  byKey: Map<string, PredictionRecord>,
  judge: Judge,
  counts: Counts,
  protocol: Record<string, unknown>,
  unmatched: PredictionRecord[],
): Promise<BenchOutcome> {
  const pairs = new Map<string, Array<[number, number]>>(); // category → [reference, model]
  const perQuestion: Array<Record<string, unknown>> = [];
  for (const q of loaded.questions) {
    const p = byKey.get(q.key);
    if (!p || p.prediction === null) {
      perQuestion.push({ question_id: q.question_id, category: q.category, prediction: null, status: "missing" });
      continue;
    }
    const verdict = await judge.review({
      question_id: q.question_id, category: q.category, question: q.text, context: q.context, image: q.image,
      reference_answer: q.answer, model_answer: p.prediction,
    });
    if ("failure" in verdict) {
      counts.unparseable += 1;
      perQuestion.push({ question_id: q.question_id, category: q.category, prediction: p.prediction, status: "unparseable", reason: verdict.failure });
      continue;
    }
    for (const c of [q.category, "all"]) pairs.set(c, [...(pairs.get(c) ?? []), [verdict.reference_score, verdict.model_score]]);
    perQuestion.push({ question_id: q.question_id, category: q.category, prediction: p.prediction, status: "ok", reference_score: verdict.reference_score, model_score: verdict.model_score, ...(verdict.raw !== undefined ? { judge_reply: verdict.raw } : {}) });
  }
  const metrics: Record<string, Metric> = {};
  const details: Record<string, unknown> = {};
  for (const c of ["all", ...LLAVA_BENCH_CATEGORIES]) {
    const list = pairs.get(c) ?? [];
    const ref = list.length ? list.reduce((s, [r]) => s + r, 0) / list.length : null;
    const mod = list.length ? list.reduce((s, [, m]) => s + m, 0) / list.length : null;
    const prefix = c === "all" ? "" : `${c}.`;
    metrics[`${prefix}relative_score`] = metric(ref === null || mod === null ? null : percent(mod, ref));
    metrics[`${prefix}model_score`] = metric(mod, { unit: "score" });
    metrics[`${prefix}reference_score`] = metric(ref, { unit: "score", higherIsBetter: null });
    details[c] = { judged: list.length };
  }
  const warnings: string[] = [];
  if (counts.missing > 0) warnings.push(`${counts.missing} of ${counts.questions} questions have no prediction (left out of the means)`);
  if (counts.unparseable > 0) warnings.push(`${counts.unparseable} answers got no score from the judge (left out of the means)`);
  if (unmatched.length > 0) warnings.push(`${unmatched.length} predictions match no question of ${loaded.path}`);
  return { status: "scored", headline: "relative_score", metrics, protocol, counts, details: { judged: details, unmatched: unmatchedSummary(unmatched) }, per_question: perQuestion, warnings };
}
