// Runs (or resumes) a run's stages in order. A stage whose state says done is skipped; any other
// stage runs and skips its own finished samples by id. State files are replaced atomically and a
// stage's done status is written after its outputs, so a kill at any moment loses no finished work.
// The bookkeeping (state, events, summary, log) is the same for every stage, setup stages included.
import type { C3lConfig } from "../config/index.js";
import type { RunFolder } from "../runs/run-folder.js";
import { summaryOfStage, type RunSummary } from "../runs/summary.js";
import type { StageContext } from "./context.js";
import { testPause } from "./faults.js";
import type { InputImage, SkippedInput } from "./inputs.js";
import type { WorkerPool } from "../worker/pool.js";
import { RunDamagedError } from "../runs/errors.js";
import { stageSpecs, type StageSpec } from "./stages/index.js";

/** The run's inputs, known once the setup stages have built them. */
export interface RunInputs {
  baseModelDir: string;
  /** finetune's target model (finetune.model_dir resolved, else the base generator). */
  targetModelDir: string;
  images: InputImage[];
  skippedInputs: SkippedInput[];
}

export interface RunnerOptions {
  config: C3lConfig;
  run: RunFolder;
  /** The workers; its lead (worker 0) is every stage's `session`. */
  pool: WorkerPool;
  log: (line: string) => void;
}

/** The setup stages (pretrain): they build the run's inputs, so they run before the inputs are read. */
export function setupSpecs(config: C3lConfig): StageSpec[] {
  return stageSpecs(config).filter((s) => s.declaration.setup);
}

/** Runs the setup stages; the run is not done after them. */
export async function runSetupStages(options: RunnerOptions): Promise<void> {
  await runSpecs(setupSpecs(options.config), options, null);
}

/** Runs every other stage, then marks the run done. */
export async function runStages(options: RunnerOptions & RunInputs): Promise<RunSummary> {
  const { run, config } = options;
  await runSpecs(stageSpecs(config).filter((s) => !s.declaration.setup), options, options);
  const summary = run.updateSummary({ status: "done", progress: null });
  run.events.append({ type: "run_done", final_size: summary.final?.size ?? 0, failed_samples: summary.failed_samples });
  return summary;
}

async function runSpecs(specs: StageSpec[], options: RunnerOptions, inputs: RunInputs | null): Promise<void> {
  const { config, run, pool, log } = options;
  const session = pool.lead;
  let modelDir = inputs?.baseModelDir ?? null;
  const failedSamples = () => (inputs?.skippedInputs.length ?? 0) +
    Object.values(run.states()).reduce((n, s) => n + (s.counts.failed ?? 0), 0);
  const contextFor = (spec: StageSpec): StageContext => {
    const known = <T>(value: T | null | undefined, what: string): T => {
      if (value === null || value === undefined) throw new Error(`${spec.name} read the run's ${what}, which a setup stage runs before`);
      return value;
    };
    const generator = modelDir;
    return {
      config, run, stage: spec.name, inputs: spec.inputs, session, pool, log,
      get images() { return known(inputs?.images, "images"); },
      get modelDir() { return known(generator, "generator"); },
      get baseModelDir() { return known(inputs?.baseModelDir, "base generator"); },
      get targetModelDir() { return known(inputs?.targetModelDir, "finetune target"); },
    };
  };
  run.updateSummary({ status: "running", failed_samples: failedSamples() });
  for (const spec of specs) {
    const declared = spec.declaration;
    const previous = run.readState(spec.name);
    if (previous?.status === "done") {
      if (declared.trainsGenerator) modelDir = (previous.extra.model_dir as string | undefined) ?? modelDir;
      if (declared.ensure) await declared.ensure(contextFor(spec));
      continue;
    }
    const state = run.startStage(spec.name);
    testPause();
    run.updateSummary({ stage: spec.name, progress: null });
    run.events.append({ type: "stage_start", stage: spec.name, attempt: state.attempts });
    log(`${spec.name}: ${state.attempts > 1 ? `resuming (attempt ${state.attempts})` : "starting"}`);
    let outcome;
    try {
      outcome = await declared.run(contextFor(spec));
    } catch (err) {
      run.failStage(spec.name, (err as Error).message);
      run.events.append({ type: "error", stage: spec.name, message: (err as Error).message });
      run.updateSummary({ status: "failed", progress: null, failed_samples: failedSamples() });
      throw err;
    }
    const done = run.finishStage(spec.name, { ...outcome, outputs: spec.outputs }); // done, written after the stage's outputs
    run.events.append({ type: "stage_done", stage: spec.name, seconds: done.seconds, counts: done.counts });
    log(`${spec.name}: done in ${done.seconds?.toFixed(1)} s ${JSON.stringify(done.counts)}`);
    if (declared.trainsGenerator) modelDir = (done.extra.model_dir as string | undefined) ?? modelDir;
    run.updateSummary({ progress: null, failed_samples: failedSamples(), ...summaryOfStage(spec.name, done.extra) });
  }
}

/**
 * A finished stage is trusted only while its outputs are as it left them: a truncated or edited file
 * would silently feed later stages less (a torn JSONL line is dropped when read). Stops the run
 * naming every damaged file and the way out; `except`: stages about to run again (--redo).
 */
export function checkFinishedStages(run: RunFolder, config: C3lConfig, except: readonly string[] = []): void {
  for (const spec of stageSpecs(config)) {
    if (except.includes(spec.name) || run.readState(spec.name)?.status !== "done") continue;
    const problems = run.checkOutputs(spec.name);
    if (problems.length === 0) continue;
    throw new RunDamagedError(
      `run ${run.id} cannot resume: stage ${spec.name} finished, but its outputs changed since:\n${problems.map((p) => `  ${p}`).join("\n")}\n` +
        `restore them, or run the stage and every later one again: c3l resume ${run.dir} --redo ${spec.name}`,
    );
  }
}
