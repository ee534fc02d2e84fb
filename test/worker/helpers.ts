import { execa } from "execa";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultConfig } from "../../orchestrator/config/index.js";
import { buildBuiltins } from "../../orchestrator/pipeline/builtins.js";
import { PROJECT_ROOT, workerPython } from "../../orchestrator/worker/index.js";
import { sessionOptions } from "../../orchestrator/worker/from-config.js";
import { WorkerSession } from "../../orchestrator/worker/session.js";
import sharp from "sharp";

export const FIXTURES = join(PROJECT_ROOT, "test", "fixtures");

/** argv for a misbehaving fixture worker (test/fixtures/workers/NAME.py). */
export function fixtureCommand(name: string): string[] {
  return [workerPython(), join(FIXTURES, "workers", `${name}.py`)];
}

export function tempDir(prefix = "c3l-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

/** Builds (once per folder) the tiny random LLaVA the worker tests load. */
export async function tinyModel(): Promise<string> {
  const dir = join(PROJECT_ROOT, ".cache", "test-tiny-llava");
  if (!existsSync(join(dir, "c3l_tiny.json"))) {
    await execa(workerPython(), ["-m", "c3l_worker.tiny_llava", "--out", dir], { env: { HF_HUB_OFFLINE: "1", OMP_NUM_THREADS: "1" } });
  }
  return dir;
}

/** Builds builtin:smoke (once; later calls find it built) on a worker of its own; returns its folder. */
export async function builtSmoke(): Promise<string> {
  const session = new WorkerSession(sessionOptions(defaultConfig(), join(tmpdir(), `c3l-smoke-build-${process.pid}.log`), () => {}));
  await session.start();
  try {
    return (await buildBuiltins({ smoke: true, world: false }, defaultConfig().world, session)).smoke!.dir;
  } finally {
    await session.stop();
  }
}

/** Runs `fn` and returns what it threw (fails the test if it did not throw) and how long it took. */
export async function caught(fn: () => Promise<unknown>): Promise<{ error: Error; ms: number }> {
  const start = Date.now();
  try {
    await fn();
  } catch (error) {
    return { error: error as Error, ms: Date.now() - start };
  }
  throw new Error("expected the call to fail, but it succeeded");
}

/** A 48 px white PNG with a 24 px square of `rgb` in the middle, written to `path`. */
export async function square(path: string, rgb: [number, number, number]): Promise<string> {
  const [r, g, b] = rgb;
  await sharp({ create: { width: 48, height: 48, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite([{ input: { create: { width: 24, height: 24, channels: 3, background: { r, g, b } } }, left: 12, top: 12 }])
    .png()
    .toFile(path);
  return path;
}
