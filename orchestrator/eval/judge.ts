// Judges for LLaVA-Bench: the score-line parse rule of LLaVA's GPT-4 review, and a judge that replays saved reviews.
import { resolve } from "node:path";
import { EvalInputError } from "./errors.js";
import { describe, idKey, readId, readJsonLines } from "./read.js";
import type { Judge, JudgeRequest, JudgeVerdict } from "./types.js";

/**
 * LLaVA's llava/eval/eval_gpt_review_bench.py parse_score: the reply's first line, commas turned
 * into spaces, split on single spaces, must be exactly two numbers: (reference, model). Anything
 * else is no score (LLaVA writes [-1, -1] and still averages it; here it is counted unparseable).
 */
export function parseJudgeScores(reply: string): [number, number] | null {
  const first = reply.split("\n")[0]!.replaceAll(",", " ");
  const parts = first.split(" ");
  if (parts.length !== 2) return null;
  const [a, b] = parts.map((x) => (/^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(x) ? Number(x) : NaN));
  return Number.isFinite(a) && Number.isFinite(b) ? [a!, b!] : null;
}

/**
 * Replays a review file LLaVA's eval_gpt_review_bench.py wrote (one JSON line per question:
 * `question_id`, `tuple` = [reference score, model score], `content` = the judge's reply). It does
 * not call a model, so the scores are only as valid as the match between those reviews and the
 * predictions being scored: the results record the file and its hash.
 */
export function recordedJudge(path: string): Judge {
  const abs = resolve(path);
  const { lines, file } = readJsonLines(abs);
  const byId = new Map<string, { verdict: JudgeVerdict | { failure: string }; line: number }>();
  for (const { value, line } of lines) {
    const where = { file: abs, line };
    const id = idKey(readId(value.question_id, "question_id", where));
    const first = byId.get(id);
    if (first) throw new EvalInputError(`a second review of question_id ${id} (the first is at line ${first.line})`, where);
    let pair: [number, number] | null = null;
    if (Array.isArray(value.tuple)) {
      if (value.tuple.length !== 2 || !value.tuple.every((x) => typeof x === "number")) throw new EvalInputError(`tuple: expected [reference score, model score], got ${describe(value.tuple)}`, where);
      pair = [value.tuple[0] as number, value.tuple[1] as number];
    } else if (typeof value.content === "string") {
      pair = parseJudgeScores(value.content);
    } else {
      throw new EvalInputError("expected `tuple` ([reference score, model score]) or the judge's reply in `content`", where);
    }
    const raw = typeof value.content === "string" ? value.content : undefined;
    // LLaVA marks a reply it could not parse as [-1, -1]
    const verdict = pair === null || (pair[0] === -1 && pair[1] === -1)
      ? { failure: `the review at ${abs}:${line} has no score pair` }
      : { reference_score: pair[0], model_score: pair[1], ...(raw !== undefined ? { raw } : {}) };
    byId.set(id, { verdict, line });
  }
  return {
    identity: { kind: "recorded", file: abs, sha256: file.sha256, reviews: byId.size },
    async review(request: JudgeRequest) {
      return byId.get(idKey(request.question_id))?.verdict ?? { failure: `no review of question_id ${request.question_id} in ${abs}` };
    },
  };
}
