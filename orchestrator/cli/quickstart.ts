// The main job on the embedded default. Until the pipeline lands it proves the whole bridge:
// a real worker, the handshake, a tensor round trip and a real tiny LLaVA loaded from disk.
import { execa } from "execa";
import { join } from "node:path";
import { fromWireTensor, toWireTensor } from "../protocol/index.js";
import { PROJECT_ROOT, Worker, workerPython } from "../worker/index.js";
import { EXIT } from "./exit-codes.js";

export const TINY_MODEL_DIR = join(PROJECT_ROOT, ".cache", "tiny-llava");

/** Builds the tiny LLaVA once (the builder returns at once when the folder is complete). */
export async function ensureTinyModel(dir = TINY_MODEL_DIR): Promise<string> {
  await execa(workerPython(), ["-m", "c3l_worker.tiny_llava", "--out", dir], { env: { HF_HUB_OFFLINE: "1", OMP_NUM_THREADS: "1" } });
  return dir;
}

export async function quickstart(options: { modelDir?: string; threads: number }): Promise<number> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const modelDir = options.modelDir ?? (await ensureTinyModel());
  const worker = await Worker.start({ threads: options.threads, logFile: join(PROJECT_ROOT, ".cache", "logs", "quickstart-worker.log") });
  try {
    const values = Float32Array.from([0.5, -1.25, 3.0, Number.POSITIVE_INFINITY]);
    const echo = await worker.request("echo", { tensors: { probe: toWireTensor("float32", [2, 2], values) } });
    const back = fromWireTensor(echo.tensors.probe! as { dtype: "float32"; shape: number[]; data: Uint8Array });
    if (!values.every((v, i) => Object.is(v, back[i]))) throw new Error(`tensor round trip changed values: ${back.join(", ")}`);
    const loaded = await worker.request("load_model", { model_id: "generator", model_dir: modelDir });
    log(`loaded ${loaded.family} model from ${loaded.model_dir}: ${loaded.num_parameters.toLocaleString("en")} parameters, ` +
      `vocab ${loaded.vocab_size}, ${loaded.dtype} on ${loaded.device} in ${loaded.load_seconds.toFixed(2)} s`);
    await worker.request("unload_model", { model_id: "generator" });
    process.stdout.write(`${JSON.stringify({ worker: worker.hello, model: loaded }, null, 2)}\n`);
  } finally {
    await worker.stop();
  }
  log("quickstart: ok");
  return EXIT.ok;
}
