// The pipeline's worker session: a failing batch is retried on a restarted worker, and given up
// (BatchFailedError, recorded as failed by the stage) after max_attempts.
import { describe, expect, test } from "@jest/globals";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BatchFailedError } from "../../orchestrator/worker/errors.js";
import { WorkerSession } from "../../orchestrator/worker/session.js";
import { fixtureCommand, tempDir } from "../worker/helpers.js";

function session(fixture: string, logs: string[]): WorkerSession {
  return new WorkerSession({
    threads: 1, requestTimeoutMs: 30_000, startTimeoutMs: 30_000, maxAttempts: 3, logFile: join(tempDir(), "worker.log"),
    device: "cpu", dtype: "float32", log: (l) => logs.push(l), worker: { command: fixtureCommand(fixture), onLog: () => {} },
  });
}

describe("worker session retries", () => {
  test("a batch that kills the worker every time is given up after max_attempts, with the cause", async () => {
    const logs: string[] = [];
    const s = session("crashes_mid_request", logs);
    await s.start();
    try {
      const failure = await s.withRetries("r0-score chunk 4", () => s.request("echo", { payload: 1 })).catch((e: Error) => e);
      expect(failure).toBeInstanceOf(BatchFailedError);
      expect((failure as BatchFailedError).attempts).toBe(3);
      expect((failure as Error).message).toMatch(/r0-score chunk 4 failed 3 time\(s\).*exited with code 7/);
      expect(s.restarts).toBe(3); // after each failure, the last included
      expect(logs.filter((l) => l.includes("attempt")).length).toBe(3);
      expect((await s.request("hello", { client: "test" })).pid).toBeGreaterThan(0); // a fresh worker serves on
    } finally {
      await s.stop();
    }
  }, 120_000);

  test("a hung request is retried on a restarted worker and succeeds", async () => {
    const logs: string[] = [];
    const s = session("hangs_in_handler", logs);
    await s.start();
    try {
      let tries = 0;
      const reply = await s.withRetries("r0-generate chunk 0", () => {
        tries++;
        return s.request("echo", { payload: { seconds: tries === 1 ? 30 : 0 } }, tries === 1 ? 500 : 10_000);
      });
      expect(reply.payload).toBe("late"); // the fixture's reply, on the second try
      expect(tries).toBe(2);
      expect(s.restarts).toBe(1);
      expect(logs[0]).toMatch(/attempt 1\/3 failed: .*got no reply within 500 ms/);
    } finally {
      await s.stop();
    }
  }, 120_000);

  test("a restarted worker killed during start-up (before its handshake) is started again, not the end of the run", async () => {
    const logs: string[] = [];
    const starts = tempDir();
    process.env.C3L_TEST_STARTS_DIR = starts;
    process.env.C3L_TEST_DIE_ON_STARTS = "2";
    const s = session("dies_on_some_starts", logs);
    try {
      await s.start();
      const reply = await s.withRetries("r0-generate chunk 0", () => s.request("echo", { payload: 5 }));
      expect(reply.payload).toBe(5); // served by the third launch
      expect(readFileSync(join(starts, "starts"), "utf8")).toBe("3");
      expect(logs.some((l) => /starting a new worker: attempt 1\/3 failed: .*SIGKILL/.test(l))).toBe(true);
    } finally {
      delete process.env.C3L_TEST_STARTS_DIR;
      delete process.env.C3L_TEST_DIE_ON_STARTS;
      await s.stop();
    }
  }, 120_000);
});
