// `c3l eval` as a user runs it: the built command (npx tsc -p tsconfig.build.json) on files in the benchmarks' real formats.
import { describe, expect, test } from "@jest/globals";
import { execa } from "execa";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../orchestrator/worker/python.js";
import { MMBENCH_HEADER, mmbenchRows, tempDir, writeJsonl, writeLlavaBench, writePopeFolder, writeTsv } from "./fixtures.js";

const BUILT = join(PROJECT_ROOT, "dist", "cli", "eval.js");

async function c3l(args: string[]) {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: build first (npx tsc -p tsconfig.build.json)`);
  return execa("node", [join(PROJECT_ROOT, "bin", "c3l.js"), ...args], { reject: false, cwd: PROJECT_ROOT });
}

describe("c3l eval --predictions", () => {
  const dir = tempDir();
  const pope = writePopeFolder(join(dir, "coco"));
  const tsv = writeTsv(join(dir, "MMBench_DEV_EN.tsv"), MMBENCH_HEADER, mmbenchRows());
  const preds = writeJsonl(join(dir, "predictions.jsonl"), [
    { bench: "mmbench", question_id: 2, prediction: "The answer is C" },
    { bench: "pope", split: "popular", question_id: 3, prediction: "no." },
    { bench: "pope", split: "random", question_id: 4, prediction: "Yes, there is an orange" },
    { bench: "pope", split: "popular", question_id: 0, prediction: "yes" },
    { bench: "mmbench", question_id: 0, prediction: "(B)" },
    { bench: "pope", split: "random", question_id: 2, prediction: "" },
    { bench: "pope", split: "random", question_id: 1, prediction: "No, there is not" },
    { bench: "pope", split: "popular", question_id: 2, prediction: "Not sure" },
    { bench: "mmbench", question_id: 1, prediction: "b" },
    { bench: "pope", split: "random", question_id: 0, prediction: "Yes." },
    { bench: "pope", split: "popular", question_id: 1, prediction: "No" },
    { bench: "pope", split: "random", question_id: 3, prediction: "There is no tv in the image." },
  ]);

  test("prints the metrics as JSON, writes the full results file, warns on stderr", async () => {
    const out = join(dir, "results.json");
    const r = await c3l(["eval", "--predictions", preds, "--bench", `pope=${pope}`, "--bench", `mmbench=${tsv}`, "--option", "mmbench.mode=single", "--out", out]);
    expect(r.exitCode).toBe(0);
    const printed = JSON.parse(r.stdout) as { model: null; benchmarks: Record<string, { status: string; headline: { metric: string; value: number }; metrics: Record<string, number>; counts: Record<string, number> }> };
    expect(printed.model).toBeNull();
    expect(printed.benchmarks.pope!.headline.metric).toBe("f1");
    expect(printed.benchmarks.pope!.headline.value).toBeCloseTo((200 / 3 + 100) / 2, 10); // as in pope.test.ts
    expect(printed.benchmarks.pope!.metrics["random.yes_ratio"]).toBe(60);
    expect(printed.benchmarks.mmbench!.metrics.accuracy).toBeCloseTo(200 / 3, 10); // (B) ✓, b ✗ (answer A), C ✓
    expect(printed.benchmarks.mmbench!.counts).toMatchObject({ questions: 3, matched: 3 });
    expect(r.stderr).toContain("c3l eval: pope: random: 1 of 6 questions have no prediction");
    const full = JSON.parse(readFileSync(out, "utf8")) as { benchmarks: Record<string, { protocol: Record<string, unknown>; per_question: unknown[]; metrics: Record<string, { higher_is_better: boolean | null; version: number }> }> };
    expect(full.benchmarks.mmbench!.protocol.mode).toBe("single");
    expect(full.benchmarks.pope!.protocol.parse_rule_source).toMatch(/eval_pope\.py/);
    expect(full.benchmarks.pope!.per_question).toHaveLength(10);
    expect(full.benchmarks.pope!.metrics["random.yes_ratio"]).toMatchObject({ higher_is_better: null, version: 1 });
  });

  test("LLaVA-Bench with no judge: skipped with the reason on stderr, exit 0, no number", async () => {
    const lb = writeLlavaBench(join(dir, "llava-bench-in-the-wild"));
    const answers = writeJsonl(join(dir, "lb.jsonl"), [{ question_id: 0, text: "Mount Fuji." }]);
    const r = await c3l(["eval", "--predictions", answers, "--bench", `llava-bench=${lb}`]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/llava-bench: skipped: .*none is configured, so it is skipped, not scored/);
    const printed = JSON.parse(r.stdout) as { benchmarks: Record<string, Record<string, unknown>> };
    expect(printed.benchmarks["llava-bench"]).toMatchObject({ status: "skipped" });
    expect(printed.benchmarks["llava-bench"]).not.toHaveProperty("metrics");
  });

  test.each([
    ["a malformed predictions line", () => {
      const p = join(dir, "malformed.jsonl");
      writeFileSync(p, '{"question_id": 0, "split": "random", "prediction": "yes"}\n{"question_id": 1, "split": "random", "prediction": "no"\n');
      return ["--predictions", p, "--bench", `pope=${pope}`];
    }, /malformed\.jsonl:2: not JSON/],
    ["an unknown split name", () => ["--predictions", writeJsonl(join(dir, "split.jsonl"), [{ question_id: 0, split: "adversarail", prediction: "yes" }]), "--bench", `pope=${pope}`], /split\.jsonl:1: unknown POPE split "adversarail" \(did you mean adversarial\?\)/],
    ["a TSV missing a column", () => ["--predictions", preds, "--bench", `mmbench=${writeTsv(join(dir, "nohint.tsv"), MMBENCH_HEADER.filter((h) => h !== "hint"), mmbenchRows())}`], /nohint\.tsv:1: the header lacks column hint/],
    ["an unknown benchmark", () => ["--predictions", preds, "--bench", `mmbenhc=${tsv}`], /unknown benchmark "mmbenhc" \(did you mean mmbench\?\)/],
    ["an unknown option", () => ["--predictions", preds, "--bench", `mmbench=${tsv}`, "--option", "mmbench.mod=single"], /mmbench has no option "mod" \(did you mean mode\?\)/],
    ["a model folder and --predictions", () => ["/some/model", "--predictions", preds, "--bench", `pope=${pope}`], /^c3l: give either a model directory or --predictions, not both$/],
    ["--cache without a model", () => ["--predictions", preds, "--bench", `pope=${pope}`, "--cache", join(dir, "c.jsonl")], /^c3l: --cache is for running a model/],
    ["a --bench without a path", () => ["--predictions", preds, "--bench", "pope"], /--bench "pope": expected NAME=PATH/],
  ])("%s → exit 2, named on stderr, nothing on stdout", async (_name, args, message) => {
    const r = await c3l(["eval", ...args()]);
    expect(r.stderr).toMatch(message);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe("");
  });
});
