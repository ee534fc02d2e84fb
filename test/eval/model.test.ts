// `c3l eval <model-dir>` end to end: the built command runs the smoke model (builtin:smoke-llava) on small POPE,
// SEED-Bench (likelihood protocol, via `score`) and MMBench (CircularEval, base64 images) files written in their real
// formats about the smoke images; answers are cached, a rerun answers nothing again, the cache re-scores offline.
import { beforeAll, describe, expect, test } from "@jest/globals";
import { execa } from "execa";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../orchestrator/worker/python.js";
import { MMBENCH_HEADER, tempDir, writeJsonl, writeTsv } from "./fixtures.js";
import { builtSmoke } from "../worker/helpers.js";

const BUILT = join(PROJECT_ROOT, "dist", "cli", "eval-model.js");
const SMOKE = join(PROJECT_ROOT, ".cache", "builtin", "smoke");
const IMAGES = join(SMOKE, "images");

interface Truth { id: string; objects: Array<{ shape: string; colour: string }> }
interface Printed { model: { model_dir: string }; benchmarks: Record<string, { status: string; metrics: Record<string, number | null>; counts: Record<string, number> }> }

async function c3l(args: string[]) {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: build first (npx tsc -p tsconfig.build.json)`);
  return execa("node", [join(PROJECT_ROOT, "bin", "c3l.js"), ...args], { reject: false, cwd: PROJECT_ROOT, env: { OMP_NUM_THREADS: "1" } });
}

const SHAPES = ["circle", "square", "triangle"];
const COLOURS = ["red", "green", "blue", "yellow"];

/** The benchmark files: POPE (6 questions, labels from truth.jsonl), SEED-Bench (4), MMBench (2, base64 images). */
function writeBenchmarks(dir: string, truth: Truth[]): string[] {
  const pope: unknown[] = [];
  truth.slice(0, 3).forEach((t, i) => {
    const present = t.objects[0]!;
    const absent = SHAPES.find((s) => !t.objects.some((o) => o.shape === s)) ?? "star";
    pope.push({ question_id: 2 * i, image: `${t.id}.png`, image_id: i, text: `is there a ${present.colour} ${present.shape} in the image?`, label: "yes" });
    pope.push({ question_id: 2 * i + 1, image: `${t.id}.png`, image_id: i, text: `is there a ${absent} in the image?`, label: "no" });
  });
  const popeFile = writeJsonl(join(dir, "coco_pope_random.json"), pope);

  const seedQuestions = truth.slice(0, 4).map((t, i) => {
    const o = t.objects[0]!;
    const wrong = COLOURS.filter((c) => c !== o.colour).slice(0, 3);
    const choices = [...wrong];
    choices.splice(i % 4, 0, o.colour); // the right colour at position i
    return {
      answer: "ABCD"[i % 4], choice_a: choices[0], choice_b: choices[1], choice_c: choices[2], choice_d: choices[3],
      data_id: `${t.id}.png`, data_type: "image", question: `what colour is the ${o.shape} ?`, question_id: `s${i}`, question_type_id: 3,
    };
  });
  const seedFile = join(dir, "SEED-Bench.json");
  writeFileSync(seedFile, JSON.stringify({ questions: seedQuestions, question_type: { "Instance Attributes": 3 } }, null, 4));

  const mmRows = truth.slice(4, 6).map((t, i) => ({
    index: i, question: `what shape is ${t.objects[0]!.colour} ?`, hint: "", A: "circle", B: "square", C: "triangle", D: "",
    answer: "ABC"[SHAPES.indexOf(t.objects[0]!.shape)]!, category: "shape", image: readFileSync(join(IMAGES, `${t.id}.png`)).toString("base64"),
    source: "smoke", "l2-category": "attribute", comment: "", split: "dev",
  }));
  const mmFile = writeTsv(join(dir, "MMBench_DEV_EN.tsv"), MMBENCH_HEADER, mmRows);
  return ["--bench", `pope=${popeFile}`, "--bench", `seed=${seedFile}`, "--bench", `mmbench=${mmFile}`,
    "--option", `pope.images=${IMAGES}`, "--option", `seed.images=${IMAGES}`, "--option", "seed.protocol=likelihood"];
}

function cacheLines(path: string): Array<Record<string, unknown>> {
  return readFileSync(path, "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Record<string, unknown>);
}

function metricsOf(stdout: string): Record<string, Record<string, number | null>> {
  const printed = JSON.parse(stdout) as Printed;
  return Object.fromEntries(Object.entries(printed.benchmarks).map(([name, b]) => [name, b.metrics]));
}

// POPE: 6 prompts; SEED: 4 questions (4 choices each, one record per question); MMBench circular: 2 questions × 3 rotations.
const PROMPTS = { pope: 6, seed: 4, mmbench: 6 };

describe("c3l eval <model-dir>", () => {
  const dir = tempDir("c3l-eval-model-");
  const cache = join(dir, "cache.jsonl");
  let benches: string[] = [];
  let first: Awaited<ReturnType<typeof c3l>>;

  beforeAll(async () => {
    await builtSmoke();
    const truth = readFileSync(join(SMOKE, "truth.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Truth);
    benches = writeBenchmarks(dir, truth);
    first = await c3l(["eval", "builtin:smoke-llava", ...benches, "--cache", cache, "--max-new-tokens", "12", "--out", join(dir, "results.json")]);
  }, 180_000);

  test("runs the model on the three benchmarks: exit 0, finite metrics, model named", () => {
    expect(first.stderr).not.toMatch(/no answer|no likelihood/);
    expect(first.exitCode).toBe(0);
    const printed = JSON.parse(first.stdout) as Printed;
    expect(printed.model.model_dir).toBe(join(SMOKE, "model"));
    for (const name of ["pope", "seed", "mmbench"]) {
      expect(printed.benchmarks[name]!.status).toBe("scored");
      expect(printed.benchmarks[name]!.counts.missing).toBe(0);
    }
    const m = metricsOf(first.stdout);
    for (const v of [m.pope!.f1, m.pope!["random.accuracy"], m.seed!.accuracy, m.mmbench!.accuracy, m.mmbench!["vanilla.accuracy"]]) {
      expect(Number.isFinite(v)).toBe(true);
    }
    expect(first.stderr).toContain("pope: 6 prompts, 0 cached, 6 to run");
    const full = JSON.parse(readFileSync(join(dir, "results.json"), "utf8")) as { source: { kind: string }; benchmarks: Record<string, { protocol: { run: { operation: string } } }> };
    expect(full.source.kind).toBe("model");
    expect(full.benchmarks.seed!.protocol.run.operation).toMatch(/^score/);
    expect(full.benchmarks.pope!.protocol.run.operation).toMatch(/^generate/);
  });

  test("the cache holds one record per prompt in the predictions format; base64 images were written once to files", () => {
    const lines = cacheLines(cache);
    expect(lines).toHaveLength(PROMPTS.pope + PROMPTS.seed + PROMPTS.mmbench);
    expect(new Set(lines.map((l) => l.id)).size).toBe(lines.length);
    const by = (b: string) => lines.filter((l) => l.bench === b);
    expect(by("pope")).toHaveLength(PROMPTS.pope);
    expect(by("pope").every((l) => l.split === "random" && typeof l.prediction === "string")).toBe(true);
    expect(by("seed").every((l) => Array.isArray(l.choice_logliks) && (l.choice_logliks as number[]).length === 4 && l.prediction === undefined)).toBe(true);
    expect(by("mmbench").map((l) => l.rotation).sort()).toEqual([0, 0, 1, 1, 2, 2]);
    expect(readdirSync(`${cache}.images`).filter((f) => f.endsWith(".png"))).toHaveLength(2);
  });

  test("a rerun with the same cache asks the model nothing: the cache is unchanged, every prompt cached, same metrics", async () => {
    const before = readFileSync(cache);
    const again = await c3l(["eval", "builtin:smoke-llava", ...benches, "--cache", cache, "--max-new-tokens", "12"]);
    expect(again.exitCode).toBe(0);
    expect(readFileSync(cache).equals(before)).toBe(true);
    for (const [name, n] of Object.entries(PROMPTS)) expect(again.stderr).toContain(`${name}: ${n} prompts, ${n} cached, 0 to run`);
    expect(metricsOf(again.stdout)).toEqual(metricsOf(first.stdout));
  }, 60_000);

  test("an interrupted run resumes: a torn tail is cut, only the unanswered prompts run", async () => {
    const lines = readFileSync(cache, "utf8").split("\n").filter((l) => l !== "");
    const partial = join(dir, "partial.jsonl");
    writeFileSync(partial, `${lines.slice(0, 4).join("\n")}\n${lines[4]!.slice(0, 20)}`); // 4 whole POPE lines and a torn fifth
    const r = await c3l(["eval", "builtin:smoke-llava", ...benches, "--cache", partial, "--max-new-tokens", "12"]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/cut a torn last line/);
    expect(r.stderr).toContain("pope: 6 prompts, 4 cached, 2 to run");
    expect(r.stderr).toContain("seed: 4 prompts, 0 cached, 4 to run");
    expect(cacheLines(partial)).toHaveLength(lines.length);
    expect(metricsOf(r.stdout)).toEqual(metricsOf(first.stdout)); // greedy and deterministic
  }, 60_000);

  test("c3l eval --predictions CACHE reproduces the metrics offline", async () => {
    const r = await c3l(["eval", "--predictions", cache, ...benches]);
    expect(r.exitCode).toBe(0);
    expect(metricsOf(r.stdout)).toEqual(metricsOf(first.stdout));
  });

  test("a cache made with other settings is refused, naming the file (exit 2)", async () => {
    const r = await c3l(["eval", "builtin:smoke-llava", ...benches, "--cache", cache, "--max-new-tokens", "5"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${cache}: pope/random/0 was answered under other settings`);
  }, 60_000);

  test("a model folder without config.json → exit 4, before any benchmark is read", async () => {
    const r = await c3l(["eval", dir, "--bench", `pope=${join(dir, "nowhere")}`]);
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toContain(`model folder ${dir} holds no config.json`);
  });
});
