export * from "./generated.js";
export { ProtocolError } from "./errors.js";
export { decodeFrame, decodeValue, encodeMessage, encodeValue, type Direction, type Message } from "./codec.js";
export { fromWireTensor, toWireTensor } from "./tensor.js";
export { majorOf } from "./validate.js";
export { helloProblem, versionMismatch } from "./version.js";
