// The model operations through the whole bridge: typed requests from TypeScript, a real worker,
// a real tiny LLaVA, real image files. Exactness lives in the pytest suites; this proves the wiring.
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Worker, WorkerReplyError } from "../../orchestrator/worker/index.js";
import { caught, square, tempDir, tinyModel } from "./helpers.js";

describe("model operations over the bridge", () => {
  let worker: Worker;
  let dir: string;
  let red: string;
  let blue: string;

  beforeAll(async () => {
    dir = tempDir();
    red = await square(join(dir, "red.png"), [220, 20, 20]);
    blue = await square(join(dir, "blue.png"), [20, 20, 220]);
    worker = await Worker.start({ logFile: join(dir, "worker.log"), onLog: () => {} });
    await worker.request("load_model", { model_id: "gen", model_dir: await tinyModel() });
  }, 120_000);
  afterAll(async () => worker?.stop());

  test("generate: one result per item in order; a missing image is that item's error only", async () => {
    const reply = await worker.request("generate", {
      model_id: "gen",
      max_new_tokens: 6,
      items: [
        { id: "r", image_path: red, prompt: "what colour is the square ?" },
        { id: "gone", image_path: join(dir, "missing.png"), prompt: "what colour is the square ?" },
        { id: "t", image_path: null, prompt: "how many shapes ?" },
      ],
    });
    expect(reply.results.map((r) => r.id)).toEqual(["r", "gone", "t"]);
    expect(reply.results[0]!.error).toBeNull();
    expect(typeof reply.results[0]!.text).toBe("string");
    expect(reply.results[0]!.num_tokens).toBeLessThanOrEqual(6);
    expect(reply.results[1]!.error!.code).toBe("image_missing");
    expect(reply.results[1]!.error!.message).toContain("gone");
    expect(reply.results[2]!.error).toBeNull();
  }, 60_000);

  test("score: both estimators give finite scores; kl is non-negative; per-item errors keep the rest", async () => {
    const items = [
      { id: "a", image_path: red, question: "what colour is the square ?", answer: "the square is red ." },
      { id: "b", image_path: blue, question: "what colour is the square ?", answer: "the square is blue ." },
      { id: "c", image_path: red, question: "what colour is the square ?", answer: "" },
    ];
    const kl = await worker.request("score", { model_id: "gen", items });
    const ratio = await worker.request("score", { model_id: "gen", items, estimator: "logratio" });
    for (const reply of [kl, ratio]) {
      expect(reply.results.map((r) => r.id)).toEqual(["a", "b", "c"]);
      expect(reply.results[2]!.error!.code).toBe("empty_answer");
      expect(reply.results[2]!.i2c).toBeNull();
      for (const r of reply.results.slice(0, 2)) {
        expect(Number.isFinite(r.i2c)).toBe(true);
        expect(r.logp_with_image!).toBeLessThan(0);
        expect(r.num_tokens).toBeGreaterThan(0);
      }
    }
    expect(kl.results[0]!.i2c!).toBeGreaterThanOrEqual(0);
    const a = ratio.results[0]!;
    expect(a.i2c!).toBeCloseTo(a.logp_with_image! - a.logp_without_image!, 5);
  }, 60_000);

  test("train, checkpoint, resume and export: the contrastive module end to end", async () => {
    await worker.request("load_model", { model_id: "train", model_dir: await tinyModel() });
    const setup = await worker.request("setup_training", { model_id: "train", lr: 1e-3, total_steps: 10, seed: 3 });
    expect(setup.trainable_parameters).toBeGreaterThan(0);
    expect(setup.frozen_parameters).toBeGreaterThan(0);
    const batch = [
      { id: "r", image_path: red, context: "ask about the image .", positive: "q: what colour is the square ? a: red .", negatives: ["q: is there a cat ? a: yes ."] },
      { id: "b", image_path: blue, context: "ask about the image .", positive: "q: what colour is the square ? a: blue .", negatives: ["q: is there a dog ? a: yes ."] },
    ];
    const first = await worker.request("train_step", { model_id: "train", batch });
    expect(first.optimizer_stepped).toBe(true);
    expect(first.step).toBe(1);
    expect(Number.isFinite(first.loss)).toBe(true);
    const saved = await worker.request("save_checkpoint", { model_id: "train", dir: join(dir, "ckpt"), data_position: { next_batch: 1 } });
    expect(saved.step).toBe(1);
    expect(existsSync(saved.path)).toBe(true);
    const next = await worker.request("train_step", { model_id: "train", batch });

    await worker.request("load_model", { model_id: "resumed", model_dir: await tinyModel() });
    const loaded = await worker.request("load_checkpoint", { model_id: "resumed", path: saved.path });
    expect([loaded.path, loaded.step]).toEqual([saved.path, 1]);
    expect(loaded.data_position).toEqual({ next_batch: 1 });
    const resumed = await worker.request("train_step", { model_id: "resumed", batch });
    expect(resumed.loss).toBeCloseTo(next.loss, 6);

    const exported = await worker.request("export_model", { model_id: "resumed", dir: join(dir, "export") });
    const reloaded = await worker.request("load_model", { model_id: "exported", model_dir: exported.path });
    expect(reloaded.family).toBe("llava");
  }, 120_000);

  test("an operation on a model id that is not loaded names the id and what is loaded", async () => {
    const { error } = await caught(() => worker.request("score", { model_id: "nope", items: [] }));
    expect((error as WorkerReplyError).errorMessage).toMatch(/nope.*load_model/);
  });
});

