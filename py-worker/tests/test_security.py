"""A worker others connect to: CURVE keys checked by ZAP, refusals logged, request paths confined to --roots.

Real `python -m c3l_worker` processes on tcp loopback, real CURVE DEALER sockets, certificates written
by pyzmq's own `zmq.auth.create_certificates`, the tiny random LLaVA for in-root work. Every receive
polls with a timeout and every process is killed in teardown, so a broken worker fails a test, never hangs it.
"""
import contextlib
import itertools
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import msgpack
import pytest
import zmq
import zmq.auth
from PIL import Image

from c3l_worker.protocol import PROTOCOL_VERSION, SCHEMA
from c3l_worker.security import PathGuard, RequestRefused, Throttle, path_fields

REPLY_TIMEOUT_S = 30.0  # the first hello waits for torch and transformers to import
REFUSED_WAIT_S = 2.0  # a refused client hears nothing; this long is plenty on loopback
MAX_FRAME = 65536
_ids = itertools.count(1)


# --------------------------------------------------------------------------------------------- helpers

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_cert(folder: Path, name: str) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    public, secret = zmq.auth.create_certificates(folder, name)
    os.chmod(secret, 0o600)  # pyzmq writes it with the umask's mode; the worker refuses a readable secret
    return Path(public), Path(secret)


def worker_env() -> dict:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def run_worker_flags(*flags: str, timeout: float = 30.0) -> subprocess.CompletedProcess:
    """Runs a worker expected to refuse its flags and exit at once."""
    return subprocess.run([sys.executable, "-m", "c3l_worker", "--threads", "1", *flags], capture_output=True, text=True,
                          env=worker_env(), timeout=timeout)


class Keys:
    """The worker's certificate, one authorized client, and one stranger whose key the worker never saw."""

    def __init__(self, base: Path):
        self.worker_public, self.worker_secret = make_cert(base / "worker", "worker")
        self.authorized = base / "authorized"
        alice_public, self.alice_secret = make_cert(base / "alice", "alice")
        self.authorized.mkdir()
        (self.authorized / "alice.key").write_bytes(alice_public.read_bytes())
        _, self.mallory_secret = make_cert(base / "mallory", "mallory")

    def worker_flags(self) -> list[str]:
        return ["--curve-secret-key", str(self.worker_secret), "--authorized-keys", str(self.authorized)]


class SecureWorker:
    def __init__(self, endpoint: str, log_path: Path, flags: list[str]):
        self.endpoint = endpoint
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "c3l_worker", "--endpoint", endpoint, "--threads", "1", *flags],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=worker_env(),
                                         start_new_session=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout_s: float = 5.0) -> str:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end and text not in self.log():
            time.sleep(0.05)
        return self.log()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, 9)
        self.proc.wait(timeout=10)


class Client:
    """A DEALER, CURVE-keyed when given a secret certificate."""

    def __init__(self, context: zmq.Context, endpoint: str, secret_cert: Path | None = None, server_public: bytes | None = None):
        self.socket = context.socket(zmq.DEALER)
        self.socket.linger = 0
        if secret_cert is not None:
            public, secret = zmq.auth.load_certificate(secret_cert)
            self.socket.curve_publickey, self.socket.curve_secretkey, self.socket.curve_serverkey = public, secret, server_public
        self.socket.connect(endpoint)

    def send_frame(self, frame: bytes) -> None:
        self.socket.send(frame)

    def send(self, msg_type: str, content: dict) -> str:
        msg_id = f"t-{next(_ids)}"
        self.send_frame(msgpack.packb({"header": {"msg_id": msg_id, "type": msg_type, "version": PROTOCOL_VERSION},
                                       "content": content}, use_bin_type=True))
        return msg_id

    def reply(self, timeout_s: float = REPLY_TIMEOUT_S) -> dict | None:
        if not self.socket.poll(int(timeout_s * 1000)):
            return None
        return msgpack.unpackb(self.socket.recv(), raw=False)

    def call(self, msg_type: str, content: dict, timeout_s: float = REPLY_TIMEOUT_S) -> dict:
        msg_id = self.send(msg_type, content)
        reply = self.reply(timeout_s)
        assert reply is not None, f"no reply to {msg_type} within {timeout_s} s"
        assert reply["header"]["reply_to"] == msg_id
        return reply

    def close(self) -> None:
        self.socket.close(linger=0)


def ok(reply: dict) -> dict:
    assert reply["header"]["status"] == "ok", reply["content"]
    return reply["content"]


def refused(reply: dict) -> str:
    assert reply["header"]["status"] == "error", reply["content"]
    assert reply["content"]["name"] == "RequestRefused", reply["content"]
    return reply["content"]["message"]


# -------------------------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def context():
    ctx = zmq.Context()
    yield ctx
    ctx.term()


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> Keys:
    return Keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def places(tmp_path_factory, tiny_llava_dir) -> dict[str, Path]:
    """A root holding images (the model's own folder is the second root), and an outside folder with the same kinds of files."""
    root = tmp_path_factory.mktemp("root")
    outside = tmp_path_factory.mktemp("outside")
    for folder in (root, outside):
        Image.new("RGB", (32, 32), (200, 30, 30)).save(folder / "red.png")
    (root / "escape").symlink_to(outside)  # inside by name, outside once resolved
    return {"root": root, "outside": outside, "model": tiny_llava_dir}


@pytest.fixture(scope="module")
def worker(tmp_path_factory, keys, places):
    log_dir = tmp_path_factory.mktemp("logs")
    roots = f"{places['root']},{places['model']}"
    w = SecureWorker(f"tcp://127.0.0.1:{free_port()}", log_dir / "worker.log",
                     [*keys.worker_flags(), "--roots", roots, "--max-frame-bytes", str(MAX_FRAME)])
    yield w
    w.kill()


@pytest.fixture
def alice(context, worker, keys):
    c = Client(context, worker.endpoint, keys.alice_secret, zmq.auth.load_certificate(keys.worker_public)[0])
    yield c
    c.close()


def assert_serving(client: Client) -> None:
    assert ok(client.call("hello", {"client": "still there?"}))["protocol_version"] == PROTOCOL_VERSION


# --------------------------------------------------------------------------------------------- CURVE

def test_an_authorized_client_gets_hello_and_its_admission_is_logged(alice, worker, keys):
    hello = ok(alice.call("hello", {"client": "alice"}))
    assert hello["protocol_version"] == PROTOCOL_VERSION and hello["pid"] == worker.proc.pid
    alice_key = zmq.auth.load_certificate(keys.alice_secret)[0].decode()
    assert f"admitted client key {alice_key}" in worker.wait_for_log(alice_key)


def test_an_unknown_client_key_is_refused_and_logged_with_the_key(context, worker, keys, alice):
    assert_serving(alice)  # the worker is up, so silence below is a refusal, not a slow start
    mallory = Client(context, worker.endpoint, keys.mallory_secret, zmq.auth.load_certificate(keys.worker_public)[0])
    try:
        mallory.send("hello", {"client": "mallory"})
        assert mallory.reply(REFUSED_WAIT_S) is None, "a client whose key is not authorized got a reply"
    finally:
        mallory.close()
    mallory_key = zmq.auth.load_certificate(keys.mallory_secret)[0].decode()
    log = worker.wait_for_log(mallory_key)
    assert f"WARNING c3l_worker.security: refused a client: its CURVE public key {mallory_key} is not among the 1 key(s)" in log
    assert str(keys.authorized) in log
    assert_serving(alice)


def test_a_client_with_a_wrong_server_key_is_refused_and_logged(context, worker, keys, alice):
    assert_serving(alice)
    wrong_server_public, _ = zmq.curve_keypair()
    c = Client(context, worker.endpoint, keys.alice_secret, wrong_server_public)
    try:
        c.send("hello", {"client": "confused"})
        assert c.reply(REFUSED_WAIT_S) is None
    finally:
        c.close()
    assert "could not be decrypted (it may hold a wrong server public key)" in worker.wait_for_log("could not be decrypted")


def test_a_client_without_curve_is_refused_and_logged(context, worker, alice):
    assert_serving(alice)
    c = Client(context, worker.endpoint)
    try:
        c.send("hello", {"client": "plain"})
        assert c.reply(REFUSED_WAIT_S) is None
    finally:
        c.close()
    # Which side sees the mechanism mismatch first is a race: on a loaded machine the client hangs up
    # before the worker reports it, and the worker logs the broken-off handshake instead. Either is a refusal.
    log = worker.wait_for_log("refused a client on")
    assert "the client did not use CURVE" in log or "the handshake broke off" in log, log
    assert_serving(alice)


def test_a_shared_worker_refuses_shutdown_and_keeps_serving(alice, worker):
    message = refused(alice.call("shutdown", {}))
    assert "Ctrl-C" in message
    time.sleep(0.3)
    assert worker.proc.poll() is None
    assert_serving(alice)


def test_refusal_lines_are_throttled_per_key_with_a_count_and_bounded_over_many_keys():
    throttle = Throttle(interval_s=0.3, max_keys=2)
    assert [throttle.due("a"), throttle.due("a"), throttle.due("a"), throttle.due("b")] == ["", None, None, ""]
    assert [throttle.due("c"), throttle.due("d"), throttle.due("e")] == ["", None, None]  # past 2 recent keys: one shared budget
    assert set(throttle.last) == {"a", "b", Throttle.OVERFLOW}
    time.sleep(0.35)
    assert throttle.due("a") == " (2 more since the last such line)"
    assert throttle.due("f") == ""  # old entries make room again
    assert "f" in throttle.last


# ------------------------------------------------------------------------------ frames over CURVE

def test_an_oversize_frame_is_refused_and_the_worker_keeps_serving(alice):
    msg_id = alice.send("hello", {"client": "x" * (MAX_FRAME + 100)})
    reply = alice.reply()
    assert reply["header"]["status"] == "error" and reply["content"]["name"] == "frame_too_large"
    assert str(MAX_FRAME) in reply["content"]["message"]
    assert reply["header"]["reply_to"] in (msg_id, None)  # too large to read, so it may not be attributed
    assert_serving(alice)


def test_an_unknown_type_and_garbage_are_refused_and_the_worker_keeps_serving(alice):
    reply = alice.call("teleport", {"to": "mars"})
    assert reply["header"]["status"] == "error" and reply["content"]["name"] == "unknown_type"
    alice.send_frame(b"\xc1 not msgpack")
    garbage = alice.reply()
    assert garbage["content"]["name"] == "invalid_msgpack" and garbage["header"]["reply_to"] is None
    assert_serving(alice)


# ------------------------------------------------------------------------------ path confinement

def test_paths_inside_the_roots_work(alice, places):
    loaded = ok(alice.call("load_model", {"model_id": "m", "model_dir": str(places["model"])}, timeout_s=120))
    assert loaded["model_dir"] == str(places["model"].resolve())
    out = ok(alice.call("generate", {"model_id": "m", "max_new_tokens": 2, "items": [
        {"id": "a", "image_path": str(places["root"] / "red.png"), "prompt": "what colour ?"},
        {"id": "b", "image_path": None, "prompt": "no image here"}]}, timeout_s=120))
    assert [r["error"] for r in out["results"]] == [None, None]


@pytest.mark.parametrize("msg_type, content, where", [
    ("load_model", lambda p: {"model_id": "x", "model_dir": str(p["outside"])}, "content.model_dir"),
    ("generate", lambda p: {"model_id": "m", "items": [
        {"id": "in", "image_path": str(p["root"] / "red.png"), "prompt": "ok"},
        {"id": "out", "image_path": str(p["outside"] / "red.png"), "prompt": "not ok"}]}, "content.items[1].image_path"),
    ("score", lambda p: {"model_id": "m", "items": [
        {"id": "s", "image_path": str(p["root"] / "escape" / "red.png"), "question": "q", "answer": "a"}]}, "content.items[0].image_path"),
    ("train_step", lambda p: {"model_id": "m", "batch": [
        {"id": "t", "image_path": str(p["root"] / ".." / p["outside"].name / "red.png"), "context": "c", "positive": "p",
         "negatives": []}]}, "content.batch[0].image_path"),
    ("save_checkpoint", lambda p: {"model_id": "m", "dir": str(p["outside"] / "ckpt")}, "content.dir"),
    ("load_checkpoint", lambda p: {"model_id": "m", "path": "/etc"}, "content.path"),
    ("load_checkpoint", lambda p: {"model_id": "m", "dir": str(p["outside"] / "ckpt")}, "content.dir"),
    ("export_model", lambda p: {"model_id": "m", "dir": str(p["outside"] / "export")}, "content.dir"),
])
def test_a_path_outside_the_roots_is_refused_naming_the_field_path_and_roots(alice, worker, places, msg_type, content, where):
    message = refused(alice.call(msg_type, content(places)))
    assert message.startswith(f"{msg_type}: {where} ")
    for root in (places["root"], places["model"]):
        assert str(root.resolve()) in message
    if "escape" in message or ".." in message:
        assert f"resolves to {places['outside'].resolve()}" in message
    assert f"refused {msg_type}" in worker.wait_for_log(f"refused {msg_type}")
    assert not (places["outside"] / "ckpt").exists() and not (places["outside"] / "export").exists()
    assert_serving(alice)


def test_every_path_like_request_field_is_marked_in_the_schema():
    """A new field that names a file must carry "path": true, or the roots would not cover it."""
    def fields_of(fields, where):
        for name, spec in fields.items():
            yield f"{where}.{name}", name, spec
    everything = [f for t, m in SCHEMA["messages"].items() for f in fields_of(m["request"], t)]
    everything += [f for t, d in SCHEMA["types"].items() for f in fields_of(d["fields"], t)]
    marked = {where for where, _, spec in everything if spec.get("path")}
    path_like = {where for where, name, _ in everything if name in ("path", "dir") or name.endswith(("_path", "_dir", "_file"))}
    assert marked == path_like
    assert marked == {"load_model.model_dir", "save_checkpoint.dir", "load_checkpoint.path", "load_checkpoint.dir", "export_model.dir",
                      "GenerateItem.image_path", "ScoreItem.image_path", "TrainExample.image_path",
                      "build_world.out_dir", "build_smoke.out_dir",
                      "grade_pairs.truth_file", "grade_pairs.pairs_file", "grade_pairs.labels_file"}


def test_path_fields_walks_lists_and_types_and_skips_nulls():
    content = {"model_id": "m", "items": [{"id": "a", "image_path": "/x/a.png", "prompt": "p"},
                                          {"id": "b", "image_path": None, "prompt": "p"}]}
    assert list(path_fields(SCHEMA["messages"]["generate"]["request"], content, "content")) == [("content.items[0].image_path", "/x/a.png")]


def test_a_root_itself_and_relative_paths_resolve_like_the_filesystem(tmp_path, monkeypatch):
    (tmp_path / "root").mkdir()
    guard = PathGuard([str(tmp_path / "root")])
    guard.check("export_model", {"model_id": "m", "dir": str(tmp_path / "root")})
    monkeypatch.chdir(tmp_path / "root")
    guard.check("export_model", {"model_id": "m", "dir": "out"})
    with pytest.raises(RequestRefused, match=r"content.dir '\.\./elsewhere' \(resolves to .*elsewhere\)"):
        guard.check("export_model", {"model_id": "m", "dir": "../elsewhere"})
    # a sibling whose name merely starts with the root's name is outside
    with pytest.raises(RequestRefused):
        guard.check("export_model", {"model_id": "m", "dir": str(tmp_path / "root-but-not")})


# ------------------------------------------------------------------------------ binding beyond loopback

def test_binding_all_interfaces_without_keys_is_refused_at_once(tmp_path):
    start = time.monotonic()
    r = run_worker_flags("--endpoint", f"tcp://0.0.0.0:{free_port()}", "--roots", str(tmp_path))
    assert r.returncode == 2, r.stderr
    assert "refusing to bind tcp://0.0.0.0" in r.stderr and "CurveZMQ keys" in r.stderr and "c3l keys" in r.stderr
    assert time.monotonic() - start < 10  # refused before torch is imported


def test_binding_all_interfaces_without_roots_is_refused(keys):
    r = run_worker_flags("--endpoint", f"tcp://0.0.0.0:{free_port()}", *keys.worker_flags())
    assert r.returncode == 2 and "--roots" in r.stderr and "CurveZMQ" not in r.stderr, r.stderr


@pytest.mark.parametrize("problem", ["half", "readable", "public", "empty", "missing_root"])
def test_unusable_key_flags_are_refused_naming_the_flag(tmp_path, keys, problem):
    endpoint = ["--endpoint", f"tcp://0.0.0.0:{free_port()}"]
    flags, expect = {
        "half": (["--curve-secret-key", str(keys.worker_secret), "--roots", str(tmp_path)], "go together"),
        "public": (["--curve-secret-key", str(keys.worker_public), "--authorized-keys", str(keys.authorized), "--roots", str(tmp_path)],
                   "holds only a public key"),
        "empty": (["--curve-secret-key", str(keys.worker_secret), "--authorized-keys", str(tmp_path), "--roots", str(tmp_path)],
                  "no *.key public certificates"),
        "missing_root": ([*keys.worker_flags(), "--roots", str(tmp_path / "nope")], "not a folder"),
        "readable": (None, "chmod 600"),
    }[problem]
    if problem == "readable":
        readable = tmp_path / "worker.key_secret"
        readable.write_bytes(keys.worker_secret.read_bytes())
        readable.chmod(0o644)
        flags = ["--curve-secret-key", str(readable), "--authorized-keys", str(keys.authorized), "--roots", str(tmp_path)]
    r = run_worker_flags(*endpoint, *flags)
    assert r.returncode == 2 and expect in r.stderr, r.stderr
    assert r.stderr.count("\n") <= 2, "a flag problem is one clear line, not a traceback"


def test_binding_all_interfaces_with_keys_and_roots_serves_curve_clients(context, tmp_path, keys):
    port = free_port()
    w = SecureWorker(f"tcp://0.0.0.0:{port}", tmp_path / "w.log", [*keys.worker_flags(), "--roots", str(tmp_path)])
    c = Client(context, f"tcp://127.0.0.1:{port}", keys.alice_secret, zmq.auth.load_certificate(keys.worker_public)[0])
    try:
        assert ok(c.call("hello", {"client": "over 0.0.0.0"}))["pid"] == w.proc.pid
        w.proc.terminate()  # SIGTERM: a clean stop (socket closed, ZAP thread stopped), not a hang
        assert w.proc.wait(timeout=10) == 128 + 15
        assert "closed tcp://0.0.0.0" in w.log()
    finally:
        c.close()
        w.kill()
