// A full disk while appending samples or replacing a file: a DiskFullError naming the file, the file
// as it was before the write, and the same bytes as on a roomy disk once space returns. The disk is
// a real size-limited tmpfs; where mounting is not allowed (not root, no permission) the tests skip.
import { afterAll, describe, expect, test } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync, ftruncateSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { DiskFullError, writeFileAtomic } from "../../orchestrator/runs/atomic.js";
import { SampleFile } from "../../orchestrator/runs/jsonl.js";
import { tempDir } from "./helpers.js";

const disk = join(tempDir("c3l-disk-"), "disk");
const mount = (size: number, ...extra: string[]) =>
  execFileSync("mount", ["-t", "tmpfs", "-o", [...extra, `size=${size}`].join(","), "tmpfs", disk], { stdio: "pipe" });

let refused: string | null = null;
try {
  execFileSync("mkdir", ["-p", disk]);
  mount(256 * 1024);
} catch (err) {
  refused = ((err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message).split("\n")[0]!;
  process.stderr.write(`disk-full tests skipped: cannot mount a size-limited tmpfs here (needs root and mount permission): ${refused}\n`);
}
const onTinyDisk = refused === null ? test : test.skip;

afterAll(() => {
  if (refused === null) execFileSync("umount", ["-l", disk]);
});

/** Fills the disk, then frees `free` bytes: the next big write gets that far and fails with ENOSPC. */
function fillLeaving(free: number): void {
  const filler = join(disk, "filler");
  const fd = openSync(filler, "w");
  const block = Buffer.alloc(4096, 120);
  try {
    for (;;) writeSync(fd, block);
  } catch (err) {
    expect((err as NodeJS.ErrnoException).code).toBe("ENOSPC");
  }
  ftruncateSync(fd, Math.max(0, Number(execFileSync("stat", ["-c", "%s", filler]).toString()) - free));
  closeSync(fd);
}

type Rec = { id: string; pad: string };
const small = (id: string): Rec => ({ id, pad: "x" });
const big: Rec = { id: "big", pad: "y".repeat(64 * 1024) };

describe("a full disk", () => {
  onTinyDisk("an append that fails leaves the sample file as it was; after space returns the file equals a roomy disk's", () => {
    const path = join(disk, "r0-generate.jsonl");
    const roomy = join(tempDir(), "r0-generate.jsonl");
    for (const p of [path, roomy]) {
      const f = SampleFile.open<Rec>(p);
      f.append([small("a"), small("b")]);
      f.close();
    }
    fillLeaving(8192); // the 64 KiB line gets partly written before the disk is full
    const before = readFileSync(path);
    const file = SampleFile.open<Rec>(path);
    let error: unknown = null;
    try {
      file.append([small("c"), big]);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DiskFullError);
    expect((error as Error).message).toMatch(new RegExp(`^${path}: disk full \\(no space left on device\\); nothing of the 2 record\\(s\\) being appended was kept`));
    expect(readFileSync(path).equals(before)).toBe(true); // nothing torn: not even a part of the line

    mount(4 * 1024 * 1024, "remount"); // space returns; the same process goes on appending
    file.append([small("c"), big]);
    file.close();
    const again = SampleFile.open<Rec>(roomy);
    again.append([small("c"), big]);
    again.close();
    expect(readFileSync(path).equals(readFileSync(roomy))).toBe(true);
    expect(SampleFile.read(path).tornLine).toBe(false);
  });

  onTinyDisk("a file replaced atomically stays the old one, with no temp file, and the error names it", () => {
    for (const name of readdirSync(disk)) execFileSync("rm", ["-rf", join(disk, name)]);
    mount(256 * 1024, "remount");
    const path = join(disk, "summary.json");
    writeFileSync(path, "old\n");
    fillLeaving(4096);
    expect(() => writeFileAtomic(path, Buffer.alloc(64 * 1024, 122))).toThrow(
      new RegExp(`^${path}: disk full \\(no space left on device\\); the file was not replaced and is as it was`));
    expect(readFileSync(path, "utf8")).toBe("old\n");
    expect(readdirSync(disk).sort()).toEqual(["filler", "summary.json"]);
  });
});
