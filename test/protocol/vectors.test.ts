// The shared byte-level vectors in proto/vectors/frames.json; pytest runs the same file.
import { describe, expect, test } from "@jest/globals";
import { readFileSync } from "node:fs";
import { decodeFrame, encodeMessage, PROTOCOL_VERSION, ProtocolError, type Direction, type Message } from "../../orchestrator/protocol/index.js";

interface Vector { name: string; direction: Direction; hex: string; value?: unknown; roundtrip?: boolean; error?: string; max_frame_bytes?: number }
const vectors = JSON.parse(readFileSync(new URL("../../proto/vectors/frames.json", import.meta.url), "utf8")) as {
  valid: Vector[]; invalid: Vector[];
};

/** Typed JSON -> the values our codec produces: bigint beyond 2^53 - 1, Uint8Array for bin. */
function fromTyped(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromTyped);
  if (value && typeof value === "object") {
    const v = value as Record<string, unknown>;
    if ("$int" in v) return BigInt(v.$int as string);
    if ("$float" in v) return Number(v.$float);
    if ("$bytes" in v) return new Uint8Array(Buffer.from(v.$bytes as string, "hex"));
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromTyped(x)]));
  }
  return value;
}

/** Decoded bins are Buffer-backed views: compare them as plain Uint8Arrays. */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, x]) => [k, plain(x)]));
  return value;
}

const bytes = (hex: string) => new Uint8Array(Buffer.from(hex, "hex"));

describe("shared protocol vectors", () => {
  test.each(vectors.valid.map((v) => [v.name, v] as const))("%s decodes to its value", (_name, v) => {
    expect(plain(decodeFrame(bytes(v.hex), v.direction))).toStrictEqual(fromTyped(v.value));
  });

  test.each(vectors.valid.filter((v) => v.roundtrip).map((v) => [v.name, v] as const))("%s encodes to the exact bytes", (_name, v) => {
    expect(Buffer.from(encodeMessage(fromTyped(v.value) as Message)).toString("hex")).toBe(v.hex);
  });

  test.each(vectors.invalid.map((v) => [v.name, v] as const))("%s is refused with its code", (_name, v) => {
    let caught: unknown;
    try {
      decodeFrame(bytes(v.hex), v.direction, v.max_frame_bytes);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ProtocolError);
    expect((caught as ProtocolError).code).toBe(v.error);
  });

  test("a major version mismatch names both versions", () => {
    const v = vectors.invalid.find((x) => x.name === "major_version_mismatch")!;
    expect(() => decodeFrame(bytes(v.hex), "request")).toThrow(new RegExp(`2\\.0.*${PROTOCOL_VERSION.replace(".", "\\.")}`));
  });
});
