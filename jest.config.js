// ESM + TypeScript through @swc/jest; run with NODE_OPTIONS=--experimental-vm-modules (scripts/test.sh does).
export default {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  extensionsToTreatAsEsm: [".ts"],
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022", parser: { syntax: "typescript" } } }] },
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  testTimeout: 30000,
  // Two test files at a time: most of a file's time is one Python worker computing while Node waits,
  // so one file at a time left the second core idle (0.9 cores busy on average, measured).
  maxWorkers: 2,
};
