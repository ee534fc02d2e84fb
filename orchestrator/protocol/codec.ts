// Frames <-> messages: one msgpack map {header, content} per ZeroMQ frame, as in proto/SPEC.md.
import { Decoder, Encoder } from "@msgpack/msgpack";
import { ProtocolError } from "./errors.js";
import { PROTOCOL_VERSION, SCHEMA, type ReplyHeader, type RequestHeader } from "./generated.js";
import { isMap, majorOf, validateFields, type Fields } from "./validate.js";

export type Direction = "request" | "reply";
export interface Message<H = RequestHeader | ReplyHeader> {
  header: H;
  content: Record<string, unknown>;
}

const MESSAGES = SCHEMA.messages as unknown as Record<string, { request: Fields; reply: Fields }>;
const HEADER_FIELDS = {
  request: SCHEMA.types.RequestHeader.fields as Fields,
  reply: SCHEMA.types.ReplyHeader.fields as Fields,
};
const ERROR_FIELDS = SCHEMA.types.ErrorContent.fields as Fields;
const PROGRESS_FIELDS = SCHEMA.types.ProgressContent.fields as Fields;

const encoder = new Encoder({ useBigInt64: true, ignoreUndefined: true });
const decoder = new Decoder({ useBigInt64: true });
const UINT32_END = 2 ** 32;
const INT32_MIN = -(2 ** 31);

/** Encodes like Python's msgpack: minimal int formats, float64 for non-integers, bin for bytes. */
export function encodeValue(value: unknown): Uint8Array {
  return encoder.encode(toWireInts(value));
}

/** Decodes one msgpack value; integers beyond 2^53 - 1 become bigint, all others number. */
export function decodeValue(frame: Uint8Array): unknown {
  try {
    return fromWireInts(decoder.decode(frame));
  } catch (err) {
    throw classifyDecodeError(err as Error, frame.byteLength);
  }
}

export function encodeMessage(message: Message): Uint8Array {
  return encodeValue(message);
}

/** Decodes and validates one frame, or throws ProtocolError naming the first rule it breaks. */
export function decodeFrame(frame: Uint8Array, direction: Direction, maxFrameBytes: number = SCHEMA.max_frame_bytes): Message {
  if (frame.byteLength > maxFrameBytes) {
    throw new ProtocolError("frame_too_large", `frame of ${frame.byteLength} bytes exceeds the limit of ${maxFrameBytes} bytes`);
  }
  const message = decodeValue(frame);
  const header = checkHeader(message, direction);
  const { msg_id: msgId, type } = header;
  if (majorOf(header.version) !== majorOf(PROTOCOL_VERSION)) {
    throw new ProtocolError(
      "unsupported_version",
      `peer speaks protocol ${header.version}, this side speaks ${PROTOCOL_VERSION} (major versions must match)`,
      msgId, type);
  }
  const content = (message as Record<string, unknown>).content ?? {};
  let fields: Fields;
  if (direction === "reply" && header.status === "error") {
    fields = ERROR_FIELDS; // an error may answer a request of unknown type, or one too broken to name its type
  } else if (direction === "reply" && header.status === "progress") {
    fields = PROGRESS_FIELDS; // not the reply yet: one line of a long request's progress (1.3)
  } else if (Object.hasOwn(MESSAGES, type)) {
    fields = MESSAGES[type]![direction];
  } else {
    throw new ProtocolError("unknown_type", `unknown message type '${type}'; known: ${Object.keys(MESSAGES).join(", ")}`, msgId, type);
  }
  const problems = validateFields(content, fields, "content");
  if (problems.length > 0) {
    throw new ProtocolError("invalid_content", `${type} ${direction}: ${problems.join("; ")}`, msgId, type);
  }
  return { header, content: content as Record<string, unknown> };
}

function checkHeader(message: unknown, direction: Direction): RequestHeader & Partial<ReplyHeader> {
  if (!isMap(message) || !isMap(message.header)) throw new ProtocolError("not_a_message", "expected a map with a 'header' map");
  const header = message.header;
  const problems = validateFields(header, HEADER_FIELDS[direction], "header");
  if (problems.length === 0 && majorOf(header.version) === null) {
    problems.push(`header.version: expected MAJOR.MINOR, got ${JSON.stringify(header.version)}`);
  }
  if (problems.length > 0) {
    const msgId = typeof header.msg_id === "string" ? header.msg_id : null;
    throw new ProtocolError("not_a_message", problems.join("; "), msgId);
  }
  return header as unknown as RequestHeader & Partial<ReplyHeader>;
}

function classifyDecodeError(err: Error, length: number): ProtocolError {
  const text = err.message;
  if (/Extra \d+ of \d+ byte/.test(text)) return new ProtocolError("trailing_bytes", `bytes follow the message (${text})`);
  if (err instanceof RangeError || /Insufficient data/.test(text)) {
    return new ProtocolError("truncated_frame", `frame of ${length} bytes ends inside a msgpack value`);
  }
  return new ProtocolError("invalid_msgpack", `not msgpack: ${text}`);
}

function toWireInts(value: unknown): unknown {
  if (typeof value === "number") {
    // @msgpack/msgpack with useBigInt64 writes large integral numbers as floats: hand it a bigint.
    return Number.isInteger(value) && (value >= UINT32_END || value < INT32_MIN) ? BigInt(value) : value;
  }
  if (typeof value === "bigint") {
    if (value >= BigInt(INT32_MIN) && value < BigInt(UINT32_END)) return Number(value);
    if (value >= 2n ** 64n || value < -(2n ** 63n)) throw new RangeError(`integer ${value} does not fit msgpack's 64 bits`);
    return value;
  }
  if (Array.isArray(value)) return value.map(toWireInts);
  if (isMap(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toWireInts(v);
    return out;
  }
  return value;
}

function fromWireInts(value: unknown): unknown {
  if (typeof value === "bigint") {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = fromWireInts(value[i]);
    return value;
  }
  if (isMap(value)) {
    for (const k of Object.keys(value)) value[k] = fromWireInts(value[k]);
    return value;
  }
  return value;
}
