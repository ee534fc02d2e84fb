import { expect, test } from "@jest/globals";
import { readFileSync } from "node:fs";
// @ts-expect-error: a plain .mjs script without type declarations
import { generated } from "../../scripts/gen-protocol.mjs";

test("generated protocol files match proto/schema.json (run `npm run gen:protocol`)", () => {
  const files = generated() as Record<string, string>;
  expect(Object.keys(files)).toHaveLength(2);
  for (const [path, content] of Object.entries(files)) expect(readFileSync(path, "utf8")).toBe(content);
});
