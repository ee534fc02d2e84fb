// Runs (or resumes) a run's stages in order. A stage whose state says done is skipped; any other
// stage runs and skips its own finished samples by id. State files are replaced atomically and a
// stage's done status is written after its outputs, so a kill at any moment loses no finished work.
import type { C3lConfig } from "../config/index.js";
import type { RunFolder } from "../runs/run-folder.js";
import type { RunSummary } from "../runs/summary.js";
import { testPause, type StageContext } from "./context.js";
import type { InputImage, SkippedInput } from "./inputs.js";
import type { WorkerPool } from "../worker/pool.js";
import { RunDamagedError } from "../runs/errors.js";
import { optionalStages, stageSpecs } from "./stages/index.js";

export interface RunnerOptions {
  config: C3lConfig;
  run: RunFolder;
  baseModelDir: string;
  /** finetune's target model (finetune.model_dir resolved, else the base generator). */
  targetModelDir: string;
  images: InputImage[];
  skippedInputs: SkippedInput[];
  /** The workers; its lead (worker 0) is every stage's `session`. */
  pool: WorkerPool;
  log: (line: string) => void;
}

export async function runStages(options: RunnerOptions): Promise<RunSummary> {
  const { config, run, pool, log } = options;
  const session = pool.lead;
  let modelDir = options.baseModelDir;
  const failedSamples = () => options.skippedInputs.length +
    Object.values(run.states()).reduce((n, s) => n + (s.counts.failed ?? 0), 0);
  const specs = stageSpecs(config.rounds, optionalStages(config));
  run.updateSummary({ status: "running", failed_samples: failedSamples() });
  for (const spec of specs) {
    const previous = run.readState(spec.name);
    if (previous?.status === "done") {
      if (spec.trainsGenerator) modelDir = (previous.extra.model_dir as string | undefined) ?? modelDir;
      continue;
    }
    const state = run.startStage(spec.name);
    testPause();
    run.updateSummary({ stage: spec.name, progress: null });
    run.events.append({ type: "stage_start", stage: spec.name, attempt: state.attempts });
    log(`${spec.name}: ${state.attempts > 1 ? `resuming (attempt ${state.attempts})` : "starting"}`);
    const ctx: StageContext = { config, run, stage: spec.name, session, pool, images: options.images, modelDir,
      baseModelDir: options.baseModelDir, targetModelDir: options.targetModelDir, log };
    let outcome;
    try {
      outcome = await spec.run(ctx);
    } catch (err) {
      run.failStage(spec.name, (err as Error).message);
      run.events.append({ type: "error", stage: spec.name, message: (err as Error).message });
      run.updateSummary({ status: "failed", failed_samples: failedSamples() });
      throw err;
    }
    const done = run.finishStage(spec.name, { ...outcome, outputs: spec.outputs }); // done, written after the stage's outputs
    run.events.append({ type: "stage_done", stage: spec.name, seconds: done.seconds, counts: done.counts });
    log(`${spec.name}: done in ${done.seconds?.toFixed(1)} s ${JSON.stringify(done.counts)}`);
    if (spec.trainsGenerator) modelDir = (done.extra.model_dir as string | undefined) ?? modelDir;
    const i2c = outcome.extra?.i2c as RunSummary["i2c"][string] | undefined;
    const final = outcome.extra?.final as RunSummary["final"] | undefined;
    run.updateSummary({
      progress: null, failed_samples: failedSamples(), ...(i2c ? { i2c: { [spec.name]: i2c } } : {}), ...(final ? { final } : {}),
    });
  }
  const summary = run.updateSummary({ status: "done", progress: null });
  run.events.append({ type: "run_done", final_size: summary.final?.size ?? 0, failed_samples: summary.failed_samples });
  return summary;
}

/**
 * A finished stage is trusted only while its outputs are as it left them: a truncated or edited file
 * would silently feed later stages less (a torn JSONL line is dropped when read). Stops the run
 * naming every damaged file and the way out.
 */
export function checkFinishedStages(run: RunFolder, config: C3lConfig): void {
  for (const spec of stageSpecs(config.rounds, optionalStages(config))) {
    if (run.readState(spec.name)?.status !== "done") continue;
    const problems = run.checkOutputs(spec.name);
    if (problems.length === 0) continue;
    throw new RunDamagedError(
      `run ${run.id} cannot resume: stage ${spec.name} finished, but its outputs changed since:\n${problems.map((p) => `  ${p}`).join("\n")}\n` +
        `restore them, or run the stage and every later one again: c3l resume ${run.dir} --redo ${spec.name}`,
    );
  }
}
