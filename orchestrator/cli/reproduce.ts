// `c3l reproduce`: the miniature paper table — every arm of configs/reproduce.yaml × every seed as a
// normal run (finished ones reused), then mean ± sd per arm as Markdown (stdout), HTML and JSON.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "../runs/atomic.js";
import { RunArgumentError } from "../runs/errors.js";
import { loadPlan } from "../reproduce/plan.js";
import { planWorlds, runPlan } from "../reproduce/run.js";
import { checkTargets, renderTargetsMarkdown } from "../reproduce/targets.js";
import { spliceTable } from "../reproduce/evidence.js";
import { buildTable, renderHtmlTable, renderMarkdownTable } from "../reproduce/table.js";
import { PROJECT_ROOT } from "../worker/index.js";
import { EXIT } from "../errors.js";

export const REPRODUCE_CONFIG = join(PROJECT_ROOT, "configs", "reproduce.yaml");

export interface ReproduceArgs {
  config?: string;
  seeds?: string;
  out: string;
  runsDir?: string;
  arms?: string[];
  threads?: number;
  /** a Markdown file (EVIDENCE.md) whose marked blocks receive each world's table */
  evidence?: string;
  overrides: string[];
}

export function parseSeeds(text: string): number[] {
  const seeds = text.split(",").map((s) => s.trim()).filter(Boolean).map(Number);
  if (seeds.length === 0 || !seeds.every((s) => Number.isInteger(s) && s >= 0)) throw new RunArgumentError(`--seeds ${JSON.stringify(text)}: expected integers >= 0 separated by commas, e.g. 0,1,2`);
  return seeds;
}

export async function reproduce(args: ReproduceArgs): Promise<number> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const plan = loadPlan(args.config ?? REPRODUCE_CONFIG);
  if (args.seeds !== undefined) plan.seeds = parseSeeds(args.seeds);
  if (args.arms?.length) {
    const unknown = args.arms.filter((a) => !plan.arms.some((p) => p.name === a));
    if (unknown.length) throw new RunArgumentError(`--arm ${unknown.join(", ")}: not an arm of ${plan.file} (its arms: ${plan.arms.map((a) => a.name).join(", ")})`);
    plan.arms = plan.arms.filter((a) => args.arms!.includes(a.name));
    plan.estimators = Object.fromEntries(Object.entries(plan.estimators).filter(([, arm]) => args.arms!.includes(arm)));
  }
  const extra = [...(args.runsDir ? [`runs_dir=${resolve(args.runsDir)}`] : []), ...(args.threads ? [`worker.threads=${args.threads}`] : []), ...args.overrides];
  const worlds = planWorlds(plan);
  log(`reproduce: ${plan.arms.length} arms × ${plan.seeds.length} seeds × ${worlds.length} world(s) from ${plan.base}`);
  for (const world of worlds) {
    const { runs } = await runPlan(plan, { extra, log, launch: { argv: process.argv.slice(2) } }, world);
    const table = buildTable(plan.arms, runs, plan.estimators);
    const targets = checkTargets(plan.targets, runs);
    const out = world.name === null ? resolve(args.out) : join(resolve(args.out), world.name);
    mkdirSync(out, { recursive: true });
    const heading = world.name === null ? "" : `## World ${world.name}${world.overrides.length ? ` (${world.overrides.join(" ")})` : ""}\n\n`;
    const targetsMd = renderTargetsMarkdown(targets);
    const markdown = heading + renderMarkdownTable(table) + (targetsMd ? `\n${targetsMd}` : "");
    writeFileAtomic(join(out, "table.md"), markdown);
    writeFileAtomic(join(out, "table.html"), renderHtmlTable(table));
    writeJsonAtomic(join(out, "table.json"), {
      plan: { file: plan.file, base: plan.base, seeds: plan.seeds, overrides: plan.overrides, extra, world }, runs, ...table, targets,
    });
    process.stdout.write(markdown + (worlds.length > 1 ? "\n" : ""));
    if (args.evidence) {
      const file = resolve(args.evidence);
      writeFileAtomic(file, spliceTable(existsSync(file) ? readFileSync(file, "utf8") : "", world.name ?? "default", markdown));
      log(`reproduce: the ${world.name ?? "default"} table written into ${file}`);
    }
    log(`reproduce: table in ${join(out, "table.md")}, ${join(out, "table.html")} and ${join(out, "table.json")}`);
  }
  return EXIT.ok;
}
