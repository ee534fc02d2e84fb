// A run folder: creating one (atomically, under a fresh id), finding one by id/prefix/name/path, and its files.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, isAbsolute, join, resolve, sep } from "node:path";
import { fsyncDir, writeFileAtomic, writeJsonAtomic } from "./atomic.js";
import { RunArgumentError, RunStoreError } from "./errors.js";
import { EventLog } from "./events.js";
import { SampleFile, type SampleReadResult, type SampleRecord } from "./jsonl.js";
import { acquireLock } from "./lock.js";
import { checkOutputs, fingerprintOutputs } from "./outputs.js";
import { readManifest, type Manifest } from "./manifest.js";
import { newRunId, parseRunId } from "./run-id.js";
import { checkStageName, sortStages } from "./stage-names.js";
import { readStageState, readStageStates, statePath, writeStageState, type StageState } from "./state.js";
import { readSummary, writeSummary, type RunSummary } from "./summary.js";

/** Where runs go when no folder is named (relative to the current directory), as the config's runs_dir default. */
export const DEFAULT_RUNS_DIR = "runs";

export interface RunPaths {
  config_yaml: string;
  config_json: string;
  manifest: string;
  summary: string;
  events: string;
  worker_log: string;
  lock: string;
  state_dir: string;
  samples_dir: string;
  checkpoints_dir: string;
  final_dir: string;
  /** final/dataset.json: the LLaVA conversation JSON */
  final_dataset: string;
}

/** The summary fields a stage may set; `stages` is always rebuilt from state/*.json, `i2c` and `metrics` merge by key. */
export type SummaryPatch = Partial<Pick<RunSummary, "status" | "stage" | "progress" | "i2c" | "final" | "metrics" | "failed_samples">>;

export class RunFolder {
  readonly id: string;
  /** the label given at creation (sanitised), read from the id */
  readonly name: string | null;
  readonly paths: RunPaths;
  readonly events: EventLog;
  private release: (() => void) | null = null;

  constructor(readonly dir: string) {
    this.dir = resolve(dir);
    this.id = basename(this.dir);
    this.name = parseRunId(this.id)?.name ?? null;
    const p = (...parts: string[]) => join(this.dir, ...parts);
    this.paths = {
      config_yaml: p("config.yaml"),
      config_json: p("config.json"),
      manifest: p("manifest.json"),
      summary: p("summary.json"),
      events: p("events.jsonl"),
      worker_log: p("worker.log"),
      lock: p("lock"),
      state_dir: p("state"),
      samples_dir: p("samples"),
      checkpoints_dir: p("checkpoints"),
      final_dir: p("final"),
      final_dataset: p("final", "dataset.json"),
    };
    this.events = new EventLog(this.paths.events);
  }

  statePath(stage: string): string {
    return statePath(this.dir, stage);
  }

  samplesPath(stage: string): string {
    return join(this.paths.samples_dir, `${checkStageName(stage)}.jsonl`);
  }

  /** checkpoints/<stage>/ (the worker writes step-NNNNNNNN/ folders inside) */
  checkpointsDir(stage: string): string {
    return join(this.paths.checkpoints_dir, checkStageName(stage));
  }

  /** config.json: the resolved config the run was created with */
  config<T = unknown>(): T {
    try {
      return JSON.parse(readFileSync(this.paths.config_json, "utf8")) as T;
    } catch (err) {
      throw new RunStoreError(`${this.paths.config_json}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "missing" : (err as Error).message}`);
    }
  }

  manifest(): Manifest {
    return readManifest(this.paths.manifest);
  }

  // --- stage state -------------------------------------------------------------------------

  readState(stage: string): StageState | null {
    return readStageState(this.dir, stage);
  }

  /** every stage that has a state file, by name */
  states(): Record<string, StageState> {
    return readStageStates(this.dir);
  }

  writeState(state: StageState): void {
    writeStageState(this.dir, state);
  }

  /** Marks a stage running (a new attempt when it ran before); refuses a stage that is done. */
  startStage(stage: string, extra: Record<string, unknown> = {}): StageState {
    const prev = this.readState(stage);
    if (prev?.status === "done") throw new RunStoreError(`${this.id}: stage ${stage} is already done`);
    const state: StageState = {
      stage,
      status: "running",
      started_at: new Date().toISOString(),
      finished_at: null,
      seconds: null,
      attempts: (prev?.attempts ?? 0) + 1,
      counts: prev?.counts ?? {},
      extra: { ...prev?.extra, ...extra },
      error: null,
    };
    this.writeState(state);
    return state;
  }

  /**
   * Marks a running stage done: call it after the stage's outputs are written, so `done` is the last
   * word. `outputs` (paths relative to the run folder; folders end in "/") are fingerprinted into the
   * state, and `checkOutputs` compares them on resume.
   */
  finishStage(stage: string, result: { counts?: Record<string, number>; extra?: Record<string, unknown>; outputs?: readonly string[] } = {}): StageState {
    return this.endStage(stage, "done", null, result);
  }

  /** One line per output of a done stage that is missing or differs from what the stage left. */
  checkOutputs(stage: string): string[] {
    const state = this.readState(stage);
    return state?.outputs ? checkOutputs(this.dir, state.outputs) : [];
  }

  failStage(stage: string, error: string, result: { counts?: Record<string, number>; extra?: Record<string, unknown> } = {}): StageState {
    return this.endStage(stage, "failed", error, result);
  }

  private endStage(stage: string, status: "done" | "failed", error: string | null, result: { counts?: Record<string, number>; extra?: Record<string, unknown>; outputs?: readonly string[] }): StageState {
    const prev = this.readState(stage);
    if (prev?.status !== "running") throw new RunStoreError(`${this.id}: stage ${stage} is ${prev ? prev.status : "not started"}, not running`);
    const finished = new Date();
    const state: StageState = {
      ...prev,
      status,
      finished_at: finished.toISOString(),
      seconds: Math.max(0, (finished.getTime() - Date.parse(prev.started_at)) / 1000),
      counts: { ...prev.counts, ...result.counts },
      extra: { ...prev.extra, ...result.extra },
      error,
      ...(status === "done" && result.outputs ? { outputs: fingerprintOutputs(this.dir, result.outputs) } : {}),
    };
    this.writeState(state);
    return state;
  }

  // --- samples -------------------------------------------------------------------------------

  /** samples/<stage>.jsonl opened for appending; a torn last line is cut first and reported in `.recovered`. */
  openSamples<T extends SampleRecord = SampleRecord>(stage: string): SampleFile<T> {
    mkdirSync(this.paths.samples_dir, { recursive: true });
    return SampleFile.open<T>(this.samplesPath(stage));
  }

  /** samples/<stage>.jsonl read without changing it (missing: empty). */
  readSamples<T extends SampleRecord = SampleRecord>(stage: string): SampleReadResult<T> {
    return SampleFile.read<T>(this.samplesPath(stage));
  }

  // --- summary -------------------------------------------------------------------------------

  /** summary.json; throws RunStoreError when missing or damaged */
  summary(): RunSummary {
    return readSummary(this.dir);
  }

  /**
   * Rewrites summary.json atomically: `stages` from state/*.json; `stage` from the patch, else the
   * running stage, else the last stage with a state; `i2c` and `metrics` merged by key; other
   * patched fields replaced.
   */
  updateSummary(patch: SummaryPatch = {}): RunSummary {
    let current: RunSummary;
    try {
      current = this.summary();
    } catch {
      current = initialSummary(this.id, this.name, new Date());
    }
    const states = this.states();
    const order = sortStages(Object.keys(states));
    const running = order.filter((s) => states[s]?.status === "running");
    const next: RunSummary = {
      ...current,
      ...patch,
      run_id: this.id,
      name: this.name,
      stage: "stage" in patch ? (patch.stage ?? null) : (running.at(-1) ?? order.at(-1) ?? current.stage),
      updated_at: new Date().toISOString(),
      stages: Object.fromEntries(order.map((s) => {
        const st = states[s] as StageState;
        return [s, { status: st.status, seconds: st.seconds, counts: st.counts }];
      })),
      i2c: { ...current.i2c, ...patch.i2c },
      metrics: { ...current.metrics, ...patch.metrics },
    };
    writeSummary(this.dir, next);
    return next;
  }

  // --- lock ----------------------------------------------------------------------------------

  /** Takes the run's lock (see lock.ts); throws RunLockedError while another live process holds it. */
  lock(): void {
    this.release ??= acquireLock(this.dir);
  }

  unlock(): void {
    this.release?.();
    this.release = null;
  }
}

export function initialSummary(id: string, name: string | null, now: Date): RunSummary {
  const t = now.toISOString();
  return { run_id: id, name, status: "running", stage: null, created_at: t, updated_at: t, progress: null, stages: {}, i2c: {}, final: null, metrics: {}, failed_samples: 0 };
}

export interface CreateRunOptions {
  /** a label; sanitised to [a-z0-9_-] and appended to the id */
  name?: string | null;
  /** the resolved config as YAML text (config.yaml) */
  configYaml: string;
  /** the same config as a value (config.json) */
  configJson: unknown;
  manifest: Manifest;
  now?: Date;
  /** take the run's lock for this process (default true) */
  lock?: boolean;
}

/**
 * Makes runsDir/<new id>/ with config.yaml, config.json, manifest.json, summary.json (running) and
 * empty state/, samples/, checkpoints/, final/. The folder is assembled under a hidden name and
 * renamed into place, so a run folder is never half made.
 */
export function createRun(runsDir: string, options: CreateRunOptions): RunFolder {
  const root = resolve(runsDir);
  try {
    return createRunIn(root, options);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!code || !["EROFS", "EACCES", "EPERM", "ENOENT", "ENOTDIR", "ENOSPC", "EDQUOT", "EEXIST"].includes(code)) throw err;
    throw new RunArgumentError(
      `runs_dir ${root}: cannot create a run folder there (${code}: ${(err as Error).message.replace(/^[A-Z]+: /, "")}); ` +
        "point runs_dir at a writable folder (the config key, or runs_dir=DIR on the command line)",
    );
  }
}

function createRunIn(root: string, options: CreateRunOptions): RunFolder {
  mkdirSync(root, { recursive: true });
  const now = options.now ?? new Date();
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const id = newRunId({ name: options.name, now, salt: options.configYaml });
    const dir = join(root, id);
    const staging = join(root, `.creating-${id}`);
    if (existsSync(dir)) continue;
    try {
      mkdirSync(staging);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") continue;
      throw err;
    }
    try {
      for (const sub of ["state", "samples", "checkpoints", "final"]) mkdirSync(join(staging, sub));
      writeFileAtomic(join(staging, "config.yaml"), options.configYaml.endsWith("\n") ? options.configYaml : `${options.configYaml}\n`);
      writeJsonAtomic(join(staging, "config.json"), options.configJson);
      writeJsonAtomic(join(staging, "manifest.json"), options.manifest);
      writeSummary(staging, initialSummary(id, parseRunId(id)?.name ?? null, now));
      renameSync(staging, dir);
    } catch (err) {
      rmSync(staging, { recursive: true, force: true });
      if (["EEXIST", "ENOTEMPTY"].includes((err as NodeJS.ErrnoException).code ?? "")) continue;
      throw err;
    }
    fsyncDir(root);
    const run = new RunFolder(dir);
    if (options.lock ?? true) run.lock();
    return run;
  }
  throw new RunStoreError(`could not create a run folder with a fresh id in ${root}`);
}

/** Whether `dir` looks like a run folder (it holds summary.json, config.json or manifest.json). */
export function isRunDir(dir: string): boolean {
  try {
    if (!statSync(dir).isDirectory()) return false;
  } catch {
    return false;
  }
  return ["summary.json", "config.json", "manifest.json"].some((f) => existsSync(join(dir, f)));
}

/** The run folders' ids in `runsDir` (hidden entries skipped), sorted; a missing folder has none. */
export function runIds(runsDir: string): string[] {
  if (!existsSync(runsDir)) return [];
  return readdirSync(runsDir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith(".") && (e.isDirectory() || e.isSymbolicLink()) && isRunDir(join(runsDir, e.name)))
    .map((e) => e.name)
    .sort();
}

/**
 * Finds a run: a path (anything with a "/" or an absolute path), else in `runsDir` (default
 * ./runs) a full id, a unique id prefix, a unique hex part (4–6 digits) or a unique name; last, a
 * run folder of that name in the current directory. Throws RunArgumentError (not found /
 * ambiguous, listing the candidates).
 */
export function openRun(runsDir: string | null | undefined, ref: string): RunFolder {
  const root = resolve(runsDir ?? DEFAULT_RUNS_DIR);
  if (!ref) throw new RunArgumentError("name a run: an id, a unique id prefix, a name, or a path");
  if (isAbsolute(ref) || ref.includes("/") || ref.includes(sep) || ref === "." || ref === "..") {
    const dir = resolve(ref);
    if (!isRunDir(dir)) throw new RunArgumentError(`${ref}: not a run folder (no summary.json, config.json or manifest.json in ${dir})`);
    return new RunFolder(dir);
  }
  const ids = runIds(root);
  if (ids.includes(ref)) return new RunFolder(join(root, ref));
  const hex = /^[0-9a-f]{4,6}$/.test(ref);
  const matches = ids.filter((id) => {
    const parts = parseRunId(id);
    return id.startsWith(ref) || parts?.name === ref || (hex && parts?.hex.startsWith(ref));
  });
  if (matches.length === 1) return new RunFolder(join(root, matches[0] as string));
  if (matches.length > 1) {
    const newest = [...matches].reverse();
    throw new RunArgumentError(
      `"${ref}" matches ${matches.length} runs in ${root}:\n${newest.slice(0, 10).map((id) => `  ${id}`).join("\n")}${newest.length > 10 ? "\n  …" : ""}\nname one by more of its id`,
    );
  }
  if (isRunDir(resolve(ref))) return new RunFolder(resolve(ref));
  const hint = !existsSync(root)
    ? " (that folder does not exist; --runs-dir names another)"
    : ids.length
      ? ` (${ids.length} run${ids.length > 1 ? "s" : ""}; newest: ${[...ids].reverse().slice(0, 3).join(", ")})`
      : " (it holds no runs)";
  throw new RunArgumentError(`no run "${ref}" in ${root}${hint}; name a run by its id, a unique id prefix, its name, or its path`);
}
