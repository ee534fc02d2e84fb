"""Loads the generated copy of proto/schema.json and validates values against its types."""
import json
import math
import re
from pathlib import Path
from typing import Any

SCHEMA: dict = json.loads((Path(__file__).with_name("schema.json")).read_text())
PROTOCOL_VERSION: str = SCHEMA["protocol_version"]
MESSAGE_TYPES: tuple[str, ...] = tuple(SCHEMA["messages"])
DTYPE_SIZES: dict[str, int] = SCHEMA["dtypes"]

MAX_SAFE_INT = 2**53 - 1
_VERSION = re.compile(r"^(\d+)\.(\d+)$")
_GENERIC = re.compile(r"^(list|map)<(.+)>$")


def major_of(version: Any) -> int | None:
    match = _VERSION.match(version) if isinstance(version, str) else None
    return int(match.group(1)) if match else None


def validate_fields(value: Any, fields: dict, path: str) -> list[str]:
    """Problems with `value` as a map of `fields`; unknown keys are ignored (forward compatibility)."""
    if not isinstance(value, dict):
        return [f"{path}: expected a map, got {_kind(value)}"]
    problems: list[str] = []
    for name, spec in fields.items():
        where = f"{path}.{name}" if path else name
        if name not in value:
            if not spec.get("optional"):
                problems.append(f"{where}: required field is missing")
            continue
        problems += validate_value(value[name], spec, where)
    return problems


def validate_value(value: Any, spec: dict, path: str) -> list[str]:
    if value is None:
        return [] if spec.get("nullable") else [f"{path}: expected {spec['type']}, got null"]
    problems = _check_type(value, spec["type"], path)
    allowed = spec.get("enum") or (list(SCHEMA[spec["enum_from"]]) if "enum_from" in spec else None)
    if not problems and allowed is not None and value not in allowed:
        problems.append(f"{path}: expected one of {allowed}, got {value!r}")
    return problems


def _check_type(value: Any, type_name: str, path: str) -> list[str]:
    generic = _GENERIC.match(type_name)
    if generic:
        container, item = generic.groups()
        if container == "list":
            if not isinstance(value, list):
                return [f"{path}: expected {type_name}, got {_kind(value)}"]
            return [p for i, v in enumerate(value) for p in _check_type(v, item, f"{path}[{i}]")]
        if not isinstance(value, dict):
            return [f"{path}: expected {type_name}, got {_kind(value)}"]
        return [p for k, v in value.items() for p in _check_type(v, item, f"{path}.{k}")]
    if type_name in SCHEMA["types"]:
        problems = validate_fields(value, SCHEMA["types"][type_name]["fields"], path)
        if not problems and type_name == "Tensor":
            problems = _check_tensor_size(value, path)
        return problems
    checks = {
        "any": lambda v: True,
        "str": lambda v: isinstance(v, str),
        "bytes": lambda v: isinstance(v, (bytes, bytearray, memoryview)),
        "bool": lambda v: isinstance(v, bool),
        # ints are kept within +-(2^53 - 1) so TypeScript reads them exactly as numbers.
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool) and abs(v) <= MAX_SAFE_INT,
        "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    }
    if type_name not in checks:
        raise KeyError(f"schema names unknown type {type_name!r} at {path}")
    if checks[type_name](value):
        return []
    got = "an integer beyond 2^53 - 1" if type_name == "int" and _kind(value) == "int" else _kind(value)
    return [f"{path}: expected {type_name}, got {got}"]


def _check_tensor_size(tensor: dict, path: str) -> list[str]:
    if any(d < 0 for d in tensor["shape"]):
        return [f"{path}.shape: dimensions must be >= 0, got {tensor['shape']}"]
    expected = math.prod(tensor["shape"]) * DTYPE_SIZES[tensor["dtype"]]
    if len(tensor["data"]) != expected:
        return [f"{path}.data: expected {expected} bytes for {tensor['dtype']}{tensor['shape']}, got {len(tensor['data'])}"]
    return []


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "bool", int: "int", float: "float", str: "str", bytes: "bytes", list: "list", dict: "map"}.get(type(value), type(value).__name__)
