"""The shared byte-level vectors in proto/vectors/frames.json; jest runs the same file."""
import json
import math
import re
from pathlib import Path

import pytest

from c3l_worker.protocol import PROTOCOL_VERSION, ProtocolError, decode_frame, encode_message

VECTORS = json.loads((Path(__file__).parents[2] / "proto" / "vectors" / "frames.json").read_text())


def from_typed(value):
    if isinstance(value, list):
        return [from_typed(v) for v in value]
    if isinstance(value, dict):
        if "$int" in value:
            return int(value["$int"])
        if "$float" in value:
            return float(value["$float"])
        if "$bytes" in value:
            return bytes.fromhex(value["$bytes"])
        return {k: from_typed(v) for k, v in value.items()}
    return value


def same(a, b) -> bool:
    """Deep equality where NaN equals NaN and types must match exactly (1 != 1.0, bytes != str)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=lambda v: v["name"])
def test_valid_frame_decodes_to_its_value(vector):
    decoded = decode_frame(bytes.fromhex(vector["hex"]), vector["direction"])
    assert same(decoded, from_typed(vector["value"]))


@pytest.mark.parametrize("vector", [v for v in VECTORS["valid"] if v["roundtrip"]], ids=lambda v: v["name"])
def test_value_encodes_to_the_exact_bytes(vector):
    assert encode_message(from_typed(vector["value"])).hex() == vector["hex"]


@pytest.mark.parametrize("vector", VECTORS["invalid"], ids=lambda v: v["name"])
def test_invalid_frame_is_refused_with_its_code(vector):
    with pytest.raises(ProtocolError) as caught:
        decode_frame(bytes.fromhex(vector["hex"]), vector["direction"], vector.get("max_frame_bytes"))
    assert caught.value.code == vector["error"], str(caught.value)


def test_version_mismatch_names_both_versions():
    bad = next(v for v in VECTORS["invalid"] if v["name"] == "major_version_mismatch")
    with pytest.raises(ProtocolError, match=r"2\.0.*" + re.escape(PROTOCOL_VERSION)):
        decode_frame(bytes.fromhex(bad["hex"]), "request")


def test_vectors_cover_the_required_cases():
    names = {v["name"] for v in VECTORS["valid"] + VECTORS["invalid"]}
    for required in ["integers_beyond_2_53", "float32_values_decode_as_floats", "float64_specials", "bytes_vs_strings",
                     "null_vs_missing", "nested_maps", "unknown_message_type", "truncated_frame",
                     "frame_over_size_limit", "major_version_mismatch"]:
        assert required in names
