"""Frames <-> messages. One msgpack map per ZeroMQ frame: {header, content}; never pickle."""
import itertools
import os
from typing import Any, Literal

import msgpack

from .errors import ProtocolError
from .schema import PROTOCOL_VERSION, SCHEMA, major_of, validate_fields

Direction = Literal["request", "reply"]
_ids = itertools.count(1)


def encode_message(message: dict) -> bytes:
    return msgpack.packb(message, use_bin_type=True)


def new_msg_id() -> str:
    return f"w{os.getpid()}-{next(_ids)}"


def decode_frame(frame: bytes, direction: Direction, max_frame_bytes: int | None = None) -> dict:
    """Decode and validate one frame, or raise ProtocolError with the first failing rule's code."""
    limit = SCHEMA["max_frame_bytes"] if max_frame_bytes is None else max_frame_bytes
    if len(frame) > limit:
        raise ProtocolError("frame_too_large", f"frame of {len(frame)} bytes exceeds the limit of {limit} bytes")
    message = _unpack(frame)
    header = _header(message, direction)
    msg_id, msg_type = header["msg_id"], header["type"]
    if major_of(header["version"]) != major_of(PROTOCOL_VERSION):
        raise ProtocolError(
            "unsupported_version",
            f"peer speaks protocol {header['version']}, this side speaks {PROTOCOL_VERSION} (major versions must match)",
            msg_id, msg_type)
    content = message.get("content", {})
    if direction == "reply" and header["status"] == "error":
        # An error may answer a request of unknown type, or one too broken to name its type.
        fields = SCHEMA["types"]["ErrorContent"]["fields"]
    elif direction == "reply" and header["status"] == "progress":
        fields = SCHEMA["types"]["ProgressContent"]["fields"]
    elif msg_type in SCHEMA["messages"]:
        fields = SCHEMA["messages"][msg_type][direction]
    else:
        raise ProtocolError("unknown_type", f"unknown message type {msg_type!r}; known: {', '.join(SCHEMA['messages'])}", msg_id, msg_type)
    problems = validate_fields(content, fields, "content")
    if problems:
        raise ProtocolError("invalid_content", f"{msg_type} {direction}: " + "; ".join(problems), msg_id, msg_type)
    return {**message, "content": content}  # a missing content reads as {}


def _unpack(frame: bytes) -> Any:
    try:
        return msgpack.unpackb(frame, raw=False, strict_map_key=True)
    except msgpack.ExtraData as exc:
        raise ProtocolError("trailing_bytes", f"{len(exc.extra)} bytes follow the message") from None
    except msgpack.FormatError as exc:
        raise ProtocolError("invalid_msgpack", f"not msgpack: {exc or 'reserved type byte'}") from None
    except msgpack.StackError:
        raise ProtocolError("invalid_msgpack", "not msgpack: nested too deeply") from None
    except ValueError as exc:
        if "incomplete" in str(exc):
            raise ProtocolError("truncated_frame", f"frame of {len(frame)} bytes ends inside a msgpack value") from None
        raise ProtocolError("invalid_msgpack", f"not msgpack: {exc or type(exc).__name__}") from None


def _header(message: Any, direction: Direction) -> dict:
    if not isinstance(message, dict) or not isinstance(message.get("header"), dict):
        raise ProtocolError("not_a_message", "expected a map with a 'header' map")
    header = message["header"]
    type_name = "RequestHeader" if direction == "request" else "ReplyHeader"
    problems = validate_fields(header, SCHEMA["types"][type_name]["fields"], "header")
    if major_of(header.get("version")) is None and not problems:
        problems.append(f"header.version: expected MAJOR.MINOR, got {header['version']!r}")
    if problems:
        msg_id = header.get("msg_id") if isinstance(header.get("msg_id"), str) else None
        raise ProtocolError("not_a_message", "; ".join(problems), msg_id)
    return header


def make_reply(request_header: dict, content: dict) -> dict:
    return {"header": _reply_header(request_header, "ok"), "content": content}


def make_error_reply(request_header: dict | None, name: str, message: str, traceback: str = "") -> dict:
    return {
        "header": _reply_header(request_header or {}, "error"),
        "content": {"name": name, "message": message, "traceback": traceback},
    }


def make_progress(request_header: dict, line: str) -> dict:
    """A progress frame: not the reply yet; the request's one ok or error reply still follows."""
    return {"header": _reply_header(request_header, "progress"), "content": {"line": line}}


def _reply_header(request_header: dict, status: str) -> dict:
    return {
        "msg_id": new_msg_id(),
        "type": request_header.get("type") or "unknown",
        "version": PROTOCOL_VERSION,
        "reply_to": request_header.get("msg_id"),
        "status": status,
    }
