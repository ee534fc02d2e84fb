#!/usr/bin/env node
// The chaos suite (npm run chaos, issue #12): one uninterrupted reference run of a config, then the
// same config run again under N SIGKILLs of the orchestrator's process group (each followed at once
// by `c3l resume <run>`) and M SIGKILLs of the Python worker while a worker stage runs (the
// orchestrator restarts it and retries the batch), then every output of the two runs compared.
//
//   node scripts/chaos.mjs [--config configs/quickstart.yaml] [--orchestrator-kills 20] [--worker-kills 10]
//                          [--seed S] [--keep] [--shared-cache] [--work DIR] [--report FILE]
//                          [--reference KEPT_WORK] [a.b=V …]   (reuse a kept reference run, same config)
//
// Kill points: seeded uniform times over the reference run (seed printed; `--seed` replays). A time
// is placed on the reference's stage timeline (segment = startup or a stage) after the segment's
// last progress line before it (a world build step, a progress bar), and fired in the chaos run
// that long after the chaos run prints the same progress in the same segment (before any progress
// line: that long after entering the segment, less what an earlier attempt spent there), or at once
// when the chaos run is already past it (past the next progress line, the stage's done line, or
// in a later segment). A kill before the run folder exists is followed by `c3l run` again. Worker kills use times inside the stages that run on the worker,
// and hit a worker that answered its handshake, waiting (at most 2 s) for it to be running (a
// request in flight) rather than idle between requests; the next worker kill waits until the
// replacement worker has moved the run past the point of the last one (progress beyond it, or a
// stage started or finished): kills of one batch worker.max_attempts times in a row fail that
// batch by design.
// Stdout: the verdict line `kills: …, resumed: …, identical: …, lost: …, duplicated: …`; exit 1
// when a target is missed (every kill landed and recovered, every output identical, nothing lost
// or duplicated). Progress and findings go to stderr; the full report to <work>/report.json.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "bin", "c3l.js");

/** Stages whose work worker kills aim at (pretrain builds on the worker too, but a kill there costs a rebuild, not a resume test of the stages). */
const WORKER_STAGE = /^(?:r\d+-)?(?:generate|score|contrast)$|^(?:regenerate|rescore|finetune|evaluate)$/;
/** How long a worker kill waits for the worker to be busy (state R) before killing it anyway. */
const BUSY_WAIT_MS = 2000;

// --- command line --------------------------------------------------------------------------

function parseArgs(argv) {
  const o = { config: "configs/quickstart.yaml", orchestratorKills: 20, workerKills: 10, seed: null, keep: false, sharedCache: false, work: null, report: null, reference: null, overrides: [] };
  const value = (i, flag) => {
    if (i + 1 >= argv.length) usage(`${flag} needs a value`);
    return argv[i + 1];
  };
  const count = (v, flag) => (/^\d+$/.test(v) ? Number(v) : usage(`${flag}: expected a count, got ${v}`));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--config") o.config = value(i++, a);
    else if (a === "--orchestrator-kills") o.orchestratorKills = count(value(i++, a), a);
    else if (a === "--worker-kills") o.workerKills = count(value(i++, a), a);
    else if (a === "--seed") o.seed = count(value(i++, a), a);
    else if (a === "--work") o.work = resolve(value(i++, a));
    else if (a === "--report") o.report = resolve(value(i++, a));
    else if (a === "--reference") o.reference = resolve(value(i++, a));
    else if (a === "--keep") o.keep = true;
    else if (a === "--shared-cache") o.sharedCache = true;
    else if (a === "--help" || a === "-h") usage(null);
    else if (a.startsWith("--")) usage(`unknown option ${a}`);
    else o.overrides.push(a);
  }
  o.seed ??= Math.floor(Math.random() * 2 ** 31);
  return o;
}

function usage(problem) {
  const text = "usage: node scripts/chaos.mjs [--config FILE] [--orchestrator-kills N] [--worker-kills M] [--seed S] [--keep] [--shared-cache] [--work DIR] [--report FILE] [--reference KEPT_WORK] [a.b=V …]";
  if (problem) {
    process.stderr.write(`chaos: ${problem}\n${text}\n`);
    process.exit(2);
  }
  process.stdout.write(`${text}\n`);
  process.exit(0);
}

const say = (line) => process.stderr.write(`[chaos] ${line}\n`);

/** mulberry32: a small seeded generator, so a seed replays the same kill points. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// --- processes -----------------------------------------------------------------------------

/** Parent pid of every process, from /proc (for finding the orchestrator's worker). */
function processTable() {
  const table = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const cmd = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0").join(" ");
      table.push({ pid: Number(name), state: fields[0], ppid: Number(fields[1]), cmd });
    } catch {
      // gone meanwhile
    }
  }
  return table;
}

/** The live `python -m c3l_worker` processes below `root` (they also build the world and smoke sets, in pretrain). */
function workersOf(root) {
  const table = processTable();
  const below = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of table) if (!below.has(p.pid) && below.has(p.ppid)) { below.add(p.pid); grew = true; }
  }
  return table.filter((p) => p.pid !== root && below.has(p.pid) && p.state !== "Z" && /-m c3l_worker(?:\s|$)/.test(p.cmd));
}

function procState(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return null;
  }
}

/**
 * One `c3l` command in its own process group (so a kill takes the worker and the builder with it).
 * Follows its stderr: `<stage>: starting|resuming …` (and pretrain's first line) enter a segment.
 */
function attempt(args, env, logFile) {
  const started = Date.now();
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const log = createWriteStream(logFile);
  log.write(`$ c3l ${args.join(" ")}\n`);
  const a = { child, pid: child.pid, started, segments: [], progress: [], doneStages: new Set(), lastDone: null, runDir: null, ready: new Set(), lines: 0, readyLine: -1, stdout: "", tail: [], exit: null };
  let pending = "";
  child.stdout.on("data", (b) => { a.stdout += b; });
  child.stderr.on("data", (b) => {
    log.write(b);
    pending += b.toString();
    const lines = pending.split(/\r?\n|\r/);
    pending = lines.pop();
    const t = (Date.now() - started) / 1000;
    for (const line of lines) {
      a.tail.push(line);
      if (a.tail.length > 40) a.tail.shift();
      const run = /^run (\S+) in (.+)$/.exec(line);
      if (run) a.runDir = run[2];
      a.lines++;
      const ready = /worker pid (\d+) ready/.exec(line);
      if (ready) {
        a.ready.add(Number(ready[1]));
        a.readyLine = a.lines;
      }
      // Every stage, pretrain included, is entered by the runner's "STAGE: starting" / "resuming" line.
      const enter = /^([a-z0-9-]+): (?:starting|resuming \(attempt \d+\))$/.exec(line);
      if (enter) a.segments.push({ name: enter[1], t });
      const done = /^([a-z0-9-]+): done in /.exec(line);
      if (done) {
        a.lastDone = t;
        a.doneStages.add(done[1]);
      }
      const p = progressOf(line);
      if (p) a.progress.push({ ...p, t, line: a.lines });
    }
  });
  a.done = new Promise((res) => child.on("close", (code, signal) => {
    a.exit = { code, signal, seconds: (Date.now() - started) / 1000 };
    log.end(`\n[chaos] exit ${code ?? signal} after ${a.exit.seconds.toFixed(1)} s\n`);
    res(a.exit);
  }));
  return a;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const PRETRAIN_PHASES = ["ground", "align", "generator"];

/** A progress line's stage and position: the world build's `phase: step N/T`, a stage's progress bar `N/T`. */
function progressOf(line) {
  const world = /^pretrain: (ground|align|generator): step (\d+)\//.exec(line);
  if (world) return { name: "pretrain", value: PRETRAIN_PHASES.indexOf(world[1]) * 1e6 + Number(world[2]) };
  const bar = /^([a-z0-9-]+) \[[#-]+\] (\d+)\/\d+/.exec(line);
  return bar ? { name: bar[1], value: Number(bar[2]) } : null;
}

// --- the reference and the kill points ---------------------------------------------------------

/** The reference's timeline: startup, then each stage from its start line to the next one (the last to its done line). */
function timeline(ref) {
  const segs = [{ name: "startup", start: 0 }];
  for (const s of ref.segments) segs.push({ name: s.name, start: s.t });
  for (let i = 0; i < segs.length; i++) {
    segs[i].end = i + 1 < segs.length ? segs[i + 1].start : ref.lastDone;
    segs[i].worker = WORKER_STAGE.test(segs[i].name);
    segs[i].progress = ref.progress.filter((p) => p.name === segs[i].name && p.t >= segs[i].start && p.t < segs[i].end).map(({ value, t }) => ({ value, t }));
  }
  return segs;
}

/**
 * Where reference time `t` falls: the segment, the offset inside it, and the last progress line
 * before it (`p`: its position, `dt`: seconds after it; `pNext`: the next line's position), so a
 * slower or faster chaos run is killed at the same point of the work, not of the clock.
 */
function place(segs, t) {
  const i = segs.findIndex((s) => t >= s.start && t < s.end);
  const k = i < 0 ? segs.length - 1 : i;
  const progress = segs[k].progress ?? [];
  const before = progress.filter((p) => p.t <= t).at(-1);
  const after = progress.find((p) => p.t > t);
  return { seg: k, offset: t - segs[k].start, p: before ? before.value : null, dt: before ? t - before.t : t - segs[k].start, pNext: after ? after.value : null };
}

function schedule(segs, o) {
  const next = rng(o.seed);
  const end = segs.at(-1).end;
  const events = [];
  for (let i = 0; i < o.orchestratorKills; i++) {
    const t = next() * end;
    events.push({ kind: "orchestrator", t, ...place(segs, t) });
  }
  const worker = segs.filter((s) => s.worker);
  const total = worker.reduce((n, s) => n + (s.end - s.start), 0);
  if (o.workerKills > 0 && total <= 0) throw new Error("the reference run has no stage on the worker to kill it in");
  for (let i = 0; i < o.workerKills; i++) {
    let u = next() * total; // a point of the worker stages laid end to end
    let s = worker.at(-1);
    for (const w of worker) {
      if (u < w.end - w.start) { s = w; break; }
      u -= w.end - w.start;
    }
    const offset = Math.min(u, s.end - s.start);
    events.push({ kind: "worker", t: s.start + offset, ...place(segs, s.start + offset) });
  }
  return events.sort((a, b) => a.t - b.t).map((e, i) => ({ index: i + 1, ...e }));
}

// --- the chaos run -----------------------------------------------------------------------------

/** The run folder in a private runs_dir (created atomically by c3l), or null while there is none. */
function findRun(runsDir) {
  if (!existsSync(runsDir)) return null;
  const runs = readdirSync(runsDir).filter((d) => !d.startsWith(".") && existsSync(join(runsDir, d, "config.json")));
  if (runs.length > 1) throw new Error(`more than one run folder in ${runsDir}: ${runs.join(", ")}`);
  return runs.length ? join(runsDir, runs[0]) : null;
}

/**
 * Whether the chaos attempt, in the event's segment since `entered`, has reached the event's point:
 * `dt` seconds after its progress line `p` (the first line at or past it), or at once when it is
 * past the next one. Before the segment's first progress line, `dt` counts from entering it (less
 * the part an earlier attempt already spent there).
 */
function reached(a, name, ev, now, entered, base) {
  if (ev.p === null) {
    const mine = a.progress.filter((p) => p.name === name && p.t >= entered);
    if (mine.length && ev.pNext !== null && mine.at(-1).value >= ev.pNext) return true;
    const from = base && base.seg === ev.seg ? base.dt : 0;
    return now - entered >= ev.dt - from;
  }
  const mine = a.progress.filter((p) => p.name === name && p.t >= entered);
  const at = mine.find((p) => p.value >= ev.p);
  if (!at) return false;
  if (ev.pNext !== null && mine.at(-1).value >= ev.pNext) return true;
  return now - at.t >= ev.dt;
}

/**
 * Whether the run got past the point of the last worker kill: a replacement worker answered its
 * handshake and then a stage started or finished, or the killed stage's progress passed where it
 * stood at the kill (a training stage restored from a checkpoint reports less for a while).
 */
function movedOn(a, kill) {
  if (a.readyLine <= kill.line) return false;
  if (a.segments.length > kill.segments || a.doneStages.size > kill.dones) return true;
  return a.progress.some((p) => p.line > kill.line && p.name === kill.stage && p.value > kill.value);
}

async function chaosRun(o, segs, events, dirs, env, attemptTimeout) {
  const kills = [];
  const crashes = [];
  const attempts = [];
  let resumed = 0; // attempts started after a kill or crash: `c3l resume`, or `c3l run` again when no run folder existed yet
  let reruns = 0;
  const queue = [...events];
  let base = null; // {seg, dt}: where the previous attempt stopped, when before the segment's first progress line
  let runDir = null;
  const done = (finalExit) => ({ kills, crashes, attempts, resumed, reruns, runDir, missed: queue.map((e) => e.index), finalExit });
  for (let n = 1; ; n++) {
    if (n > events.length + 10) throw new Error(`gave up after ${n - 1} attempts`);
    runDir ??= findRun(dirs.runs);
    const args = runDir ? ["resume", runDir] : ["run", dirs.config, ...o.overrides, `runs_dir=${dirs.runs}`, "--name", "chaos"];
    if (n > 1) {
      resumed++;
      if (!runDir) reruns++;
    }
    const a = attempt(args, env, join(dirs.logs, `attempt-${String(n).padStart(2, "0")}.log`));
    attempts.push(a);
    let killedByUs = false;
    let lastWorkerKill = null; // {line, stage, value, segments, dones}: where the last worker kill left the run
    const firedHere = [];
    /** The segment this attempt is in (by its last start line; none yet: startup) and when it entered it. */
    const where = () => {
      const last = a.segments.at(-1);
      if (!last) return { seg: 0, entered: 0 };
      const k = segs.findIndex((s) => s.name === last.name);
      if (k < 0) throw new Error(`the chaos run entered ${last.name}, a stage the reference never ran`);
      return { seg: k, entered: last.t };
    };
    const deadline = Date.now() + attemptTimeout * 1000;
    while (a.exit === null) {
      if (Date.now() > deadline) {
        say(`attempt ${n} ran past ${attemptTimeout} s: killing it (a hang)`);
        crashes.push({ attempt: n, kind: "hang", seconds: attemptTimeout, segment: segs[where().seg].name, tail: a.tail.slice(-15) });
        try { process.kill(-a.pid, "SIGKILL"); } catch { /* gone */ }
        killedByUs = true;
        await a.done;
        break;
      }
      const ev = queue[0];
      if (!ev) { await Promise.race([a.done, sleep(200)]); continue; }
      const now = (Date.now() - a.started) / 1000;
      const { seg, entered } = where();
      const due = seg > ev.seg || (seg === ev.seg && reached(a, segs[seg].name, ev, now, entered, base)) || a.doneStages.has(segs[ev.seg].name);
      if (!due) { await Promise.race([a.done, sleep(10)]); continue; }
      if (ev.kind === "orchestrator") {
        try { process.kill(-a.pid, "SIGKILL"); } catch { /* exited meanwhile */ }
        const exit = await a.done;
        if (exit.signal !== "SIGKILL") break; // it ended by itself just before: not a landed kill
        killedByUs = true;
        queue.shift();
        const existed = Boolean(runDir ?? findRun(dirs.runs));
        kills.push({ ...ev, attempt: n, landed_in: segs[seg].name, at_s: +now.toFixed(3), run_folder_existed: existed, recovered: true });
        say(`kill ${ev.index}/${events.length}: orchestrator (process group ${a.pid}) ${now.toFixed(2)} s into attempt ${n}, in ${segs[seg].name} (reference ${ev.t.toFixed(2)} s: ${segs[ev.seg].name} +${ev.offset.toFixed(2)} s)${existed ? "" : "; no run folder yet: run again"}`);
        base = { seg, dt: seg === ev.seg && ev.p === null ? ev.dt : 0 };
        break;
      }
      // A worker kill: inside a stage on the worker (or, past them all, whatever worker is left), once it is busy.
      if (!segs[seg].worker && segs.some((s, i) => i > seg && s.worker)) { await Promise.race([a.done, sleep(10)]); continue; }
      // After a worker kill, the next one waits for its replacement to move the run on: kills of one
      // batch worker.max_attempts times in a row fail the run by design, which tests nothing new.
      if (lastWorkerKill && !movedOn(a, lastWorkerKill)) { await Promise.race([a.done, sleep(10)]); continue; }
      // Only a worker that answered its handshake: one still starting up has no request in flight.
      const target = workersOf(a.pid).find((p) => a.ready.has(p.pid));
      if (!target) { await Promise.race([a.done, sleep(10)]); continue; }
      const busyBy = Date.now() + BUSY_WAIT_MS;
      while (Date.now() < busyBy && a.exit === null && procState(target.pid) !== "R") await sleep(2);
      if (a.exit !== null) break;
      const busy = procState(target.pid) === "R";
      try { process.kill(target.pid, "SIGKILL"); } catch { continue; }
      const stage = segs[where().seg].name;
      lastWorkerKill = { line: a.lines, stage, value: Math.max(-1, ...a.progress.filter((p) => p.name === stage).map((p) => p.value)), segments: a.segments.length, dones: a.doneStages.size };
      queue.shift();
      const at = (Date.now() - a.started) / 1000;
      const landed = segs[where().seg].name;
      const kill = { ...ev, attempt: n, landed_in: landed, at_s: +at.toFixed(3), worker_pid: target.pid, busy, recovered: true };
      kills.push(kill);
      firedHere.push(kill);
      say(`kill ${ev.index}/${events.length}: worker pid ${target.pid} ${at.toFixed(2)} s into attempt ${n}, in ${landed}, ${busy ? "busy (a request in flight)" : "idle"} (reference ${ev.t.toFixed(2)} s: ${segs[ev.seg].name} +${ev.offset.toFixed(2)} s)`);
    }
    const exit = await a.done;
    runDir ??= a.runDir ?? findRun(dirs.runs);
    if (exit.code === 0) {
      if (queue.length) say(`the run finished with ${queue.length} kill(s) still to fire: missed`);
      return done(exit);
    }
    if (!killedByUs) {
      const { seg } = where();
      for (const k of firedHere) k.recovered = false;
      crashes.push({ attempt: n, kind: "crash", code: exit.code, signal: exit.signal, segment: segs[seg].name, after_worker_kills: firedHere.map((k) => k.index), tail: a.tail.slice(-15) });
      say(`attempt ${n} FAILED by itself (exit ${exit.code ?? exit.signal}) in ${segs[seg].name}${firedHere.length ? ` after worker kill(s) ${firedHere.map((k) => k.index).join(", ")}` : ""}; log ${join(dirs.logs, `attempt-${String(n).padStart(2, "0")}.log`)}; its last lines:\n${a.tail.slice(-15).join("\n")}`);
      if (crashes.length > 5) return done(exit);
      const last = firedHere.filter((k) => k.seg === seg).at(-1);
      base = { seg, dt: last && last.p === null ? last.dt : 0 };
    }
  }
}

// --- comparison ----------------------------------------------------------------------------------

/** Keys that legitimately differ between two runs of one config, by file. */
const EXCLUDED = {
  "summary.json": "only status, final, i2c, metrics, failed_samples and each stage's status and counts are compared (timings, timestamps, run id, name, progress are not)",
  "state/*.json": "only status and counts are compared (started_at, finished_at, seconds, attempts, error, extra: model paths, per-worker counts, cached, build_seconds)",
  "eval/results.json": "created_at, versions (git commit and dirty flag: other commits land meanwhile), source.prompts (how many answers came from the prediction cache), source.cache.sha256 (the cache file's digest: its lines hold request_sha256, below)",
  "samples/evaluate-cache.jsonl": "request_sha256 (hashes the evaluated model's folder path, which is the run's own)",
  "world/world.json": "build_seconds and every *seconds* key",
  "everywhere": "the run folder's and the world folder's absolute paths (replaced by <run> and <world>); not compared at all: events.jsonl, worker.log, manifest.json (argv, host, time), source.json, lock, checkpoints/ (their effect is in the exported weights and the training records)",
};

function normalize(value, roots) {
  if (typeof value === "string") {
    let s = value;
    for (const [from, to] of roots) s = s.split(from).join(to);
    return s;
  }
  if (Array.isArray(value)) return value.map((v) => normalize(v, roots));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v, roots)]));
  return value;
}

function omit(value, drop) {
  if (Array.isArray(value)) return value.map((v) => omit(v, drop));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).filter(([k]) => !drop(k)).map(([k, v]) => [k, omit(v, drop)]));
  }
  return value;
}

/** The first difference between two JSON values, as a dotted path, or null. */
function diff(a, b, path = "") {
  if (a === b) return null;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object" || Array.isArray(a) !== Array.isArray(b)) {
    if (typeof a === "number" && typeof b === "number" && Number.isNaN(a) && Number.isNaN(b)) return null;
    return `${path || "."}: ${JSON.stringify(a)?.slice(0, 120)} vs ${JSON.stringify(b)?.slice(0, 120)}`;
  }
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  for (const k of keys) {
    const d = diff(a[k], b[k], Array.isArray(a) ? `${path}[${k}]` : path ? `${path}.${k}` : k);
    if (d) return d;
  }
  return null;
}

function readJson(path) {
  // Python's json writes NaN/Infinity: read them as null.
  return JSON.parse(readFileSync(path, "utf8").replace(/(?<=[:\[,]\s*)(?:NaN|-?Infinity)(?=\s*[,\]}])/g, "null"));
}

function parses(path) {
  try {
    readJson(path);
    return true;
  } catch {
    return false; // e.g. POPE's question files: JSON lines named .json
  }
}

/** A JSONL sample file: records by id, ids written twice, a torn last line. */
function readJsonl(path) {
  const records = new Map();
  const duplicates = new Set();
  const text = readFileSync(path, "utf8");
  const lines = text.split("\n");
  const torn = lines.at(-1) !== "";
  lines.forEach((line, i) => {
    if (!line || (torn && i === lines.length - 1)) return;
    const r = JSON.parse(line);
    if (records.has(r.id)) duplicates.add(r.id);
    records.set(r.id, r);
  });
  return { records, duplicates: [...duplicates], torn, bytes: text };
}

/** safetensors: header (dtype, shape) and each tensor's bytes digest, metadata aside. */
function tensors(path) {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8"));
  const data = buf.subarray(8 + n);
  const out = {};
  for (const [name, t] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    out[name] = { dtype: t.dtype, shape: t.shape, sha256: createHash("sha256").update(data.subarray(t.data_offsets[0], t.data_offsets[1])).digest("hex") };
  }
  return out;
}

function filesUnder(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p).map((f) => join(e.name, f)));
    else out.push(e.name);
  }
  return out.sort();
}

function compare(refDir, chaosDir, refWorld, chaosWorld) {
  const items = [];
  let lost = 0;
  let duplicated = 0;
  const refRoots = [[refDir, "<run>"], ...(refWorld ? [[refWorld, "<world>"]] : [])];
  const chaosRoots = [[chaosDir, "<run>"], ...(chaosWorld ? [[chaosWorld, "<world>"]] : [])];
  const check = (name, a, b, extra = {}) => {
    const d = diff(a, b);
    items.push({ name, identical: d === null, ...(d ? { difference: d } : {}), ...extra });
  };
  const bothJson = (rel, shape) => {
    const a = join(refDir, rel);
    const b = join(chaosDir, rel);
    if (!existsSync(b)) return items.push({ name: rel, identical: false, difference: "missing in the chaos run" });
    check(rel, shape(normalize(readJson(a), refRoots)), shape(normalize(readJson(b), chaosRoots)));
  };

  // final/dataset.json: byte for byte, and by id for lost / duplicated.
  const dsRef = join(refDir, "final", "dataset.json");
  const dsChaos = join(chaosDir, "final", "dataset.json");
  if (!existsSync(dsChaos)) items.push({ name: "final/dataset.json", identical: false, difference: "missing in the chaos run" });
  else {
    const a = readFileSync(dsRef);
    const b = readFileSync(dsChaos);
    const ids = (buf) => JSON.parse(buf.toString()).map((r) => r.id);
    const ra = ids(a);
    const rb = ids(b);
    const seen = new Set(rb);
    lost += ra.filter((id) => !seen.has(id)).length;
    duplicated += rb.length - seen.size;
    items.push({ name: "final/dataset.json", identical: a.equals(b), ...(a.equals(b) ? {} : { difference: "bytes differ" }), records: ra.length });
  }

  // samples/*.jsonl: records by id (order may differ after a resume), and whether the bytes agree too.
  const sampleFiles = [...new Set([...filesUnder(join(refDir, "samples")), ...filesUnder(join(chaosDir, "samples"))])].filter((f) => f.endsWith(".jsonl"));
  for (const f of sampleFiles) {
    const rel = `samples/${f}`;
    const pa = join(refDir, rel);
    const pb = join(chaosDir, rel);
    if (!existsSync(pa) || !existsSync(pb)) { items.push({ name: rel, identical: false, difference: `only in the ${existsSync(pa) ? "reference" : "chaos"} run` }); continue; }
    const a = readJsonl(pa);
    const b = readJsonl(pb);
    const drop = f === "evaluate-cache.jsonl" ? (k) => k === "request_sha256" : () => false;
    const lostIds = [...a.records.keys()].filter((id) => !b.records.has(id));
    const extraIds = [...b.records.keys()].filter((id) => !a.records.has(id));
    lost += lostIds.length;
    duplicated += b.duplicates.length;
    let d = null;
    if (lostIds.length || extraIds.length) d = `ids: ${lostIds.length} lost (${lostIds.slice(0, 3).join(", ")}), ${extraIds.length} extra (${extraIds.slice(0, 3).join(", ")})`;
    else if (b.duplicates.length) d = `ids written twice: ${b.duplicates.slice(0, 5).join(", ")}`;
    else if (b.torn) d = "a torn last line";
    else {
      for (const [id, r] of a.records) {
        const e = diff(omit(normalize(r, refRoots), drop), omit(normalize(b.records.get(id), chaosRoots), drop));
        if (e) { d = `record ${id}: ${e}`; break; }
      }
    }
    items.push({ name: rel, identical: d === null, ...(d ? { difference: d } : {}), records: a.records.size, same_bytes: a.bytes === b.bytes });
  }

  // models/*/: exported weights by tensor bytes, JSON by value, other files by bytes.
  const weightFiles = (root) => filesUnder(join(root, "models")).map((f) => `models/${f}`);
  compareFiles(items, refDir, chaosDir, [...new Set([...weightFiles(refDir), ...weightFiles(chaosDir)])], refRoots, chaosRoots, () => false);

  // metrics and stage outcomes
  bothJson("summary.json", (s) => ({ status: s.status, final: s.final, i2c: s.i2c, metrics: s.metrics, failed_samples: s.failed_samples,
    stages: Object.fromEntries(Object.entries(s.stages ?? {}).map(([k, v]) => [k, { status: v.status, counts: v.counts }])) }));
  for (const f of filesUnder(join(refDir, "state")).filter((f) => f.endsWith(".json") && !f.startsWith("."))) {
    bothJson(`state/${f}`, (s) => ({ status: s.status, counts: s.counts }));
  }
  if (existsSync(join(refDir, "eval", "results.json"))) {
    bothJson("eval/results.json", (r) => {
      const { created_at, versions, ...rest } = r;
      const { prompts, cache, ...source } = rest.source ?? {};
      return { ...rest, source: { ...source, cache: cache && { path: cache.path, bytes: cache.bytes } } };
    });
  }
  for (const f of filesUnder(join(refDir, "grade"))) {
    if (f.endsWith(".json")) bothJson(`grade/${f}`, (g) => g);
  }

  // The private worlds, built once without kills and once under them.
  if (refWorld && chaosWorld && refWorld !== chaosWorld) {
    const files = [...new Set([...filesUnder(refWorld), ...filesUnder(chaosWorld)])];
    compareFiles(items, refWorld, chaosWorld, files, refRoots, chaosRoots, (k) => /seconds/.test(k), "world/");
  }
  return { items, lost, duplicated };
}

function compareFiles(items, dirA, dirB, files, rootsA, rootsB, drop, label = "") {
  for (const rel of files) {
    const a = join(dirA, rel);
    const b = join(dirB, rel);
    const name = `${label}${rel}`;
    if (!existsSync(a) || !existsSync(b)) { items.push({ name, identical: false, difference: `only in the ${existsSync(a) ? "reference" : "chaos"} run` }); continue; }
    if (rel.endsWith(".safetensors")) {
      const d = diff(tensors(a), tensors(b));
      items.push({ name, identical: d === null, ...(d ? { difference: d } : {}) });
    } else if (rel.endsWith(".json") && parses(a)) {
      const d = diff(omit(normalize(readJson(a), rootsA), drop), omit(normalize(readJson(b), rootsB), drop));
      items.push({ name, identical: d === null, ...(d ? { difference: d } : {}) });
    } else {
      const same = readFileSync(a).equals(readFileSync(b));
      items.push({ name, identical: same, ...(same ? {} : { difference: "bytes differ" }) });
    }
  }
}

/** The uninterrupted run; its timeline is saved to <work>/reference.json for `--reference`. */
async function runReference(o, dirs, envFor, work) {
  say(`reference run${o.sharedCache ? "" : ` (private builtin cache ${dirs.cache})`}…`);
  const ref = attempt(["run", dirs.config, ...o.overrides, `runs_dir=${dirs.runs}`, "--name", "reference"], envFor(dirs), join(dirs.logs, "run.log"));
  const exit = await ref.done;
  if (exit.code !== 0) {
    say(`the reference run failed (exit ${exit.code ?? exit.signal}); its last lines:\n${ref.tail.join("\n")}`);
    process.exit(1);
  }
  const saved = { refRun: findRun(dirs.runs), refSeconds: exit.seconds, segs: timeline(ref) };
  writeFileSync(join(work, "reference.json"), `${JSON.stringify(saved, null, 2)}\n`);
  return saved;
}

/** A kept reference (`--reference WORK` of an earlier `--keep` run): its run folder and timeline, not run again. */
function readReference(work) {
  const file = join(work, "reference.json");
  if (!existsSync(file)) usage(`--reference ${work}: no reference.json there (a work folder kept by --keep holds one)`);
  const saved = readJson(file);
  // A reference.json without progress points: the world build's lines from the run's events.jsonl.
  const pre = saved.segs.find((s) => s.name === "pretrain");
  if (pre && !pre.progress) {
    const events = readFileSync(join(saved.refRun, "events.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
    const start = events.find((e) => e.type === "stage_start" && e.stage === "pretrain");
    pre.progress = events.filter((e) => e.type === "progress" && e.stage === "pretrain" && e.message)
      .map((e) => ({ p: progressOf(`pretrain: ${e.message}`), t: pre.start + (Date.parse(e.t) - Date.parse(start.t)) / 1000 }))
      .filter((x) => x.p && x.t < pre.end).map((x) => ({ value: x.p.value, t: x.t }));
  }
  return saved;
}

// --- main ------------------------------------------------------------------------------------

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const config = resolve(o.config);
  if (!existsSync(config)) usage(`no config ${o.config}`);
  const work = o.work ?? mkdtempSync(join(tmpdir(), "c3l-chaos-"));
  mkdirSync(work, { recursive: true });
  say(`seed ${o.seed} (replay: --seed ${o.seed}); ${o.orchestratorKills} orchestrator + ${o.workerKills} worker kills on ${relative(ROOT, config) || config}${o.overrides.length ? ` ${o.overrides.join(" ")}` : ""}; work folder ${work}`);
  const dir = (name) => {
    const d = join(work, name);
    mkdirSync(join(d, "logs"), { recursive: true });
    // The config is copied, so that no edit of the original during the run makes resume refuse.
    const copy = join(d, "config.yaml");
    writeFileSync(copy, readFileSync(config));
    return { root: d, runs: join(d, "runs"), logs: join(d, "logs"), config: copy, cache: o.sharedCache ? null : join(d, "builtin") };
  };
  const chaosDirs = dir("chaos");
  const envFor = (d) => (d.cache ? { C3L_BUILTIN_DIR: d.cache } : {});
  const { refRun, refSeconds, segs } = o.reference ? readReference(o.reference) : await runReference(o, dir("reference"), envFor, work);
  say(`reference: ${refSeconds.toFixed(1)} s; timeline ${segs.map((s) => `${s.name} ${s.start.toFixed(1)}-${s.end.toFixed(1)}`).join(", ")}`);
  const events = schedule(segs, o);
  say(`kill points (reference seconds): ${events.map((e) => `${e.kind[0]}${e.t.toFixed(2)}`).join(" ")}`);

  const attemptTimeout = Math.max(120, 4 * refSeconds);
  const chaos = await chaosRun(o, segs, events, chaosDirs, envFor(chaosDirs), attemptTimeout);
  const worldOf = (runDir) => {
    try { return readJson(join(runDir, "state", "pretrain.json")).extra.world_dir ?? null; } catch { return null; }
  };
  const result = chaos.runDir && chaos.finalExit.code === 0
    ? compare(refRun, chaos.runDir, worldOf(refRun), worldOf(chaos.runDir))
    : { items: [{ name: "run", identical: false, difference: "the chaos run did not finish" }], lost: 0, duplicated: 0 };

  const landed = chaos.kills.length;
  const recovered = chaos.kills.filter((k) => k.recovered).length;
  const identical = result.items.filter((i) => i.identical).length;
  const counts = {
    kills: landed, planned: events.length,
    orchestrator_kills: chaos.kills.filter((k) => k.kind === "orchestrator").length,
    worker_kills: chaos.kills.filter((k) => k.kind === "worker").length,
    worker_kills_mid_request: chaos.kills.filter((k) => k.kind === "worker" && k.busy).length,
    resumed: chaos.resumed, reruns: chaos.reruns, recovered, crashes: chaos.crashes.length, attempts: chaos.attempts.length,
    identical, compared: result.items.length, lost: result.lost, duplicated: result.duplicated,
  };
  const ok = landed === events.length && chaos.crashes.length === 0 && identical === result.items.length && result.lost === 0 && result.duplicated === 0;
  for (const i of result.items.filter((x) => !x.identical)) say(`DIFFERS ${i.name}: ${i.difference}`);
  const report = {
    ok, seed: o.seed, config, overrides: o.overrides, counts,
    reference: { run_dir: refRun, seconds: refSeconds, timeline: segs },
    chaos: { run_dir: chaos.runDir, seconds: chaos.attempts.reduce((n, a) => n + (a.exit?.seconds ?? 0), 0), attempts: chaos.attempts.length, missed: chaos.missed },
    kills: chaos.kills, crashes: chaos.crashes, compared: result.items, excluded: EXCLUDED, work,
  };
  writeFileSync(join(work, "report.json"), `${JSON.stringify(report, null, 2)}\n`);
  if (o.report) writeFileSync(o.report, `${JSON.stringify(report, null, 2)}\n`);
  say(`chaos run: ${report.chaos.seconds.toFixed(1)} s over ${chaos.attempts.length} attempts; report ${join(work, "report.json")}`);
  if (!o.keep && ok) rmSync(work, { recursive: true, force: true });
  else say(`run folders kept in ${work}`);
  process.stdout.write(`kills: ${landed}/${events.length} (${counts.orchestrator_kills} orchestrator, ${counts.worker_kills} worker, ${counts.worker_kills_mid_request} mid-request), resumed: ${counts.resumed}, recovered: ${recovered}/${landed}, crashes: ${counts.crashes}, identical: ${identical}/${result.items.length}, lost: ${result.lost}, duplicated: ${result.duplicated} — ${ok ? "PASS" : "FAIL"} (seed ${o.seed})\n`);
  process.exit(ok ? 0 : 1);
}

main().catch((err) => {
  say(`error: ${err.stack ?? err}`);
  process.exit(1);
});
