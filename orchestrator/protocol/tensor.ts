// Wire tensors {dtype, shape, data}: little-endian bytes in C order; float16/bfloat16 as Uint16 bit patterns.
import type { Dtype, Tensor } from "./generated.js";

export type TypedArrayFor<D extends Dtype> = D extends "float64" ? Float64Array
  : D extends "float32" ? Float32Array
  : D extends "float16" | "bfloat16" ? Uint16Array
  : D extends "int64" ? BigInt64Array
  : D extends "int32" ? Int32Array
  : D extends "int16" ? Int16Array
  : D extends "int8" ? Int8Array
  : Uint8Array;

type AnyTyped = Float64Array | Float32Array | Uint16Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;
const VIEWS: Record<Dtype, { new (buffer: ArrayBuffer, offset: number, length: number): AnyTyped; BYTES_PER_ELEMENT: number }> = {
  float64: Float64Array, float32: Float32Array, float16: Uint16Array, bfloat16: Uint16Array, int64: BigInt64Array,
  int32: Int32Array, int16: Int16Array, int8: Int8Array, uint8: Uint8Array, bool: Uint8Array,
};

/** Wraps a typed array's bytes (copied, so later writes to the array do not change the message). */
export function toWireTensor(dtype: Dtype, shape: number[], values: AnyTyped): Tensor {
  const count = shape.reduce((a, b) => a * b, 1);
  if (values.length !== count) throw new RangeError(`tensor of shape [${shape.join(", ")}] needs ${count} values, got ${values.length}`);
  if (values.BYTES_PER_ELEMENT !== VIEWS[dtype].BYTES_PER_ELEMENT) {
    throw new TypeError(`${values.constructor.name} does not hold ${dtype} values`);
  }
  return { dtype, shape, data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice() };
}

/**
 * A typed view of a wire tensor. Decoded `bin` fields are views into the received frame at any
 * offset: typed arrays need an aligned offset, so unaligned data is copied first.
 */
export function fromWireTensor<D extends Dtype>(tensor: Tensor & { dtype: D }): TypedArrayFor<D> {
  const View = VIEWS[tensor.dtype];
  let bytes = tensor.data;
  if (bytes.byteOffset % View.BYTES_PER_ELEMENT !== 0) bytes = new Uint8Array(bytes); // copy: Buffer.slice would not
  return new View(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength / View.BYTES_PER_ELEMENT) as TypedArrayFor<D>;
}
