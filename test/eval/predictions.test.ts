// The predictions JSONL format: fields, LLaVA's aliases, and every bad line named by file and line.
import { describe, expect, test } from "@jest/globals";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { readPredictions } from "../../orchestrator/eval/predictions.js";
import { tempDir } from "./fixtures.js";

describe("readPredictions", () => {
  const dir = tempDir();

  test("fields, LLaVA's aliases (text, round_id), ignored extras, blank lines, CRLF", () => {
    const path = join(dir, "ok.jsonl");
    writeFileSync(path, [
      '{"question_id": 3, "split": "random", "prediction": "Yes."}',
      "",
      '{"question_id": "101669", "choice_logliks": [-1.5, -2, -3, -4], "bench": "seed"}\r',
      '{"question_id": 17, "round_id": 2, "text": "B", "answer_id": "x", "model_id": "llava", "metadata": {}}',
      '{"question_id": 18, "rotation": 0, "prediction": null}',
      "",
    ].join("\n"));
    const { records, file } = readPredictions(path);
    expect(file.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(records.map(({ source, ...r }) => ({ ...r, line: source.line }))).toEqual([
      { bench: null, question_id: 3, prediction: "Yes.", split: "random", rotation: null, choice_logliks: null, line: 1 },
      { bench: "seed", question_id: "101669", prediction: null, split: null, rotation: null, choice_logliks: [-1.5, -2, -3, -4], line: 3 },
      { bench: null, question_id: 17, prediction: "B", split: null, rotation: 2, choice_logliks: null, line: 4 },
      { bench: null, question_id: 18, prediction: null, split: null, rotation: 0, choice_logliks: null, line: 5 },
    ]);
  });

  test.each([
    ['{"question_id": 1, "prediction": "yes"', /:1: not JSON/],
    ['["question_id", 1]', /:1: expected a JSON object, got an array/],
    ['{"prediction": "yes"}', /:1: question_id: expected a string or an integer, got nothing \(missing\)/],
    ['{"question_id": 1.5, "prediction": "yes"}', /:1: question_id: expected a string or an integer, got the number 1.5/],
    ['{"question_id": 1, "prediction": 3}', /:1: prediction: expected a string or null, got the number 3/],
    ['{"question_id": 1, "prediction": "A", "text": "A"}', /:1: both `prediction` and `text`/],
    ['{"question_id": 1, "prediction": "A", "rotation": -1}', /:1: rotation: expected a non-negative integer/],
    ['{"question_id": 1}', /:1: no prediction: expected a `prediction` string \(or null\), or `choice_logliks`/],
    ['{"question_id": 1, "choice_logliks": ["a", 1]}', /:1: choice_logliks: expected a list of finite numbers/],
    ['{"question_id": 1, "prediction": "A", "split": 2}', /:1: split: expected a string, got the number 2/],
  ])("%s → error", (line, message) => {
    const path = join(dir, "bad.jsonl");
    writeFileSync(path, `${line}\n`);
    expect(() => readPredictions(path)).toThrow(new RegExp(`bad\\.jsonl${message.source}`));
  });

  test("the line number counts blank lines; a missing file is named", () => {
    const path = join(dir, "later.jsonl");
    writeFileSync(path, '{"question_id": 1, "prediction": "a"}\n\n\n{"question_id": 2, "prediction": \n');
    expect(() => readPredictions(path)).toThrow(/later\.jsonl:4: not JSON/);
    expect(() => readPredictions(join(dir, "nope.jsonl"))).toThrow(/nope\.jsonl: cannot read \(ENOENT\)/);
  });
});
