// POPE's `suffix` option: LLaVA's by default, the question alone when empty or "none" (the world's
// models never saw LLaVA's suffix); the protocol records the one used.
import { expect, test } from "@jest/globals";
import { join } from "node:path";
import { POPE_SUFFIX, pope } from "../../orchestrator/eval/pope.js";
import { resolveOptions } from "../../orchestrator/eval/registry.js";
import { tempDir, writePopeFolder } from "./fixtures.js";

test("the suffix option changes the prompt and is recorded in the protocol", async () => {
  const loaded = pope.load(writePopeFolder(join(tempDir(), "coco")), { images: null, annotations: null });
  const q = loaded.questions[0]!;
  const byDefault = resolveOptions(["pope"], []).get("pope")!;
  expect(pope.promptFor(q, byDefault)).toMatchObject({ text: `Is there a dining table in the image?\n${POPE_SUFFIX}`, suffix: POPE_SUFFIX });
  for (const none of ["", "none"]) {
    const options = resolveOptions(["pope"], [`pope.suffix=${none}`]).get("pope")!;
    expect(pope.promptFor(q, options)).toMatchObject({ text: "Is there a dining table in the image?", suffix: null });
    const scored = await pope.score(loaded, [], { options });
    expect(scored.protocol.prompt_suffix).toBe("");
  }
  const scored = await pope.score(loaded, [], { options: byDefault });
  expect(scored.protocol.prompt_suffix).toBe(POPE_SUFFIX);
});
