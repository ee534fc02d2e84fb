// The stages in pipeline order: the one list the runner, --redo, the run store's ordering, compare
// and the report read. Each stage declares itself in its own file (stage.ts says what a declaration
// holds); adding a stage is its file plus one line here.
import type { C3lConfig } from "../../config/index.js";
import { contrastStage } from "./contrast.js";
import { evaluateStage } from "./evaluate.js";
import { filterStage } from "./filter.js";
import { finetuneStage } from "./finetune.js";
import { generateStage, regenerateStage } from "./generate.js";
import { gradeStage } from "./grade.js";
import { pretrainStage } from "./pretrain.js";
import { rescoreStage, scoreStage } from "./score.js";
import { selectStage } from "./select.js";
import type { StageDeclaration, StageKind, StageSpec } from "./stage.js";

export type { StageDeclaration, StageKind, StageSpec } from "./stage.js";

/** Every stage, in pipeline order; perRound ones repeat as a block per round (r0-…, r1-…). A function, not a constant: the run store imports this module, and stage modules import the run store. */
export function declarations(): StageDeclaration[] {
  return [pretrainStage, generateStage, scoreStage, selectStage, contrastStage, regenerateStage, rescoreStage, filterStage, gradeStage, finetuneStage, evaluateStage];
}

/** The stages a config runs, in order. */
export function stageSpecs(config: C3lConfig): StageSpec[] {
  const specs: StageSpec[] = [];
  const all = declarations().filter((d) => !d.enabled || d.enabled(config));
  const once = (d: StageDeclaration) => specs.push({ name: d.name, declaration: d, inputs: d.inputs(config.rounds, config), outputs: d.outputs(d.name) });
  for (let i = 0; i < all.length; i++) {
    if (!all[i]!.perRound) {
      once(all[i]!);
      continue;
    }
    let end = i;
    while (end < all.length && all[end]!.perRound) end++;
    for (let r = 0; r < config.rounds; r++) {
      for (const d of all.slice(i, end)) {
        const name = `r${r}-${d.name}`;
        specs.push({ name, declaration: d, inputs: d.inputs(r, config), outputs: d.outputs(name) });
      }
    }
    i = end - 1;
  }
  return specs;
}

/** The declaration a stage name comes from (r3-score → score), or null for a name no stage has. */
export function declarationOf(stage: string): { declaration: StageDeclaration; index: number; round: number | null } | null {
  const round = /^r(\d+)-(.+)$/.exec(stage);
  const list = declarations();
  const index = list.findIndex((d) => (round ? d.perRound && d.name === round[2] : !d.perRound && d.name === stage));
  if (index < 0) return null;
  return { declaration: list[index]!, index, round: round ? Number(round[1]) : null };
}

/** What a stage does, from its name (r0-generate and regenerate generate), or null for an unknown name. */
export function stageKind(stage: string): StageKind | null {
  return declarationOf(stage)?.declaration.kind ?? null;
}

/** Pipeline order: pretrain, r0-generate … r0-contrast, r1-…, regenerate, …, evaluate, then unknown names alphabetically. */
export function compareStages(a: string, b: string): number {
  const ka = orderKey(a);
  const kb = orderKey(b);
  for (let i = 0; i < 3; i += 1) {
    const d = ka[i]! - kb[i]!;
    if (d !== 0) return d;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sortStages(stages: Iterable<string>): string[] {
  return [...stages].sort(compareStages);
}

/** [position of the stage (a round block sits where its first stage is declared), round, position within the round]. */
function orderKey(stage: string): [number, number, number] {
  const found = declarationOf(stage);
  if (!found) return [Number.MAX_SAFE_INTEGER, 0, 0];
  if (found.round === null) return [found.index, 0, 0];
  const first = declarations().findIndex((d) => d.perRound);
  return [first, found.round, found.index];
}
