// Stage names are file names (state/<stage>.json, samples/<stage>.jsonl). Their order is the
// pipeline's, declared with the stages themselves (pipeline/stages/index.ts).
import { RunStoreError } from "./errors.js";

export { compareStages, sortStages } from "../pipeline/stages/index.js";

const STAGE_NAME = /^[a-z0-9][a-z0-9_-]*$/;

export function checkStageName(stage: string): string {
  if (!STAGE_NAME.test(stage)) throw new RunStoreError(`stage name ${JSON.stringify(stage)} is not [a-z0-9][a-z0-9_-]*`);
  return stage;
}
