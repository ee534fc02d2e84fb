// pretrain: builds the embedded world (scenes with ground truth, benchmarks, the two pretrained tiny
// LLaVAs) that a config's builtin:world* values name. It runs BEFORE the run's inputs are checked
// and before any worker starts, because those inputs are what it builds; the run folder exists
// already, so its state, progress and log are the run's, and `c3l resume` continues a killed build
// (the builder resumes from its checkpoints in <world>.work). The world folder is shared by every
// run with an equal `world` section, so a later run finds it complete and finishes this in ~0 s.
import type { C3lConfig } from "../../config/index.js";
import type { RunFolder } from "../../runs/run-folder.js";
import { buildWorld, readWorldMarker, worldDir, worldMatches } from "../builtins.js";

export const PRETRAIN_STAGE = "pretrain";

/** "align: step 200/600 loss …" → the step within the two phases' total. */
/** Steps done of all phases (ground → align → generator) from a builder progress line. */
function stepOf(line: string, steps: { ground_steps: number; align_steps: number }): number | null {
  const m = /^(ground|align|generator): step (\d+)\//.exec(line);
  if (!m) return null;
  const before = { ground: 0, align: steps.ground_steps, generator: steps.ground_steps + steps.align_steps }[m[1] as "ground" | "align" | "generator"];
  return before + Number(m[2]);
}

export async function runPretrain(run: RunFolder, config: C3lConfig, log: (line: string) => void): Promise<void> {
  const dir = worldDir(config.world);
  const previous = run.readState(PRETRAIN_STAGE);
  const built = worldMatches(readWorldMarker(dir), config.world);
  if (previous?.status === "done") {
    if (built) return;
    // The shared cache was removed since: build it again (the stage's record stays as it was).
    log(`${PRETRAIN_STAGE}: the world folder ${dir} is gone; building it again`);
    await buildWorld(config.world, { threads: config.worker.threads, onLine: (line) => log(`${PRETRAIN_STAGE}: ${line}`) });
    return;
  }
  const state = run.startStage(PRETRAIN_STAGE, { world_dir: dir });
  run.updateSummary({ status: "running", stage: PRETRAIN_STAGE, progress: null });
  run.events.append({ type: "stage_start", stage: PRETRAIN_STAGE, attempt: state.attempts });
  const { ground_steps, align_steps, generator_steps } = config.world.pretrain;
  const total = ground_steps + align_steps + generator_steps;
  log(`${PRETRAIN_STAGE}: ${built ? "the world is built already" : `building the world in ${dir} (${total} pretraining steps; a killed build resumes)`}`);
  try {
    if (!built) {
      await buildWorld(config.world, {
        threads: config.worker.threads,
        onLine: (line) => {
          log(`${PRETRAIN_STAGE}: ${line}`);
          const done = stepOf(line, config.world.pretrain);
          run.events.append({ type: "progress", stage: PRETRAIN_STAGE, message: line, ...(done !== null ? { done, total } : {}) });
          if (done !== null) run.updateSummary({ progress: { stage: PRETRAIN_STAGE, done, total } });
        },
      });
    }
    const marker = readWorldMarker(dir);
    if (!worldMatches(marker, config.world)) throw new Error(`the world builder finished, but ${dir}/world.json does not record this world section`);
    const done = run.finishStage(PRETRAIN_STAGE, {
      counts: { pool_images: config.world.pool_images, bench_images: config.world.bench_images, steps: total },
      extra: { world_dir: dir, cached: built, build_seconds: marker!.build_seconds ?? null, stats: marker!.stats ?? null },
    });
    run.events.append({ type: "stage_done", stage: PRETRAIN_STAGE, seconds: done.seconds, counts: done.counts });
    run.updateSummary({ progress: null });
    log(`${PRETRAIN_STAGE}: done in ${done.seconds?.toFixed(1)} s${built ? " (cached)" : ""}`);
  } catch (err) {
    run.failStage(PRETRAIN_STAGE, (err as Error).message);
    run.events.append({ type: "error", stage: PRETRAIN_STAGE, message: (err as Error).message });
    run.updateSummary({ status: "failed", progress: null });
    throw err;
  }
}
