"""The wire protocol: schema (single source of truth: proto/schema.json), codec and tensors."""
from .codec import decode_frame, encode_message, make_error_reply, make_progress, make_reply
from .errors import ProtocolError
from .schema import SCHEMA, PROTOCOL_VERSION, MESSAGE_TYPES, major_of

__all__ = [
    "decode_frame", "encode_message", "make_reply", "make_error_reply", "make_progress",
    "ProtocolError", "SCHEMA", "PROTOCOL_VERSION", "MESSAGE_TYPES", "major_of",
]
