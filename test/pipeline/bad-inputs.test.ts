// The bad-input corpus (issue #12): every case of test/fixtures/bad-inputs/cases.json behaves as listed.
// Images and manifest lines go through the real input check (resolveImages, one case at a time with a
// timeout); processed images also through the worker's own loader (one Python process) and the report's
// thumbnail, which must agree on size, orientation and colour; whole inputs, configs and worker flags
// through the built CLI. Binary files, symlinks and the 100k-line manifest are made here, at test time.
import { describe, expect, test } from "@jest/globals";
import { execa } from "execa";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32, deflateSync } from "node:zlib";
import sharp, { type Sharp } from "sharp";
import { resolveImages, type InputImage, type SkippedInput } from "../../orchestrator/pipeline/inputs.js";
import { thumbnail } from "../../orchestrator/report/thumbs.js";
import { PROJECT_ROOT, workerPython } from "../../orchestrator/worker/python.js";

interface Case {
  name: string;
  kind: "image" | "line" | "cli";
  input: string;
  expect: "processed" | "skipped" | "refused";
  reason?: string;
  exit?: number;
  colour?: "hue";
  warning?: string; // a warning the input check must give about an image it keeps
  processed?: number; // how many images of the case's manifest (anchor line included) are used
}

const FIXTURES = join(PROJECT_ROOT, "test", "fixtures", "bad-inputs");
const CASES = (JSON.parse(readFileSync(join(FIXTURES, "cases.json"), "utf8")) as { cases: Case[] }).cases;
const CASE_TIMEOUT_MS = 20_000;
const STACK_TRACE = /^\s+at \S|Traceback \(most recent call last\)/m;

function within<T>(ms: number, name: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${name}: no answer in ${ms} ms (a hang)`)), ms); });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

// ------------------------------------------------------------------------------------- image builders

function pngBytes(width: number, height: number, bitDepth: 8 | 16, rows: Buffer): Buffer {
  const chunk = (kind: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(kind, "latin1"), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.writeUInt8(bitDepth, 8); // colour type 0 (grey), the rest 0
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(rows)), chunk("IEND", Buffer.alloc(0))]);
}

/** Four quadrants of distinct colours (top-left red, top-right green, bottom-left blue, bottom-right white), as raw RGB. */
function quadrants(width: number, height: number): Sharp {
  const colours = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]];
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) raw.set(colours[(y < height / 2 ? 0 : 2) + (x < width / 2 ? 0 : 1)]!, (y * width + x) * 3);
  }
  return sharp(raw, { raw: { width, height, channels: 3 } });
}

async function noiseJpeg(): Promise<Buffer> {
  const raw = Buffer.alloc(256 * 192 * 3);
  for (let i = 0; i < raw.length; i += 1) raw[i] = (i * 7919) % 251;
  return sharp(raw, { raw: { width: 256, height: 192, channels: 3 } }).jpeg().toBuffer();
}

/** Each image case's file, written under `dir`; returns its file name. */
const IMAGE_BUILDERS: Record<string, (dir: string) => Promise<string>> = {
  "truncated-png": async (dir) => {
    const png = await quadrants(32, 32).png().toBuffer();
    writeFileSync(join(dir, "truncated.png"), png.subarray(0, png.length - 30));
    return "truncated.png";
  },
  "truncated-jpeg": async (dir) => {
    const jpeg = await noiseJpeg();
    writeFileSync(join(dir, "truncated.jpg"), jpeg.subarray(0, Math.floor(jpeg.length * 0.7)));
    return "truncated.jpg";
  },
  "text-as-png": async (dir) => {
    writeFileSync(join(dir, "text.png"), "this is a note, not an image\n");
    return "text.png";
  },
  "empty-file": async (dir) => {
    writeFileSync(join(dir, "empty.jpg"), "");
    return "empty.jpg";
  },
  "decompression-bomb": async (dir) => {
    writeFileSync(join(dir, "bomb.png"), pngBytes(50_000, 50_000, 8, Buffer.alloc(50_001))); // one row of the declared 50000
    return "bomb.png";
  },
  "bogus-marker-jpeg": async (dir) => {
    const jpeg = Buffer.from(await noiseJpeg());
    jpeg.writeUInt16BE(1, jpeg.indexOf(Buffer.from([0xff, 0xdb])) + 2); // DQT's length field
    writeFileSync(join(dir, "bogus-marker.jpg"), jpeg);
    return "bogus-marker.jpg";
  },
  "extraneous-bytes-jpeg": async (dir) => {
    const jpeg = await quadrants(32, 32).jpeg({ quality: 95 }).toBuffer();
    const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
    writeFileSync(join(dir, "extraneous.jpg"), Buffer.concat([jpeg.subarray(0, sof), Buffer.from([1, 2, 3, 4]), jpeg.subarray(sof)]));
    return "extraneous.jpg";
  },
  "cmyk-jpeg": async (dir) => {
    await quadrants(40, 32).toColourspace("cmyk").jpeg({ quality: 95 }).toFile(join(dir, "cmyk.jpg"));
    return "cmyk.jpg";
  },
  "png-16bit-grey": async (dir) => {
    const [width, height] = [64, 16];
    const rows = Buffer.alloc(height * (1 + 2 * width));
    for (let y = 0; y < height; y += 1) {
      for (let x = 0; x < width; x += 1) rows.writeUInt16BE(Math.round((x / (width - 1)) * 65535), y * (1 + 2 * width) + 1 + 2 * x);
    }
    writeFileSync(join(dir, "grey16.png"), pngBytes(width, height, 16, rows));
    return "grey16.png";
  },
  "animated-gif": async (dir) => {
    const frames = await Promise.all(["#ff0000", "#00ff00", "#0000ff"].map((c) => sharp({ create: { width: 24, height: 24, channels: 3, background: c } }).png().toBuffer()));
    await sharp(frames, { join: { animated: true } }).gif({ delay: 50 }).toFile(join(dir, "anim.gif"));
    return "anim.gif";
  },
  "exif-rotated-jpeg": async (dir) => {
    await quadrants(64, 32).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toFile(join(dir, "rotated.jpg"));
    return "rotated.jpg";
  },
  "one-pixel": async (dir) => {
    await sharp({ create: { width: 1, height: 1, channels: 3, background: "#204080" } }).png().toFile(join(dir, "one.png"));
    return "one.png";
  },
};

// ------------------------------------------------------------------------------ manifest line builders

interface Lines {
  lines: string[]; // after the anchor line (line 1)
  line: number; // the manifest line the case is about
  id: string;
}

const line = (id: string, image: string) => JSON.stringify({ id, image });

const LINE_BUILDERS: Record<string, (root: string, outside: string) => Lines> = {
  "dotdot-path": () => ({ lines: [line("dotdot", "../outside/secret.png")], line: 2, id: "dotdot" }),
  "absolute-path-outside": (_, outside) => ({ lines: [line("absolute", join(outside, "secret.png"))], line: 2, id: "absolute" }),
  "symlink-out-of-root": () => ({ lines: [line("escape", "imgs/escape.png")], line: 2, id: "escape" }),
  "symlinked-folder-out-of-root": () => ({ lines: [line("deep", "linked-dir/deep.png")], line: 2, id: "deep" }),
  "symlink-inside-root": () => ({ lines: [line("alias", "imgs/alias.png")], line: 2, id: "alias" }),
  "unicode-id": () => ({ lines: [line("猫/🐱 é — ü", "imgs/ok.png")], line: 2, id: "猫/🐱 é — ü" }),
  "control-character-id": () => ({ lines: [line("two\nlines\u001b[31m", "imgs/ok.png")], line: 2, id: "line 2" }),
  "bidi-override-id": () => ({ lines: [line("abc\u202Egnp.exe", "imgs/ok.png")], line: 2, id: "line 2" }),
  "id-5000-characters": () => ({ lines: [line("x".repeat(5000), "imgs/ok.png")], line: 2, id: "line 2" }),
  "not-json-line": () => ({ lines: ['{"id": "half", "image": '], line: 2, id: "line 2" }),
  "manifest-100k-lines": () => {
    const lines = Array.from({ length: 100_000 }, (_, i) => line(`row-${String(i).padStart(6, "0")}`, "imgs/ok.png"));
    lines[50_000 - 1] = '{"id": "row-broken", "image": "imgs/ok.png"'; // line 50001 of the file
    return { lines, line: 50_001, id: "line 50001" };
  },
};

// ------------------------------------------------------------------------------------------ the world

interface World {
  root: string;
  outside: string;
  imageFiles: Map<string, string>; // case name → absolute path
}

async function buildWorld(): Promise<World> {
  const base = mkdtempSync(join(tmpdir(), "c3l-bad-inputs-"));
  const root = join(base, "root");
  const outside = join(base, "outside");
  mkdirSync(join(root, "imgs"), { recursive: true });
  mkdirSync(join(outside, "dir"), { recursive: true });
  await quadrants(16, 16).png().toFile(join(root, "imgs", "ok.png"));
  await quadrants(16, 16).png().toFile(join(outside, "secret.png"));
  await quadrants(16, 16).png().toFile(join(outside, "dir", "deep.png"));
  symlinkSync(join(outside, "secret.png"), join(root, "imgs", "escape.png"));
  symlinkSync("ok.png", join(root, "imgs", "alias.png"));
  symlinkSync(join(outside, "dir"), join(root, "linked-dir"));
  const imageFiles = new Map<string, string>();
  for (const [name, build] of Object.entries(IMAGE_BUILDERS)) imageFiles.set(name, join(root, "imgs", await build(join(root, "imgs"))));
  return { root, outside, imageFiles };
}

type Outcome = { status: "processed"; image: InputImage } | { status: "skipped"; reason: string } | { status: "missing" };

/** The input check on a manifest of an anchor image (line 1) and the case's lines. */
async function inputCheck(world: World, name: string, lines: string[], id: string, manifest = `${name}.jsonl`): Promise<{ outcome: Outcome; images: InputImage[]; skipped: SkippedInput[]; warnings: string[]; file: string }> {
  const file = join(world.root, manifest);
  writeFileSync(file, [line("anchor", "imgs/ok.png"), ...lines].join("\n") + "\n");
  const warnings: string[] = [];
  const { images, skipped } = await within(CASE_TIMEOUT_MS, name, resolveImages({ root: world.root, images: null, manifest, limit: null, warn: (w) => warnings.push(w) }));
  for (const w of warnings) skipped.push({ id: "(warning)", reason: w }); // checked like reasons: one line, naming the file
  const image = images.find((i) => i.id === id);
  const skip = skipped.find((s) => s.id === id);
  const outcome: Outcome = image ? { status: "processed", image } : skip ? { status: "skipped", reason: skip.reason } : { status: "missing" };
  return { outcome, images, skipped, warnings, file };
}

interface WorkerView {
  ok: boolean;
  width?: number;
  height?: number;
  samples?: number[][];
  code?: string;
  message?: string;
}

async function workerViews(world: World): Promise<Record<string, WorkerView>> {
  const list = join(world.root, "worker-list.json");
  writeFileSync(list, JSON.stringify([...world.imageFiles].map(([id, path]) => ({ id, path }))));
  const r = await execa(workerPython(), [join(FIXTURES, "load_images.py"), list], { reject: false, timeout: CASE_TIMEOUT_MS * 3, env: { HF_HUB_OFFLINE: "1", OMP_NUM_THREADS: "1" } });
  if (r.exitCode !== 0 || STACK_TRACE.test(r.stderr)) throw new Error(`load_images.py exited ${r.exitCode}: ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout) as Record<string, WorkerView>;
}

/** The report's thumbnail decoded: size and the pixels at the quadrant centres. */
async function thumbView(path: string, problems: string[]): Promise<{ width: number; height: number; samples: number[][] } | null> {
  const uri = await thumbnail(path, (w) => problems.push(w));
  if (uri === null) return null;
  const { data, info } = await sharp(Buffer.from(uri.split(",")[1]!, "base64")).removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
  const at = (fx: number, fy: number) => {
    const offset = (Math.min(Math.floor(fy * info.height), info.height - 1) * info.width + Math.min(Math.floor(fx * info.width), info.width - 1)) * info.channels;
    return [...data.subarray(offset, offset + 3)];
  };
  return { width: info.width, height: info.height, samples: [at(0.25, 0.25), at(0.75, 0.25), at(0.25, 0.75), at(0.75, 0.75)] };
}

// ---------------------------------------------------------------------------------------------- CLI

const c3l = (args: string[]) =>
  execa("node", [join(PROJECT_ROOT, "bin", "c3l.js"), ...args], { reject: false, timeout: CASE_TIMEOUT_MS, cwd: FIXTURES, env: { HF_HUB_OFFLINE: "1" } });

function runConfig(world: World, manifest: string): string {
  const model = join(world.root, "..", "model"); // only the folder's small files are checked before the inputs (pipeline/model-check.ts)
  mkdirSync(model, { recursive: true });
  writeFileSync(join(model, "config.json"), JSON.stringify({ model_type: "llava" }));
  for (const file of ["tokenizer.json", "processor_config.json"]) writeFileSync(join(model, file), "{}");
  writeFileSync(join(model, "chat_template.jinja"), "{{ messages }}");
  const file = join(world.root, "..", `run-${manifest}.yaml`);
  writeFileSync(file, [`data:`, `  root: ${JSON.stringify(world.root)}`, `  manifest: ${manifest}`, `generator:`, `  model_dir: ${JSON.stringify(model)}`,
    `runs_dir: ${JSON.stringify(join(world.root, "..", "runs"))}`].join("\n") + "\n");
  return file;
}

function cliArgs(world: World, name: string): string[] {
  if (name.startsWith("config-")) return ["validate", join("configs", `${name.slice("config-".length)}.yaml`)];
  if (name === "empty-manifest") {
    writeFileSync(join(world.root, "empty.jsonl"), "");
    return ["run", runConfig(world, "empty.jsonl")];
  }
  if (name === "every-image-bad") {
    const bad = CASES.filter((c) => c.kind === "image" && c.expect === "skipped");
    writeFileSync(join(world.root, "every-bad.jsonl"), bad.map((c) => line(c.name, world.imageFiles.get(c.name)!)).join("\n") + "\n");
    return ["run", runConfig(world, "every-bad.jsonl")];
  }
  const keysDir = mkdtempSync(join(tmpdir(), "c3l-bad-keys-"));
  if (name === "worker-bind-without-keys") return ["worker", "--bind", "tcp://0.0.0.0:5555", "--roots", world.root];
  if (name === "worker-missing-key-file") {
    return ["worker", "--bind", "tcp://0.0.0.0:5555", "--key", join(keysDir, "nope.key_secret"), "--authorized-keys", keysDir, "--roots", world.root];
  }
  throw new Error(`no command for cli case ${name}`);
}

// --------------------------------------------------------------------------------------------- test

describe("the bad-input corpus", () => {
  test("every listed case behaves as listed, names its file, prints no stack trace and does not hang", async () => {
    const byKind = (kind: Case["kind"]) => CASES.filter((c) => c.kind === kind).map((c) => c.name).sort();
    expect(byKind("image")).toEqual(Object.keys(IMAGE_BUILDERS).sort()); // the listing and the builders match
    expect(byKind("line")).toEqual(Object.keys(LINE_BUILDERS).sort());

    const world = await buildWorld();
    const failures: string[] = [];
    const fail = (c: Case, message: string): void => void failures.push(`${c.name} (${c.input}): ${message}`);
    const checkReason = (c: Case, reason: string, names: string) => {
      if (c.reason && !new RegExp(c.reason).test(reason)) fail(c, `reason ${JSON.stringify(reason)} does not match /${c.reason}/`);
      if (!reason.includes(names)) fail(c, `reason ${JSON.stringify(reason)} does not name ${names}`);
    };
    const checkAllReasons = (c: Case, skipped: SkippedInput[]) => {
      for (const s of skipped) {
        if (s.reason.includes("\n")) fail(c, `a reason spans several lines: ${JSON.stringify(s.reason)}`);
        if (!s.reason.includes(world.root)) fail(c, `a reason names no file under the data root: ${JSON.stringify(s.reason)}`);
        if (STACK_TRACE.test(s.reason)) fail(c, `a stack trace: ${s.reason}`);
      }
    };

    const cli = CASES.filter((c) => c.kind === "cli").map((c) => ({ c, result: c3l(cliArgs(world, c.name)) })); // start them now, check later
    const views = workerViews(world).catch((err: Error) => {
      failures.push(`the worker's loader: ${err.message}`);
      return {} as Record<string, WorkerView>;
    });

    const each = async (kind: Case["kind"], check: (c: Case) => Promise<void>) => {
      for (const c of CASES.filter((x) => x.kind === kind)) {
        try {
          await check(c);
        } catch (err) {
          fail(c, `threw ${(err as Error).message}`);
        }
      }
    };
    await each("image", async (c) => {
      const path = world.imageFiles.get(c.name)!;
      const { outcome, skipped, warnings } = await inputCheck(world, c.name, [line(c.name, path)], c.name);
      checkAllReasons(c, skipped);
      if (c.warning && !warnings.some((w) => w.includes(path) && new RegExp(c.warning!).test(w))) fail(c, `no warning naming ${path} matches /${c.warning}/: ${JSON.stringify(warnings)}`);
      if (outcome.status !== c.expect) fail(c, `expected ${c.expect}, got ${outcome.status}${outcome.status === "skipped" ? `: ${outcome.reason}` : ""}`);
      else if (outcome.status === "skipped") checkReason(c, outcome.reason, path);
    });
    await each("line", async (c) => {
      const built = LINE_BUILDERS[c.name]!(world.root, world.outside);
      const { outcome, images, skipped, file } = await inputCheck(world, c.name, built.lines, built.id);
      checkAllReasons(c, skipped);
      if (outcome.status === "skipped" && c.expect === "skipped") checkReason(c, outcome.reason, `${file}:${built.line}`);
      else if (outcome.status !== c.expect) fail(c, `expected ${c.expect}, got ${outcome.status}${outcome.status === "skipped" ? `: ${outcome.reason}` : ""}`);
      if (c.processed !== undefined && images.length !== c.processed) fail(c, `expected ${c.processed} images processed (the anchor and every good line), got ${images.length}`);
    });

    // The worker sees what the input check decided, and for a processed image what the thumbnail shows.
    const seen = await views;
    await each("image", async (c) => {
      const view = seen[c.name];
      if (!view) return fail(c, "the worker gave no answer");
      if (view.message && STACK_TRACE.test(view.message)) fail(c, `a stack trace from the worker: ${view.message}`);
      if (c.expect !== "processed") {
        if (view.ok) fail(c, "the input check skips it, but the worker loads it");
        else if (!view.message?.includes(world.imageFiles.get(c.name)!)) fail(c, `the worker's error names no file: ${view.message}`);
        return;
      }
      if (!view.ok) return fail(c, `the input check keeps it, but the worker refuses it: ${view.code} ${view.message}`);
      const path = world.imageFiles.get(c.name)!;
      const meta = await sharp(path).metadata();
      const [width, height] = [meta.autoOrient?.width ?? meta.width, meta.autoOrient?.height ?? meta.height];
      if (view.width !== width || view.height !== height) fail(c, `the worker sees ${view.width}×${view.height}, sharp (oriented) ${width}×${height}`);
      const thumbProblems: string[] = [];
      const thumb = await within(CASE_TIMEOUT_MS, c.name, thumbView(path, thumbProblems));
      if (!thumb) return fail(c, `no thumbnail: ${thumbProblems.join("; ")}`);
      if (Math.abs(thumb.width / thumb.height - view.width! / view.height!) > 0.1) fail(c, `the thumbnail is ${thumb.width}×${thumb.height}, the worker's image ${view.width}×${view.height}`);
      const hue = (rgb: number[]) => rgb.map((v) => v / Math.max(1, ...rgb));
      view.samples!.forEach((rgb, q) => {
        const theirs = thumb.samples[q]!;
        const off = c.colour === "hue" ? Math.max(...hue(rgb).map((v, k) => Math.abs(v - hue(theirs)[k]!))) * 255 : Math.max(...rgb.map((v, k) => Math.abs(v - theirs[k]!)));
        if (off > (c.colour === "hue" ? 90 : 24)) fail(c, `quadrant ${q}: the worker sees rgb(${rgb.join(",")}), the thumbnail rgb(${theirs.join(",")})`);
      });
    });

    for (const { c, result } of cli) {
      const r = await result;
      const output = `${r.stdout}\n${r.stderr}`;
      if (r.timedOut) fail(c, `no exit in ${CASE_TIMEOUT_MS} ms (a hang)`);
      if (STACK_TRACE.test(output)) fail(c, `a stack trace:\n${output}`);
      if (r.exitCode !== c.exit) fail(c, `expected exit ${c.exit}, got ${r.exitCode}: ${r.stderr}`);
      if (c.reason && !new RegExp(c.reason).test(r.stderr)) fail(c, `stderr does not match /${c.reason}/: ${r.stderr}`);
      if (c.name === "every-image-bad") {
        const bad = CASES.filter((x) => x.kind === "image" && x.expect === "skipped");
        if (!r.stderr.includes(`${bad.length} skipped:`)) fail(c, `stderr does not say ${bad.length} skipped`);
        for (const x of bad) if (!r.stderr.includes(world.imageFiles.get(x.name)!)) fail(c, `stderr does not name ${x.name}'s file`);
        for (const l of r.stderr.split("\n").filter((l) => l.startsWith("  "))) if (!l.includes(world.root)) fail(c, `a reason line names no file: ${l}`);
      }
    }
    expect(failures).toEqual([]);
  }, 90_000);
});
