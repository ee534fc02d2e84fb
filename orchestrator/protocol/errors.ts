import { C3lError } from "../errors.js";
import type { ProtocolErrorCode } from "./generated.js";

/** A frame the receiver cannot accept; `code` is a key of proto/schema.json's protocol_errors. */
export class ProtocolError extends C3lError {
  override name = "ProtocolError";
  readonly exit = "worker"; // a peer that speaks the protocol wrongly: the worker side failed
  constructor(
    readonly code: ProtocolErrorCode,
    readonly detail: string,
    readonly msgId: string | null = null,
    readonly msgType: string | null = null,
  ) {
    super(`${code}: ${detail}`);
  }
}
