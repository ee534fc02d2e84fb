import { describe, expect, test } from "@jest/globals";
import { appendFileSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RunStoreError } from "../../orchestrator/runs/errors.js";
import { SampleFile } from "../../orchestrator/runs/jsonl.js";
import { distModule, nodeChild, sleep, tempDir } from "./helpers.js";

type Rec = { id: string; v?: number; pad?: string };

const lines = (path: string) => readFileSync(path, "utf8").split("\n");

describe("SampleFile", () => {
  test("appends newline-terminated JSON lines and reads them back by id", () => {
    const path = join(tempDir(), "s.jsonl");
    const f = SampleFile.open<Rec>(path);
    expect(f.recovered).toBeNull();
    f.append([{ id: "a", v: 1 }, { id: "b", v: 2 }]);
    f.append([]);
    f.append([{ id: "c", v: 3 }]);
    f.close();
    expect(readFileSync(path, "utf8")).toBe('{"id":"a","v":1}\n{"id":"b","v":2}\n{"id":"c","v":3}\n');
    const r = SampleFile.read<Rec>(path);
    expect([...r.records.keys()]).toEqual(["a", "b", "c"]);
    expect(r.records.get("b")?.v).toBe(2);
    expect(r.tornLine).toBe(false);
    expect(r.duplicates).toEqual([]);
  });

  test("a missing file reads as empty", () => {
    const r = SampleFile.read(join(tempDir(), "none.jsonl"));
    expect(r.records.size).toBe(0);
    expect(r.tornLine).toBe(false);
  });

  test("a last line without its newline is torn: read reports it without changing the file, open cuts it", () => {
    const path = join(tempDir(), "s.jsonl");
    writeFileSync(path, '{"id":"a"}\n{"id":"b"}\n{"id":"c","v":');
    const size = statSync(path).size;
    const r = SampleFile.read<Rec>(path);
    expect([...r.records.keys()]).toEqual(["a", "b"]);
    expect(r.tornLine).toBe(true);
    expect(r.torn).toMatchObject({ reason: "no trailing newline", offset: 22, bytes: size - 22 });
    expect(statSync(path).size).toBe(size);

    const f = SampleFile.open<Rec>(path);
    expect(f.recovered).toMatchObject({ reason: "no trailing newline", preview: '{"id":"c","v":' });
    f.append([{ id: "c", v: 3 }]);
    f.close();
    expect(lines(path)).toEqual(['{"id":"a"}', '{"id":"b"}', '{"id":"c","v":3}', ""]);
    expect(SampleFile.read(path).tornLine).toBe(false);
  });

  test("a complete record without its newline is still torn (its append never returned)", () => {
    const path = join(tempDir(), "s.jsonl");
    writeFileSync(path, '{"id":"a"}\n{"id":"b"}');
    expect([...SampleFile.read(path).records.keys()]).toEqual(["a"]);
    const f = SampleFile.open(path);
    expect(f.recovered?.reason).toBe("no trailing newline");
    f.close();
    expect(readFileSync(path, "utf8")).toBe('{"id":"a"}\n');
  });

  test("an unparseable last line is torn (not JSON) and cut on open", () => {
    const path = join(tempDir(), "s.jsonl");
    writeFileSync(path, '{"id":"a"}\n\u0000\u0000\u0000\n');
    const r = SampleFile.read(path);
    expect(r.torn?.reason).toBe("not JSON");
    expect([...r.records.keys()]).toEqual(["a"]);
    const f = SampleFile.open(path);
    expect(f.recovered?.reason).toBe("not JSON");
    f.close();
    expect(readFileSync(path, "utf8")).toBe('{"id":"a"}\n');
  });

  test("a bad line in the middle is damage, not a torn end: read throws naming file and line", () => {
    const path = join(tempDir(), "s.jsonl");
    writeFileSync(path, '{"id":"a"}\n{"id":\n{"id":"c"}\n');
    expect(() => SampleFile.read(path)).toThrow(RunStoreError);
    expect(() => SampleFile.read(path)).toThrow(`${path}:2: not JSON`);
  });

  test("a record without a string id is refused on read (file:line) and on append (nothing written)", () => {
    const path = join(tempDir(), "s.jsonl");
    writeFileSync(path, '{"id":"a"}\n{"name":"no id"}\n');
    expect(() => SampleFile.read(path)).toThrow(`${path}:2: the record has no string "id"`);
    const p2 = join(tempDir(), "t.jsonl");
    const f = SampleFile.open<Rec>(p2);
    expect(() => f.append([{ id: "ok" }, { v: 1 } as unknown as Rec])).toThrow(/without a string "id"/);
    expect(() => f.append([{ id: "nan", v: Number.NaN }])).toThrow(/sample nan: field "v" is NaN/);
    f.close();
    expect(readFileSync(p2, "utf8")).toBe("");
  });

  test("duplicate ids: the later line wins and each duplicate id is reported once", () => {
    const path = join(tempDir(), "s.jsonl");
    const f = SampleFile.open<Rec>(path);
    f.append([{ id: "a", v: 1 }, { id: "b", v: 1 }]);
    f.append([{ id: "a", v: 2 }, { id: "a", v: 3 }]);
    f.close();
    const r = f.read();
    expect(r.duplicates).toEqual(["a"]);
    expect(r.records.get("a")?.v).toBe(3);
    expect([...r.records.keys()]).toEqual(["a", "b"]);
    expect(r.lines).toBe(4);
  });

  test("SIGKILL during appends loses at most the write in flight: no duplicates, no gaps, every confirmed record kept", async () => {
    for (const delayMs of [0, 7, 60, 250]) {
      const path = join(tempDir(), "killed.jsonl");
      const child = nodeChild(`
        import { SampleFile } from ${JSON.stringify(distModule("jsonl"))};
        const f = SampleFile.open(${JSON.stringify(path)});
        const pad = "p".repeat(3000);
        for (let batch = 0; ; batch++) {
          f.append(Array.from({ length: 25 }, (_, k) => ({ id: String(batch * 25 + k), pad })));
          process.stdout.write(batch * 25 + 24 + "\\n");
        }
      `);
      await new Promise<void>((resolve) => child.stdout?.once("data", () => resolve())); // appending has begun
      await sleep(delayMs);
      child.kill("SIGKILL");
      const r = await child;
      expect(r.signal).toBe("SIGKILL");
      const confirmed = Math.max(-1, ...String(r.stdout).split("\n").filter(Boolean).map(Number));

      const f = SampleFile.open<Rec>(path); // cuts a torn line if the kill left one
      const read = f.read();
      f.close();
      expect(read.tornLine).toBe(false);
      expect(read.duplicates).toEqual([]);
      const ids = [...read.records.keys()].map(Number);
      expect(ids.length).toBeGreaterThan(0);
      expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => i));
      expect(ids.length - 1).toBeGreaterThanOrEqual(confirmed);
      for (const rec of read.records.values()) expect(rec.pad?.length).toBe(3000);
      if (f.recovered) expect(f.recovered.bytes).toBeGreaterThan(0);
    }
  });

  test("appending after a torn tail never glues a record onto the fragment", () => {
    const path = join(tempDir(), "s.jsonl");
    writeFileSync(path, '{"id":"a"}\n');
    appendFileSync(path, '{"id":"b","pad":"xx');
    const f = SampleFile.open<Rec>(path);
    f.append([{ id: "b" }]);
    f.close();
    expect(() => SampleFile.read(path)).not.toThrow();
    expect([...SampleFile.read(path).records.keys()]).toEqual(["a", "b"]);
  });
});
