// A worker someone started elsewhere (`c3l worker --bind …`), reached over CurveZMQ: connect, handshake and version
// check, requests. stop() only disconnects: the worker may serve other orchestrators, and only its operator stops it.
import { hostname } from "node:os";
import { PROTOCOL_VERSION, SCHEMA, helloProblem, type HelloReply, type MessageType, type Replies, type Requests } from "../protocol/index.js";
import { publicKeyFrom, readSecretCertificate } from "./certs.js";
import { Connection, type CurveClientKeys, type HandshakeFailure, type RequestOptions } from "./connection.js";
import { CertificateError, VersionMismatchError, WorkerClosedError, WorkerError, WorkerTimeoutError, WorkerUnresponsiveError } from "./errors.js";
import type { WorkerLike } from "./link.js";

export interface RemoteWorkerOptions {
  /** Where the worker listens, e.g. tcp://gpu-box:5555 (its --bind address, with a host name this machine can reach). */
  endpoint: string;
  /** The worker's public key: its NAME.key certificate file, or the 40-character Z85 key itself. */
  serverPublicKey?: string;
  /** This client's secret certificate (NAME.key_secret from `c3l keys`); its NAME.key must be in the worker's --authorized-keys. */
  clientKeyFile?: string;
  /** Deadline for the CURVE handshake and the hello reply. */
  startTimeoutMs?: number;
  /** Default deadline per request. */
  requestTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  maxFrameBytes?: number;
  /** Where diagnostics go (default: stderr). */
  onLog?: (line: string) => void;
  /** Called when the connection is lost after the handshake (pending requests have already failed); zeromq keeps
   * reconnecting, so a later request may succeed if the worker comes back. */
  onDisconnect?: () => void;
}

/** The worker never completed the handshake: unreachable, not running, or the CURVE keys do not match. */
export class WorkerHandshakeError extends WorkerError {
  override name = "WorkerHandshakeError";
}

const DEFAULTS = {
  startTimeoutMs: 30_000,
  requestTimeoutMs: 120_000,
  heartbeatIntervalMs: 1_000,
  heartbeatTimeoutMs: 5_000,
  maxFrameBytes: SCHEMA.max_frame_bytes as number,
};
const LOOPBACK = /^(ipc|inproc):\/\/|^tcp:\/\/(127\.0\.0\.1|localhost|\[::1\]):/;

export class RemoteWorker implements WorkerLike {
  hello!: HelloReply;
  readonly logFile = null;
  private readonly conn: Connection;
  private ready = false;
  private closed = false;
  private failStart: (reason: string) => void = () => undefined;
  private lastHandshakeFailure: string | null = null;

  private constructor(
    readonly endpoint: string,
    private readonly opts: typeof DEFAULTS & Pick<RemoteWorkerOptions, "onDisconnect">,
    private readonly keys: KeySources | null,
    private readonly onLog: (line: string) => void,
  ) {
    this.conn = new Connection(endpoint, {
      heartbeatIntervalMs: opts.heartbeatIntervalMs,
      heartbeatTimeoutMs: opts.heartbeatTimeoutMs,
      maxFrameBytes: opts.maxFrameBytes,
      logFile: null,
      onLog,
      ...(keys && { curve: keys.curve }),
      onDisconnect: () => this.onDisconnect(),
      onHandshakeFailed: (failure) => this.onHandshakeFailed(failure),
    });
  }

  /** Connects, completes the CURVE handshake and hello, checks the protocol version; or throws naming the endpoint and the keys. */
  static async connect(options: RemoteWorkerOptions): Promise<RemoteWorker> {
    const keys = keySources(options);
    const opts = { ...DEFAULTS, ...stripUndefined(options) };
    const onLog = options.onLog ?? ((line) => process.stderr.write(`[c3l remote worker] ${line}\n`));
    const worker = new RemoteWorker(options.endpoint, opts, keys, onLog);
    await worker.handshake();
    return worker;
  }

  /** options.onProgress gets each progress line the worker sends before the reply (long operations: build_world, ...). */
  request<K extends MessageType>(type: K, content: Requests[K], timeoutMs = this.opts.requestTimeoutMs, options: RequestOptions = {}): Promise<Replies[K]> {
    if (this.closed) return Promise.reject(new WorkerClosedError(`${type}: disconnected from the remote worker at ${this.endpoint}`, null));
    return this.conn.request(type, content as unknown as Record<string, unknown>, timeoutMs, options) as unknown as Promise<Replies[K]>;
  }

  /** Disconnects; never sends shutdown (the worker may be shared, and refuses it anyway). Pending requests fail. */
  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.conn.failAll((type) => new WorkerClosedError(`${type} abandoned: disconnected from the remote worker at ${this.endpoint}`, null));
    this.conn.close();
  }

  private async handshake(): Promise<void> {
    const refused = new Promise<never>((_, reject) => {
      this.failStart = (reason) => reject(new WorkerHandshakeError(this.refusedMessage(reason), null));
    });
    const hello = this.conn.request("hello", { client: `c3l-orchestrator pid ${process.pid} on ${hostname()}` }, this.opts.startTimeoutMs);
    try {
      this.hello = await Promise.race([hello, refused]) as unknown as HelloReply;
    } catch (err) {
      await this.stop();
      if (err instanceof WorkerTimeoutError) throw new WorkerHandshakeError(this.noReplyMessage(), null);
      throw err;
    }
    const mismatch = helloProblem(this.hello);
    if (mismatch) {
      await this.stop();
      throw new VersionMismatchError(
        `the remote worker at ${this.endpoint} speaks protocol ${this.hello.protocol_version}, this orchestrator speaks ${PROTOCOL_VERSION} (${mismatch}): install matching c3l versions on both hosts`,
        null);
    }
    this.ready = true;
    this.onLog(`remote worker pid ${this.hello.pid} ready at ${this.endpoint} (torch ${this.hello.torch_version}, ${this.hello.device}, ${this.hello.num_threads} thread(s))`);
  }

  private onHandshakeFailed({ kind, reason }: HandshakeFailure): void {
    if (!this.ready) {
      // A refused key or a mechanism mismatch is final; a hang-up may be the network, so it waits for the deadline.
      if (kind === "other") this.lastHandshakeFailure = reason;
      else this.failStart(reason);
      return;
    }
    this.onLog(`${this.endpoint}: ${reason}`);
    if (kind === "other") return; // zeromq reconnects; the request deadlines catch a worker that stays away
    // The worker came back with other keys: nothing sent from now on will be answered.
    this.conn.failAll((type) => new WorkerHandshakeError(`${type}: ${this.refusedMessage(reason)}`, null));
  }

  private onDisconnect(): void {
    if (!this.ready || this.closed) return; // during start-up the deadline (or a handshake event) tells the story
    this.conn.failAll((type) => new WorkerUnresponsiveError(
      `${type}: lost the connection to the remote worker at ${this.endpoint} (it stopped, its host went away, or heartbeats timed out); see the worker's log on its host`,
      null));
    this.opts.onDisconnect?.();
  }

  private noReplyMessage(): string {
    const keys = this.keys
      ? `the CURVE keys may be wrong: the server key (${this.keys.serverSource}) must be that worker's own public key, and this client's public key (${this.keys.clientPublicKey}, from ${this.keys.clientKeyFile}) must be in its --authorized-keys folder; the worker logs every client it refuses`
      : "the worker may expect CURVE keys: pass serverPublicKey and clientKeyFile (a worker bound beyond loopback only speaks CURVE)";
    const seen = this.lastHandshakeFailure
      ? ` (meanwhile ${this.lastHandshakeFailure}: a CURVE worker hangs up like this on a client holding a wrong server key)` : "";
    return `hello to the worker at ${this.endpoint} got no reply within ${this.opts.startTimeoutMs} ms, so the handshake never completed${seen}: `
      + `the worker may not be running or reachable there, or ${keys}`;
  }

  private refusedMessage(reason: string): string {
    const keys = this.keys
      ? `this client's public key (${this.keys.clientPublicKey}, from ${this.keys.clientKeyFile}) must be in its --authorized-keys folder (the worker reads it at start: restart it after adding a key), and the server key (${this.keys.serverSource}) must be its own`
      : "pass serverPublicKey and clientKeyFile";
    return `the handshake with the worker at ${this.endpoint} got no reply: ${reason}. The CURVE keys may be wrong: ${keys}`;
  }
}

interface KeySources {
  curve: CurveClientKeys;
  serverSource: string;
  clientKeyFile: string;
  clientPublicKey: string;
}

function keySources(options: RemoteWorkerOptions): KeySources | null {
  const { endpoint, serverPublicKey, clientKeyFile } = options;
  if (serverPublicKey === undefined && clientKeyFile === undefined) {
    if (!LOOPBACK.test(endpoint)) {
      throw new CertificateError(`${endpoint} is not on this host: pass the worker's public key (serverPublicKey) and this client's secret certificate (clientKeyFile); a worker bound beyond loopback only speaks CURVE`);
    }
    return null;
  }
  if (serverPublicKey === undefined || clientKeyFile === undefined) {
    throw new CertificateError(`${endpoint}: CURVE needs both the worker's public key (serverPublicKey) and this client's secret certificate (clientKeyFile)`);
  }
  const client = readSecretCertificate(clientKeyFile);
  const serverKey = publicKeyFrom(serverPublicKey);
  return {
    curve: { serverPublicKey: serverKey, publicKey: client.publicKey, secretKey: client.secretKey },
    serverSource: serverKey === serverPublicKey ? `Z85 ${serverKey}` : `${serverKey} from ${serverPublicKey}`,
    clientKeyFile,
    clientPublicKey: client.publicKey,
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
