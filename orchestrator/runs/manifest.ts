// manifest.json: everything needed to know what a run ran (argv, code, versions, host, device, seed, inputs).
import { existsSync, readFileSync } from "node:fs";
import { cpus, hostname, totalmem } from "node:os";
import type { HelloReply } from "../protocol/index.js";
import { RunStoreError } from "./errors.js";
import { hashConfig } from "./flatten.js";
import { diffInputs, hashInput, type InputFingerprint, type InputSpec } from "./inputs.js";
import { buildProvenance } from "./provenance.js";

export interface Manifest {
  c3l_version: string;
  created_at: string;
  argv: string[];
  cwd: string;
  /** `git rev-parse HEAD` of the c3l checkout; null outside a git repository */
  git_commit: string | null;
  /** uncommitted changes to tracked files; null outside a git repository */
  git_dirty: boolean | null;
  host: { hostname: string; platform: string; arch: string; cpus: number; memory_bytes: number };
  versions: { node: string; python: string | null; torch: string | null; transformers: string | null; worker: string | null; protocol: string | null };
  device: string;
  seed: number;
  /** sha256 of the resolved config as canonical JSON (keys sorted): resume compares it */
  config_sha256: string;
  /** the worker's handshake, when it was known at creation */
  worker: HelloReply | null;
  inputs: Record<string, InputFingerprint>;
}

export interface BuildManifestOptions {
  argv: string[];
  /** the resolved config (what config.json holds) */
  config: unknown;
  seed: number;
  device: string;
  workerHello?: HelloReply | null;
  /** e.g. {data: {path: root, kind: "data"}, model: {path: modelDir, kind: "model"}} */
  inputs: Record<string, InputSpec>;
  cwd?: string;
  now?: Date;
  /** the checkout whose commit is recorded (default: this c3l checkout) */
  repoDir?: string;
}

export function buildManifest(options: BuildManifestOptions): Manifest {
  const hello = options.workerHello ?? null;
  const build = buildProvenance(options.repoDir);
  return {
    c3l_version: build.c3l_version,
    created_at: (options.now ?? new Date()).toISOString(),
    argv: [...options.argv],
    cwd: options.cwd ?? process.cwd(),
    git_commit: build.git_commit,
    git_dirty: build.git_dirty,
    host: { hostname: hostname(), platform: process.platform, arch: process.arch, cpus: cpus().length, memory_bytes: totalmem() },
    versions: {
      node: process.version,
      python: hello?.python_version ?? null,
      torch: hello?.torch_version ?? null,
      transformers: hello?.transformers_version ?? null,
      worker: hello?.worker_version ?? null,
      protocol: hello?.protocol_version ?? null,
    },
    device: options.device,
    seed: options.seed,
    config_sha256: hashConfig(options.config),
    worker: hello,
    inputs: Object.fromEntries(Object.entries(options.inputs).map(([name, spec]) => [name, hashInput(spec)])),
  };
}

/** Re-fingerprints a manifest's inputs; one line per input that changed since (empty: none did). */
export function checkInputs(manifest: Manifest): string[] {
  const now = Object.fromEntries(Object.entries(manifest.inputs).map(([name, fp]) => [name, hashInput({ path: fp.path, kind: fp.kind })]));
  return diffInputs(manifest.inputs, now);
}

export function readManifest(path: string): Manifest {
  if (!existsSync(path)) throw new RunStoreError(`${path}: missing`);
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Manifest;
  } catch (err) {
    throw new RunStoreError(`${path}: not JSON (${(err as Error).message})`);
  }
}
