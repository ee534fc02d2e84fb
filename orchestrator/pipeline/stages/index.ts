// The stage registry: each stage name maps to what it runs and which earlier stages it reads.
import type { StageContext, StageOutcome } from "../context.js";
import type { C3lConfig } from "../../config/index.js";
import { runContrast } from "./contrast.js";
import { EVAL_CACHE, EVAL_RESULTS, EVAL_UNTUNED_RESULTS, runEvaluate } from "./evaluate.js";
import { runFilter } from "./filter.js";
import { runFinetune } from "./finetune.js";
import { GRADE_DIR, gradeSets, runGrade, truthFile } from "./grade.js";
import { runGenerate } from "./generate.js";
import { runScore } from "./score.js";
import { runSelect } from "./select.js";

export interface StageSpec {
  name: string;
  inputs: string[]; // earlier stages whose samples it reads
  outputs: string[]; // what it writes, relative to the run folder (its state file aside)
  run: (ctx: StageContext) => Promise<StageOutcome>;
  /** A stage whose extra.model_dir becomes the generator of every later stage. */
  trainsGenerator?: boolean;
}

const samples = (stage: string) => `samples/${stage}.jsonl`;

/** Which optional stages run after filter. */
export interface OptionalStages {
  finetune: boolean;
  evaluate: boolean;
  /** grade: when the images have ground truth (the embedded world) */
  grade?: boolean;
}

/** The optional stages a config turns on: grade when its images have ground truth, finetune when finetune.enabled, evaluate when it names benchmarks. */
export function optionalStages(config: C3lConfig): OptionalStages {
  return { grade: truthFile(config) !== null, finetune: config.finetune.enabled, evaluate: Object.keys(config.evaluate.benchmarks).length > 0 };
}

export function stageSpecs(rounds: number, optional: OptionalStages = { finetune: false, evaluate: false }): StageSpec[] {
  const specs: StageSpec[] = [];
  for (let r = 0; r < rounds; r++) {
    const p = `r${r}-`;
    specs.push(
      { name: `${p}generate`, inputs: [], outputs: [samples(`${p}generate`)], run: runGenerate },
      { name: `${p}score`, inputs: [`${p}generate`], outputs: [samples(`${p}score`)], run: runScore(`${p}generate`) },
      { name: `${p}select`, inputs: [`${p}score`], outputs: [samples(`${p}select`)], run: runSelect(`${p}score`) },
      {
        name: `${p}contrast`, inputs: [`${p}select`, `${p}generate`],
        outputs: [samples(`${p}contrast`), `checkpoints/${p}contrast/`, `models/${p}contrast/`],
        run: runContrast(`${p}select`, `${p}generate`), trainsGenerator: true,
      },
    );
  }
  specs.push(
    { name: "regenerate", inputs: [], outputs: [samples("regenerate")], run: runGenerate },
    { name: "rescore", inputs: ["regenerate"], outputs: [samples("rescore")], run: runScore("regenerate") },
    { name: "filter", inputs: ["rescore"], outputs: [samples("filter"), "final/dataset.json"], run: runFilter("rescore") },
  );
  if (optional.grade) {
    const inputs = [...new Set(gradeSets(rounds).flatMap((s) => [s.pairs, ...(s.generated ? [s.generated] : [])]))];
    specs.push({ name: "grade", inputs, outputs: [`${GRADE_DIR}/`], run: runGrade });
  }
  if (optional.finetune) {
    specs.push({
      name: "finetune", inputs: ["filter"], outputs: [samples("finetune"), "checkpoints/finetune/", "models/finetune/"], run: runFinetune,
    });
  }
  if (optional.evaluate) {
    specs.push({ name: "evaluate", inputs: optional.finetune ? ["finetune"] : [], outputs: [EVAL_CACHE, EVAL_RESULTS, EVAL_UNTUNED_RESULTS], run: runEvaluate });
  }
  return specs;
}
