"""The worker's serving loop: a ROUTER socket, one request at a time, an error reply for any failure."""
import logging
import os
import stat
import traceback
from pathlib import Path
from urllib.parse import urlparse

import zmq

from .ops import HANDLERS
from .protocol import ProtocolError, decode_frame, encode_message, make_error_reply, make_reply
from .protocol.schema import SCHEMA, validate_fields
from .state import WorkerState

log = logging.getLogger("c3l_worker")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def check_endpoint(endpoint: str) -> None:
    """Bind only where no one else can connect: ipc in a private directory or tcp on loopback."""
    parsed = urlparse(endpoint)
    if parsed.scheme == "ipc":
        directory = Path(endpoint[len("ipc://"):]).parent
        mode = directory.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise PermissionError(f"ipc directory {directory} is accessible to other users (mode {oct(mode & 0o777)}); use a 0700 directory")
    elif parsed.scheme == "tcp":
        if parsed.hostname not in LOOPBACK_HOSTS:
            raise PermissionError(f"refusing to bind {endpoint}: only loopback (127.0.0.1) or ipc endpoints are allowed without CurveZMQ keys")
    else:
        raise ValueError(f"unsupported endpoint {endpoint!r}: use ipc://PATH or tcp://127.0.0.1:PORT")


class Server:
    def __init__(self, endpoint: str, state: WorkerState, handlers=HANDLERS):
        check_endpoint(endpoint)
        self.endpoint = endpoint
        self.state = state
        self.handlers = handlers
        self.context = zmq.Context.instance()
        self.socket = self.context.socket(zmq.ROUTER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.bind(endpoint)
        log.info("serving %s (pid %d)", endpoint, os.getpid())

    def serve_forever(self) -> None:
        try:
            while not self.state.stop_requested:
                if self.socket.poll(timeout=500):
                    self._serve_one(self.socket.recv_multipart())
        finally:
            self.close()

    def _serve_one(self, frames: list[bytes]) -> None:
        identity, *parts = frames
        header = None
        try:
            if len(parts) != 1:
                raise ProtocolError("not_a_message", f"expected one frame per message, got {len(parts)}")
            request = decode_frame(parts[0], "request", self.state.max_frame_bytes)
            header = request["header"]
            reply = self._dispatch(header, request["content"])
        except ProtocolError as err:
            log.warning("refused a frame: %s", err)
            header = {"msg_id": err.msg_id, "type": err.msg_type}
            reply = make_error_reply(header, err.code, err.detail)
        self.socket.send_multipart([identity, self._encode(reply, header)])

    def _dispatch(self, header: dict, content: dict) -> dict:
        msg_type = header["type"]
        try:
            result = self.handlers[msg_type](content, self.state)
            problems = validate_fields(result, SCHEMA["messages"][msg_type]["reply"], "content")
            if problems:
                raise TypeError(f"{msg_type} handler produced an invalid reply: " + "; ".join(problems))
            return make_reply(header, result)
        except Exception as exc:  # a failed request must never take the worker down
            log.error("%s %s failed:\n%s", msg_type, header["msg_id"], traceback.format_exc())
            return make_error_reply(header, type(exc).__name__, str(exc), traceback.format_exc())

    def _encode(self, reply: dict, header: dict | None) -> bytes:
        frame = encode_message(reply)
        if len(frame) > self.state.max_frame_bytes:
            message = f"reply of {len(frame)} bytes exceeds max_frame_bytes {self.state.max_frame_bytes}; ask for smaller batches"
            frame = encode_message(make_error_reply(header, "frame_too_large", message))
        return frame

    def close(self) -> None:
        self.socket.close(linger=0)
        if self.endpoint.startswith("ipc://"):
            Path(self.endpoint[len("ipc://"):]).unlink(missing_ok=True)
        log.info("closed %s", self.endpoint)
