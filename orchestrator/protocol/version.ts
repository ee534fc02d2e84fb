// Which workers this orchestrator can use, checked on the handshake: the same major version, a minor
// at least its own (an older worker lacks messages this side sends: build_world and the other 1.3
// operations for a 1.2 worker), every operation of the schema among the worker's `ops`, and at
// least one model family it can load.
import { PROTOCOL_VERSION, SCHEMA, type HelloReply } from "./generated.js";

/** Why the worker that sent this hello cannot serve this orchestrator; null when it can. */
export function helloProblem(hello: Pick<HelloReply, "protocol_version" | "ops" | "model_families">): string | null {
  const version = versionMismatch(hello.protocol_version);
  if (version) return version;
  const missing = Object.keys(SCHEMA.messages).filter((type) => !hello.ops.includes(type));
  if (missing.length > 0) return `the worker does not serve ${missing.join(", ")}`;
  if (hello.model_families.length === 0) return "the worker can load no model family";
  return null;
}

/** Why a worker whose hello reported protocol `peer` cannot serve this orchestrator; null when it can. */
export function versionMismatch(peer: string): string | null {
  const theirs = parse(peer);
  const ours = parse(PROTOCOL_VERSION)!;
  if (theirs === null || theirs.major !== ours.major) return "major versions differ";
  if (theirs.minor < ours.minor) return "the worker is older and lacks operations this orchestrator sends";
  return null;
}

function parse(version: string): { major: number; minor: number } | null {
  const m = /^(\d+)\.(\d+)$/.exec(version);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : null;
}
