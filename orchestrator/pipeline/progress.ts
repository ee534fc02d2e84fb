// Progress for long stages: a redrawn bar on a terminal, plain periodic lines otherwise (CI logs);
// the same numbers go to the event log through `onUpdate`.

export interface ProgressUpdate { stage: string; done: number; total: number; rate: number; eta_s: number | null }

export class Progress {
  private done = 0;
  private skipped = 0;
  private readonly started = Date.now();
  private lastPrint = 0;

  constructor(
    private readonly stage: string,
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly onUpdate: (u: ProgressUpdate) => void = () => {},
    private readonly plainEveryMs = 10_000,
  ) {}

  /** Items finished before this process started (a resumed stage) count as done, not as throughput. */
  skip(n: number): void {
    this.done += n;
    this.skipped += n;
  }

  advance(n: number): void {
    this.done += n;
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
    const eta = rate > 0 ? (this.total - this.done) / rate : null;
    return { stage: this.stage, done: this.done, total: this.total, rate, eta_s: eta };
  }

  private line(u: ProgressUpdate): string {
    const width = 24;
    const filled = this.total > 0 ? Math.round((u.done / this.total) * width) : width;
    const eta = u.eta_s === null ? "?" : `${Math.round(u.eta_s)}s`;
    return `${u.stage} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${u.done}/${u.total} ${u.rate.toFixed(1)}/s ETA ${eta}`;
  }
}
