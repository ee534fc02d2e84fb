// The progress line: any count draws (a bar never throws on out-of-range values), and a stage that
// rewinds to a checkpoint moves the count back so it never exceeds the total.
import { describe, expect, test } from "@jest/globals";
import { Progress, type ProgressUpdate } from "../../orchestrator/pipeline/progress.js";

/** A stream that keeps what is written; `isTTY` picks the redrawn bar or the plain lines. */
function stream(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const s = { isTTY, text: "", write(chunk: string) { s.text += chunk; return true; } };
  return s as unknown as NodeJS.WriteStream & { text: string };
}

describe("Progress", () => {
  test.each([true, false])("counts beyond the total, below zero or of a zero total draw without throwing (tty %s)", (tty) => {
    const out = stream(tty);
    const over = new Progress("r0-contrast", 6, out, () => {}, 0);
    over.skip(5);
    expect(() => { over.advance(1); over.advance(1); over.advance(3); }).not.toThrow();
    expect(out.text).toMatch(/r0-contrast \[#{24}\] 10\/6 /);
    const none = new Progress("empty", 0, out, () => {}, 0);
    expect(() => none.advance(1)).not.toThrow();
    const negative = new Progress("neg", 4, out, () => {}, 0);
    expect(() => negative.advance(-3)).not.toThrow();
    expect(out.text).toMatch(/neg \[-{24}\] -3\/4 /);
  });

  test("rewind moves the count back to a restored position; replayed items are counted once", () => {
    const updates: ProgressUpdate[] = [];
    const p = new Progress("finetune", 6, stream(false), (u) => updates.push(u), 0);
    p.skip(2); // resumed at micro-batch 2
    p.advance(1);
    p.advance(1); // 4 done, then the worker dies: back to the checkpoint at 2
    p.rewind(2);
    p.rewind(5); // never forward
    for (let i = 0; i < 4; i++) p.advance(1);
    expect(updates.map((u) => u.done)).toEqual([3, 4, 3, 4, 5, 6]);
    expect(updates.every((u) => u.done <= u.total && (u.eta_s === null || u.eta_s >= 0))).toBe(true);
  });
});
