// Training across processes: a WorkerSession whose worker runs under torchrun, one process per
// rank, with rank 0 answering us (docs/DISTRIBUTED.md). The training loop opens one when the config
// asks for more than one rank; generation and scoring keep the pipeline's own session.
import { join } from "node:path";
import type { C3lConfig } from "../config/index.js";
import { workerPython } from "./python.js";
import { sessionOptions } from "./from-config.js";
import { WorkerSession } from "./session.js";

export type DistributedConfig = C3lConfig["distributed"];

/** Ranks in all: nproc_per_node × nnodes. */
export function worldSize(d: DistributedConfig): number {
  return d.nproc_per_node * d.nnodes;
}

export function trainsDistributed(config: C3lConfig): boolean {
  return worldSize(config.distributed) > 1;
}

/** The process-group backend the ranks use: auto follows the device the model loads on. */
export function distributedBackend(d: DistributedConfig, device: string): "gloo" | "nccl" {
  if (d.backend !== "auto") return d.backend;
  return device.startsWith("cuda") ? "nccl" : "gloo";
}

/**
 * torchrun's argv before the worker flags, for node `nodeRank` (this host is node 0). One node
 * without an endpoint: a private rendezvous on a free port (--standalone). Several: the static
 * rendezvous, which keeps global rank 0 (the one that serves) on node 0. No torchrun restarts:
 * restarting (and resuming from the last checkpoint) is the training loop's job.
 * `python -m c3l_worker.distributed` is torchrun itself, minus its seconds-long exit.
 */
export function torchrunCommand(python: string, d: DistributedConfig, nodeRank = 0): string[] {
  if (d.nnodes > 1 && !d.rdzv_endpoint) {
    throw new Error(`distributed.rdzv_endpoint: required when distributed.nnodes is ${d.nnodes} (HOST:PORT on this host that the other nodes reach)`);
  }
  const rendezvous = d.rdzv_endpoint === null
    ? ["--standalone"]
    : ["--nnodes", String(d.nnodes), "--node_rank", String(nodeRank), "--rdzv_backend", "static", "--rdzv_endpoint", d.rdzv_endpoint];
  return [python, "-m", "c3l_worker.distributed", "--nproc_per_node", String(d.nproc_per_node), ...rendezvous, "--max_restarts", "0", "-m", "c3l_worker"];
}

/** What every rank reads from its environment (c3l_worker/distributed.py). */
export function distributedEnv(d: DistributedConfig, device: string): Record<string, string> {
  return { C3L_DIST_BACKEND: distributedBackend(d, device), C3L_DIST_STRATEGY: d.strategy, C3L_DIST_TIMEOUT_S: String(d.timeout_s) };
}

/** Starts the torchrun worker for a training stage (its log in runDir); the caller stops it when the stage is done. */
export async function startDistributedSession(config: C3lConfig, runDir: string, log: (line: string) => void): Promise<WorkerSession> {
  const d = config.distributed;
  const command = torchrunCommand(workerPython(), d);
  const logFile = join(runDir, "worker-distributed.log");
  for (let node = 1; node < d.nnodes; node++) {
    // Other nodes' ranks never bind: any loopback endpoint satisfies the worker's flags.
    log(`start node ${node} of ${d.nnodes} now: ${torchrunCommand("python", d, node).join(" ")} --endpoint tcp://127.0.0.1:1 --threads ${config.worker.threads}`);
  }
  const session = new WorkerSession({ ...sessionOptions(config, logFile, log), worker: { command, env: distributedEnv(d, config.generator.device) } });
  await session.start();
  log(`training on ${worldSize(d)} ranks (torchrun, ${distributedBackend(d, config.generator.device)}, ${d.strategy}); their log: ${logFile}`);
  return session;
}
