// resolveConfig on real files: paths relative to the config file, YAML syntax errors with file and
// line, folders and files that must exist.
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { join } from "node:path";
import { ConfigError, resolveConfig } from "../../orchestrator/config/index.js";
import { scratch, type Scratch } from "./helpers.js";

let s: Scratch;
beforeAll(() => {
  s = scratch();
  s.mkdir("data/set/train");
  s.write("data/set/list.jsonl", '{"id": "a", "image": "train/a.png"}\n');
  s.write("models/tiny/config.json", "{}");
  s.mkdir("models/empty");
});
afterAll(() => s.remove());

describe("resolveConfig", () => {
  test("relative paths resolve against the config file's folder; images against data.root; runs_dir against cwd", () => {
    const file = s.write("exp/cfg.yaml", "data:\n  root: ../data/set\n  images: train\ngenerator:\n  model_dir: ../models/tiny\nruns_dir: out/runs\n");
    const r = resolveConfig(file, [], { cwd: "/somewhere/else" });
    expect(r.problems).toEqual([]);
    expect(r.config!.data).toMatchObject({ root: join(s.dir, "data/set"), images: join(s.dir, "data/set/train"), manifest: null });
    expect(r.config!.generator.model_dir).toBe(join(s.dir, "models/tiny"));
    expect(r.config!.runs_dir).toBe("/somewhere/else/out/runs");
  });

  test("a config path relative to cwd works the same", () => {
    s.write("exp/manifest.yaml", "data:\n  root: ../data/set\n  manifest: list.jsonl\ngenerator:\n  model_dir: ../models/tiny\n");
    const r = resolveConfig("exp/manifest.yaml", [], { cwd: s.dir });
    expect(r.problems).toEqual([]);
    expect(r.config!.data.manifest).toBe(join(s.dir, "data/set/list.jsonl"));
    expect(r.config!.runs_dir).toBe(join(s.dir, "runs"));
  });

  test("absolute paths and builtin: values are kept as they are", () => {
    const file = s.write("exp/abs.yaml", `data:\n  root: builtin:smoke\ngenerator:\n  model_dir: ${join(s.dir, "models/tiny")}\n`);
    const r = resolveConfig(file);
    expect(r.config!.data.root).toBe("builtin:smoke");
    expect(r.config!.generator.model_dir).toBe(join(s.dir, "models/tiny"));
  });

  test("overrides' paths resolve against the config file too", () => {
    const file = s.write("exp/o.yaml", "seed: 1\n");
    const r = resolveConfig(file, ["generator.model_dir=../models/tiny"]);
    expect(r.config!.generator.model_dir).toBe(join(s.dir, "models/tiny"));
  });

  test("missing folders and files, and a model folder without config.json, are reported together", () => {
    const file = s.write("exp/missing.yaml", "data:\n  root: ../data/set\n  manifest: nope.jsonl\ngenerator:\n  model_dir: ../models/empty\n");
    expect(resolveConfig(file).problems).toEqual([
      `data.manifest: expected an existing file, got "${join(s.dir, "data/set/nope.jsonl")}" (no such file or folder)`,
      `generator.model_dir: expected a transformers checkpoint folder (with config.json), got "${join(s.dir, "models/empty")}" (config.json: no such file or folder)`,
    ]);
    const noRoot = s.write("exp/noroot.yaml", "data:\n  root: ../nothing\n  images: x\n");
    expect(resolveConfig(noRoot).problems).toEqual([
      `data.root: expected an existing folder, got "${join(s.dir, "nothing")}" (no such file or folder)`,
      `data.images: expected an existing folder, got "${join(s.dir, "nothing/x")}" (no such file or folder)`,
    ]);
    expect(resolveConfig(noRoot, [], { checkFiles: false }).problems).toEqual([]);
  });

  test("a YAML syntax error names the file, line and column", () => {
    const file = s.write("exp/broken.yaml", "seed: 1\ngeneration:\n  k: 3\n  stop: [a, b\nscoring:\n  estimator: kl\n");
    const r = resolveConfig(file);
    expect(r.config).toBeNull();
    expect(r.problems.length).toBeGreaterThan(0);
    expect(r.problems[0]).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:5:\\d+: YAML syntax error: `));
  });

  test("duplicate keys and tab indentation are syntax errors with their line", () => {
    const dup = s.write("exp/dup.yaml", "seed: 1\nrounds: 2\nseed: 3\n");
    expect(resolveConfig(dup).problems).toEqual([`${dup}:3:1: YAML syntax error: Map keys must be unique`]);
    const tabs = s.write("exp/tabs.yaml", "generation:\n\tk: 3\n");
    expect(resolveConfig(tabs).problems[0]).toMatch(/tabs\.yaml:2:\d+: YAML syntax error: /);
  });

  test("a missing file is one problem naming it", () => {
    expect(resolveConfig(join(s.dir, "none.yaml")).problems).toEqual([`${join(s.dir, "none.yaml")}: cannot read the config file (no such file)`]);
  });

  test("an empty file is the all-defaults config", () => {
    const r = resolveConfig(s.write("exp/empty.yaml", "# nothing set\n"));
    expect(r.problems).toEqual([]);
    expect(r.config!.contrast.steps).toBe(20);
  });
});

describe("ConfigError", () => {
  test("holds the problems and lists them in its message, naming the source", () => {
    const e = new ConfigError(["a.b: expected x, got y", "c: unknown key"], "cfg.yaml");
    expect(e).toBeInstanceOf(Error);
    expect(e.problems).toEqual(["a.b: expected x, got y", "c: unknown key"]);
    expect(e.message).toBe("cfg.yaml: 2 problems\n  - a.b: expected x, got y\n  - c: unknown key");
    expect(new ConfigError(["x"]).message).toBe("config: 1 problem\n  - x");
  });
});
