// Many workers: the load-balancing pool with real worker processes and a real tiny model, and the
// smoke pipeline on two workers (same final dataset as one worker, also when one is SIGKILLed).
import { afterEach, beforeAll, describe, expect, test } from "@jest/globals";
import { execa } from "execa";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveDocument } from "../../orchestrator/config/index.js";
import { WorkerPool, type PoolMember, type PoolTask } from "../../orchestrator/worker/pool.js";
import { poolFromConfig } from "../../orchestrator/worker/from-config.js";
import { MODEL_ID, WorkerSession, type SessionOptions } from "../../orchestrator/worker/session.js";
import { SampleFile } from "../../orchestrator/runs/jsonl.js";
import { freePort, PROJECT_ROOT } from "../../orchestrator/worker/index.js";
import { alive, square, tempDir, tinyModel, waitFor } from "../worker/helpers.js";

const BIN = join(PROJECT_ROOT, "bin", "c3l.js");
const c3l = (args: string[], env: Record<string, string> = {}) =>
  execa("node", [BIN, ...args], { reject: false, env, cwd: PROJECT_ROOT, all: true });

// Small chunks so that two workers share many batches.
const SMALL = ["generation.batch_size=2", "scoring.batch_size=3"];

function records(runDir: string, stage: string): Record<string, unknown> {
  const read = SampleFile.read(join(runDir, "samples", `${stage}.jsonl`));
  expect(read.duplicates).toEqual([]);
  return Object.fromEntries([...read.records.entries()].sort());
}

function events(runDir: string): { type: string; stage?: string; action?: string; worker?: string; message?: string; workers?: unknown }[] {
  return readFileSync(join(runDir, "events.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

function stateExtra(runDir: string, stage: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(runDir, "state", `${stage}.json`), "utf8")).extra;
}

describe("the smoke pipeline on two local workers", () => {
  let work: string;
  let runsDir: string;
  let config: string;
  let baseline: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "c3l-pool-"));
    runsDir = join(work, "runs");
    mkdirSync(runsDir);
    config = join(work, "smoke.yaml");
    copyFileSync(join(PROJECT_ROOT, "configs", "smoke.yaml"), config);
    const r = await c3l(["run", config, `runs_dir=${runsDir}`, ...SMALL, "workers.local=1", "--name", "one"]);
    if (r.exitCode !== 0) throw new Error(`one-worker run failed:\n${r.all}`);
    baseline = JSON.parse(r.stdout).run_dir;
  }, 180_000);

  test("two workers give the byte-identical final dataset and the same records; both did work", async () => {
    const r = await c3l(["run", config, `runs_dir=${runsDir}`, ...SMALL, "workers.local=2", "--name", "two"]);
    expect(r.exitCode).toBe(0);
    const runDir = JSON.parse(r.stdout).run_dir as string;
    expect(readFileSync(join(runDir, "final", "dataset.json"), "utf8")).toBe(readFileSync(join(baseline, "final", "dataset.json"), "utf8"));
    for (const stage of ["r0-generate", "r0-score", "r0-select", "regenerate", "rescore", "filter"]) {
      expect(records(runDir, stage)).toEqual(records(baseline, stage));
    }
    for (const stage of ["r0-generate", "r0-score", "regenerate", "rescore"]) {
      const workers = stateExtra(runDir, stage).workers as Record<string, { batches: number; items: number }>;
      expect(Object.keys(workers)).toEqual(["local-0", "local-1"]);
      expect(workers["local-0"]!.batches).toBeGreaterThan(0);
      expect(workers["local-1"]!.batches).toBeGreaterThan(0);
      const total = Object.keys(records(runDir, stage)).length;
      expect(workers["local-0"]!.items + workers["local-1"]!.items).toBe(total);
    }
    expect(r.all).toMatch(/rescore \[#+\] \d+\/\d+ [\d.]+\/s ETA \S+ \(local-0 [\d.]+\/s, local-1 [\d.]+\/s\)/);
    expect(events(runDir).some((e) => e.type === "progress" && e.workers !== undefined)).toBe(true);
    expect(readFileSync(join(runDir, "worker-1.log"), "utf8")).toMatch(/starting/); // each worker its own log
  }, 120_000);

  test("a worker SIGKILLed mid-score: its batch is re-queued, it is restarted, the dataset is identical", async () => {
    const child = c3l(["run", config, `runs_dir=${runsDir}`, ...SMALL, "workers.local=2", "--name", "killed"], { C3L_TEST_PAUSE_MS: "150" });
    let pid = 0;
    child.all!.on("data", (chunk: Buffer) => {
      const m = /\[local-1\] worker: worker pid (\d+) ready/.exec(chunk.toString());
      if (m && !pid) pid = Number(m[1]);
    });
    let runDir = "";
    const ready = await waitFor(() => {
      const found = readdirSync(runsDir).find((d) => d.includes("-killed"));
      if (found) runDir = join(runsDir, found);
      return pid > 0 && runDir !== "" && SampleFile.read(join(runDir, "samples", "r0-score.jsonl")).records.size >= 1;
    }, 90_000);
    expect(ready).toBe(true);
    process.kill(pid, "SIGKILL");
    const result = await child;
    expect(result.exitCode).toBe(0);
    expect(alive(pid)).toBe(false);
    expect(result.all).toMatch(/r0-score chunk \d+: attempt 1\/3 failed: worker (pid \d+ )?(was killed by SIGKILL|stopped answering).* \(on local-1\)/);
    const warnings = events(runDir).filter((e) => e.type === "warning" && e.stage === "r0-score");
    expect(warnings.map((e) => `${e.action} ${e.worker}`)).toEqual(expect.arrayContaining(["requeue local-1", "restart local-1"]));
    expect(stateExtra(runDir, "r0-score").workers).toMatchObject({ "local-1": { restarts: 1, failures: 1, dropped: false } });
    expect(readFileSync(join(runDir, "final", "dataset.json"), "utf8")).toBe(readFileSync(join(baseline, "final", "dataset.json"), "utf8"));
    expect(records(runDir, "rescore")).toEqual(records(baseline, "rescore"));
  }, 150_000);
});

describe("workers config", () => {
  test("bad workers settings are refused, each naming its key", () => {
    const problems = resolveDocument({
      workers: { local: 0, devices: ["gpu0"], remote: [{ endpoint: "gpu-box:5555", server_key: "box.key" }] },
    }, { configDir: tmpdir(), checkFiles: false }).problems;
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/^workers\.remote\[0\]\.endpoint: expected tcp:\/\/HOST:PORT/),
      'workers.devices[0]: expected cuda:N, got "gpu0"',
      expect.stringMatching(/^workers\.client_key: expected our secret CURVE certificate/),
    ]));
    expect(resolveDocument({ workers: { local: 0 } }, { configDir: tmpdir(), checkFiles: false }).problems)
      .toEqual(["workers.local, workers.remote: expected at least one worker, got local: 0 and no remote"]);
  });

  test("local worker i sees only devices[i mod N] (CUDA_VISIBLE_DEVICES) and logs to its own file", async () => {
    const dir = tempDir("c3l-pool-");
    const resolved = resolveDocument({ workers: { local: 3, devices: ["cuda:1", "cuda:0"] } }, { configDir: dir, checkFiles: false });
    expect(resolved.problems).toEqual([]);
    const pool = poolFromConfig({ config: resolved.config!, workerLog: join(dir, "worker.log"), log: () => {}, worker: { onLog: () => {} } });
    try {
      await pool.start(); // no model: torch here has no CUDA, but the environment is what we check
      const seen = pool.ids.map((id) => {
        const env = readFileSync(`/proc/${pool.member(id)!.session.pid}/environ`, "utf8").split("\0");
        return `${id} ${pool.member(id)!.where} ${env.find((v) => v.startsWith("CUDA_VISIBLE_DEVICES="))}`;
      });
      expect(seen).toEqual(["local-0 cuda:1 CUDA_VISIBLE_DEVICES=1", "local-1 cuda:0 CUDA_VISIBLE_DEVICES=0", "local-2 cuda:1 CUDA_VISIBLE_DEVICES=1"]);
      expect(readdirSync(dir).sort()).toEqual(["worker-1.log", "worker-2.log", "worker.log"]);
    } finally {
      await pool.stop();
    }
  }, 60_000);
});

describe("the worker pool scheduler with real workers", () => {
  let dir: string;
  let model: string;
  let tasks: PoolTask<"score">[];
  let pool: WorkerPool | null = null;

  const options = (i: number): SessionOptions => ({
    threads: 1, requestTimeoutMs: 60_000, startTimeoutMs: 60_000, maxAttempts: 3, logFile: join(dir, `w${i}.log`),
    device: "cpu", dtype: "float32", log: () => {}, worker: { onLog: () => {} },
  });

  /** Counts each worker's requests in flight around the real request (the pool's only door to it). */
  function watch(members: PoolMember[]) {
    const now = new Map<string, number>();
    const peak = new Map<string, number>();
    const served = new Map<string, number>();
    for (const m of members) {
      const real = m.session.request.bind(m.session);
      m.session.request = ((type, content, timeoutMs) => {
        if (type !== "score") return real(type, content, timeoutMs);
        now.set(m.id, (now.get(m.id) ?? 0) + 1);
        peak.set(m.id, Math.max(peak.get(m.id) ?? 0, now.get(m.id)!));
        return real(type, content, timeoutMs).finally(() => {
          now.set(m.id, now.get(m.id)! - 1);
          served.set(m.id, (served.get(m.id) ?? 0) + 1);
        });
      }) as typeof m.session.request;
    }
    return { peak, served };
  }

  beforeAll(async () => {
    dir = tempDir("c3l-pool-");
    model = await tinyModel();
    const images = await Promise.all([[220, 20, 20], [20, 20, 220], [20, 200, 20]].map((rgb, i) => square(join(dir, `${i}.png`), rgb as [number, number, number])));
    tasks = Array.from({ length: 24 }, (_, i) => ({
      what: `test chunk ${i}`, type: "score" as const, items: 2,
      content: {
        model_id: MODEL_ID, batch_size: 2,
        items: [0, 1].map((j) => ({ id: `${i}#${j}`, image_path: images[(i + j) % 3]!, question: "what colour is the square ?", answer: j ? "it is red ." : `the square number ${i} .` })),
      },
    }));
  }, 120_000);

  afterEach(async () => {
    await pool?.stop();
    pool = null;
  });

  test("in-flight limit per worker is kept, work is spread, and replies equal one worker's", async () => {
    const members = [0, 1].map((i) => ({ id: `local-${i}`, where: "cpu", session: new WorkerSession(options(i)) }));
    pool = new WorkerPool(members, { inFlight: 2, maxAttempts: 3, log: () => {} });
    await pool.start();
    await pool.useModel(model);
    const { peak, served } = watch(members);
    const replies = new Map<string, unknown>();
    const by = new Map<string, string>();
    const counts = await pool.run(tasks, {
      done: (task, reply, worker) => {
        replies.set(task.what, reply.results);
        by.set(task.what, worker);
      },
      failed: (task, err) => { throw new Error(`${task.what} failed: ${err.message}`); },
    });
    expect(replies.size).toBe(tasks.length);
    expect(Math.max(...peak.values())).toBe(2); // the limit was reached ...
    for (const p of peak.values()) expect(p).toBeLessThanOrEqual(2); // ... and never passed
    for (const id of ["local-0", "local-1"]) {
      expect(served.get(id)).toBeGreaterThanOrEqual(4); // both took a real share
      expect(counts[id]!.batches).toBe(served.get(id));
      expect(counts[id]!.items).toBe(2 * served.get(id)!);
    }
    // The same batches one at a time on worker 1 alone: identical replies, whoever ran them first.
    for (const task of tasks.slice(0, 6)) {
      const again = await pool.member("local-1")!.session.request("score", task.content);
      expect(again.results).toEqual(replies.get(task.what));
    }
  }, 120_000);

  test("from a config: a killed local worker is restarted, a killed remote one (c3l worker --bind, CURVE) dropped; every batch completes once", async () => {
    // A real remote worker on loopback, with keys from `c3l keys`, confined to the model and the images.
    const keys = (name: string) => c3l(["keys", "--out", join(dir, "keys"), "--name", name]).then((r) => JSON.parse(r.stdout) as { public: string; secret: string });
    const [server, client] = [await keys("box"), await keys("us")];
    const authorized = join(dir, "authorized");
    mkdirSync(authorized);
    copyFileSync(client.public, join(authorized, "us.key"));
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const remoteProc = execa("node", [BIN, "worker", "--bind", endpoint, "--key", server.secret, "--authorized-keys", authorized, "--roots", `${model},${dir}`],
      { reject: false, buffer: false, stdin: "ignore", all: true });
    let remoteLog = "";
    remoteProc.all!.on("data", (chunk: Buffer) => { remoteLog += chunk.toString(); });
    try {
      expect(await waitFor(() => remoteLog.includes(`serving ${endpoint}`), 60_000)).toBe(true);
      const resolved = resolveDocument({
        workers: { local: 2, remote: [{ endpoint, server_key: server.public }], client_key: client.secret, in_flight: 2 },
        worker: { request_timeout_s: 60, start_timeout_s: 60 },
      }, { configDir: dir, checkFiles: true });
      expect(resolved.problems).toEqual([]);
      const logs: string[] = [];
      pool = poolFromConfig({ config: resolved.config!, workerLog: join(dir, "cfg", "worker.log"), log: (l) => logs.push(l), worker: { onLog: () => {} } });
      expect(pool.ids).toEqual(["local-0", "local-1", "remote-0"]);
      await pool.start();
      await pool.useModel(model);
      const members = pool.ids.map((id) => pool!.member(id)!);
      const { served } = watch(members);
      const remotePid = members[2]!.session.hello!.pid;
      const localPid = members[1]!.session.pid!;
      const done = new Map<string, string>();
      const seen: string[] = [];
      const counts = await pool.run(tasks, {
        done: (task, _reply, worker) => {
          expect(done.has(task.what)).toBe(false);
          done.set(task.what, worker);
          if (done.size === 4) {
            process.kill(remotePid, "SIGKILL");
            process.kill(localPid, "SIGKILL");
          }
        },
        failed: (task, err) => { throw new Error(`${task.what} failed: ${err.message}`); },
        event: (e) => seen.push(`${e.action} ${e.worker}`),
      });
      expect(done.size).toBe(tasks.length);
      expect(counts["remote-0"]).toMatchObject({ dropped: true, restarts: 0, failures: 1 });
      expect(counts["local-1"]).toMatchObject({ dropped: false, restarts: 1, failures: 1 });
      expect(seen).toEqual(expect.arrayContaining(["drop remote-0", "restart local-1", "requeue remote-0", "requeue local-1"]));
      expect(logs.some((l) => l.includes(`warning: worker remote-0 (${endpoint}) dropped:`) && l.includes("2 worker(s) left"))).toBe(true);
      expect(pool.live.map((m) => m.id)).toEqual(["local-0", "local-1"]);
      expect(members[1]!.session.pid).not.toBe(localPid);
      expect(served.get("local-1")! - counts["local-1"]!.batches).toBeGreaterThanOrEqual(1); // a batch it lost was done elsewhere
      expect(served.get("remote-0")! - counts["remote-0"]!.batches).toBeGreaterThanOrEqual(1);
    } finally {
      remoteProc.kill("SIGKILL");
      await remoteProc;
    }
  }, 150_000);
});
