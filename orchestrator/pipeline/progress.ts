// Progress for long stages: a redrawn bar on a terminal, plain periodic lines otherwise (CI logs);
// the same numbers go to the event log through `onUpdate`. With several workers, each one's items
// and items/s are shown beside the total. A stage that rewinds (training replays from its last
// checkpoint) moves the count back with `rewind`; the bar draws any count, out of range or not.

export interface WorkerRate { done: number; rate: number }
export interface ProgressUpdate { stage: string; done: number; total: number; rate: number; eta_s: number | null; workers?: Record<string, WorkerRate> }

export class Progress {
  private done = 0;
  private skipped = 0;
  private readonly started = Date.now();
  private lastPrint = 0;
  private readonly byWorker = new Map<string, number>();

  constructor(
    private readonly stage: string,
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly onUpdate: (u: ProgressUpdate) => void = () => {},
    private readonly plainEveryMs = 10_000,
    /** Worker ids to show a rate for; shown only when there are several. */
    private readonly workers: readonly string[] = [],
  ) {
    if (workers.length > 1) for (const id of workers) this.byWorker.set(id, 0);
  }

  /** Items finished before this process started (a resumed stage) count as done, not as throughput. */
  skip(n: number): void {
    this.done += n;
    this.skipped += n;
  }

  /** The stage went back to item `n` (a restored checkpoint): what follows is done again, not counted twice. */
  rewind(n: number): void {
    if (n >= this.done) return;
    this.done = Math.max(0, n);
    this.skipped = Math.min(this.skipped, this.done);
  }

  advance(n: number, worker?: string): void {
    this.done += n;
    if (worker !== undefined && this.byWorker.has(worker)) this.byWorker.set(worker, this.byWorker.get(worker)! + n);
    const now = Date.now();
    const update = this.snapshot(now);
    this.onUpdate(update);
    if (this.stream.isTTY) {
      this.stream.write(`\r${this.line(update)}`.padEnd(100) + (this.done >= this.total ? "\n" : ""));
    } else if (now - this.lastPrint >= this.plainEveryMs || this.done >= this.total) {
      this.lastPrint = now;
      this.stream.write(`${this.line(update)}\n`);
    }
  }

  private snapshot(now: number): ProgressUpdate {
    const seconds = Math.max((now - this.started) / 1000, 1e-3);
    const rate = (this.done - this.skipped) / seconds;
    const eta = rate > 0 ? Math.max(0, this.total - this.done) / rate : null;
    const update: ProgressUpdate = { stage: this.stage, done: this.done, total: this.total, rate, eta_s: eta };
    if (this.byWorker.size > 0) {
      update.workers = Object.fromEntries([...this.byWorker].map(([id, done]) => [id, { done, rate: done / seconds }]));
    }
    return update;
  }

  private line(u: ProgressUpdate): string {
    const width = 24;
    const share = this.total > 0 ? u.done / this.total : 1;
    const filled = Number.isFinite(share) ? Math.min(width, Math.max(0, Math.round(share * width))) : 0;
    const eta = u.eta_s === null ? "?" : `${Math.round(u.eta_s)}s`;
    const workers = u.workers ? ` (${Object.entries(u.workers).map(([id, w]) => `${id} ${w.rate.toFixed(1)}/s`).join(", ")})` : "";
    return `${u.stage} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${u.done}/${u.total} ${u.rate.toFixed(1)}/s ETA ${eta}${workers}`;
  }
}
