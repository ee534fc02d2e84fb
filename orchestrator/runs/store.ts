// The runs in a folder, newest first, each read from its summary; damaged runs are listed, not hidden.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { RunArgumentError } from "./errors.js";
import { getDotted } from "./flatten.js";
import { isLockLive, readLock } from "./lock.js";
import { parseRunId } from "./run-id.js";
import { runIds } from "./run-folder.js";
import { sortStages } from "./stage-names.js";
import { parseSummary, type RunSummary } from "./summary.js";

/**
 * `stopped`: the summary says running but no live process holds the run's lock (it was killed);
 * `unknown`: summary.json is missing or damaged (see `problem`).
 */
export type ListedStatus = "running" | "done" | "failed" | "stopped" | "unknown";

export interface RunListing {
  id: string;
  dir: string;
  name: string | null;
  status: ListedStatus;
  stage: string | null;
  progress: { stage: string; done: number; total: number } | null;
  created_at: string | null;
  final_size: number | null;
  /** mean I2C of the last scoring stage (in pipeline order) that has one, and that stage */
  i2c_mean: number | null;
  i2c_stage: string | null;
  summary: RunSummary | null;
  /** why the summary could not be used, when status is unknown */
  problem: string | null;
}

/** Every run in `runsDir`, newest first (by created_at to the millisecond, then id); a missing folder lists none. */
export function listRuns(runsDir: string): RunListing[] {
  const root = resolve(runsDir);
  return runIds(root)
    .map((id) => listing(root, id))
    .sort((a, b) => (b.created_at ?? "").localeCompare(a.created_at ?? "") || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

function listing(root: string, id: string): RunListing {
  const dir = join(root, id);
  let summary: RunSummary | null = null;
  let problem: string | null = null;
  const path = join(dir, "summary.json");
  if (!existsSync(path)) problem = "summary.json is missing";
  else {
    try {
      summary = parseSummary(JSON.parse(readFileSync(path, "utf8")), "summary.json");
    } catch (err) {
      problem = `summary.json is damaged: ${(err as Error).message}`;
    }
  }
  const i2cStage = summary ? (sortStages(Object.keys(summary.i2c)).filter((s) => typeof summary?.i2c[s]?.mean === "number").at(-1) ?? null) : null;
  let status: ListedStatus = summary ? summary.status : "unknown";
  if (status === "running" && !isLockLive(readLock(dir))) status = "stopped";
  return {
    id,
    dir,
    name: summary?.name ?? parseRunId(id)?.name ?? null,
    status,
    stage: summary?.stage ?? null,
    progress: summary?.progress ?? null,
    created_at: summary?.created_at || (parseRunId(id)?.created.toISOString() ?? statSync(dir).mtime.toISOString()),
    final_size: summary?.final?.size ?? null,
    i2c_mean: i2cStage ? (summary?.i2c[i2cStage]?.mean ?? null) : null,
    i2c_stage: i2cStage,
    summary,
    problem,
  };
}

export interface RunFilter {
  expr: string;
  key: string;
  op: "=" | "!=" | "~" | "<" | "<=" | ">" | ">=";
  value: string;
}

const FILTER = /^([A-Za-z0-9_][A-Za-z0-9_.-]*?)(!=|<=|>=|=|~|<|>)(.*)$/;
const FIELDS = ["id", "name", "status", "stage", "created_at", "final_size", "i2c_mean", "i2c_stage"];

/**
 * `KEY=VALUE` (equal; numbers compare as numbers), `KEY!=VALUE`, `KEY~TEXT` (contains, any case),
 * `KEY<N`, `KEY<=N`, `KEY>N`, `KEY>=N`. KEY: id, name, status, stage, created_at, final_size,
 * i2c_mean, i2c_stage, `config.<dotted key>` (config.json) or `summary.<dotted key>` (summary.json).
 */
export function parseRunFilter(expr: string): RunFilter {
  const m = FILTER.exec(expr);
  if (!m) throw new RunArgumentError(`--filter ${JSON.stringify(expr)}: expected KEY=VALUE, KEY!=VALUE, KEY~TEXT or KEY<N (also <=, >, >=)`);
  const [, key, op, value] = m as unknown as [string, string, RunFilter["op"], string];
  const root = key.split(".")[0] as string;
  if (!FIELDS.includes(key) && !((root === "config" || root === "summary") && key.includes("."))) {
    throw new RunArgumentError(`--filter ${JSON.stringify(expr)}: unknown key "${key}"; use one of ${FIELDS.join(", ")}, config.<key> or summary.<key>`);
  }
  if (["<", "<=", ">", ">="].includes(op) && !Number.isFinite(Number(value))) {
    throw new RunArgumentError(`--filter ${JSON.stringify(expr)}: ${op} needs a number, got ${JSON.stringify(value)}`);
  }
  return { expr, key, op, value };
}

/** The runs for which every filter holds; config.json is read only for config.* filters. */
export function filterRuns(runs: RunListing[], filters: RunFilter[]): RunListing[] {
  if (filters.length === 0) return runs;
  return runs.filter((run) => {
    let config: unknown;
    let configRead = false;
    return filters.every((f) => {
      let actual: unknown;
      if (f.key.startsWith("config.")) {
        if (!configRead) {
          configRead = true;
          try {
            config = JSON.parse(readFileSync(join(run.dir, "config.json"), "utf8"));
          } catch {
            config = undefined;
          }
        }
        actual = getDotted(config, f.key.slice("config.".length));
      } else if (f.key.startsWith("summary.")) {
        actual = getDotted(run.summary, f.key.slice("summary.".length));
      } else {
        actual = run[f.key as keyof RunListing];
      }
      return matches(actual, f);
    });
  });
}

function matches(actual: unknown, f: RunFilter): boolean {
  if (actual === undefined) return f.op === "!=";
  const text = actual !== null && typeof actual === "object" ? JSON.stringify(actual) : String(actual);
  const num = typeof actual === "number" ? actual : Number.NaN;
  const want = Number(f.value);
  const bothNumbers = Number.isFinite(num) && f.value.trim() !== "" && Number.isFinite(want);
  switch (f.op) {
    case "=":
      return bothNumbers ? num === want : text === f.value;
    case "!=":
      return bothNumbers ? num !== want : text !== f.value;
    case "~":
      return text.toLowerCase().includes(f.value.toLowerCase());
    case "<":
      return Number.isFinite(num) && num < want;
    case "<=":
      return Number.isFinite(num) && num <= want;
    case ">":
      return Number.isFinite(num) && num > want;
    case ">=":
      return Number.isFinite(num) && num >= want;
  }
}
