// What a session needs from a worker, whether this process spawned it (Worker) or someone started it
// elsewhere (RemoteWorker): one interface for both.
import type { HelloReply, MessageType, Replies, Requests } from "../protocol/index.js";
import type { RequestOptions } from "./connection.js";

export interface WorkerLike {
  /** The worker's handshake: versions, device, threads, model families, operations, pid (on its own host). */
  readonly hello: HelloReply;
  readonly endpoint: string;
  /** The local process id; absent for a remote worker. */
  readonly pid?: number;
  /** The worker's log on this machine; null for a remote worker, whose log is on its own host. */
  readonly logFile: string | null;
  /** Sends one request; rejects with a WorkerError subclass naming what failed (timeout, error reply, lost worker). */
  request<K extends MessageType>(type: K, content: Requests[K], timeoutMs?: number, options?: RequestOptions): Promise<Replies[K]>;
  /** Kills the process and starts a fresh one; spawned workers only (a remote one is dropped instead). */
  restart?(): Promise<void>;
  /** Releases the worker: a spawned one is shut down, a remote one only disconnected (others may share it). */
  stop(): Promise<void>;
}
