"""The worker as the orchestrator sees it: a real `python -m c3l_worker` process and a real DEALER socket.

Nothing is mocked. Every receive polls with a timeout, every socket has LINGER 0, and every process a
test starts (in its own session) is killed in teardown, so a broken worker fails a test, never hangs it.
"""
import contextlib
import itertools
import math
import os
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch
import zmq

from c3l_worker.protocol import MESSAGE_TYPES, PROTOCOL_VERSION, SCHEMA, decode_frame, encode_message, major_of
from c3l_worker.protocol.tensors import tensor_to_wire
from c3l_worker.server import check_endpoint

REPLY_TIMEOUT_S = 30.0  # the first hello imports transformers; a fresh worker answers in ~2 s here
LOAD_TIMEOUT_S = 90.0
EXIT_TIMEOUT_S = 5.0
# Derived from the schema so a minor bump needs no edit here (for 1.x: "2.0", and a minor above ours).
NEXT_MAJOR = f"{major_of(PROTOCOL_VERSION) + 1}.0"
HIGHER_MINOR = f"{major_of(PROTOCOL_VERSION)}.{int(PROTOCOL_VERSION.split('.')[1]) + 7}"


# --------------------------------------------------------------------------------------------- helpers

def private_dir() -> Path:
    """A fresh 0700 directory with a short path (an ipc socket path must fit in ~107 bytes)."""
    base = "/tmp" if os.path.isdir("/tmp") else None
    directory = Path(tempfile.mkdtemp(prefix="c3l-t-", dir=base))
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    return directory


def worker_command(endpoint: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "c3l_worker", "--endpoint", endpoint, "--threads", "1", *extra]


def worker_env() -> dict:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "C3L_TORCH_THREADS": "1", "PYTHONUNBUFFERED": "1"}


class Worker:
    """A spawned worker (or a launcher that spawns one): its process, endpoint and log."""

    def __init__(self, directory: Path, log_path: Path, extra_args=(), wrap_in_parent=False):
        self.directory = directory
        self.socket_path = directory / "w.sock"
        self.endpoint = f"ipc://{self.socket_path}"
        self.log_path = log_path
        command = worker_command(self.endpoint, *extra_args)
        if wrap_in_parent:
            # bash is the worker's parent and hands it its own pid ($$) as --parent-pid.
            command = ["bash", "-c", '"$@" --parent-pid $$ & wait', "c3l-launcher", *command]
        with open(log_path, "wb") as log:
            # Own session: teardown can kill the launcher and the worker together by process group.
            self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         env=worker_env(), start_new_session=True)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return "<no log>"

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(EXIT_TIMEOUT_S)


@contextlib.contextmanager
def running_worker(log_dir: Path, extra_args=(), wrap_in_parent=False):
    directory = private_dir()
    worker = Worker(directory, log_dir / f"worker-{time.monotonic_ns()}.log", extra_args, wrap_in_parent)
    try:
        yield worker
    finally:
        worker.kill()
        shutil.rmtree(directory, ignore_errors=True)


class Client:
    """A DEALER like the orchestrator's: sends one-frame requests, matches replies by reply_to."""

    def __init__(self, context: zmq.Context, worker: Worker):
        self.worker = worker
        self.socket = context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.connect(worker.endpoint)
        self._ids = itertools.count(1)
        self._early: dict = {}  # replies that arrived while waiting for another one
        self.progress: dict[str, list[str]] = {}  # msg_id -> the progress lines its request got so far

    def close(self) -> None:
        self.socket.close(linger=0)

    def send(self, msg_type: str, content: dict | None = None, version: str = PROTOCOL_VERSION,
             msg_id: str | None = None) -> str:
        msg_id = msg_id or f"t{os.getpid()}-{next(self._ids)}"
        header = {"msg_id": msg_id, "type": msg_type, "version": version}
        self.send_raw(encode_message({"header": header, "content": {} if content is None else content}))
        return msg_id

    def send_raw(self, frame: bytes) -> None:
        self.socket.send(frame, flags=zmq.NOBLOCK)

    def recv(self, timeout: float = REPLY_TIMEOUT_S) -> dict:
        """The next reply frame, decoded and validated as a reply; fails (never hangs) after `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.socket.poll(timeout=100):
                return decode_frame(self.socket.recv(flags=zmq.NOBLOCK), "reply")
            if self.worker.proc.poll() is not None:
                pytest.fail(f"worker exited with {self.worker.proc.returncode} while a reply was awaited:\n{self.worker.log()}")
        pytest.fail(f"no reply within {timeout} s; worker log:\n{self.worker.log()}")

    def reply_to(self, msg_id: str, timeout: float = REPLY_TIMEOUT_S) -> dict:
        deadline = time.monotonic() + timeout
        while msg_id not in self._early:
            reply = self.recv(max(0.1, deadline - time.monotonic()))
            if reply["header"]["status"] == "progress":
                self.progress.setdefault(reply["header"]["reply_to"], []).append(reply["content"]["line"])
                continue
            self._early[reply["header"]["reply_to"]] = reply
        return self._early.pop(msg_id)

    def request(self, msg_type: str, content: dict | None = None, timeout: float = REPLY_TIMEOUT_S, **kw) -> dict:
        return self.reply_to(self.send(msg_type, content, **kw), timeout)


def hello_frame(msg_id: str = "h1", client: str = "pytest") -> bytes:
    return encode_message({"header": {"msg_id": msg_id, "type": "hello", "version": PROTOCOL_VERSION},
                           "content": {"client": client}})


def assert_ok(reply: dict, msg_id: str, msg_type: str) -> dict:
    header = reply["header"]
    assert header["status"] == "ok", reply["content"]
    assert (header["reply_to"], header["type"], header["version"]) == (msg_id, msg_type, PROTOCOL_VERSION)
    return reply["content"]


def assert_error(reply: dict, name: str, reply_to) -> dict:
    header, content = reply["header"], reply["content"]
    assert header["status"] == "error", content
    assert header["reply_to"] == reply_to
    assert content["name"] == name, content
    assert content["message"]
    return content


def assert_serving(client: Client) -> None:
    msg_id = client.send("hello", {"client": "pytest"})
    assert assert_ok(client.reply_to(msg_id), msg_id, "hello")["protocol_version"] == PROTOCOL_VERSION


def wait_gone(pid: int, timeout: float) -> bool:
    """True once `pid` has exited (gone, or a zombie nobody has reaped yet)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def wait_path_gone(path: Path, timeout: float = 1.0) -> bool:
    deadline = time.monotonic() + timeout
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return not path.exists()


# --------------------------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def context():
    ctx = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("worker-logs")


@pytest.fixture(scope="module")
def shared_worker(log_dir):
    """One worker for the tests that leave it serving."""
    with running_worker(log_dir) as worker:
        yield worker


@pytest.fixture
def client(context, shared_worker):
    c = Client(context, shared_worker)
    yield c
    c.close()


@pytest.fixture(scope="module")
def small_frame_worker(log_dir):
    with running_worker(log_dir, ["--max-frame-bytes", "1024"]) as worker:
        yield worker


@pytest.fixture
def spawn(context, log_dir):
    """spawn(extra_args=(), wrap_in_parent=False) -> (Worker, Client); both are killed/closed afterwards."""
    with contextlib.ExitStack() as stack:
        def start(extra_args=(), wrap_in_parent=False):
            worker = stack.enter_context(running_worker(log_dir, extra_args, wrap_in_parent))
            c = Client(context, worker)
            stack.callback(c.close)
            return worker, c
        yield start


# --------------------------------------------------------------------------------------------- 1, 2: hello

def test_hello_reports_the_worker(client, shared_worker):
    msg_id = client.send("hello", {"client": "pytest"})
    reply = client.reply_to(msg_id)
    content = assert_ok(reply, msg_id, "hello")
    assert reply["header"]["msg_id"] != msg_id  # the reply has its own id
    assert content["protocol_version"] == PROTOCOL_VERSION == SCHEMA["protocol_version"]
    assert content["num_threads"] == 1
    assert set(MESSAGE_TYPES) <= set(content["ops"]), content["ops"]
    assert "llava" in content["model_families"]
    assert content["pid"] == shared_worker.proc.pid
    assert content["max_frame_bytes"] == SCHEMA["max_frame_bytes"]
    assert content["device"] in ("cpu", "cuda", "mps")
    assert content["torch_version"] == torch.__version__


def test_other_major_version_is_refused_naming_both(client):
    msg_id = client.send("hello", {"client": "pytest"}, version=NEXT_MAJOR)
    error = assert_error(client.reply_to(msg_id), "unsupported_version", msg_id)
    assert NEXT_MAJOR in error["message"] and PROTOCOL_VERSION in error["message"], error["message"]
    assert error["traceback"] == ""
    assert_serving(client)


def test_higher_minor_version_is_accepted(client):
    msg_id = client.send("hello", {"client": "pytest", "field_from_a_later_minor": [1, 2]}, version=HIGHER_MINOR)
    assert assert_ok(client.reply_to(msg_id), msg_id, "hello")["protocol_version"] == PROTOCOL_VERSION


# --------------------------------------------------------------------------------------------- 3: garbage

GARBAGE = {
    "invalid_msgpack": lambda: b"\xc1",
    "truncated_frame": lambda: hello_frame()[:-3],
    "frame_too_large": lambda: hello_frame(client="x" * 2048),  # a valid hello, only too long for 1024
}


@pytest.mark.parametrize("code", list(GARBAGE))
def test_garbage_frame_gets_an_unattributed_error_and_the_worker_keeps_serving(context, small_frame_worker, code):
    frame = GARBAGE[code]()
    if code == "frame_too_large":
        assert len(frame) > 2048
    else:
        assert len(frame) <= 1024
    c = Client(context, small_frame_worker)
    try:
        c.send_raw(frame)
        error = assert_error(c.recv(), code, None)
        assert error["traceback"] == ""
        assert_serving(c)
    finally:
        c.close()


def test_multipart_message_gets_an_error_reply_instead_of_silence(client):
    client.socket.send_multipart([hello_frame("m1"), hello_frame("m2")])
    assert_error(client.recv(), "not_a_message", None)
    assert_serving(client)


def test_reply_over_the_frame_limit_becomes_frame_too_large(context, small_frame_worker):
    c = Client(context, small_frame_worker)
    try:
        # A request just under 1024 bytes whose echo reply (a longer header plus tensors/sums) is over it.
        payload = "p" * 1024
        while len(encode_message({"header": {"msg_id": "big", "type": "echo", "version": PROTOCOL_VERSION},
                                  "content": {"payload": payload}})) > 1024:
            payload = payload[:-1]
        msg_id = c.send("echo", {"payload": payload}, msg_id="big")
        error = assert_error(c.reply_to(msg_id), "frame_too_large", msg_id)
        assert "1024" in error["message"]
        assert_serving(c)
    finally:
        c.close()


# --------------------------------------------------------------------------------------------- 4: type, content

def test_unknown_type_is_refused_with_reply_to(client):
    msg_id = client.send("teleport", {"to": "mars"})
    reply = client.reply_to(msg_id)
    error = assert_error(reply, "unknown_type", msg_id)
    assert "teleport" in error["message"] and error["traceback"] == ""
    assert reply["header"]["type"] == "teleport"
    assert_serving(client)


def test_invalid_content_names_the_field(client):
    msg_id = client.send("load_model", {"model_id": "m", "model_dir": 42})
    error = assert_error(client.reply_to(msg_id), "invalid_content", msg_id)
    assert "content.model_dir" in error["message"], error["message"]
    assert error["traceback"] == ""
    assert_serving(client)


def test_frame_without_content_is_read_as_empty_content(client):
    # decode_frame reads a missing content as {}; the server must too (it once died on KeyError: 'content').
    client.send_raw(encode_message({"header": {"msg_id": "no-content-echo", "type": "echo", "version": PROTOCOL_VERSION}}))
    assert assert_ok(client.reply_to("no-content-echo"), "no-content-echo", "echo") == {"tensors": {}, "sums": {}}
    client.send_raw(encode_message({"header": {"msg_id": "no-content-hello", "type": "hello", "version": PROTOCOL_VERSION}}))
    error = assert_error(client.reply_to("no-content-hello"), "invalid_content", "no-content-hello")
    assert "content.client" in error["message"], error["message"]
    assert_serving(client)


# --------------------------------------------------------------------------------------------- 5: models

def test_handler_error_then_model_lifecycle(client, tiny_llava_dir):
    missing = Path(tempfile.gettempdir()) / f"c3l-no-such-model-{os.getpid()}"
    msg_id = client.send("load_model", {"model_id": "tiny", "model_dir": str(missing)})
    error = assert_error(client.reply_to(msg_id), "FileNotFoundError", msg_id)
    assert str(missing) in error["message"], error["message"]
    assert error["traceback"].strip(), "a handler failure carries the worker's traceback"
    assert "FileNotFoundError" in error["traceback"]

    msg_id = client.send("load_model", {"model_id": "tiny", "model_dir": str(tiny_llava_dir)})
    loaded = assert_ok(client.reply_to(msg_id, LOAD_TIMEOUT_S), msg_id, "load_model")
    assert loaded["model_id"] == "tiny" and loaded["family"] == "llava"
    assert loaded["model_dir"] == str(Path(tiny_llava_dir).resolve())
    assert loaded["num_parameters"] > 1e6
    assert loaded["vocab_size"] > 50
    assert (loaded["device"], loaded["dtype"]) == ("cpu", "float32")
    assert loaded["load_seconds"] > 0

    msg_id = client.send("unload_model", {"model_id": "tiny"})
    assert assert_ok(client.reply_to(msg_id), msg_id, "unload_model") == {"model_id": "tiny", "unloaded": True}
    msg_id = client.send("unload_model", {"model_id": "tiny"})
    assert assert_ok(client.reply_to(msg_id), msg_id, "unload_model") == {"model_id": "tiny", "unloaded": False}


# --------------------------------------------------------------------------------------------- 6: echo

def _from_bits(bits: list[int], int_dtype, float_dtype) -> torch.Tensor:
    return torch.tensor(bits, dtype=int_dtype).view(float_dtype)


def tricky_tensors() -> dict[str, torch.Tensor]:
    nan, inf = float("nan"), float("inf")
    return {
        "f32": torch.tensor([[1.5, nan, inf], [-inf, -0.0, 1e-45]], dtype=torch.float32),  # 1e-45: smallest subnormal
        "f32_finite": torch.tensor([-0.0, 1.2e-38 / 3, 2.5, -1e30, 3.4e38], dtype=torch.float32),
        # NaNs with payload bits and a sign: must survive bit for bit.
        "f32_nan_bits": _from_bits([0x7FC00001, -0x00400000, 0x7F800001], torch.int32, torch.float32),
        "f16": torch.tensor([nan, inf, -0.0, 6e-8, 65504.0, -2.0], dtype=torch.float16),  # 6e-8: subnormal
        "f16_inf": torch.tensor([[inf, 1.0], [6e-8, -0.0]], dtype=torch.float16),
        "bf16": torch.tensor([nan, -inf, -0.0, 9.2e-41, 3.0e38, 1 / 3], dtype=torch.bfloat16),  # 9.2e-41: subnormal
        "bf16_finite": torch.tensor([9.2e-41, -0.0, 1 / 3, -7.5], dtype=torch.bfloat16),
        "bf16_nan_bits": _from_bits([0x7FC1, -0x007F], torch.int16, torch.bfloat16),
        "i64": torch.tensor([2**62 + 1, -(2**63), 2**63 - 1, 0, -1], dtype=torch.int64),
        "i64_scalar": torch.tensor(2**62 + 1, dtype=torch.int64),
        "f32_empty": torch.zeros((0, 3), dtype=torch.float32),
    }


def test_echo_round_trips_tensors_bit_exactly(client):
    tensors = tricky_tensors()
    assert torch.isnan(tensors["f32_nan_bits"]).all() and torch.isnan(tensors["bf16_nan_bits"]).all()
    wire = {name: tensor_to_wire(t) for name, t in tensors.items()}
    payload = {"n": 2**62 + 1, "f": 0.1, "nested": [None, True, "ü", b"\x00\xff"], "neg": -(2**63)}
    msg_id = client.send("echo", {"payload": payload, "tensors": wire})
    content = assert_ok(client.reply_to(msg_id), msg_id, "echo")

    assert content["payload"] == payload
    assert set(content["tensors"]) == set(wire) == set(content["sums"])
    for name, sent in wire.items():
        back = content["tensors"][name]
        assert (back["dtype"], back["shape"]) == (sent["dtype"], sent["shape"]), name
        assert bytes(back["data"]) == sent["data"], f"{name} changed on the way: {bytes(back['data']).hex()} != {sent['data'].hex()}"

        expected, got = float(tensors[name].double().sum()), content["sums"][name]
        assert isinstance(got, float), name
        if math.isnan(expected):
            assert math.isnan(got), f"{name}: sum {got}, expected NaN"
        else:
            assert struct.pack("<d", got) == struct.pack("<d", expected), f"{name}: sum {got!r} != {expected!r}"
    # the sums are meaningful, not all NaN
    assert content["sums"]["f16_inf"] == math.inf
    assert content["sums"]["i64_scalar"] == float(2**62 + 1)
    assert content["sums"]["f32_empty"] == 0.0


def test_progress_frames_reach_the_client_in_order_before_the_reply(client):
    msg_id = client.send("echo", {"payload": "done", "progress_lines": 3})
    frames = [client.recv()]
    while frames[-1]["header"]["status"] == "progress":
        frames.append(client.recv())
    assert [f["header"]["status"] for f in frames] == ["progress"] * 3 + ["ok"]
    assert all((f["header"]["reply_to"], f["header"]["type"]) == (msg_id, "echo") for f in frames)
    assert [f["content"]["line"] for f in frames[:3]] == [f"echo progress {i}/3" for i in (1, 2, 3)]
    assert frames[-1]["content"]["payload"] == "done"
    assert_serving(client)


def test_a_requester_older_than_progress_gets_none(client):
    # 1.2 knows no status "progress" and would refuse the frame, failing its pending requests.
    msg_id = client.send("echo", {"payload": 1, "progress_lines": 2}, version=f"{major_of(PROTOCOL_VERSION)}.2")
    reply = client.recv()
    assert assert_ok(reply, msg_id, "echo")["payload"] == 1
    assert not client.socket.poll(timeout=200)  # nothing else follows


def test_echo_without_payload_omits_it(client):
    msg_id = client.send("echo", {})
    assert assert_ok(client.reply_to(msg_id), msg_id, "echo") == {"tensors": {}, "sums": {}}


def test_tensor_whose_bytes_do_not_match_its_shape_is_invalid_content(client):
    bad = {"dtype": "float32", "shape": [2, 2], "data": b"\x00" * 12}
    msg_id = client.send("echo", {"tensors": {"t": bad}})
    error = assert_error(client.reply_to(msg_id), "invalid_content", msg_id)
    assert "content.tensors.t.data" in error["message"], error["message"]


# --------------------------------------------------------------------------------------------- 7: pipelining

def test_back_to_back_requests_are_all_answered_and_matched_by_reply_to(client):
    sent = {}
    sent[client.send("hello", {"client": "pytest"})] = ("hello", None)
    for i in range(5):
        sent[client.send("echo", {"payload": {"i": i}})] = ("echo", i)
    sent[client.send("unload_model", {"model_id": "never-loaded"})] = ("unload_model", None)
    sent[client.send("teleport", {})] = ("teleport", None)

    replies = [client.recv() for _ in sent]  # read only after everything is sent
    by_id = {r["header"]["reply_to"]: r for r in replies}
    assert set(by_id) == set(sent), "every request gets exactly one reply"
    for msg_id, (msg_type, i) in sent.items():
        reply = by_id[msg_id]
        assert reply["header"]["type"] == msg_type
        if msg_type == "teleport":
            assert_error(reply, "unknown_type", msg_id)
        elif msg_type == "echo":
            assert assert_ok(reply, msg_id, "echo")["payload"] == {"i": i}
        elif msg_type == "unload_model":
            assert assert_ok(reply, msg_id, msg_type)["unloaded"] is False
        else:
            assert_ok(reply, msg_id, msg_type)
    assert client.socket.poll(timeout=200) == 0, "no extra replies"


# --------------------------------------------------------------------------------------------- 8-10: exit

def test_shutdown_replies_then_exits_0_and_removes_the_socket(spawn):
    worker, c = spawn()
    assert_serving(c)
    assert worker.socket_path.exists()
    msg_id = c.send("shutdown")
    assert assert_ok(c.reply_to(msg_id), msg_id, "shutdown") == {}
    try:
        code = worker.proc.wait(EXIT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"worker still running {EXIT_TIMEOUT_S} s after shutdown:\n{worker.log()}")
    assert code == 0, worker.log()
    assert wait_path_gone(worker.socket_path), "the ipc socket file outlived the worker"


def test_sigterm_exits_promptly_and_removes_the_socket(spawn):
    worker, c = spawn()
    assert_serving(c)  # the SIGTERM handler is installed before the worker serves
    assert worker.socket_path.exists()
    started = time.monotonic()
    worker.proc.send_signal(signal.SIGTERM)
    try:
        code = worker.proc.wait(EXIT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"worker still running {EXIT_TIMEOUT_S} s after SIGTERM:\n{worker.log()}")
    assert time.monotonic() - started < EXIT_TIMEOUT_S
    assert code == 128 + signal.SIGTERM, f"exit code {code} (expected 143: SIGTERM handled, not fatal)\n{worker.log()}"
    assert wait_path_gone(worker.socket_path), "the ipc socket file outlived the worker"


def test_worker_exits_on_its_own_when_its_parent_dies(spawn):
    launcher, c = spawn(wrap_in_parent=True)
    msg_id = c.send("hello", {"client": "pytest"})
    worker_pid = assert_ok(c.reply_to(msg_id), msg_id, "hello")["pid"]
    assert worker_pid != launcher.proc.pid
    assert int(Path(f"/proc/{worker_pid}/stat").read_text().rsplit(")", 1)[1].split()[1]) == launcher.proc.pid

    launcher.proc.kill()  # SIGKILL the parent: it cannot pass anything on to the worker
    launcher.proc.wait(EXIT_TIMEOUT_S)
    started = time.monotonic()
    try:
        assert wait_gone(worker_pid, EXIT_TIMEOUT_S + 1), (
            f"worker {worker_pid} still running {EXIT_TIMEOUT_S + 1} s after its parent died:\n{launcher.log()}")
    finally:
        with contextlib.suppress(ProcessLookupError):
            if not wait_gone(worker_pid, 0.01):
                os.kill(worker_pid, signal.SIGKILL)
    assert time.monotonic() - started < EXIT_TIMEOUT_S + 1
    assert wait_path_gone(launcher.socket_path), "an orphaned worker should remove its ipc socket file"
    assert "is gone" in launcher.log()


# --------------------------------------------------------------------------------------------- 11: endpoints

@pytest.mark.parametrize("endpoint", ["tcp://0.0.0.0:5555", "tcp://10.1.2.3:5555", "tcp://*:5555"])
def test_check_endpoint_refuses_non_loopback_tcp(endpoint):
    with pytest.raises(PermissionError, match="CurveZMQ"):
        check_endpoint(endpoint)


@pytest.mark.parametrize("mode", [0o755, 0o750, 0o701])
def test_check_endpoint_refuses_an_ipc_dir_others_can_use(mode):
    directory = private_dir()
    try:
        shared = directory / "shared"
        shared.mkdir()
        shared.chmod(mode)
        with pytest.raises(PermissionError, match=oct(mode)):
            check_endpoint(f"ipc://{shared}/w.sock")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.parametrize("endpoint", ["tcp://127.0.0.1:5555", "tcp://localhost:5555"])
def test_check_endpoint_accepts_loopback_tcp(endpoint):
    assert check_endpoint(endpoint) is None


def test_check_endpoint_accepts_ipc_in_a_private_dir():
    directory = private_dir()
    try:
        assert check_endpoint(f"ipc://{directory}/w.sock") is None
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_check_endpoint_refuses_other_transports():
    with pytest.raises(ValueError, match="unsupported endpoint"):
        check_endpoint("inproc://worker")
