// Two finished run folders written by hand (fixed ids, times and numbers) for golden and CLI tests.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const BASE_ID = "20250301-101500-a1b2c3-baseline";
export const TAU_ID = "20250301-113000-d4e5f6-tau05";

const STAGES = ["r0-generate", "r0-score", "r0-select", "r0-contrast", "regenerate", "rescore", "filter"] as const;

function config(tau: number, estimator: string, budget: number): unknown {
  return {
    seed: 0,
    rounds: 1,
    data: { root: "/data/coco-mini", images: "images", manifest: null, limit: 200 },
    generator: { model_dir: "/models/llava-1.5-7b-hf", dtype: "bfloat16", device: "cuda" },
    generation: { prompts: ["Write {k} questions about the image with answers."], k: 5, max_new_tokens: 96, do_sample: true, temperature: 1.0, top_p: 1.0, stop: [], batch_size: 8 },
    scoring: { estimator, withhold: "drop", span: "answer", batch_size: 8 },
    selection: { neg_quantile: 0.5, in_batch_negatives: false },
    contrast: { form: "infonce_hidden", tau, lambda_cl: 0.1, beta: 0.1, steps: 20, epochs: null, batch_size: 4, lr: 0.0001, weight_decay: 0, schedule: "cosine", warmup_steps: 0, grad_clip: 1, grad_accum_steps: 1, lora: null, checkpoint_every: 10 },
    final: { budget, per_image_cap: null, dedup: true },
    worker: { threads: 1, request_timeout_s: 600, start_timeout_s: 120, max_attempts: 3 },
    runs_dir: "runs",
  };
}

interface Numbers {
  counts: Record<(typeof STAGES)[number], Record<string, number>>;
  seconds: Record<(typeof STAGES)[number], number>;
  i2c: Record<string, Record<string, number>>;
  final: number;
  failed: number;
  metrics: Record<string, number>;
}

function writeRun(runsDir: string, id: string, name: string, createdAt: string, cfg: unknown, n: Numbers): string {
  const dir = join(runsDir, id);
  for (const sub of ["state", "samples", "checkpoints", "final"]) mkdirSync(join(dir, sub), { recursive: true });
  writeFileSync(join(dir, "config.json"), `${JSON.stringify(cfg, null, 2)}\n`);
  writeFileSync(join(dir, "config.yaml"), "# resolved config (fixture)\nseed: 0\n");
  let t = Date.parse(createdAt);
  const stages: Record<string, unknown> = {};
  for (const stage of STAGES) {
    const started = new Date(t).toISOString();
    t += n.seconds[stage] * 1000;
    const state = { stage, status: "done", started_at: started, finished_at: new Date(t).toISOString(), seconds: n.seconds[stage], attempts: 1, counts: n.counts[stage], extra: {}, error: null };
    writeFileSync(join(dir, "state", `${stage}.json`), `${JSON.stringify(state, null, 2)}\n`);
    stages[stage] = { status: "done", seconds: n.seconds[stage], counts: n.counts[stage] };
  }
  const summary = {
    run_id: id, name, status: "done", stage: "filter", created_at: createdAt, updated_at: new Date(t).toISOString(), progress: null,
    stages, i2c: n.i2c, final: { size: n.final, path: "final/dataset.json" }, metrics: n.metrics, failed_samples: n.failed,
  };
  writeFileSync(join(dir, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
  return dir;
}

/** Writes the baseline run and a run with tau 0.5 and the logratio estimator into `runsDir`. */
export function writeFixtureRuns(runsDir: string): { base: string; tau: string } {
  const base = writeRun(runsDir, BASE_ID, "baseline", "2025-03-01T10:15:00.000Z", config(0.1, "kl", 500), {
    counts: {
      "r0-generate": { images: 200, pairs: 968, unparsed: 12 },
      "r0-score": { pairs: 968 },
      "r0-select": { images: 200, positives: 187, negatives: 402, skipped: 13 },
      "r0-contrast": { steps: 20 },
      regenerate: { images: 200, pairs: 975, unparsed: 5 },
      rescore: { pairs: 975 },
      filter: { kept: 500, duplicates: 7 },
    },
    seconds: { "r0-generate": 412.5, "r0-score": 198.25, "r0-select": 0.5, "r0-contrast": 95, regenerate: 405, rescore: 201.75, filter: 0.25 },
    i2c: {
      "r0-score": { n: 968, mean: 0.412, q10: -0.051, q25: 0.12, q50: 0.388, q75: 0.67, q90: 0.902, share_below_0: 0.118 },
      rescore: { n: 975, mean: 0.455, q10: -0.02, q25: 0.15, q50: 0.43, q75: 0.71, q90: 0.95, share_below_0: 0.094 },
    },
    final: 500,
    failed: 0,
    metrics: { pope_f1: 0.812, seed_acc: 0.571 },
  });
  const tau = writeRun(runsDir, TAU_ID, "tau05", "2025-03-01T11:30:00.000Z", config(0.5, "logratio", 500), {
    counts: {
      "r0-generate": { images: 200, pairs: 968, unparsed: 12 },
      "r0-score": { pairs: 968 },
      "r0-select": { images: 200, positives: 190, negatives: 395, skipped: 10 },
      "r0-contrast": { steps: 20 },
      regenerate: { images: 200, pairs: 981, unparsed: 3 },
      rescore: { pairs: 979 },
      filter: { kept: 500, duplicates: 4 },
    },
    seconds: { "r0-generate": 412.5, "r0-score": 150, "r0-select": 0.5, "r0-contrast": 96, regenerate: 410, rescore: 152, filter: 0.25 },
    i2c: {
      "r0-score": { n: 968, mean: 0.298, q10: -0.22, q25: 0.01, q50: 0.301, q75: 0.6, q90: 0.81, share_below_0: 0.241 },
      rescore: { n: 979, mean: 0.486, q10: 0.01, q25: 0.2, q50: 0.47, q75: 0.74, q90: 0.99, share_below_0: 0.087 },
    },
    final: 500,
    failed: 2,
    metrics: { pope_f1: 0.826, seed_acc: 0.569 },
  });
  return { base, tau };
}
