// LLaVA-Bench: skipped (never faked) without a judge; with one, 100 × mean model / mean reference per category, by hand.
import { describe, expect, test } from "@jest/globals";
import { join } from "node:path";
import { parseJudgeScores, recordedJudge } from "../../orchestrator/eval/judge.js";
import { llavaBench, SKIP_NO_JUDGE } from "../../orchestrator/eval/llava-bench.js";
import { readPredictions } from "../../orchestrator/eval/predictions.js";
import type { Judge, JudgeRequest, ScoredBench } from "../../orchestrator/eval/types.js";
import { tempDir, writeJsonl, writeLlavaBench } from "./fixtures.js";

const opts = { images: null, reviews: null };

describe("LLaVA-Bench", () => {
  const dir = writeLlavaBench(join(tempDir(), "llava-bench-in-the-wild"));
  const preds = readPredictions(writeJsonl(join(dir, "..", "answers.jsonl"), [0, 1, 2, 3].map((id) => ({ question_id: id, prompt: "…", text: `model answer ${id}`, answer_id: `m${id}`, model_id: "c3l", metadata: {} })))).records;

  test("reads questions, references and context; images default to images/", () => {
    const loaded = llavaBench.load(dir, opts);
    expect(loaded.questions[1]).toMatchObject({ question_id: 1, category: "detail", answer: "reference answer 1", context: ["A mountain with a temple at its top."], image: { kind: "file", name: "001.jpg", path: join(dir, "images", "001.jpg") } });
    expect(llavaBench.promptFor(loaded.questions[0]!, opts)).toMatchObject({ text: "What is the name of this famous sight in the photo?", suffix: null });
  });

  test("without a judge it is skipped with a clear reason, and no metric is produced", async () => {
    const out = await llavaBench.score(llavaBench.load(dir, opts), preds, { options: opts, judge: null });
    expect(out.status).toBe("skipped");
    expect(out).not.toHaveProperty("metrics");
    expect(out.status === "skipped" && out.reason).toBe(SKIP_NO_JUDGE);
    expect(SKIP_NO_JUDGE).toMatch(/none is configured, so it is skipped, not scored/);
    expect(out.counts).toMatchObject({ questions: 4, matched: 4, missing: 0 });
  });

  test("with a judge: relative score per category and overall, by hand", async () => {
    // reference/model scores: 0 conv 8/6, 1 detail 10/5, 2 complex 8/8, 3 conv 6/6
    const table: Record<number, [number, number]> = { 0: [8, 6], 1: [10, 5], 2: [8, 8], 3: [6, 6] };
    const seen: JudgeRequest[] = [];
    const judge: Judge = {
      identity: { kind: "table" },
      async review(req) {
        seen.push(req);
        const [reference_score, model_score] = table[req.question_id as number]!;
        return { reference_score, model_score };
      },
    };
    const r = (await llavaBench.score(llavaBench.load(dir, opts), preds, { options: opts, judge })) as ScoredBench;
    const v = (k: string) => r.metrics[k]!.value!;
    expect(v("conv.relative_score")).toBeCloseTo((100 * 6) / 7, 10); // means: model 6, reference 7
    expect(v("detail.relative_score")).toBe(50);
    expect(v("complex.relative_score")).toBe(100);
    expect(v("relative_score")).toBeCloseTo(78.125, 10); // model 6.25 / reference 8
    expect(v("model_score")).toBe(6.25);
    expect(r.headline).toBe("relative_score");
    expect(r.protocol.judge).toEqual({ kind: "table" });
    expect(seen[2]).toMatchObject({ question: "What might be the purpose of this artwork?", reference_answer: "reference answer 2", model_answer: "model answer 2", context: ["A painting of a blue sky over a field."] });
  });

  test("recorded reviews (LLaVA's review file) replay as the judge; [-1, -1] and absent reviews are unparseable, not averaged", async () => {
    const reviews = writeJsonl(join(dir, "..", "reviews.jsonl"), [
      { id: 1, question_id: 0, answer1_id: "ref0", answer2_id: "m0", category: "llava_bench_conv", content: "8 6\nAssistant 1 …", tuple: [8.0, 6.0] },
      { id: 2, question_id: 1, answer1_id: "ref1", answer2_id: "m1", category: "llava_bench_detail", content: "garbled", tuple: [-1, -1] },
      { id: 3, question_id: 2, category: "llava_bench_complex", content: "8,8\nBoth …" },
    ]);
    const judge = recordedJudge(reviews);
    const r = (await llavaBench.score(llavaBench.load(dir, opts), preds, { options: opts, judge })) as ScoredBench;
    expect(r.counts.unparseable).toBe(2);
    expect(r.metrics.relative_score!.value).toBeCloseTo((100 * 7) / 8, 10); // model (6 + 8) / reference (8 + 8)
    expect(r.metrics["detail.relative_score"]!.value).toBeNull();
    expect(r.protocol.judge).toMatchObject({ kind: "recorded", reviews: 3 });
    expect(r.per_question[0]).toMatchObject({ status: "ok", judge_reply: "8 6\nAssistant 1 …" });
  });

  test("parseJudgeScores: LLaVA's first-line rule", () => {
    expect(parseJudgeScores("8 6\nexplanation")).toEqual([8, 6]);
    expect(parseJudgeScores("7.5,9")).toEqual([7.5, 9]);
    expect(parseJudgeScores("8  6")).toBeNull(); // split on single spaces: three parts
    expect(parseJudgeScores("8, 6")).toBeNull(); // "," → " " makes two spaces: LLaVA gets [-1, -1] here too
    expect(parseJudgeScores("Scores: 8 6")).toBeNull();
    expect(parseJudgeScores("")).toBeNull();
  });

  test("bad input: unknown category, missing reference", () => {
    const bad = writeLlavaBench(join(tempDir(), "bad"));
    writeJsonl(join(bad, "questions.jsonl"), [{ question_id: 0, image: "001.jpg", text: "q", category: "conv" }, { question_id: 1, image: "001.jpg", text: "q", category: "reasoning" }]);
    expect(() => llavaBench.load(bad, opts)).toThrow(/questions\.jsonl:2: category: expected one of conv, detail, complex, got "reasoning"/);
    writeJsonl(join(bad, "questions.jsonl"), [{ question_id: 9, image: "001.jpg", text: "q", category: "conv" }]);
    expect(() => llavaBench.load(bad, opts)).toThrow(/questions\.jsonl:1: question_id 9 has no reference answer in answers_gpt4\.jsonl/);
  });
});
