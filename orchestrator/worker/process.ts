// One worker process: spawned with execa, stdout+stderr appended to a log file, exit observed.
import { execa, type ResultPromise } from "execa";
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { dirname } from "node:path";

export interface ExitInfo { exitCode: number | null; signal: string | null }

const TAIL_LINES = 30;

export class WorkerProcess {
  readonly exited: Promise<ExitInfo>;
  exit: ExitInfo | null = null;
  private readonly tail: string[] = [];
  private readonly log: WriteStream;
  private readonly child: ResultPromise;

  constructor(command: string[], env: Record<string, string>, readonly logFile: string) {
    mkdirSync(dirname(logFile), { recursive: true });
    this.log = createWriteStream(logFile, { flags: "a" });
    this.log.write(`\n=== ${new Date().toISOString()} starting: ${command.join(" ")}\n`);
    const [file, ...args] = command as [string, ...string[]];
    // buffer: false keeps a long-lived worker's output out of memory; cleanup kills it when we exit.
    this.child = execa(file, args, { env, extendEnv: true, buffer: false, cleanup: true, reject: false, stdin: "ignore" });
    this.child.stdout?.on("data", (chunk: Buffer) => this.log.write(chunk));
    this.child.stderr?.on("data", (chunk: Buffer) => this.record(chunk));
    this.exited = this.child.then((result) => {
      this.exit = { exitCode: result.exitCode ?? null, signal: result.signal ?? null };
      this.log.write(`=== worker exited: ${JSON.stringify(this.exit)}\n`);
      return this.exit;
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  stderrTail(): string {
    return this.tail.join("\n");
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    if (!this.exit) this.child.kill(signal);
  }

  closeLog(): Promise<void> {
    return new Promise((done) => this.log.end(done));
  }

  private record(chunk: Buffer): void {
    this.log.write(chunk);
    this.tail.push(...chunk.toString("utf8").split("\n").filter((line) => line.length > 0));
    if (this.tail.length > TAIL_LINES) this.tail.splice(0, this.tail.length - TAIL_LINES);
  }
}
