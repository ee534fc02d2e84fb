// Validates decoded values against proto/schema.json's field specs, mirroring c3l_worker/protocol/schema.py.
import { SCHEMA } from "./generated.js";

export interface FieldSpec {
  readonly type: string;
  readonly optional?: boolean;
  readonly nullable?: boolean;
  readonly enum?: readonly string[];
  readonly enum_from?: string;
  readonly doc?: string;
}
export type Fields = Readonly<Record<string, FieldSpec>>;

const TYPES = SCHEMA.types as unknown as Record<string, { fields: Fields }>;
const DTYPE_SIZES = SCHEMA.dtypes as Record<string, number>;
const GENERIC = /^(list|map)<(.+)>$/;

export function majorOf(version: unknown): number | null {
  const m = typeof version === "string" ? /^(\d+)\.(\d+)$/.exec(version) : null;
  return m ? Number(m[1]) : null;
}

export function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** Problems with `value` as a map of `fields`; unknown keys are ignored (forward compatibility). */
export function validateFields(value: unknown, fields: Fields, path: string): string[] {
  if (!isMap(value)) return [`${path}: expected a map, got ${kindOf(value)}`];
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(fields)) {
    const where = path ? `${path}.${name}` : name;
    if (!(name in value) || value[name] === undefined) {
      if (!spec.optional) problems.push(`${where}: required field is missing`);
      continue;
    }
    problems.push(...validateValue(value[name], spec, where));
  }
  return problems;
}

function validateValue(value: unknown, spec: FieldSpec, path: string): string[] {
  if (value === null) return spec.nullable ? [] : [`${path}: expected ${spec.type}, got null`];
  const problems = checkType(value, spec.type, path);
  const allowed = spec.enum ?? (spec.enum_from ? Object.keys((SCHEMA as Record<string, unknown>)[spec.enum_from] as object) : null);
  if (problems.length === 0 && allowed && !allowed.includes(value as string)) {
    problems.push(`${path}: expected one of ${JSON.stringify(allowed)}, got ${JSON.stringify(value)}`);
  }
  return problems;
}

function checkType(value: unknown, type: string, path: string): string[] {
  const generic = GENERIC.exec(type);
  if (generic) {
    const [, container, item] = generic as unknown as [string, string, string];
    if (container === "list") {
      if (!Array.isArray(value)) return [`${path}: expected ${type}, got ${kindOf(value)}`];
      return value.flatMap((v, i) => checkType(v, item, `${path}[${i}]`));
    }
    if (!isMap(value)) return [`${path}: expected ${type}, got ${kindOf(value)}`];
    return Object.entries(value).flatMap(([k, v]) => checkType(v, item, `${path}.${k}`));
  }
  const named = TYPES[type];
  if (named) {
    const problems = validateFields(value, named.fields, path);
    return problems.length === 0 && type === "Tensor" ? checkTensorSize(value as TensorLike, path) : problems;
  }
  if (type === "int" && typeof value === "bigint") return [`${path}: expected int, got an integer beyond 2^53 - 1`];
  const ok = PRIMITIVE_CHECKS[type];
  if (!ok) throw new Error(`schema names unknown type ${type} at ${path}`);
  return ok(value) ? [] : [`${path}: expected ${type}, got ${kindOf(value)}`];
}

const PRIMITIVE_CHECKS: Record<string, (v: unknown) => boolean> = {
  any: () => true,
  str: (v) => typeof v === "string",
  bytes: (v) => v instanceof Uint8Array,
  bool: (v) => typeof v === "boolean",
  int: (v) => Number.isSafeInteger(v),
  float: (v) => typeof v === "number",
};

interface TensorLike { dtype: string; shape: number[]; data: Uint8Array }

function checkTensorSize(t: TensorLike, path: string): string[] {
  if (t.shape.some((d) => d < 0)) return [`${path}.shape: dimensions must be >= 0, got [${t.shape.join(", ")}]`];
  const expected = t.shape.reduce((a, b) => a * b, 1) * DTYPE_SIZES[t.dtype]!;
  if (t.data.byteLength !== expected) {
    return [`${path}.data: expected ${expected} bytes for ${t.dtype}[${t.shape.join(", ")}], got ${t.data.byteLength}`];
  }
  return [];
}

export function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "list";
  if (value instanceof Uint8Array) return "bytes";
  if (typeof value === "number") return Number.isInteger(value) ? "int" : "float";
  if (typeof value === "bigint") return "int";
  if (typeof value === "string") return "str";
  if (typeof value === "boolean") return "bool";
  return isMap(value) ? "map" : typeof value;
}
