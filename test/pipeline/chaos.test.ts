// The chaos suite's CI version (scripts/chaos.mjs, `npm run chaos` for the full one): the smoke config
// run once uninterrupted, then again under 3 SIGKILLs of the orchestrator's process group (each
// followed at once by `c3l resume`) and 3 SIGKILLs of the worker while a worker stage runs, at
// seeded random times; the final dataset, every stage's records, the exported weights and the
// stage outcomes must equal the uninterrupted run's, nothing lost or written twice. The kill
// times are random (C3L_CHAOS_SEED replays one), so this asserts invariants, never timings.
import { describe, expect, test } from "@jest/globals";
import { execa } from "execa";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../orchestrator/worker/index.js";

interface Report {
  ok: boolean;
  seed: number;
  counts: Record<string, number>;
  kills: { kind: string; landed_in: string; recovered: boolean }[];
  crashes: unknown[];
  compared: { name: string; identical: boolean; difference?: string }[];
}

describe("chaos: kills of the orchestrator and the worker at random times, each followed by an immediate resume", () => {
  test("3 orchestrator + 3 worker kills on the smoke config: identical to an uninterrupted run, nothing lost or duplicated", async () => {
    const work = mkdtempSync(join(tmpdir(), "c3l-chaos-"));
    const seed = process.env.C3L_CHAOS_SEED ?? String(Math.floor(Math.random() * 2 ** 31));
    const reportFile = join(work, "report.json");
    const r = await execa("node", [join(PROJECT_ROOT, "scripts", "chaos.mjs"), "--config", join(PROJECT_ROOT, "configs", "smoke.yaml"),
      "--orchestrator-kills", "3", "--worker-kills", "3", "--seed", seed, "--shared-cache", "--work", join(work, "w"), "--report", reportFile],
    { cwd: PROJECT_ROOT, reject: false, all: true });
    const context = `seed ${seed} (replay: C3L_CHAOS_SEED=${seed}); chaos output:\n${r.all}`;
    let report: Report;
    try {
      report = JSON.parse(readFileSync(reportFile, "utf8")) as Report;
    } catch {
      throw new Error(`no report was written; ${context}`);
    }
    const differing = report.compared.filter((c) => !c.identical);
    // One assertion whose message carries the replay seed and the script's own account.
    expect({ exit: r.exitCode, differing, crashes: report.crashes, counts: report.counts, context: r.exitCode === 0 ? "" : context }).toEqual({
      exit: 0, differing: [], crashes: [],
      counts: expect.objectContaining({ kills: 6, orchestrator_kills: 3, worker_kills: 3, recovered: 6, resumed: 3, lost: 0, duplicated: 0 }),
      context: "",
    });
    expect(report.counts.identical).toBe(report.counts.compared);
    // The whole output surface is compared: the dataset, every stage's records and state, the exported weights.
    const names = report.compared.map((c) => c.name);
    for (const name of ["final/dataset.json", "summary.json", "samples/r0-generate.jsonl", "samples/r0-score.jsonl", "samples/r0-contrast.jsonl",
      "samples/regenerate.jsonl", "samples/rescore.jsonl", "samples/filter.jsonl", "models/r0-contrast/model.safetensors"]) {
      expect(names).toContain(name);
    }
    rmSync(work, { recursive: true, force: true });
  }, 300_000);
});
