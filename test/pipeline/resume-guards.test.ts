// What stands between a damaged or stopped run and silent loss: a finished stage's outputs are
// checked on resume (a truncated JSONL stops it, --redo repairs it), damaged bookkeeping is rebuilt,
// a hand-edited config.yaml is refused, SIGTERM marks a run stopped, a generate stage that parses
// nothing fails with the reason, and an unusable runs_dir is named. The built `c3l` on smoke runs.
import { beforeAll, describe, expect, test } from "@jest/globals";
import { execa } from "execa";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, truncateSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../orchestrator/worker/index.js";

const BIN = join(PROJECT_ROOT, "bin", "c3l.js");
const SMOKE = join(PROJECT_ROOT, "configs", "smoke.yaml");
const c3l = (args: string[], env: Record<string, string> = {}) =>
  execa("node", [BIN, ...args], { reject: false, env, cwd: PROJECT_ROOT, all: true });
const read = (path: string) => readFileSync(path, "utf8");
const json = (path: string) => JSON.parse(read(path));
const NO_STACK = /^\s+at |Traceback \(most recent call last\)/m;

let work: string;
let reference: string;

/** A copy of the finished reference run, for a test to damage. */
function copyOfReference(name: string): string {
  const dir = join(work, "copies", name);
  cpSync(reference, dir, { recursive: true });
  return dir;
}

/** The outputs a resume must reproduce: the final dataset and every stage's records. */
function outputsOf(runDir: string): Record<string, string> {
  const files: Record<string, string> = { "final/dataset.json": read(join(runDir, "final", "dataset.json")) };
  for (const f of readdirSync(join(runDir, "samples"))) files[`samples/${f}`] = read(join(runDir, "samples", f));
  return files;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "c3l-guards-"));
  const r = await c3l(["run", SMOKE, `runs_dir=${join(work, "runs")}`, "--name", "reference"]);
  if (r.exitCode !== 0) throw new Error(`reference run failed:\n${r.all}`);
  reference = JSON.parse(r.stdout).run_dir;
}, 300_000);

describe("a finished stage's outputs are checked on resume", () => {
  test("a few bytes cut off samples/r0-select.jsonl stop the resume naming the file; --redo r0-select repairs it exactly", async () => {
    const run = copyOfReference("torn-select");
    const before = outputsOf(run);
    const file = join(run, "samples", "r0-select.jsonl");
    truncateSync(file, statSync(file).size - 5);
    const refused = await c3l(["resume", run]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(file);
    expect(refused.stderr).toContain("stage r0-select finished, but its outputs changed");
    expect(refused.stderr).toContain(`--redo r0-select`);
    expect(refused.all).not.toMatch(NO_STACK);
    expect(read(join(run, "worker.log"))).toBe(read(join(reference, "worker.log"))); // refused before any worker started

    const redone = await c3l(["resume", run, "--redo", "r0-select"]);
    expect(redone.exitCode).toBe(0);
    expect(json(join(run, "summary.json")).status).toBe("done");
    expect(outputsOf(run)).toEqual(before);
    expect(json(join(run, "state", "r0-contrast.json")).attempts).toBe(1); // a new stage, not a continuation
  }, 120_000);

  test("an edited final dataset is caught too; an unknown --redo stage exits 2 listing the stages", async () => {
    const run = copyOfReference("edited-final");
    const dataset = join(run, "final", "dataset.json");
    writeFileSync(dataset, read(dataset).replace(/"gpt"/, '"GPT"'));
    const refused = await c3l(["resume", run]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(`${dataset} changed since the stage finished`);
    const unknown = await c3l(["resume", run, "--redo", "nonsense"]);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain("r0-generate, r0-score");
  }, 60_000);
});

describe("bookkeeping a resume can re-derive, and what it must refuse", () => {
  test("damaged state and summary JSON are named and rebuilt; the resumed run's outputs are unchanged", async () => {
    const run = copyOfReference("damaged-json");
    const before = outputsOf(run);
    const summaryBefore = json(join(run, "summary.json"));
    writeFileSync(join(run, "state", "r0-select.json"), '{"stage": "r0-sel');
    writeFileSync(join(run, "summary.json"), "not json");
    const r = await c3l(["resume", run]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain(`${join(run, "state", "r0-select.json")}: not JSON`);
    expect(r.stderr).toContain(`${join(run, "summary.json")}: not JSON`);
    expect(r.all).not.toMatch(NO_STACK);
    expect(outputsOf(run)).toEqual(before);
    const summary = json(join(run, "summary.json"));
    expect(summary.status).toBe("done");
    expect(summary.final).toEqual(summaryBefore.final);
    expect(Object.keys(summary.i2c).sort()).toEqual(Object.keys(summaryBefore.i2c).sort());
    expect(json(join(run, "state", "r0-select.json")).status).toBe("done");
  }, 60_000);

  test("config.yaml edited by hand is refused, naming it (config.json rules); a damaged config.json is rebuilt from it", async () => {
    const run = copyOfReference("edited-yaml");
    const yaml = join(run, "config.yaml");
    const original = read(yaml);
    writeFileSync(yaml, original.replace(/^ {2}k: 3$/m, "  k: 5"));
    const refused = await c3l(["resume", run]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(`${yaml} edited by hand: generation.k: 3 -> 5`);

    writeFileSync(yaml, original);
    writeFileSync(join(run, "config.json"), "{ torn");
    const repaired = await c3l(["resume", run]);
    expect(repaired.exitCode).toBe(0);
    expect(repaired.stderr).toContain(`${join(run, "config.json")}`);
    expect(json(join(run, "config.json"))).toEqual(json(join(reference, "config.json")));
  }, 60_000);

  test("manifest.json records the worker's python, torch and transformers versions", () => {
    const versions = json(join(reference, "manifest.json")).versions;
    for (const key of ["python", "torch", "transformers", "worker", "protocol"]) expect(typeof versions[key]).toBe("string");
  });
});

describe("stopping and failing loudly", () => {
  test("SIGTERM marks the run stopped (not failed, not running), exits 143, and the run resumes to the same outputs", async () => {
    const runsDir = join(work, "stopped");
    const child = c3l(["run", SMOKE, `runs_dir=${runsDir}`], { C3L_TEST_PAUSE_MS: "150" });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => { stderr += d.toString(); });
    for (let i = 0; i < 600 && !stderr.includes("r0-score: starting"); i++) await new Promise((r) => setTimeout(r, 50));
    child.kill("SIGTERM");
    const r = await child;
    expect(r.exitCode).toBe(143);
    const [id] = readdirSync(runsDir).filter((d) => !d.startsWith("."));
    const run = join(runsDir, id!);
    expect(json(join(run, "summary.json")).status).toBe("stopped");
    expect(r.stderr).toContain(`c3l resume ${run}`);
    const listed = await c3l(["runs", "--runs-dir", runsDir, "--format", "json"]);
    expect(JSON.parse(listed.stdout)[0].status).toBe("stopped");
    expect(existsSync(join(run, "lock"))).toBe(false);

    const resumed = await c3l(["resume", run]);
    expect(resumed.exitCode).toBe(0);
    expect(outputsOf(run)).toEqual(outputsOf(reference));
  }, 180_000);

  test("a generate stage that parses no pair fails saying why and what to try (not an empty success)", async () => {
    const r = await c3l(["run", SMOKE, `runs_dir=${join(work, "nothing")}`, "generation.max_new_tokens=2"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("none of the 12 generations parsed into question/answer pairs");
    expect(r.stderr).toContain("generation.max_new_tokens");
    expect(r.all).not.toMatch(NO_STACK);
    const [id] = readdirSync(join(work, "nothing")).filter((d) => !d.startsWith("."));
    expect(json(join(work, "nothing", id!, "summary.json")).status).toBe("failed");
  }, 60_000);

  test("a runs_dir that cannot hold runs is named with the setting and exits 2", async () => {
    for (const runsDir of [join(reference, "config.json", "runs"), "/sys/c3l-runs"]) {
      const r = await c3l(["run", SMOKE, `runs_dir=${runsDir}`]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain(`runs_dir ${runsDir}: cannot create a run folder there`);
      expect(r.all).not.toMatch(NO_STACK);
    }
  }, 60_000);
});
