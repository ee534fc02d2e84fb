"""Writes frames.json, the byte-level vectors that BOTH test suites run (jest and pytest).

Run: .venv/bin/python proto/vectors/make_vectors.py. Values are written as "typed JSON" so both
languages read them the same way: {"$int": "<decimal>"} for any integer beyond 2^53 - 1,
{"$float": x | "NaN" | "Infinity" | "-Infinity"} for floats, {"$bytes": "<hex>"} for msgpack bin.
Frames whose bytes a conforming encoder need not reproduce (float32 input) say "roundtrip": false.
"""
import json
import math
import struct
from pathlib import Path

import msgpack


def req(msg_type, content, msg_id="o-1", version="1.0", **extra_header):
    return {"header": {"msg_id": msg_id, "type": msg_type, "version": version, **extra_header}, "content": content}


def rep(msg_type, content, status="ok", reply_to="o-1"):
    return {"header": {"msg_id": "w-1", "type": msg_type, "version": "1.0", "reply_to": reply_to, "status": status},
            "content": content}


def tensor(dtype, shape, fmt, values):
    return {"dtype": dtype, "shape": shape, "data": struct.pack("<" + fmt * len(values), *values)}


def bf16(values):
    """bfloat16 bit patterns: the top half of each float32."""
    return [struct.unpack("<I", struct.pack("<f", v))[0] >> 16 for v in values]


VALID = [
    ("hello_request", "request", req("hello", {"client": "c3l-orchestrator"})),
    ("newer_minor_version_and_unknown_fields", "request",
     req("hello", {"client": "x", "added_in_1_7": {"k": [1]}}, version="1.7", trace_id="t-9")),
    ("shutdown_request_empty_content", "request", req("shutdown", {})),
    ("integers_beyond_2_53", "request", req("echo", {"payload": {
        "u64_max": 2**64 - 1, "i64_min": -2**63, "above_2_53": 2**53 + 1, "safe_max": 2**53 - 1,
        "two_pow_40": 2**40, "below_i32": -2**31 - 1, "small": [0, 127, 128, 255, 256, 65536, -1, -32, -33]}})),
    ("float64_specials", "request", req("echo", {"payload": {
        "one_and_half": 1.5, "tenth": 0.1, "nan": math.nan, "inf": math.inf, "neg_inf": -math.inf, "tiny": 5e-324}})),
    ("bytes_vs_strings", "request", req("echo", {"payload": {
        "text": "h\u00e9llo \u2713", "raw": "h\u00e9llo".encode(), "empty_text": "", "empty_raw": b"", "text_of_digits": "42"}})),
    ("null_vs_missing", "request", req("echo", {"payload": {"present_null": None, "list_with_null": [None, 1]}})),
    ("nested_maps", "request", req("echo", {"payload": {
        "a": {"b": {"c": [1, {"d": None}], "e": {}}}, "lists": [[], [1, [2, [3]]]], "bool": [True, False]}})),
    ("tensors_of_each_kind", "request", req("echo", {"tensors": {
        "f32": tensor("float32", [2, 2], "f", [1.0, -2.5, math.inf, 3.140000104904175]),
        "f64": tensor("float64", [3], "d", [0.1, -1e300, math.nan]),
        "f16": tensor("float16", [3], "e", [1.0, -0.5, 65504.0]),
        "bf16": tensor("bfloat16", [2], "H", bf16([1.0, -2.0])),
        "i64": tensor("int64", [2], "q", [2**62 + 1, -1]),
        "u8_empty": tensor("uint8", [0, 4], "B", []),
        "scalar": tensor("int32", [], "i", [7]),
    }})),
    ("score_request_with_options", "request", req("score", {
        "model_id": "generator", "estimator": "logratio", "withhold": "drop", "span": "qa", "batch_size": 8,
        "items": [{"id": "img7#2", "image_path": "/data/img7.png", "question": "what colour is the star ?", "answer": "red ."}]})),
    ("score_reply_with_an_item_error", "reply", rep("score", {"seconds": 0.5, "results": [
        {"id": "a", "logp_with_image": -1.25, "logp_without_image": -2.5, "i2c": 0.75, "num_tokens": 4, "error": None},
        {"id": "b", "logp_with_image": None, "logp_without_image": None, "i2c": None, "num_tokens": 0,
         "error": {"code": "image_missing", "message": "item b: image file /data/b.png does not exist"}}]})),
    ("generate_reply", "reply", rep("generate", {"seconds": 1.5, "results": [
        {"id": "img1", "text": "q: is there a star ? a: yes .", "num_tokens": 9, "finish_reason": "eos",
         "qa_pairs": [{"question": "is there a star ?", "answer": "yes ."}], "parse_error": None, "error": None}]})),
    ("train_step_request", "request", req("train_step", {"model_id": "generator", "batch": [
        {"id": "img3", "image_path": "/data/img3.png", "context": "write questions about the image .",
         "positive": "q: how many stars ? a: 2 .", "negatives": ["q: is there a cat ? a: yes ."]}]})),
    # 1.2: the optional per-example loss weight (a float, or an int as JS encodes 1.0; missing means 1).
    ("train_step_request_with_weights", "request", req("train_step", {"model_id": "generator", "batch": [
        {"id": "img3#0", "image_path": "/data/img3.png", "context": "how many stars ?", "positive": "2 .",
         "negatives": [], "weight": 1.25},
        {"id": "img4#0", "image_path": "/data/img4.png", "context": "is there a cat ?", "positive": "no .",
         "negatives": [], "weight": 0}]})),
    ("setup_training_with_null_lora", "request", req("setup_training", {
        "model_id": "generator", "lr": 1e-4, "total_steps": 200, "form": "infonce_hidden", "tau": 0.1, "lambda_cl": 0.1, "lora": None})),
    # The messages whose fields carry "path": true (confined to --roots on a remote worker).
    ("save_checkpoint_request_with_data_position", "request", req("save_checkpoint", {
        "model_id": "generator", "dir": "/runs/r1/checkpoints/contrast", "data_position": {"epoch": 0, "next": 48}})),
    ("save_checkpoint_reply", "reply", rep("save_checkpoint", {
        "path": "/runs/r1/checkpoints/contrast/step-00000050", "step": 50, "seconds": 0.75})),
    ("load_checkpoint_request", "request", req("load_checkpoint", {
        "model_id": "generator", "path": "/runs/r1/checkpoints/contrast/step-00000050"})),
    ("load_checkpoint_reply_without_data_position", "reply", rep("load_checkpoint", {
        "path": "/runs/r1/checkpoints/contrast/step-00000050", "step": 50, "data_position": None})),
    # 1.3: the newest checkpoint of a folder, chosen by the worker; null path when there is none.
    ("load_checkpoint_request_with_dir", "request", req("load_checkpoint", {
        "model_id": "generator", "dir": "/runs/r1/checkpoints/contrast"}, version="1.3")),
    ("load_checkpoint_reply_nothing_to_restore", "reply", rep("load_checkpoint", {"path": None, "step": 0, "data_position": None})),
    ("export_model_request", "request", req("export_model", {"model_id": "generator", "dir": "/runs/r1/models/r0-contrast"})),
    ("export_model_reply", "reply", rep("export_model", {"path": "/runs/r1/models/r0-contrast", "lora_merged": False})),
    ("unload_model_request", "request", req("unload_model", {"model_id": "generator"})),
    ("unload_model_reply_unknown_id", "reply", rep("unload_model", {"model_id": "nope", "unloaded": False})),
    ("load_model_reply", "reply", rep("load_model", {
        "model_id": "generator", "family": "llava", "model_dir": "/models/tiny", "num_parameters": 1400000,
        "device": "cpu", "dtype": "float32", "vocab_size": 64, "load_seconds": 0.25})),
    # 1.3: the worker operations that replaced the pipeline's own Python programs, and progress frames.
    ("build_world_request", "request", req("build_world", {
        "out_dir": "/cache/world-1a2b", "params": {"seed": 0, "pool_images": 4, "pretrain": {"align_steps": 2}},
        "replace_stale": True}, version="1.3")),
    ("build_world_reply", "reply", rep("build_world", {
        "dir": "/cache/world-1a2b", "already_built": False,
        "marker": {"format": 2, "seed": 0, "stats": {"generator": {"steps": 2, "final_loss_lm": None}}, "build_seconds": 12.5}})),
    ("build_smoke_request", "request", req("build_smoke", {"out_dir": "/cache/smoke"}, version="1.3")),
    ("build_smoke_reply", "reply", rep("build_smoke", {"dir": "/cache/smoke", "already_built": True})),
    ("grade_pairs_request", "request", req("grade_pairs", {
        "truth_file": "/cache/world/data/truth.jsonl", "pairs_file": "/runs/r1/grade/base.pairs.jsonl",
        "labels_file": "/runs/r1/grade/base.labels.jsonl"}, version="1.3")),
    ("grade_pairs_reply", "reply", rep("grade_pairs", {
        "pairs": 4, "grounded_share": 0.5, "hallucinated_share": 0.25, "malformed_share": 0.25,
        "by_family": {"colour": {"pairs": 3, "grounded": 2, "hallucinated": 1, "malformed": 0},
                      "unknown": {"pairs": 1, "grounded": 0, "hallucinated": 0, "malformed": 1}},
        "auroc_i2c": 1})),  # an integral float travels as an int (JavaScript's encoding)
    ("grade_pairs_reply_without_pairs", "reply", rep("grade_pairs", {
        "pairs": 0, "grounded_share": None, "hallucinated_share": None, "malformed_share": None,
        "by_family": {}, "auroc_i2c": None})),
    ("progress_frame", "reply", rep("build_world", {"line": "align: step 50/800 loss 2.104"}, status="progress")),
    ("echo_request_with_progress_lines", "request", req("echo", {"payload": None, "progress_lines": 3}, version="1.3")),
    ("error_reply", "reply", rep("load_model", {
        "name": "FileNotFoundError", "message": "model directory /nope does not exist",
        "traceback": "Traceback (most recent call last):\n  ...\nFileNotFoundError: /nope\n"}, status="error")),
    ("error_reply_for_unreadable_request", "reply", rep("unknown", {
        "name": "truncated_frame", "message": "frame of 3 bytes ends inside a msgpack value", "traceback": ""},
        status="error", reply_to=None)),
]

# A frame hand-built with float32 (0xca) values: both sides must decode it; neither encoder emits it.
FLOAT32_FRAME = (
    bytes([0x82]) + msgpack.packb("header") + msgpack.packb({"msg_id": "o-1", "type": "echo", "version": "1.0"})
    + msgpack.packb("content") + bytes([0x81]) + msgpack.packb("payload") + bytes([0x83])
    + msgpack.packb("f32_one_and_half") + b"\xca" + struct.pack(">f", 1.5)
    + msgpack.packb("f32_tenth") + b"\xca" + struct.pack(">f", 0.1)
    + msgpack.packb("f32_nan") + b"\xca" + struct.pack(">f", math.nan)
)
FLOAT32_VALUE = req("echo", {"payload": {
    "f32_one_and_half": 1.5, "f32_tenth": struct.unpack(">f", struct.pack(">f", 0.1))[0], "f32_nan": math.nan}})

HELLO = msgpack.packb(req("hello", {"client": "x"}))
INVALID = [
    ("truncated_frame", "request", HELLO[:-1], "truncated_frame", {}),
    ("truncated_inside_header", "request", HELLO[:7], "truncated_frame", {}),
    ("frame_over_size_limit", "request", HELLO, "frame_too_large", {"max_frame_bytes": 16}),
    ("reserved_byte_0xc1", "request", b"\xc1", "invalid_msgpack", {}),
    ("trailing_bytes", "request", HELLO + b"\x00", "trailing_bytes", {}),
    ("top_level_list", "request", msgpack.packb([1, 2, 3]), "not_a_message", {}),
    ("missing_header", "request", msgpack.packb({"content": {}}), "not_a_message", {}),
    ("header_without_msg_id", "request", msgpack.packb({"header": {"type": "hello", "version": "1.0"}}), "not_a_message", {}),
    ("version_not_major_minor", "request", msgpack.packb(req("hello", {"client": "x"}, version="one")), "not_a_message", {}),
    ("major_version_mismatch", "request", msgpack.packb(req("hello", {"client": "x"}, version="2.0")), "unsupported_version", {}),
    ("unknown_message_type", "request", msgpack.packb(req("teleport", {})), "unknown_type", {}),
    ("wrong_field_type", "request", msgpack.packb(req("load_model", {"model_id": "g", "model_dir": 42})), "invalid_content", {}),
    ("missing_required_field", "request", msgpack.packb(req("load_model", {"model_dir": "/m"})), "invalid_content", {}),
    ("null_in_non_nullable_field", "request", msgpack.packb(req("load_model", {"model_id": "g", "model_dir": None})), "invalid_content", {}),
    ("value_outside_enum", "request", msgpack.packb(req("load_model", {"model_id": "g", "model_dir": "/m", "dtype": "float8"})), "invalid_content", {}),
    ("bytes_where_string_expected", "request", msgpack.packb(req("load_model", {"model_id": "g", "model_dir": b"/m"})), "invalid_content", {}),
    ("tensor_data_length_mismatch", "request",
     msgpack.packb(req("echo", {"tensors": {"t": {"dtype": "float32", "shape": [3], "data": b"\x00" * 8}}})), "invalid_content", {}),
    ("tensor_unknown_dtype", "request",
     msgpack.packb(req("echo", {"tensors": {"t": {"dtype": "complex64", "shape": [1], "data": b"\x00" * 8}}})), "invalid_content", {}),
    ("score_estimator_outside_enum", "request",
     msgpack.packb(req("score", {"model_id": "g", "estimator": "entropy", "items": []})), "invalid_content", {}),
    ("score_item_without_answer", "request",
     msgpack.packb(req("score", {"model_id": "g", "items": [{"id": "a", "image_path": "/x.png", "question": "q"}]})), "invalid_content", {}),
    ("train_step_negatives_not_a_list", "request",
     msgpack.packb(req("train_step", {"model_id": "g", "batch": [
         {"id": "a", "image_path": "/x.png", "context": "c", "positive": "p", "negatives": "n"}]})), "invalid_content", {}),
    ("train_step_weight_not_a_number", "request",
     msgpack.packb(req("train_step", {"model_id": "g", "batch": [
         {"id": "a", "image_path": "/x.png", "context": "c", "positive": "p", "negatives": [], "weight": "1"}]})), "invalid_content", {}),
    ("progress_without_line", "reply", msgpack.packb(rep("build_world", {}, status="progress")), "invalid_content", {}),
    ("status_outside_enum", "reply", msgpack.packb(rep("build_world", {"line": "x"}, status="partial")), "not_a_message", {}),
    ("build_world_without_params", "request", msgpack.packb(req("build_world", {"out_dir": "/w"})), "invalid_content", {}),
    ("grade_pairs_share_not_a_number", "reply", msgpack.packb(rep("grade_pairs", {
        "pairs": 1, "grounded_share": "1", "hallucinated_share": 0.0, "malformed_share": 0.0, "by_family": {},
        "auroc_i2c": None})), "invalid_content", {}),
    ("int_field_beyond_2_53", "reply", msgpack.packb(rep("unload_model", {"model_id": 2**60, "unloaded": True})), "invalid_content", {}),
    ("reply_without_status", "reply",
     msgpack.packb({"header": {"msg_id": "w-1", "type": "shutdown", "version": "1.0", "reply_to": "o-1"}, "content": {}}), "not_a_message", {}),
    ("error_reply_without_traceback", "reply",
     msgpack.packb(rep("hello", {"name": "E", "message": "m"}, status="error")), "invalid_content", {}),
]


def typed(value):
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value if abs(value) <= 2**53 - 1 else {"$int": str(value)}
    if isinstance(value, float):
        return {"$float": value if math.isfinite(value) else ("NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity"))}
    if isinstance(value, bytes):
        return {"$bytes": value.hex()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    return {k: typed(v) for k, v in value.items()}


def main():
    valid = [{"name": n, "direction": d, "hex": msgpack.packb(m).hex(), "value": typed(m), "roundtrip": True}
             for n, d, m in VALID]
    valid.append({"name": "float32_values_decode_as_floats", "direction": "request", "hex": FLOAT32_FRAME.hex(),
                  "value": typed(FLOAT32_VALUE), "roundtrip": False})
    invalid = [{"name": n, "direction": d, "hex": b.hex(), "error": e, **opts} for n, d, b, e, opts in INVALID]
    out = {"$comment": "Generated by make_vectors.py; run by test/protocol/vectors.test.ts and py-worker/tests/test_protocol_vectors.py.",
           "valid": valid, "invalid": invalid}
    Path(__file__).with_name("frames.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
