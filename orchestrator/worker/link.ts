// What a pool needs from a worker, whether this process spawned it (Worker) or someone started it elsewhere (RemoteWorker).
import type { HelloReply, MessageType, Replies, Requests } from "../protocol/index.js";

export interface WorkerLike {
  /** The worker's handshake: versions, device, threads, model families, operations, pid (on its own host). */
  readonly hello: HelloReply;
  readonly endpoint: string;
  /** The worker's log on this machine; null for a remote worker, whose log is on its own host. */
  readonly logFile: string | null;
  /** Sends one request; rejects with a WorkerError subclass naming what failed (timeout, error reply, lost worker). */
  request<K extends MessageType>(type: K, content: Requests[K], timeoutMs?: number): Promise<Replies[K]>;
  /** Releases the worker: a spawned one is shut down, a remote one only disconnected (others may share it). */
  stop(): Promise<void>;
}
