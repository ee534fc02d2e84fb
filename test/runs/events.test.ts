import { describe, expect, test } from "@jest/globals";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EventLog } from "../../orchestrator/runs/events.js";
import { tempDir } from "./helpers.js";

describe("EventLog", () => {
  test("adds the time, writes one line per event, and reads them back", () => {
    const path = join(tempDir(), "events.jsonl");
    const log = new EventLog(path, () => new Date("2025-03-01T10:00:00.000Z"));
    const e = log.append({ type: "stage_start", stage: "r0-generate", attempt: 1 });
    expect(e.t).toBe("2025-03-01T10:00:00.000Z");
    log.append({ type: "metric", stage: "r0-contrast", loss: Number.NaN });
    log.close();
    expect(readFileSync(path, "utf8")).toBe(
      '{"t":"2025-03-01T10:00:00.000Z","type":"stage_start","stage":"r0-generate","attempt":1}\n' +
        '{"t":"2025-03-01T10:00:00.000Z","type":"metric","stage":"r0-contrast","loss":"NaN"}\n',
    );
    const r = new EventLog(path).read();
    expect(r.events.map((x) => x.type)).toEqual(["stage_start", "metric"]);
    expect(r.tornLine).toBe(false);
  });

  test("a torn last line is cut before the first append after a restart, and skipped when reading", () => {
    const path = join(tempDir(), "events.jsonl");
    writeFileSync(path, '{"t":"x","type":"progress","done":1}\n{"t":"x","type":"prog');
    const before = new EventLog(path).read();
    expect(before.tornLine).toBe(true);
    expect(before.events).toHaveLength(1);
    const log = new EventLog(path);
    log.append({ type: "run_done" });
    log.close();
    expect(log.recovered?.reason).toBe("no trailing newline");
    const after = new EventLog(path).read();
    expect(after.events.map((x) => x.type)).toEqual(["progress", "run_done"]);
    expect(after.skipped).toBe(0);
  });
});
