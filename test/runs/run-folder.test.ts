import { describe, expect, test } from "@jest/globals";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join, relative } from "node:path";
import { execa } from "execa";
import { RunArgumentError, RunLockedError, RunStoreError } from "../../orchestrator/runs/errors.js";
import { buildManifest } from "../../orchestrator/runs/manifest.js";
import { createRun, openRun, RunFolder } from "../../orchestrator/runs/run-folder.js";
import { distModule, nodeChild, sleep, tempDir } from "./helpers.js";

const manifest = buildManifest({ argv: ["run", "x.yaml"], config: { seed: 0 }, seed: 0, device: "cpu", inputs: {}, repoDir: "/" });
const make = (runsDir: string, name?: string, now?: Date) =>
  createRun(runsDir, { name, configYaml: "seed: 0\nrounds: 1", configJson: { seed: 0, rounds: 1 }, manifest, now });

describe("createRun", () => {
  test("writes config, manifest, summary and the empty folders under a fresh id; nothing half-made is left", () => {
    const runsDir = join(tempDir(), "runs");
    const run = make(runsDir, "Smoke Test", new Date("2025-03-01T10:00:00Z"));
    expect(run.id).toMatch(/^20250301-100000-[0-9a-f]{6}-smoke-test$/);
    expect(run.name).toBe("smoke-test");
    expect(readdirSync(runsDir)).toEqual([run.id]);
    expect(readdirSync(run.dir).sort()).toEqual(["checkpoints", "config.json", "config.yaml", "final", "lock", "manifest.json", "samples", "state", "summary.json"]);
    expect(readFileSync(run.paths.config_yaml, "utf8")).toBe("seed: 0\nrounds: 1\n");
    expect(run.config()).toEqual({ seed: 0, rounds: 1 });
    expect(run.manifest().argv).toEqual(["run", "x.yaml"]);
    expect(run.summary()).toMatchObject({ run_id: run.id, name: "smoke-test", status: "running", stage: null, created_at: "2025-03-01T10:00:00.000Z", stages: {} });
    expect(JSON.parse(readFileSync(run.paths.lock, "utf8")).pid).toBe(process.pid);
    run.unlock();
    expect(existsSync(run.paths.lock)).toBe(false);
  });

  test("two runs created in the same second get different folders", () => {
    const runsDir = join(tempDir(), "runs");
    const now = new Date("2025-03-01T10:00:00Z");
    const a = make(runsDir, "same", now);
    const b = make(runsDir, "same", now);
    expect(a.id).not.toBe(b.id);
    expect(a.id.slice(0, 15)).toBe(b.id.slice(0, 15));
    expect(readdirSync(runsDir).sort()).toEqual([a.id, b.id].sort());
  });
});

describe("openRun", () => {
  const runsDir = join(tempDir(), "runs");
  const a = make(runsDir, "alpha", new Date("2025-03-01T10:00:00Z"));
  const b = make(runsDir, "beta", new Date("2025-03-02T10:00:00Z"));
  const b2 = make(runsDir, "beta", new Date("2025-03-03T10:00:00Z"));

  test("by full id, unique prefix, hex part, unique name, or path", () => {
    expect(openRun(runsDir, a.id).dir).toBe(a.dir);
    expect(openRun(runsDir, "20250301").dir).toBe(a.dir);
    expect(openRun(runsDir, a.id.slice(16, 21)).dir).toBe(a.dir); // 5 hex digits
    expect(openRun(runsDir, "alpha").dir).toBe(a.dir);
    expect(openRun(null, a.dir).dir).toBe(a.dir);
    expect(openRun(undefined, `./${relative(process.cwd(), a.dir)}`).dir).toBe(a.dir);
  });

  test("an unknown run: RunArgumentError naming the run, the folder and the newest runs", () => {
    expect(() => openRun(runsDir, "gamma")).toThrow(RunArgumentError);
    expect(() => openRun(runsDir, "gamma")).toThrow(`no run "gamma" in ${runsDir} (3 runs; newest: ${b2.id}, ${b.id}, ${a.id})`);
    expect(() => openRun(join(runsDir, "nope"), "x")).toThrow(/that folder does not exist/);
    expect(() => openRun(runsDir, "/definitely/not/a/run")).toThrow(/not a run folder/);
  });

  test("an ambiguous name or prefix lists every candidate", () => {
    expect(() => openRun(runsDir, "beta")).toThrow(`"beta" matches 2 runs in ${runsDir}:\n  ${b2.id}\n  ${b.id}\nname one by more of its id`);
    expect(() => openRun(runsDir, "2025030")).toThrow(/matches 3 runs/);
  });
});

describe("stage state and summary", () => {
  test("start, finish, fail and restart a stage; the summary follows the state files", () => {
    const run = make(join(tempDir(), "runs"));
    const s1 = run.startStage("r0-generate", { batch: 8 });
    expect(s1).toMatchObject({ status: "running", attempts: 1, finished_at: null, extra: { batch: 8 } });
    const done = run.finishStage("r0-generate", { counts: { pairs: 10 } });
    expect(done.status).toBe("done");
    expect(done.seconds).toBeGreaterThanOrEqual(0);
    expect(run.readState("r0-generate")).toEqual(done);
    expect(() => run.startStage("r0-generate")).toThrow(RunStoreError);
    expect(() => run.finishStage("r0-score")).toThrow(/not started/);

    run.startStage("r0-score");
    run.failStage("r0-score", "worker died", { counts: { pairs: 4 } });
    expect(run.readState("r0-score")).toMatchObject({ status: "failed", error: "worker died", counts: { pairs: 4 } });
    const retry = run.startStage("r0-score");
    expect(retry).toMatchObject({ attempts: 2, status: "running", error: null, counts: { pairs: 4 } });

    const summary = run.updateSummary({ progress: { stage: "r0-score", done: 4, total: 10 }, i2c: { "r0-score": { n: 1, mean: 1, q10: 1, q25: 1, q50: 1, q75: 1, q90: 1, share_below_0: 0 } } });
    expect(summary.stage).toBe("r0-score");
    expect(summary.stages).toEqual({
      "r0-generate": { status: "done", seconds: done.seconds, counts: { pairs: 10 } },
      "r0-score": { status: "running", seconds: null, counts: { pairs: 4 } },
    });
    const later = run.updateSummary({ metrics: { pope_f1: 0.8 } });
    expect(later.i2c["r0-score"]?.mean).toBe(1); // merged, not replaced
    expect(later.progress).toEqual({ stage: "r0-score", done: 4, total: 10 });
    expect(run.summary()).toEqual(later);
    expect(readdirSync(run.paths.state_dir).sort()).toEqual(["r0-generate.json", "r0-score.json"]);
    expect(() => run.statePath("../evil")).toThrow(RunStoreError);
  });

  test("samples of a stage through the run folder", () => {
    const run = make(join(tempDir(), "runs"));
    const f = run.openSamples<{ id: string; q: string }>("r0-generate");
    f.append([{ id: "img1#0", q: "what?" }]);
    f.close();
    expect(run.readSamples("r0-generate").records.get("img1#0")).toEqual({ id: "img1#0", q: "what?" });
    expect(run.samplesPath("r0-generate")).toBe(join(run.dir, "samples", "r0-generate.jsonl"));
    expect(run.checkpointsDir("r0-contrast")).toBe(join(run.dir, "checkpoints", "r0-contrast"));
  });
});

describe("run lock", () => {
  test("a second process is refused while the owner lives and takes over after it is killed", async () => {
    const run = make(join(tempDir(), "runs"), undefined, undefined);
    run.unlock();
    const holder = nodeChild(`
      import { acquireLock } from ${JSON.stringify(distModule("lock"))};
      acquireLock(${JSON.stringify(run.dir)});
      process.stdout.write("locked\\n");
      setInterval(() => {}, 1000);
    `);
    await new Promise<void>((resolve) => holder.stdout?.once("data", () => resolve()));
    const other = new RunFolder(run.dir);
    expect(() => other.lock()).toThrow(RunLockedError);
    expect(() => other.lock()).toThrow(`is in use by pid ${holder.pid}`);
    holder.kill("SIGKILL");
    await holder;
    other.lock(); // the dead owner's lock is stale
    expect(JSON.parse(readFileSync(run.paths.lock, "utf8")).pid).toBe(process.pid);
    other.lock(); // re-entrant
    other.unlock();
    expect(existsSync(run.paths.lock)).toBe(false);
  });

  test("a killed owner that is not reaped yet (a zombie) does not hold the lock", async () => {
    const run = make(join(tempDir(), "runs"), undefined, undefined);
    run.unlock();
    // `exec sleep` leaves the holder's parent a process that never reaps it: killed, it stays a zombie.
    const holderCode = `import { acquireLock } from ${JSON.stringify(distModule("lock"))}; acquireLock(${JSON.stringify(run.dir)}); process.stdout.write(process.pid + "\\n"); setInterval(() => {}, 1000);`;
    const parent = execa("sh", ["-c", `node --input-type=module -e '${holderCode}' & exec sleep 60`], { reject: false });
    try {
      const pid = await new Promise<number>((resolve) => parent.stdout?.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))));
      expect(JSON.parse(readFileSync(run.paths.lock, "utf8")).pid).toBe(pid);
      process.kill(pid, "SIGKILL");
      const zombie = () => readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z");
      for (let i = 0; i < 100 && !zombie(); i++) await sleep(20);
      expect(zombie()).toBe(true);
      expect(() => process.kill(pid, 0)).not.toThrow(); // what the old check trusted
      const other = new RunFolder(run.dir);
      other.lock();
      expect(JSON.parse(readFileSync(run.paths.lock, "utf8")).pid).toBe(process.pid);
      other.unlock();
    } finally {
      parent.kill("SIGKILL");
      await parent;
    }
  });

  test("a lock naming a live pid that started at another time (a reused pid) is stale", () => {
    const run = make(join(tempDir(), "runs"), undefined, undefined);
    run.unlock();
    const live = process.ppid; // alive, not us, and certainly not the lock's writer
    writeFileSync(run.paths.lock, JSON.stringify({ pid: live, host: hostname(), started_at: "2020-01-01T00:00:00Z", proc_start: 1 }));
    const other = new RunFolder(run.dir);
    other.lock();
    expect(JSON.parse(readFileSync(run.paths.lock, "utf8")).pid).toBe(process.pid);
    other.unlock();
  });

  test("a lock file is released when its process exits normally", async () => {
    const dir = join(tempDir(), "run");
    mkdirSync(dir);
    writeFileSync(join(dir, "summary.json"), "{}");
    const r = await nodeChild(`
      import { acquireLock } from ${JSON.stringify(distModule("lock"))};
      acquireLock(${JSON.stringify(dir)});
    `);
    expect(r.exitCode).toBe(0);
    expect(existsSync(join(dir, "lock"))).toBe(false);
  });
});
