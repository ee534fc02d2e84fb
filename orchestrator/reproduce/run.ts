// Runs every arm × seed of a reproduce plan as a normal run named repro-<arm>-s<seed>. A finished
// run with that name and the same resolved config is reused, and a stopped one is resumed, so an
// interrupted reproduce continues where it stopped. The world (one `world` section) is shared.
import { resolve } from "node:path";
import { ConfigError, configToJson, resolveConfig, type C3lConfig } from "../config/index.js";
import { resumeRun, startRun, type LaunchOptions } from "../pipeline/launch.js";
import { hashConfig } from "../runs/flatten.js";
import { RunFolder } from "../runs/run-folder.js";
import { listRuns, type RunListing } from "../runs/store.js";
import type { ReproducePlan } from "./plan.js";
import { runName } from "./plan.js";
import type { ArmRun } from "./table.js";

export interface ReproduceOptions {
  /** overrides after the plan's (e.g. runs_dir=…) */
  extra: string[];
  log: (line: string) => void;
  launch: Omit<LaunchOptions, "log">;
}

/** One world of the plan: its name (null: the base config's own world, runs named without it) and overrides. */
export type PlanWorld = { name: string | null; overrides: string[] };

/** The plan's worlds, or the base config's own world when it names none. */
export function planWorlds(plan: ReproducePlan): PlanWorld[] {
  return plan.worlds.length ? plan.worlds : [{ name: null, overrides: [] }];
}

/** The overrides of one arm and seed, in the order they apply. */
export function armOverrides(plan: ReproducePlan, arm: ReproducePlan["arms"][number], seed: number, extra: string[], world: PlanWorld = { name: null, overrides: [] }): string[] {
  return [...plan.overrides, ...world.overrides, ...arm.overrides, `seed=${seed}`, ...extra];
}

/** What happened to one arm × seed: reused (done before), resumed, or started. */
export type RunAction = "reused" | "resumed" | "started";

export async function runPlan(plan: ReproducePlan, options: ReproduceOptions, world: PlanWorld = { name: null, overrides: [] }): Promise<{ runs: ArmRun[]; actions: Record<string, RunAction> }> {
  const runs: ArmRun[] = [];
  const actions: Record<string, RunAction> = {};
  const total = plan.arms.length * plan.seeds.length;
  let index = 0;
  for (const arm of plan.arms) {
    for (const seed of plan.seeds) {
      index += 1;
      const name = runName(arm.name, seed, world.name);
      const overrides = armOverrides(plan, arm, seed, options.extra, world);
      const resolved = resolveConfig(plan.base, overrides);
      if (!resolved.config) throw new ConfigError(resolved.problems, `${plan.base} (arm ${arm.name}, seed ${seed})`);
      const config = resolved.config;
      const found = findRun(config, name);
      const log = (line: string) => options.log(`[${index}/${total} ${name}] ${line}`);
      let folder: RunFolder;
      let summary;
      if (found?.status === "done") {
        folder = new RunFolder(found.dir);
        summary = folder.summary();
        actions[name] = "reused";
        options.log(`[${index}/${total} ${name}] reusing finished run ${found.id}`);
      } else if (found && (found.status === "stopped" || found.status === "failed")) {
        options.log(`[${index}/${total} ${name}] resuming ${found.status} run ${found.id}`);
        ({ run: folder, summary } = await resumeRun(found.dir, null, false, { ...options.launch, log }));
        actions[name] = "resumed";
      } else {
        options.log(`[${index}/${total} ${name}] starting: ${[...world.overrides, ...arm.overrides, `seed=${seed}`].join(" ")}`);
        ({ run: folder, summary } = await startRun(plan.base, overrides, name, { ...options.launch, log }));
        actions[name] = "started";
      }
      if (summary.status !== "done") throw new Error(`reproduce: run ${folder.id} (${name}) ended ${summary.status}`);
      runs.push({ arm: arm.name, seed, run_id: folder.id, metrics: summary.metrics });
    }
  }
  return { runs, actions };
}

/** The newest run named `name` whose config is exactly `config` (another config never counts). */
export function findRun(config: C3lConfig, name: string): RunListing | undefined {
  const want = hashConfig(JSON.parse(configToJson(config)));
  return listRuns(resolve(config.runs_dir)).find((r) => r.name === name && sameConfig(r.dir, want));
}

function sameConfig(dir: string, want: string): boolean {
  try {
    return hashConfig(new RunFolder(dir).config()) === want;
  } catch {
    return false;
  }
}
