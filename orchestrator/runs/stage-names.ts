// Stage names are file names (state/<stage>.json, samples/<stage>.jsonl) and sort in pipeline order.
import { RunStoreError } from "./errors.js";

const STAGE_NAME = /^[a-z0-9][a-z0-9_-]*$/;
const ROUND_STEPS = ["generate", "score", "select", "contrast"];
const FINAL_STEPS = ["regenerate", "rescore", "filter", "grade", "finetune", "evaluate"];

export function checkStageName(stage: string): string {
  if (!STAGE_NAME.test(stage)) throw new RunStoreError(`stage name ${JSON.stringify(stage)} is not [a-z0-9][a-z0-9_-]*`);
  return stage;
}

/** pretrain, r0-generate … r0-contrast, r1-…, regenerate, rescore, filter, grade, finetune, evaluate, then any other stage by name. */
export function compareStages(a: string, b: string): number {
  const ka = orderKey(a);
  const kb = orderKey(b);
  for (let i = 0; i < 3; i += 1) {
    const d = (ka[i] as number) - (kb[i] as number);
    if (d !== 0) return d;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sortStages(stages: Iterable<string>): string[] {
  return [...stages].sort(compareStages);
}

function orderKey(stage: string): [number, number, number] {
  if (stage === "pretrain") return [-1, 0, 0]; // builds the world every later stage reads
  const round = /^r(\d+)-(.+)$/.exec(stage);
  if (round) {
    const step = ROUND_STEPS.indexOf(round[2] as string);
    return [0, Number(round[1]), step === -1 ? ROUND_STEPS.length : step];
  }
  const final = FINAL_STEPS.indexOf(stage);
  return final === -1 ? [2, 0, 0] : [1, 0, final];
}
