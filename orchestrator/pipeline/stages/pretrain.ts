// pretrain: builds the embedded world (scenes with ground truth, benchmarks, the two pretrained tiny
// LLaVAs) that a config's builtin:world* values name. A setup stage: it runs before the run's inputs
// are checked, because those inputs are what it builds; `c3l resume` continues a killed build (the
// builder resumes from its checkpoints in <world>.work). The world folder is shared by every run
// with an equal `world` section, so a later run finds it complete and finishes this in ~0 s.
import { buildWorld, readWorldMarker, usesWorld, worldDir, worldMatches } from "../builtins.js";
import type { StageContext, StageOutcome } from "../context.js";
import type { StageDeclaration } from "./stage.js";

/** Steps done of all phases (ground → align → generator) from a builder progress line ("align: step 200/600 loss …"). */
function stepOf(line: string, steps: { ground_steps: number; align_steps: number }): number | null {
  const m = /^(ground|align|generator): step (\d+)\//.exec(line);
  if (!m) return null;
  const before = { ground: 0, align: steps.ground_steps, generator: steps.ground_steps + steps.align_steps }[m[1] as "ground" | "align" | "generator"];
  return before + Number(m[2]);
}

async function runPretrain(ctx: StageContext): Promise<StageOutcome> {
  const { config, run } = ctx;
  const dir = worldDir(config.world);
  const built = worldMatches(readWorldMarker(dir), config.world);
  const { ground_steps, align_steps, generator_steps } = config.world.pretrain;
  const total = ground_steps + align_steps + generator_steps;
  ctx.log(`${ctx.stage}: ${built ? "the world is built already" : `building the world in ${dir} (${total} pretraining steps; a killed build resumes)`}`);
  if (!built) {
    await buildWorld(config.world, {
      threads: config.worker.threads,
      onLine: (line) => {
        ctx.log(`${ctx.stage}: ${line}`);
        const done = stepOf(line, config.world.pretrain);
        run.events.append({ type: "progress", stage: ctx.stage, message: line, ...(done !== null ? { done, total } : {}) });
        if (done !== null) run.updateSummary({ progress: { stage: ctx.stage, done, total } });
      },
    });
  }
  const marker = readWorldMarker(dir);
  if (!worldMatches(marker, config.world)) throw new Error(`the world builder finished, but ${dir}/world.json does not record this world section`);
  return {
    counts: { pool_images: config.world.pool_images, bench_images: config.world.bench_images, steps: total },
    extra: { world_dir: dir, cached: built, build_seconds: marker!.build_seconds ?? null, stats: marker!.stats ?? null },
  };
}

/** A finished pretrain whose shared world folder was removed since builds it again (the stage's record stays as it was). */
async function ensureWorld(ctx: StageContext): Promise<void> {
  const dir = worldDir(ctx.config.world);
  if (worldMatches(readWorldMarker(dir), ctx.config.world)) return;
  ctx.log(`${ctx.stage}: the world folder ${dir} is gone; building it again`);
  await buildWorld(ctx.config.world, { threads: ctx.config.worker.threads, onLine: (line) => ctx.log(`${ctx.stage}: ${line}`) });
}

export const pretrainStage: StageDeclaration = {
  name: "pretrain", kind: "pretrain", setup: true, enabled: usesWorld, inputs: () => [], outputs: () => [], run: runPretrain, ensure: ensureWorld,
};
