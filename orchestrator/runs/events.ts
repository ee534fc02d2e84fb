// events.jsonl: one JSON object per line {t, type, stage?, ...fields}; progress and metrics for people and tools.
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { writeAll } from "./atomic.js";
import { repairTornTail, scanJsonl, type TornLine } from "./jsonl.js";

export type RunEventType = "stage_start" | "progress" | "stage_done" | "metric" | "warning" | "error" | "stopped" | "run_done";

export interface RunEvent {
  type: RunEventType;
  stage?: string;
  [field: string]: unknown;
}

/** An event as stored: `t` is the ISO time it was appended. */
export type LoggedEvent = RunEvent & { t: string };

export interface EventReadResult {
  events: LoggedEvent[];
  tornLine: boolean;
  /** lines that are not JSON objects with a string `type` (skipped: the log is for reading, not resuming) */
  skipped: number;
}

/**
 * Appends events without fsync: a killed process loses nothing it wrote (the kernel holds it);
 * only a machine crash can lose the last events, and they are not needed to resume.
 */
export class EventLog {
  private fd: number | null = null;
  /** the torn last line cut away when the log was first appended to in this process, if any */
  recovered: TornLine | null = null;

  constructor(readonly path: string, private readonly now: () => Date = () => new Date()) {}

  append(event: RunEvent): LoggedEvent {
    if (this.fd === null) {
      this.recovered = repairTornTail(this.path);
      this.fd = openSync(this.path, "a", 0o644);
    }
    const logged = { t: this.now().toISOString(), ...event } as LoggedEvent;
    writeAll(this.fd, Buffer.from(`${JSON.stringify(logged, keepNonFinite)}\n`, "utf8"));
    return logged;
  }

  read(): EventReadResult {
    const events: LoggedEvent[] = [];
    let skipped = 0;
    if (!existsSync(this.path)) return { events, tornLine: false, skipped };
    const scan = scanJsonl(readFileSync(this.path), (value) => {
      const ok = typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string";
      if (ok) events.push(value as LoggedEvent);
      else skipped += 1;
    });
    return { events, tornLine: scan.torn !== null, skipped: skipped + scan.badLines.length };
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** A log must not fail the run: NaN and ±Infinity are written as the strings "NaN", "Infinity", "-Infinity". */
function keepNonFinite(_key: string, v: unknown): unknown {
  return typeof v === "number" && !Number.isFinite(v) ? String(v) : v;
}
