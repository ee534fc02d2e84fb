"""The worker's serving loop: a ROUTER socket, one request at a time, an error reply for any failure."""
import logging
import os
import traceback
from pathlib import Path
from typing import Callable

import zmq

from .ops import HANDLERS
from .protocol import ProtocolError, decode_frame, encode_message, make_error_reply, make_progress, make_reply
from .protocol.schema import SCHEMA, validate_fields
from .security import AuthEvents, CurveKeys, CurveServer, PathGuard, RequestRefused, check_endpoint, refuse_shutdown
from .state import WorkerState, no_progress

log = logging.getLogger("c3l_worker")
PROGRESS_SINCE = (1, 3)  # a requester of an older version refuses progress frames (status "progress")
MAX_PROGRESS_CHARS = 2000  # a line, not a payload: keeps every progress frame far below any frame limit
__all__ = ["Server", "check_endpoint"]


class Server:
    def __init__(self, endpoint: str, state: WorkerState, handlers=HANDLERS,
                 curve_keys: CurveKeys | None = None, guard: PathGuard | None = None):
        """curve_keys make the socket a CURVE server (clients checked by ZAP); guard confines request paths to roots."""
        check_endpoint(endpoint, curve=curve_keys is not None, roots=guard is not None)
        self.endpoint = endpoint
        self.state = state
        self.handlers = handlers
        # Checks every request passes before its handler runs; a RequestRefused becomes an error reply.
        self.checks: list[Callable[[str, dict], None]] = [guard.check] if guard else []
        self.context = zmq.Context.instance()
        self.socket = self.context.socket(zmq.ROUTER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.curve = CurveServer(self.context, curve_keys) if curve_keys else None
        self.auth_events: AuthEvents | None = None
        if self.curve:
            self.curve.secure(self.socket)  # before bind: the options apply to connections accepted later
            self.auth_events = AuthEvents(self.socket)
            self.checks.append(refuse_shutdown)
        try:
            self.socket.bind(endpoint)
        except zmq.ZMQError as exc:
            self.close(unlink=False)  # the address may belong to another process: leave its ipc file alone
            raise OSError(f"could not bind {endpoint}: {exc}") from None
        if guard:
            log.info("requests may only name paths under: %s", ", ".join(map(str, guard.roots)))
        log.info("serving %s (pid %d)", endpoint, os.getpid())

    def serve_forever(self) -> None:
        poller = zmq.Poller()
        poller.register(self.socket, zmq.POLLIN)
        if self.auth_events:
            poller.register(self.auth_events.monitor, zmq.POLLIN)
        try:
            while not self.state.stop_requested:
                ready = dict(poller.poll(timeout=500))
                if self.auth_events and self.auth_events.monitor in ready:
                    self.auth_events.drain()
                if self.socket in ready:
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
            reply = self._dispatch(identity, header, request["content"])
        except ProtocolError as err:
            log.warning("refused a frame: %s", err)
            header = {"msg_id": err.msg_id, "type": err.msg_type}
            reply = make_error_reply(header, err.code, err.detail)
        self.socket.send_multipart([identity, self._encode(reply, header)])

    def _dispatch(self, identity: bytes, header: dict, content: dict) -> dict:
        msg_type = header["type"]
        try:
            for check in self.checks:
                check(msg_type, content)
        except RequestRefused as exc:
            log.warning("refused %s %s: %s", msg_type, header["msg_id"], exc)
            return make_error_reply(header, "RequestRefused", str(exc))
        self.state.progress = self._progress_sender(identity, header)
        try:
            result = self.handlers[msg_type](content, self.state)
            problems = validate_fields(result, SCHEMA["messages"][msg_type]["reply"], "content")
            if problems:
                raise TypeError(f"{msg_type} handler produced an invalid reply: " + "; ".join(problems))
            return make_reply(header, result)
        except Exception as exc:  # a failed request must never take the worker down
            log.error("%s %s failed:\n%s", msg_type, header["msg_id"], traceback.format_exc())
            return make_error_reply(header, type(exc).__name__, str(exc), traceback.format_exc())
        finally:
            self.state.progress = no_progress

    def _progress_sender(self, identity: bytes, header: dict) -> Callable[[str], None]:
        """progress(line) for one request: a progress frame to its sender now, ahead of the reply. The
        handler runs on this thread, so sending on the socket mid-handler is safe; a ROUTER drops (never
        blocks on) a frame for a peer that is gone or too far behind."""
        if _version(header["version"]) < PROGRESS_SINCE:
            return no_progress

        def send(line: str) -> None:
            self.socket.send_multipart([identity, encode_message(make_progress(header, str(line)[:MAX_PROGRESS_CHARS]))])
        return send

    def _encode(self, reply: dict, header: dict | None) -> bytes:
        frame = encode_message(reply)
        if len(frame) > self.state.max_frame_bytes:
            message = f"reply of {len(frame)} bytes exceeds max_frame_bytes {self.state.max_frame_bytes}; ask for smaller batches"
            frame = encode_message(make_error_reply(header, "frame_too_large", message))
        return frame

    def close(self, unlink: bool = True) -> None:
        if self.auth_events:
            self.auth_events.close()
        self.socket.close(linger=0)
        if self.curve:
            self.curve.stop()
        if unlink and self.endpoint.startswith("ipc://"):
            Path(self.endpoint[len("ipc://"):]).unlink(missing_ok=True)
        log.info("closed %s", self.endpoint)


def _version(version: str) -> tuple[int, int]:
    major, minor = version.split(".")  # the codec checked MAJOR.MINOR
    return int(major), int(minor)
