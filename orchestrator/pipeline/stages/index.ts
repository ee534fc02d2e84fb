// The stage registry: each stage name maps to what it runs and which earlier stages it reads.
import type { StageContext, StageOutcome } from "../context.js";
import { runContrast } from "./contrast.js";
import { runFilter } from "./filter.js";
import { runGenerate } from "./generate.js";
import { runScore } from "./score.js";
import { runSelect } from "./select.js";

export interface StageSpec {
  name: string;
  inputs: string[]; // earlier stages whose samples it reads
  run: (ctx: StageContext) => Promise<StageOutcome>;
  /** A stage whose extra.model_dir becomes the generator of every later stage. */
  trainsGenerator?: boolean;
}

export function stageSpecs(rounds: number): StageSpec[] {
  const specs: StageSpec[] = [];
  for (let r = 0; r < rounds; r++) {
    const p = `r${r}-`;
    specs.push(
      { name: `${p}generate`, inputs: [], run: runGenerate },
      { name: `${p}score`, inputs: [`${p}generate`], run: runScore(`${p}generate`) },
      { name: `${p}select`, inputs: [`${p}score`], run: runSelect(`${p}score`) },
      { name: `${p}contrast`, inputs: [`${p}select`, `${p}generate`], run: runContrast(`${p}select`, `${p}generate`), trainsGenerator: true },
    );
  }
  specs.push(
    { name: "regenerate", inputs: [], run: runGenerate },
    { name: "rescore", inputs: ["regenerate"], run: runScore("regenerate") },
    { name: "filter", inputs: ["rescore"], run: runFilter("rescore") },
  );
  return specs;
}
