// The handshake check: a worker is used only when its version, operations and model families fit.
import { describe, expect, test } from "@jest/globals";
import { helloProblem, PROTOCOL_VERSION, SCHEMA } from "../../orchestrator/protocol/index.js";

const allOps = Object.keys(SCHEMA.messages);
const [major, minor] = PROTOCOL_VERSION.split(".").map(Number) as [number, number];

describe("helloProblem", () => {
  test("a worker of this version serving every operation and a model family is accepted; a newer minor too", () => {
    expect(helloProblem({ protocol_version: PROTOCOL_VERSION, ops: allOps, model_families: ["llava"] })).toBeNull();
    expect(helloProblem({ protocol_version: `${major}.${minor + 1}`, ops: [...allOps, "future_op"], model_families: ["llava"] })).toBeNull();
  });

  test("another major, an older minor, a missing operation or no model family is refused, saying which", () => {
    expect(helloProblem({ protocol_version: `${major + 1}.0`, ops: allOps, model_families: ["llava"] })).toMatch(/major/);
    if (minor > 0) expect(helloProblem({ protocol_version: `${major}.${minor - 1}`, ops: allOps, model_families: ["llava"] })).toMatch(/older/);
    expect(helloProblem({ protocol_version: PROTOCOL_VERSION, ops: allOps.filter((o) => o !== "grade_pairs"), model_families: ["llava"] }))
      .toBe("the worker does not serve grade_pairs");
    expect(helloProblem({ protocol_version: PROTOCOL_VERSION, ops: allOps, model_families: [] })).toMatch(/no model family/);
  });
});
