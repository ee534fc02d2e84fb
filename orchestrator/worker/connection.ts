// The DEALER side of one worker connection: one receive loop, pending requests matched by msg_id,
// a deadline per request, progress frames handed to the request's listener, late replies dropped,
// heartbeats to notice a frozen peer.
import { Dealer, type Event } from "zeromq";
import { decodeFrame, encodeMessage, PROTOCOL_VERSION, ProtocolError, type ErrorContent, type ProgressContent, type ReplyHeader } from "../protocol/index.js";
import { VersionMismatchError, WorkerProtocolError, WorkerReplyError, WorkerTimeoutError } from "./errors.js";

export interface ConnectionOptions {
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  maxFrameBytes: number;
  logFile: string | null;
  /** Called when heartbeats declare the peer gone (frozen or dead). */
  onDisconnect: () => void;
  onLog: (line: string) => void;
  /** CURVE keys for a worker started with --curve-secret-key (docs/REMOTE.md); absent for ipc/loopback workers. */
  curve?: CurveClientKeys;
  /** Called when the security handshake fails (wrong keys): the worker never sees our requests, so none will be answered. */
  onHandshakeFailed?: (failure: HandshakeFailure) => void;
}

/** auth: the worker's ZAP handler refused our key; protocol: a mechanism or crypto mismatch; other: the peer hung up mid-handshake. */
export interface HandshakeFailure {
  kind: "auth" | "protocol" | "other";
  reason: string;
}

/** Z85 keys: the worker's public key, and this client's key pair (its public key must be in the worker's --authorized-keys). */
export interface CurveClientKeys {
  serverPublicKey: string;
  publicKey: string;
  secretKey: string;
}

export interface RequestOptions {
  /**
   * Each progress line the worker sends while the request runs (protocol 1.3: build_world, ...), in order, before
   * the reply settles the request. Progress neither settles nor extends the deadline: heartbeats prove liveness.
   */
  onProgress?: (line: string) => void;
}

interface Pending {
  type: string;
  onProgress?: (line: string) => void;
  resolve: (content: Record<string, unknown>) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

let nextId = 0;

export class Connection {
  private readonly socket: Dealer;
  private readonly pending = new Map<string, Pending>();
  private sendChain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(readonly endpoint: string, private readonly options: ConnectionOptions) {
    this.socket = new Dealer({
      linger: 0,
      heartbeatInterval: options.heartbeatIntervalMs,
      heartbeatTimeout: options.heartbeatTimeoutMs,
      heartbeatTimeToLive: options.heartbeatTimeoutMs,
      ...(options.curve && {
        curveServerKey: options.curve.serverPublicKey,
        curvePublicKey: options.curve.publicKey,
        curveSecretKey: options.curve.secretKey,
      }),
    });
    this.socket.connect(endpoint);
    void this.receiveLoop();
    void this.watchEvents();
  }

  get inFlight(): number {
    return this.pending.size;
  }

  request(type: string, content: Record<string, unknown>, timeoutMs: number, options: RequestOptions = {}): Promise<Record<string, unknown>> {
    const msgId = `o${process.pid}-${++nextId}`;
    const frame = encodeMessage({ header: { msg_id: msgId, type, version: PROTOCOL_VERSION }, content });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(msgId);
        reject(new WorkerTimeoutError(
          `${type} (${msgId}) got no reply within ${timeoutMs} ms: the worker is stuck in a handler or the work needs a longer deadline`,
          this.options.logFile));
      }, timeoutMs);
      this.pending.set(msgId, { type, onProgress: options.onProgress, resolve, reject, timer });
      // zeromq.js allows one send in flight per socket: queue them.
      this.sendChain = this.sendChain
        .then(() => this.socket.send(frame))
        .catch((err: Error) => this.settle(msgId, (p) => p.reject(new WorkerProtocolError(`could not send ${type}: ${err.message}`, this.options.logFile))));
    });
  }

  /** Rejects every pending request with the error `make` builds for it. */
  failAll(make: (type: string) => Error): void {
    for (const msgId of [...this.pending.keys()]) this.settle(msgId, (p) => p.reject(make(p.type)));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }

  private settle(msgId: string, action: (p: Pending) => void): void {
    const p = this.pending.get(msgId);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(msgId);
    action(p);
  }

  /** Reads socket events itself: zeromq's events.on() needs CommonJS `require`, absent under jest's ESM. */
  private async watchEvents(): Promise<void> {
    while (!this.closed) {
      try {
        const event = await this.socket.events.receive();
        if (this.closed) continue;
        if (event.type === "disconnect") this.options.onDisconnect();
        const failure = handshakeFailure(event);
        if (failure) this.options.onHandshakeFailed?.(failure);
      } catch {
        return; // the socket (and with it the observer) was closed
      }
    }
  }

  private async receiveLoop(): Promise<void> {
    while (!this.closed) {
      let frames: Buffer[];
      try {
        frames = await this.socket.receive();
      } catch (err) {
        if (this.closed) return; // close() rejects the pending receive with EAGAIN
        this.options.onLog(`receive failed: ${(err as Error).message}`);
        continue;
      }
      this.onFrame(frames[frames.length - 1]!);
    }
  }

  private onFrame(frame: Buffer): void {
    let header: ReplyHeader;
    let content: Record<string, unknown>;
    try {
      ({ header, content } = decodeFrame(frame, "reply", this.options.maxFrameBytes) as { header: ReplyHeader; content: Record<string, unknown> });
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      // A frame we cannot attribute poisons every pending request: the worker is not speaking c3l.
      this.options.onLog(`invalid frame from worker: ${err.message}`);
      const ErrorClass = err.code === "unsupported_version" ? VersionMismatchError : WorkerProtocolError;
      this.failAll((type) => new ErrorClass(`worker sent an invalid frame while ${type} was pending: ${err.message}`, this.options.logFile));
      return;
    }
    const replyTo = header.reply_to;
    if (header.status === "progress") {
      this.onProgress(replyTo, header.type, content as unknown as ProgressContent);
      return;
    }
    if (replyTo === null || !this.pending.has(replyTo)) {
      if (header.status === "error" && replyTo === null) {
        const e = content as unknown as ErrorContent;
        this.options.onLog(`worker refused an unreadable request: ${e.name}: ${e.message}`);
      } else {
        this.options.onLog(`dropping a late reply to ${replyTo} (${header.type}); its request already timed out`);
      }
      return;
    }
    this.settle(replyTo, (p) => {
      if (header.status === "ok") return p.resolve(content);
      const e = content as unknown as ErrorContent;
      p.reject(new WorkerReplyError(p.type, e.name, e.message, e.traceback, this.options.logFile));
    });
  }

  /** A progress line goes to its request's listener; one for a request that already settled is dropped. */
  private onProgress(replyTo: string | null, type: string, progress: ProgressContent): void {
    const p = replyTo === null ? undefined : this.pending.get(replyTo);
    if (!p?.onProgress) return;
    try {
      p.onProgress(progress.line);
    } catch (err) {
      // The listener is the caller's code: its failure must not stop the receive loop.
      this.options.onLog(`a progress listener of ${type} (${replyTo}) threw: ${(err as Error).message}`);
    }
  }
}

/** Why a security handshake failed; null for events that are not handshake failures. */
function handshakeFailure(event: Event): HandshakeFailure | null {
  switch (event.type) {
    case "handshake:error:auth":
      return { kind: "auth", reason: `the worker refused this client's CURVE key (ZAP status ${event.error.status})` };
    case "handshake:error:protocol":
      return { kind: "protocol", reason: `the security handshake failed (${event.error.code})` };
    case "handshake:error:other":
      return { kind: "other", reason: `the security handshake broke off (${event.error.message})` };
    default:
      return null;
  }
}
