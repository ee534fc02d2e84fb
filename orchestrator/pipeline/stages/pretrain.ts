// pretrain: builds the builtins a config names, on the run's lead worker: the smoke set and model,
// and the embedded world (scenes with ground truth, benchmarks, the two pretrained tiny LLaVAs). A
// setup stage: it runs before the run's inputs are checked, because those inputs are what it builds;
// `c3l resume` continues a killed world build (it resumes from its checkpoints in <world>.work).
// The builtin folders are shared by every run naming them (the world's by its `world` section), so a
// later run finds them complete and finishes this in ~0 s.
import { buildBuiltins, configNeeds, readWorldMarker, usesBuiltins, worldDir, worldMatches, type BuiltAssets } from "../builtins.js";
import type { StageContext, StageOutcome } from "../context.js";
import type { StageDeclaration } from "./stage.js";

/** Steps done of all phases (ground → align → generator) from a world build's progress line ("align: step 200/600 loss …"). */
function stepOf(line: string, steps: { ground_steps: number; align_steps: number }): number | null {
  const m = /^(ground|align|generator): step (\d+)\//.exec(line);
  if (!m) return null;
  const before = { ground: 0, align: steps.ground_steps, generator: steps.ground_steps + steps.align_steps }[m[1] as "ground" | "align" | "generator"];
  return before + Number(m[2]);
}

function build(ctx: StageContext, onLine: (line: string) => void): Promise<BuiltAssets> {
  return buildBuiltins(configNeeds(ctx.config), ctx.config.world, ctx.session, { onLine });
}

async function runPretrain(ctx: StageContext): Promise<StageOutcome> {
  const { config, run } = ctx;
  const needs = configNeeds(config);
  const { ground_steps, align_steps, generator_steps } = config.world.pretrain;
  const total = ground_steps + align_steps + generator_steps;
  if (needs.world) {
    const dir = worldDir(config.world);
    const built = worldMatches(readWorldMarker(dir), config.world);
    ctx.log(`${ctx.stage}: ${built ? "the world is built already" : `building the world in ${dir} (${total} pretraining steps; a killed build resumes)`}`);
  }
  const assets = await build(ctx, (line) => {
    ctx.log(`${ctx.stage}: ${line}`);
    const done = stepOf(line, config.world.pretrain);
    run.events.append({ type: "progress", stage: ctx.stage, message: line, ...(done !== null ? { done, total } : {}) });
    if (done !== null) run.updateSummary({ progress: { stage: ctx.stage, done, total } });
  });
  const counts: Record<string, number> = {};
  const extra: Record<string, unknown> = {};
  if (assets.smoke) Object.assign(extra, { smoke_dir: assets.smoke.dir, smoke_cached: assets.smoke.cached });
  if (assets.world) {
    const marker = assets.world.marker;
    if (!worldMatches(marker, config.world)) throw new Error(`the world was built, but ${assets.world.dir}'s marker does not record this world section`);
    Object.assign(counts, { pool_images: config.world.pool_images, bench_images: config.world.bench_images, steps: total });
    Object.assign(extra, { world_dir: assets.world.dir, cached: assets.world.cached, build_seconds: marker.build_seconds ?? null, stats: marker.stats ?? null });
  }
  return { counts, extra };
}

/** A finished pretrain whose shared folders were removed since builds them again (the stage's record stays as it was). */
async function ensureBuilt(ctx: StageContext): Promise<void> {
  const assets = await build(ctx, (line) => ctx.log(`${ctx.stage}: ${line}`));
  const rebuilt = [assets.smoke, assets.world].filter((a) => a && !a.cached).map((a) => a!.dir);
  if (rebuilt.length > 0) ctx.log(`${ctx.stage}: ${rebuilt.join(", ")} had gone and was built again`);
}

export const pretrainStage: StageDeclaration = {
  name: "pretrain", kind: "pretrain", setup: true, enabled: usesBuiltins, inputs: () => [], outputs: () => [], run: runPretrain, ensure: ensureBuilt,
};
