// `c3l validate` and `c3l config` as a user runs them: the built command in real processes.
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { execa } from "execa";
import { join } from "node:path";
import { parse } from "yaml";
import { PROJECT_ROOT } from "../../orchestrator/worker/index.js";
import { scratch, type Scratch } from "./helpers.js";

const c3l = (args: string[], cwd = PROJECT_ROOT) => execa("node", [join(PROJECT_ROOT, "bin", "c3l.js"), ...args], { reject: false, cwd });

let s: Scratch;
beforeAll(() => {
  s = scratch();
});
afterAll(() => s.remove());

describe("c3l validate", () => {
  test("a good file exits 0", async () => {
    const r = await c3l(["validate", "configs/smoke.yaml"]);
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("configs/smoke.yaml: ok");
  });

  test("a bad file exits 2 and prints every problem on stderr", async () => {
    const bad = s.write("bad.yaml", "generation:\n  temprature: 0.7\n  k: zero\nscoring:\n  estimator: kll\ncontrast:\n  epochs: 2\n  steps: 5\n");
    const r = await c3l(["validate", bad]);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`${bad}: 4 problems`);
    expect(r.stderr).toContain("generation.temprature: unknown key (did you mean generation.temperature?)");
    expect(r.stderr).toContain('generation.k: expected an integer >= 1, got "zero"');
    expect(r.stderr).toContain('scoring.estimator: expected one of kl, logratio, logratio_minlogp, got "kll" (did you mean "kl"?)');
    expect(r.stderr).toContain("contrast.steps, contrast.epochs: expected exactly one of them to be non-null");
  });

  test("overrides are applied before validation: a good one passes, bad ones exit 2", async () => {
    expect((await c3l(["validate", "configs/smoke.yaml", "generation.k=2", "+contrast.lora.r=4", "~final.budget"])).exitCode).toBe(0);
    const r = await c3l(["validate", "configs/smoke.yaml", "generation.k=-1", "generation.topp=0.9"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("generation.k: expected an integer >= 1, got -1");
    expect(r.stderr).toContain("generation.topp: cannot set it");
    expect(r.stderr).toContain("did you mean generation.top_p?");
  });

  test("a YAML syntax error exits 2 naming the file and line", async () => {
    const broken = s.write("broken.yaml", "seed: 1\ndata: {root: x\n");
    const r = await c3l(["validate", broken]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`broken\\.yaml:\\d+:\\d+: YAML syntax error`));
  });

  test("--help shows an example", async () => {
    const r = await c3l(["validate", "--help"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("Examples:");
    expect(r.stdout).toContain("c3l validate configs/smoke.yaml");
  });
});

describe("c3l config", () => {
  test("prints the resolved config as YAML that validates again, from anywhere", async () => {
    const r = await c3l(["config", "configs/smoke.yaml", "generation.k=2"]);
    expect(r.exitCode).toBe(0);
    const printed = parse(r.stdout) as { generation: { k: number; temperature: number }; runs_dir: string };
    expect(printed.generation.k).toBe(2);
    expect(printed.generation.temperature).toBe(1);
    expect(printed.runs_dir).toBe(join(PROJECT_ROOT, "runs"));
    const copy = s.write("elsewhere/resolved.yaml", r.stdout);
    const again = await c3l(["validate", copy], s.dir);
    expect(again.stderr).toBe("");
    expect(again.exitCode).toBe(0);
    const reprinted = await c3l(["config", copy], s.dir);
    expect(reprinted.stdout).toBe(r.stdout);
  });

  test("--format json prints the same config as JSON", async () => {
    const yaml = await c3l(["config", "configs/smoke.yaml"]);
    const json = await c3l(["config", "configs/smoke.yaml", "--format", "json"]);
    expect(json.exitCode).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(parse(yaml.stdout));
  });

  test("a bad config exits 2 with the problems on stderr and nothing on stdout", async () => {
    const r = await c3l(["config", "configs/smoke.yaml", "scoring.withhold=blnk"]);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain('scoring.withhold: expected one of drop, blank, mask, got "blnk" (did you mean "blank"?)');
  });

  test("--help shows an example", async () => {
    const r = await c3l(["config", "--help"]);
    expect(r.stdout).toContain("Examples:");
    expect(r.stdout).toContain("c3l config configs/smoke.yaml");
  });
});
