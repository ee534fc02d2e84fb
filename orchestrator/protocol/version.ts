// Which workers this orchestrator can use: the same major version, and a minor at least its own (an older
// worker lacks messages this side sends: build_world and the other 1.3 operations for a 1.2 worker).
import { PROTOCOL_VERSION } from "./generated.js";

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
