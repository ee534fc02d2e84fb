import { describe, expect, test } from "@jest/globals";
import { newRunId, parseRunId, RUN_ID_PATTERN, sanitizeRunName } from "../../orchestrator/runs/run-id.js";
import { RunArgumentError } from "../../orchestrator/runs/errors.js";

describe("run ids", () => {
  test("are YYYYMMDD-HHMMSS-<6 hex>[-name] in UTC", () => {
    const id = newRunId({ now: new Date("2025-03-01T23:59:58.500Z"), name: "Tau 0.5 / KL!" });
    expect(id).toMatch(/^20250301-235958-[0-9a-f]{6}-tau-0-5-kl$/);
    expect(newRunId({ now: new Date("2025-03-01T23:59:58Z") })).toMatch(/^20250301-235958-[0-9a-f]{6}$/);
    expect(RUN_ID_PATTERN.test(id)).toBe(true);
    const parts = parseRunId(id);
    expect(parts?.created.toISOString()).toBe("2025-03-01T23:59:58.000Z");
    expect(parts?.name).toBe("tau-0-5-kl");
    expect(parseRunId("not-a-run")).toBeNull();
  });

  test("sort by creation time and stay unique within one second", () => {
    const now = new Date("2025-03-01T10:00:00Z");
    const same = Array.from({ length: 500 }, () => newRunId({ now, salt: "same config" }));
    expect(new Set(same).size).toBe(500);
    const times = ["2025-03-01T09:59:59Z", "2025-03-01T10:00:00Z", "2025-03-01T10:00:01Z", "2025-12-31T23:00:00Z", "2026-01-01T00:00:00Z"];
    const ids = times.map((t) => newRunId({ now: new Date(t), name: "z" }));
    expect([...ids].reverse().sort()).toEqual(ids);
  });

  test("names keep [a-z0-9_-], at most 40 characters; an empty result is refused", () => {
    expect(sanitizeRunName("  My_Run--v2  ")).toBe("my_run-v2");
    expect(sanitizeRunName("Café Olé")).toBe("cafe-ole");
    expect(sanitizeRunName("a".repeat(60))).toHaveLength(40);
    expect(() => sanitizeRunName("!!!")).toThrow(RunArgumentError);
  });
});
