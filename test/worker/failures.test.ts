// Workers that crash, hang, freeze, send garbage or speak another major version: each yields a
// clear error naming the cause and the log, well within its deadline, and no process is left.
import { afterEach, describe, expect, test } from "@jest/globals";
import { execa } from "execa";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  VersionMismatchError, Worker, WorkerExitedError, WorkerProtocolError, WorkerTimeoutError, WorkerUnresponsiveError,
} from "../../orchestrator/worker/index.js";
import { PROTOCOL_VERSION } from "../../orchestrator/protocol/index.js";
import { alive, caught, FIXTURES, fixtureCommand, tempDir, waitFor } from "./helpers.js";

const started: Worker[] = [];
async function start(options: Parameters<typeof Worker.start>[0]): Promise<Worker> {
  const worker = await Worker.start({ onLog: () => {}, logFile: join(tempDir(), "worker.log"), ...options });
  started.push(worker);
  return worker;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((w) => w.stop(1_000)));
});

describe("failure fixtures", () => {
  test("a worker that dies mid-request: exit code, its last stderr lines and the log path", async () => {
    const worker = await start({ command: fixtureCommand("crashes_mid_request") });
    const { error, ms } = await caught(() => worker.request("echo", { payload: 1 }, 30_000));
    expect(error).toBeInstanceOf(WorkerExitedError);
    expect((error as WorkerExitedError).exitCode).toBe(7);
    expect(error.message).toMatch(/exited with code 7 while handling echo/);
    expect(error.message).toContain("fixture: about to crash inside echo");
    expect(error.message).toContain(worker.logFile);
    expect(ms).toBeLessThan(10_000);
    const next = await caught(() => worker.request("echo", {}));
    expect(next.error).toBeInstanceOf(WorkerExitedError); // fails at once, no deadline wait
    expect(next.ms).toBeLessThan(1_000);
  }, 60_000);

  test("a worker killed by a signal is reported with the signal", async () => {
    const worker = await start({ command: fixtureCommand("hangs_in_handler") });
    const pending = caught(() => worker.request("echo", {}, 30_000));
    setTimeout(() => process.kill(worker.pid!, "SIGKILL"), 300);
    const { error, ms } = await pending;
    expect(error).toBeInstanceOf(WorkerExitedError);
    expect(error.message).toMatch(/killed by SIGKILL/);
    expect(ms).toBeLessThan(10_000);
  }, 60_000);

  test("a hung handler hits the request deadline; a late reply is dropped and the worker still serves", async () => {
    const logs: string[] = [];
    const worker = await start({ command: fixtureCommand("hangs_in_handler"), onLog: (l) => logs.push(l) });
    const { error, ms } = await caught(() => worker.request("echo", { payload: { seconds: 1.5 } }, 500));
    expect(error).toBeInstanceOf(WorkerTimeoutError);
    expect(error.message).toMatch(/echo .* got no reply within 500 ms/);
    expect(error.message).toContain(worker.logFile);
    expect(ms).toBeLessThan(2_000);
    const hello = await worker.request("hello", { client: "test" }, 10_000); // queued behind the slow handler
    expect(hello.pid).toBe(worker.pid);
    expect(await waitFor(() => logs.some((l) => l.includes("dropping a late reply")), 3_000)).toBe(true);
  }, 60_000);

  test("a frozen worker (SIGSTOP) is caught by heartbeats long before the request deadline", async () => {
    const worker = await start({ heartbeatIntervalMs: 300, heartbeatTimeoutMs: 1_000 });
    process.kill(worker.pid!, "SIGSTOP");
    try {
      const { error, ms } = await caught(() => worker.request("echo", {}, 60_000));
      expect(error).toBeInstanceOf(WorkerUnresponsiveError);
      expect(error.message).toMatch(/stopped answering heartbeats/);
      expect(error.message).toContain(worker.logFile);
      expect(ms).toBeLessThan(10_000);
    } finally {
      process.kill(worker.pid!, "SIGCONT");
    }
  }, 60_000);

  test("a worker that sends garbage fails the handshake with a protocol error", async () => {
    const { error, ms } = await caught(() => start({ command: fixtureCommand("sends_garbage") }));
    expect(error).toBeInstanceOf(WorkerProtocolError);
    expect(error.message).toMatch(/invalid frame while hello was pending: invalid_msgpack/);
    expect(ms).toBeLessThan(15_000);
  }, 60_000);

  test("a worker that speaks another major version is refused, naming both versions", async () => {
    const { error } = await caught(() => start({ command: fixtureCommand("speaks_version_2") }));
    expect(error).toBeInstanceOf(VersionMismatchError);
    expect(error.message).toMatch(new RegExp(`2\\.0.*${PROTOCOL_VERSION.replace(".", "\\.")}`));
  }, 60_000);

  test("a worker one minor version behind is refused too (it lacks operations this side sends), naming both", async () => {
    const { error } = await caught(() => start({ command: fixtureCommand("speaks_older_minor") }));
    const [major, minor] = PROTOCOL_VERSION.split(".").map(Number);
    expect(error).toBeInstanceOf(VersionMismatchError);
    expect(error.message).toContain(`speaks protocol ${major}.${minor! - 1}, this orchestrator speaks ${PROTOCOL_VERSION} (the worker is older`);
  }, 60_000);

  test("a worker that cannot start is reported with its stderr", async () => {
    const { error, ms } = await caught(() => start({ command: fixtureCommand("fails_at_startup") }));
    expect(error).toBeInstanceOf(WorkerExitedError);
    expect(error.message).toMatch(/exited with code 1 during start-up/);
    expect(error.message).toContain("ImportError");
    expect(ms).toBeLessThan(10_000);
  }, 60_000);

  test("a worker whose orchestrator is SIGKILLed exits on its own and removes its socket", async () => {
    const child = execa("node", [join(FIXTURES, "orphan-parent.mjs"), join(tempDir(), "worker.log")], { buffer: false, reject: false });
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout!.once("data", (chunk: Buffer) => resolve(chunk.toString()));
      setTimeout(() => reject(new Error("orphan-parent fixture did not start")), 30_000).unref();
    });
    const { pid, endpoint } = JSON.parse(line) as { pid: number; endpoint: string };
    child.kill("SIGKILL");
    await child;
    expect(await waitFor(() => !alive(pid), 8_000)).toBe(true);
    expect(existsSync(dirname(endpoint.slice("ipc://".length)))).toBe(false);
  }, 60_000);
});
