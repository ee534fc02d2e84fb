// The built `c3l` command as a user runs it (npm run setup builds dist/ first).
import { describe, expect, test } from "@jest/globals";
import { execa } from "execa";
import { join } from "node:path";
import { SCHEMA } from "../../orchestrator/protocol/index.js";
import { PROJECT_ROOT } from "../../orchestrator/worker/index.js";

const c3l = (args: string[]) => execa("node", [join(PROJECT_ROOT, "bin", "c3l.js"), ...args], { reject: false });

describe("c3l command", () => {
  test("--help lists the commands with examples", async () => {
    const r = await c3l(["--help"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("c3l quickstart");
    expect(r.stdout).toContain("c3l hello");
    const sub = await c3l(["quickstart", "--help"]);
    expect(sub.stdout).toContain("Examples:");
  });

  test("an unknown command exits 2 with a pointer to --help", async () => {
    const r = await c3l(["bogus"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/Unknown argument: bogus[\s\S]*--help/);
  });

  test("quickstart runs the embedded default end to end and exits 0", async () => {
    const r = await c3l(["quickstart"]);
    expect(r.stderr).toContain("quickstart: ok");
    expect(r.exitCode).toBe(0);
    const out = JSON.parse(r.stdout) as { model: { family: string; num_parameters: number }; worker: { protocol_version: string } };
    expect(out.model.family).toBe("llava");
    expect(out.model.num_parameters).toBeGreaterThan(1_000_000);
    expect(out.worker.protocol_version).toBe(SCHEMA.protocol_version);
  }, 120_000);

  test("quickstart on a directory without a model fails with exit 3, naming the path", async () => {
    const r = await c3l(["quickstart", "--model-dir", "/no/model/here"]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain("/no/model/here");
    expect(r.stderr).toContain("worker log:");
  }, 120_000);
});
