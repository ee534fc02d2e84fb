// Dotted overrides: set, add (+), remove (~), YAML values, and every bad form reported.
import { describe, expect, test } from "@jest/globals";
import { applyOverrides, parseOverride, parseValue, resolveDocument } from "../../orchestrator/config/index.js";

const resolve = (doc: unknown, overrides: string[]) => resolveDocument(doc, { configDir: "/tmp", overrides, checkFiles: false });

describe("parseValue reads YAML scalars", () => {
  test.each([
    ["1", 1],
    ["-2.5", -2.5],
    ["1.0e-4", 1e-4],
    ["1e-4", 1e-4],
    ["true", true],
    ["false", false],
    ["null", null],
    ["~", null],
    ["abc", "abc"],
    ["'1'", "1"],
    ['"true"', "true"],
    ["yes", "yes"],
    ["cuda:0", "cuda:0"],
    ["[1,2]", [1, 2]],
    ["[a, 'b c']", ["a", "b c"]],
    ["{r: 8, alpha: 16}", { r: 8, alpha: 16 }],
    ["", ""],
    ["Q: what is it?", "Q: what is it?"],
    ["- x", "- x"],
    ["a #b", "a #b"],
    ["@home", "@home"],
  ])("%j -> %j", (raw, value) => {
    expect(parseValue(raw)).toEqual({ value });
  });

  test("a broken flow list or quoted string is an error, not a string", () => {
    expect(parseValue("[1, 2")).toHaveProperty("error");
    expect(parseValue("'abc")).toHaveProperty("error");
  });
});

describe("parseOverride", () => {
  test("recognises set, add and remove", () => {
    expect(parseOverride("generation.k=3")).toEqual({ op: "set", path: ["generation", "k"], value: 3, text: "generation.k=3" });
    expect(parseOverride("+contrast.lora.r=8")).toEqual({ op: "add", path: ["contrast", "lora", "r"], value: 8, text: "+contrast.lora.r=8" });
    expect(parseOverride("~data.limit")).toEqual({ op: "remove", path: ["data", "limit"], text: "~data.limit" });
    expect(parseOverride("generation.prompts=a=b")).toMatchObject({ value: "a=b" });
  });

  test.each([
    ["generation.k", /no "="/],
    ["=3", /expected KEY=VALUE/],
    ["a..b=1", /expected KEY=VALUE/],
    ["++a=1", /expected KEY=VALUE/],
    ["a b=1", /expected KEY=VALUE/],
    ["~a.b=1", /~a\.b removes a key and takes no value/],
    ["a.b=[1,", /^a\.b: cannot parse the value/],
  ])("%j is a bad form", (text, message) => {
    const parsed = parseOverride(text);
    expect(parsed).toHaveProperty("problem");
    expect((parsed as { problem: string }).problem).toMatch(message);
  });
});

describe("applyOverrides", () => {
  test("sets keys the file lacks (schema keys exist through their defaults), creating sections", () => {
    const { doc, problems } = applyOverrides({ seed: 1 }, ["generation.k=3", "generation.stop=[\"\\n\"]", "seed=2"]);
    expect(problems).toEqual([]);
    expect(doc).toEqual({ seed: 2, generation: { k: 3, stop: ["\n"] } });
  });

  test("does not change its input", () => {
    const input = { generation: { k: 5 } };
    const { doc } = applyOverrides(input, ["generation.k=3", "+generation.x=1"]);
    expect(input).toEqual({ generation: { k: 5 } });
    expect(doc).toEqual({ generation: { k: 3, x: 1 } });
  });

  test("+ adds a key under a null section; setting it without + is refused with a pointer to +", () => {
    const added = resolve({}, ["+contrast.lora.r=16"]);
    expect(added.problems).toEqual([]);
    expect(added.config!.contrast.lora).toEqual({ r: 16, alpha: 16, dropout: 0.05, target_modules: null });
    const refused = resolve({}, ["contrast.lora.r=16"]);
    expect(refused.problems).toEqual([
      'contrast.lora.r: cannot set it (override "contrast.lora.r=16"): contrast.lora is null; to add it, write +contrast.lora.r=16',
    ]);
  });

  test("a whole mapping can be set as a YAML flow value", () => {
    const r = resolve({}, ["contrast.lora={r: 4, target_modules: [q_proj]}"]);
    expect(r.problems).toEqual([]);
    expect(r.config!.contrast.lora).toEqual({ r: 4, alpha: 16, dropout: 0.05, target_modules: ["q_proj"] });
  });

  test("+ on an existing key is an error naming its value; + on an unknown key adds it and validation rejects it", () => {
    expect(resolve({ generation: { k: 4 } }, ["+generation.k=3"]).problems).toEqual([
      'generation.k: cannot add a key that exists (override "+generation.k=3"; it is 4); to change it, write generation.k=3',
    ]);
    expect(resolve({}, ["+generation.new_key=1"]).problems).toEqual([
      "generation.new_key: unknown key (known keys of generation: prompts, k, max_new_tokens, do_sample, temperature, top_p, stop, batch_size)",
    ]);
  });

  test("~ removes a key from the file so its default applies again", () => {
    const r = resolve({ generation: { k: 9, temperature: 0.5 } }, ["~generation.k"]);
    expect(r.problems).toEqual([]);
    expect(r.config!.generation.k).toBe(5);
    expect(r.config!.generation.temperature).toBe(0.5);
  });

  test("~ removes an unknown key the file has (so a typo can be dropped from the command line)", () => {
    expect(resolve({ generation: { temprature: 2 } }, []).problems).toHaveLength(1);
    expect(resolve({ generation: { temprature: 2 } }, ["~generation.temprature"]).problems).toEqual([]);
  });

  test("setting or removing a key that does not exist says did you mean", () => {
    expect(resolve({}, ["generation.temprature=0.7", "~scoring.estimater"]).problems).toEqual([
      'generation.temprature: cannot set it (override "generation.temprature=0.7"): no such key (did you mean generation.temperature?); to add it, write +generation.temprature=0.7',
      'scoring.estimater: cannot remove it (override "~scoring.estimater"): no such key (did you mean scoring.estimator?)',
    ]);
  });

  test("a path through a value that is not a mapping is refused", () => {
    expect(resolve({}, ["seed.x=1"]).problems).toEqual(['seed.x: cannot set it (override "seed.x=1"): seed is 0, not a mapping']);
    expect(resolve({}, ["+seed.x=1"]).problems).toEqual(['seed.x: cannot add it (override "+seed.x=1"): seed is 0, not a mapping']);
  });

  test("the same key twice is an error", () => {
    expect(resolve({}, ["seed=1", "seed=2"]).problems).toEqual(['seed: given more than once in overrides ("seed=1", "seed=2")']);
  });

  test("overridden values are validated like file values", () => {
    expect(resolve({}, ["generation.k=abc", "generation.do_sample=yes"]).problems).toEqual([
      'generation.k: expected an integer >= 1, got "abc"',
      'generation.do_sample: expected true or false, got "yes"',
    ]);
  });

  test("epochs alone switches from steps to epochs; both set is an exactly-one error", () => {
    const epochs = resolve({}, ["contrast.epochs=2"]);
    expect(epochs.problems).toEqual([]);
    expect(epochs.config!.contrast).toMatchObject({ steps: null, epochs: 2 });
    expect(resolve({ contrast: { steps: 10 } }, ["contrast.epochs=2"]).problems).toEqual([
      "contrast.steps, contrast.epochs: expected exactly one of them to be non-null, got steps: 10, epochs: 2 (set the others to null, or remove them with ~contrast.steps)",
    ]);
    expect(resolve({ contrast: { steps: 10 } }, ["contrast.epochs=2", "~contrast.steps"]).config!.contrast).toMatchObject({ steps: null, epochs: 2 });
  });

  test("every bad override is reported, alongside the file's own problems", () => {
    const r = resolve({ scoring: { estimator: "kll" } }, ["bad", "seed=1", "seed=2", "+seed=3"]);
    expect(r.config).toBeNull();
    expect(r.problems).toHaveLength(4);
    expect(r.problems.at(-1)).toMatch(/^scoring\.estimator: /);
  });
});
