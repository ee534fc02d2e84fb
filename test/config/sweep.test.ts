// --sweep: the cartesian product of the swept values, in a stable order, with bad specs reported.
import { describe, expect, test } from "@jest/globals";
import { ConfigError, expandSweep } from "../../orchestrator/config/index.js";

describe("expandSweep", () => {
  test("the first key varies slowest", () => {
    expect(expandSweep(["a.b=1,2", "c=x,y"])).toEqual([
      ["a.b=1", "c=x"],
      ["a.b=1", "c=y"],
      ["a.b=2", "c=x"],
      ["a.b=2", "c=y"],
    ]);
  });

  test("three axes give every combination exactly once", () => {
    const combos = expandSweep(["a=1,2,3", "b=x,y", "c=true,false"]);
    expect(combos).toHaveLength(12);
    expect(new Set(combos.map((c) => c.join(" "))).size).toBe(12);
    expect(combos[11]).toEqual(["a=3", "b=y", "c=false"]);
  });

  test("no specs: one run with no extra overrides; one value: one run", () => {
    expect(expandSweep([])).toEqual([[]]);
    expect(expandSweep(["seed=7"])).toEqual([["seed=7"]]);
  });

  test("commas inside [], {} and quotes do not split; + keeps adding", () => {
    expect(expandSweep(["g.stop=[a,b],[]", "+x.y={p: 1, q: 2},'u,v',\"w,z\""])).toEqual([
      ["g.stop=[a,b]", "+x.y={p: 1, q: 2}"],
      ["g.stop=[a,b]", "+x.y='u,v'"],
      ["g.stop=[a,b]", "+x.y=\"w,z\""],
      ["g.stop=[]", "+x.y={p: 1, q: 2}"],
      ["g.stop=[]", "+x.y='u,v'"],
      ["g.stop=[]", "+x.y=\"w,z\""],
    ]);
  });

  test("every bad spec is reported at once in one ConfigError", () => {
    let error: unknown;
    try {
      expandSweep(["a.b", "~c=1,2", "d=1,,2", "e=1", "e=2,3", "=1"]);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(5);
    expect(problems[0]).toMatch(/^sweep "a\.b": expected KEY=V1,V2/);
    expect(problems[1]).toMatch(/^sweep "~c=1,2": expected/);
    expect(problems[2]).toMatch(/^d: sweep "d=1,,2" has an empty value/);
    expect(problems[3]).toBe("e: swept more than once");
    expect(problems[4]).toMatch(/^sweep "=1": expected/);
    expect((error as ConfigError).message).toMatch(/^--sweep: 5 problems\n {2}- sweep "a\.b"/);
  });
});
