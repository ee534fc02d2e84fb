"""Security for a worker that others connect to: CurveZMQ keys checked through ZAP, and path confinement.

Key files are ZeroMQ's standard certificates (`NAME.key` public, `NAME.key_secret` secret), as
`c3l keys` and pyzmq's `zmq.auth.create_certificates` write them. Client authentication is pyzmq's
own ZAP handler (`zmq.auth.thread.ThreadAuthenticator`); this module only wires it up and logs its
verdicts, and every handshake refused before ZAP is asked, in the worker's log.
"""
import logging
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

import zmq
from zmq.auth.certs import load_certificate, load_certificates
from zmq.auth.thread import ThreadAuthenticator
from zmq.utils.monitor import recv_monitor_message

from .protocol.schema import SCHEMA

log = logging.getLogger("c3l_worker.security")
# Users start a remote worker with `c3l worker --key FILE`, which passes it on as --curve-secret-key:
# messages name the flag they typed.
KEY_FLAG = "c3l worker --key"
_GENERIC_PREFIXES = ("list<", "map<")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


class SecurityConfigError(ValueError):
    """A key file, key folder or root the worker was started with is unusable."""


class RequestRefused(PermissionError):
    """A request this worker will not run (a path outside its roots, a shutdown of a shared worker)."""


# ------------------------------------------------------------------------------------------- endpoints

def check_endpoint(endpoint: str, curve: bool = False, roots: bool = False) -> None:
    """Bind beyond this host only with CURVE keys and path roots; else ipc in a private folder or loopback tcp."""
    parsed = urlparse(endpoint)
    if parsed.scheme == "ipc":
        directory = Path(endpoint[len("ipc://"):]).parent
        mode = directory.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise PermissionError(f"ipc directory {directory} is accessible to other users (mode {oct(mode & 0o777)}); use a 0700 directory")
    elif parsed.scheme == "tcp":
        if parsed.hostname in LOOPBACK_HOSTS:
            return
        missing = ([] if curve else [f"CurveZMQ keys ({KEY_FLAG} NAME.key_secret --authorized-keys DIR; make them with `c3l keys`)"]) \
            + ([] if roots else ["--roots DIR (the folders requests may read and write)"])
        if missing:
            raise PermissionError(f"refusing to bind {endpoint} without {' and '.join(missing)}: "
                                  "only loopback (127.0.0.1) or ipc endpoints are allowed without them")
    else:
        raise ValueError(f"unsupported endpoint {endpoint!r}: use ipc://PATH, tcp://127.0.0.1:PORT, or tcp://HOST:PORT with keys")


# ------------------------------------------------------------------------------------------ CURVE keys

@dataclass(frozen=True)
class CurveKeys:
    secret_key_file: Path
    authorized_keys: Path
    public_key: bytes
    secret_key: bytes
    clients: frozenset[bytes]  # z85 public keys of the admitted clients


def load_curve_keys(secret_key_file: str, authorized_keys: str) -> CurveKeys:
    """Reads the worker's secret certificate and checks the folder of client certificates, naming what is wrong."""
    secret_path, keys_dir = Path(secret_key_file), Path(authorized_keys)
    if not secret_path.is_file():
        raise SecurityConfigError(f"{KEY_FLAG} {secret_path}: no such file (make one with `c3l keys --out DIR`)")
    try:
        public_key, secret_key = load_certificate(secret_path)
    except ValueError as exc:
        raise SecurityConfigError(f"{KEY_FLAG} {secret_path}: not a ZeroMQ certificate ({exc})") from None
    if not secret_key:
        raise SecurityConfigError(f"{KEY_FLAG} {secret_path}: holds only a public key; pass the NAME.key_secret file")
    mode = stat.S_IMODE(secret_path.stat().st_mode)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecurityConfigError(f"{KEY_FLAG} {secret_path}: mode {oct(mode)} lets other users read the secret key; chmod 600 it")
    if not keys_dir.is_dir():
        raise SecurityConfigError(f"--authorized-keys {keys_dir}: not a folder (it holds the clients' NAME.key public certificates)")
    try:
        clients = load_certificates(keys_dir)
    except ValueError as exc:
        raise SecurityConfigError(f"--authorized-keys {keys_dir}: an unreadable certificate ({exc})") from None
    if not clients:
        raise SecurityConfigError(f"--authorized-keys {keys_dir}: no *.key public certificates, so no client could connect")
    return CurveKeys(secret_path, keys_dir, public_key, secret_key, frozenset(clients))


class CurveServer:
    """Makes a socket a CURVE server whose clients pyzmq's ZAP handler checks against --authorized-keys."""

    def __init__(self, context: zmq.Context, keys: CurveKeys):
        self.keys = keys
        self.authenticator = ThreadAuthenticator(context)
        self.authenticator.start()
        # pyzmq's ZAP handler asks the callback about each client key (rather than configure_curve(location=)) so
        # that each verdict is logged with the key; a newly authorized client needs a worker restart.
        self.authenticator.configure_curve_callback(domain="*", credentials_provider=AuthorizedKeys(keys))

    def secure(self, socket: zmq.Socket) -> None:
        socket.curve_secretkey = self.keys.secret_key
        socket.curve_publickey = self.keys.public_key
        socket.curve_server = True
        log.info("CURVE server (public key %s); %d authorized client key(s) from %s",
                 self.keys.public_key.decode(), len(self.keys.clients), self.keys.authorized_keys)

    def stop(self) -> None:
        self.authenticator.stop()


class AuthorizedKeys:
    """pyzmq's credentials provider: admits the public keys of the folder's *.key certificates, read once at start."""

    def __init__(self, keys: CurveKeys):
        self.folder = keys.authorized_keys
        self.keys = keys.clients  # read by zmq.auth.load_certificates, as configure_curve(location=) would
        self.throttle = Throttle()

    def callback(self, domain: str, client_key: bytes) -> bool:
        if client_key in self.keys:
            log.info("admitted client key %s", client_key.decode())
            return True
        more = self.throttle.due(client_key)
        if more is not None:
            log.warning("refused a client: its CURVE public key %s is not among the %d key(s) in --authorized-keys %s%s",
                        client_key.decode(), len(self.keys), self.folder, more)
        return False


class Throttle:
    """A refused client reconnects every ~100 ms: log the first refusal, then one line per interval with a count."""

    OVERFLOW = "<many keys>"

    def __init__(self, interval_s: float = 30.0, max_keys: int = 256):
        self.interval_s = interval_s
        self.max_keys = max_keys  # past this many recent keys (random keys from a scan) they share one budget
        self.last: dict[object, tuple[float, int]] = {}

    def due(self, key: object) -> str | None:
        """None when this occurrence should stay quiet, else a suffix counting the quiet ones since the last line."""
        now = time.monotonic()
        if key not in self.last and len(self.last) >= self.max_keys:
            self.last = {k: v for k, v in self.last.items() if now - v[0] < self.interval_s}
            if len(self.last) >= self.max_keys:
                key = self.OVERFLOW
        logged_at, quiet = self.last.get(key, (-self.interval_s, 0))
        if now - logged_at < self.interval_s:
            self.last[key] = (logged_at, quiet + 1)
            return None
        self.last[key] = (now, 0)
        return f" ({quiet} more since the last such line)" if quiet else ""


_HANDSHAKE_FAILURES = zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
_PROTOCOL_ERRORS = {
    zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH: "the client did not use CURVE (no keys configured on its side?)",
    zmq.PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC: "the client's handshake could not be decrypted (it may hold a wrong server public key)",
}


class AuthEvents:
    """Logs handshakes refused before ZAP is asked (no CURVE, a wrong server key) from the socket's monitor."""

    def __init__(self, socket: zmq.Socket):
        self.monitor = socket.get_monitor_socket(_HANDSHAKE_FAILURES)
        self.socket = socket
        self.throttle = Throttle()

    def drain(self) -> None:
        while self.monitor.poll(0):
            event = recv_monitor_message(self.monitor)
            kind, value = event["event"], event["value"]
            if kind == zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL:  # value is an errno: the peer went away mid-handshake
                reason = f"the handshake broke off ({os.strerror(value)})"
            else:
                reason = _PROTOCOL_ERRORS.get(value, f"a handshake protocol error (ZMTP code {value:#x})")
            more = self.throttle.due(reason)
            if more is not None:
                log.warning("refused a client on %s: %s%s", event["endpoint"].decode(), reason, more)

    def close(self) -> None:
        self.socket.disable_monitor()
        self.monitor.close(linger=0)


# ------------------------------------------------------------------------------------ path confinement

class PathGuard:
    """Every request field marked `"path": true` in proto/schema.json must resolve inside one of the roots."""

    def __init__(self, roots: list[str]):
        resolved = []
        for root in roots:
            real = Path(os.path.realpath(root))
            if not real.is_dir():
                raise SecurityConfigError(f"--roots {root}: not a folder")
            resolved.append(real)
        if not resolved:
            raise SecurityConfigError("--roots: name at least one folder")
        self.roots = resolved

    def check(self, msg_type: str, content: dict) -> None:
        for where, value in path_fields(SCHEMA["messages"][msg_type]["request"], content, "content"):
            real = Path(os.path.realpath(value))
            if not any(real.is_relative_to(root) for root in self.roots):
                via = "" if str(real) == value else f" (resolves to {real})"
                raise RequestRefused(f"{msg_type}: {where} {value!r}{via} is outside this worker's roots "
                                     f"({', '.join(map(str, self.roots))}); the worker was started with --roots naming what it may touch")


def path_fields(fields: dict, value: dict, where: str) -> Iterator[tuple[str, str]]:
    """(dotted place, path) for every present, non-null path field of a request content, through lists, maps and types."""
    for name, spec in fields.items():
        if value.get(name) is not None:
            yield from _paths_in(value[name], spec["type"], spec.get("path", False), f"{where}.{name}")


def _paths_in(value, type_name: str, is_path: bool, where: str) -> Iterator[tuple[str, str]]:
    if value is None:
        return
    if is_path and isinstance(value, str):
        yield where, value
    elif type_name.startswith(_GENERIC_PREFIXES):
        item = type_name[type_name.index("<") + 1:-1]
        items = enumerate(value) if type_name.startswith("list<") else value.items()
        for key, v in items:
            yield from _paths_in(v, item, is_path, f"{where}[{key}]" if type_name.startswith("list<") else f"{where}.{key}")
    elif type_name in SCHEMA["types"]:
        yield from path_fields(SCHEMA["types"][type_name]["fields"], value, where)


def refuse_shutdown(msg_type: str, content: dict) -> None:
    """A worker bound for others serves several orchestrators: only its operator (Ctrl-C, SIGTERM) stops it."""
    if msg_type == "shutdown":
        raise RequestRefused("shutdown: this worker serves remote clients and may be shared; stop it where it runs (Ctrl-C or SIGTERM)")
