"""The worker under torchrun: two gloo ranks on CPU train exactly like one process on the same batch.

A real `python -m torch.distributed.run --standalone --nproc_per_node 2 -m c3l_worker` and a real
DEALER socket; the one-process reference runs the same handlers in this process. Every receive has a
deadline and every launcher is killed with its process group in teardown, so a deadlock fails a test
instead of hanging it.
"""
import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch
import zmq
from PIL import Image, ImageDraw
from safetensors.torch import load_file

from c3l_worker.ops import HANDLERS
from c3l_worker.protocol import PROTOCOL_VERSION, decode_frame, encode_message
from c3l_worker.state import WorkerState

MODEL = "gen"
RANKS = 2
START_TIMEOUT_S = 90.0  # two ranks import torch + transformers on 2 cores
REPLY_TIMEOUT_S = 60.0
# Parameters after a few AdamW steps: the ranks' shards are padded and summed differently from the
# one-process batch, so equality holds to float32 rounding, not bit for bit.
PARAM_ATOL = 2e-5
LOSS_RTOL = 1e-4  # InfoNCE divides log-likelihood scores by tau = 0.1, so its rounding shows more


def shape_image(path: Path, colour: str, box=(8, 8, 40, 40)) -> str:
    image = Image.new("RGB", (48, 48), "white")
    ImageDraw.Draw(image).rectangle(box, fill=colour)
    image.save(path)
    return str(path)


@pytest.fixture(scope="module")
def batches(tmp_path_factory) -> list[list[dict]]:
    """Three examples (2 + 1 on two ranks), one broken example (skipped alike on every rank), and a
    batch of one (rank 1 joins the all-reduce with a zero-weight loss)."""
    folder = tmp_path_factory.mktemp("images")
    red, blue, green = (shape_image(folder / f"{c}.png", c) for c in ("red", "blue", "green"))
    ex = {
        "red": {"id": "red", "image_path": red, "context": "describe the image .",
                "positive": "what colour is the square ? the square is red .",
                "negatives": ["what colour is the square ? the square is blue .", "is there a star ? yes , a star ."]},
        "blue": {"id": "blue", "image_path": blue, "context": "describe the image .",
                 "positive": "what colour is the square ? the square is blue .",
                 "negatives": ["how many circles are there ? there are 3 circles ."]},
        "green": {"id": "green", "image_path": green, "context": "what is in the image ?",
                  "positive": "a green square in the corner .", "negatives": []},
        "broken": {"id": "broken", "image_path": str(folder / "missing.png"), "context": "describe the image .",
                   "positive": "nothing .", "negatives": ["something ."]},
    }
    return [[ex["red"], ex["blue"], ex["green"]], [ex["blue"]], [ex["green"], ex["broken"], ex["red"]],
            [ex["red"], ex["green"]]]


# Each scenario: the settings, then how many batches to train, checkpoint, resume from it, train on.
SCENARIOS = {
    "preference": {"form": "preference", "beta": 0.5, "lambda_cl": 0.5},
    "infonce_hidden-head-in_batch-accum": {"form": "infonce_hidden", "projection_head": True, "in_batch_negatives": True,
                                           "grad_accum_steps": 2},
    "infonce_loglik": {"form": "infonce_loglik", "lambda_cl": 1.0},
    "none-lora-accum": {"form": "none", "lora": {"r": 4, "alpha": 8.0, "dropout": 0.0}, "grad_accum_steps": 2},
}


def setup_content(settings: dict) -> dict:
    return {"model_id": MODEL, "lr": 1e-3, "total_steps": 10, "schedule": "cosine", "warmup_steps": 1, **settings}


# --------------------------------------------------------------------------------------------- the launcher

class Launch:
    """torchrun with RANKS gloo ranks serving `endpoint` from rank 0; its own process group."""

    def __init__(self, log_path: Path, env: dict | None = None, parent_wrapper: bool = False):
        self.directory = Path(tempfile.mkdtemp(prefix="c3l-d-", dir="/tmp"))
        self.endpoint = f"ipc://{self.directory}/w.sock"
        self.log_path = log_path
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(RANKS),
                   "--max_restarts", "0", "--monitor_interval", "0.2",
                   "-m", "c3l_worker", "--endpoint", self.endpoint, "--threads", "1"]
        if parent_wrapper:  # bash plays the orchestrator: it hands its own pid ($$) as --parent-pid
            command = ["bash", "-c", '"$@" --parent-pid $$ & wait', "orchestrator", *command]
        full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1",
                    "C3L_DIST_BACKEND": "gloo", **(env or {})}
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         env=full_env, start_new_session=True)
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.connect(self.endpoint)
        self._ids = itertools.count(1)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def request(self, msg_type: str, content: dict, timeout: float = REPLY_TIMEOUT_S) -> dict:
        msg_id = f"t{next(self._ids)}"
        header = {"msg_id": msg_id, "type": msg_type, "version": PROTOCOL_VERSION}
        self.socket.send(encode_message({"header": header, "content": content}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.socket.poll(timeout=100):
                reply = decode_frame(self.socket.recv(), "reply")
                assert reply["header"]["reply_to"] == msg_id
                return reply
            if self.proc.poll() is not None:
                pytest.fail(f"torchrun exited with {self.proc.returncode} while {msg_type} was pending:\n{self.log()}")
        pytest.fail(f"no reply to {msg_type} within {timeout} s (a deadlock?):\n{self.log()}")

    def ok(self, msg_type: str, content: dict, timeout: float = REPLY_TIMEOUT_S) -> dict:
        reply = self.request(msg_type, content, timeout)
        assert reply["header"]["status"] == "ok", f"{msg_type}: {reply['content']}\n{self.log()}"
        return reply["content"]

    def wait(self, timeout: float) -> int | None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            return self.proc.wait(timeout)
        return None

    def close(self) -> None:
        self.socket.close(linger=0)
        self.context.destroy(linger=0)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.wait(10)
        shutil.rmtree(self.directory, ignore_errors=True)


@contextlib.contextmanager
def launched(tmp_path: Path, name: str, **kw):
    launch = Launch(tmp_path / f"{name}.log", **kw)
    try:
        launch.ok("hello", {"client": "pytest"}, timeout=START_TIMEOUT_S)
        yield launch
    finally:
        launch.close()


def rank_pids(launcher_pid: int) -> list[int]:
    """The launcher's children (the ranks)."""
    children = Path(f"/proc/{launcher_pid}/task/{launcher_pid}/children")
    return [int(p) for p in children.read_text().split()] if children.exists() else []


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


# --------------------------------------------------------------------------------------------- the reference

def reference_run(model_dir, settings: dict, plan: list[list[dict]], checkpoint_dir: Path, resume_after: int) -> dict:
    """The same requests in this process: train `resume_after` batches, checkpoint, load it back
    into a fresh model, train the rest. Returns the step replies and the final trained parameters."""
    def call(state, name, content):
        return HANDLERS[name](content, state)

    state = WorkerState()
    call(state, "load_model", {"model_id": MODEL, "model_dir": str(model_dir)})
    call(state, "setup_training", setup_content(settings))
    steps = [call(state, "train_step", {"model_id": MODEL, "batch": b}) for b in plan[:resume_after]]
    path = call(state, "save_checkpoint", {"model_id": MODEL, "dir": str(checkpoint_dir)})["path"]
    state = WorkerState()
    call(state, "load_model", {"model_id": MODEL, "model_dir": str(model_dir)})
    call(state, "load_checkpoint", {"model_id": MODEL, "path": path})
    steps += [call(state, "train_step", {"model_id": MODEL, "batch": b}) for b in plan[resume_after:]]
    trainer = state.trainers[MODEL]
    return {"steps": steps, "params": {n: p.detach().clone() for n, p in trainer.trainable()}}


# --------------------------------------------------------------------------------------------- tests

def train_distributed(launch, model_dir, scenarios: dict, plan, resume_after: int, tmp_path: Path) -> dict:
    """Per scenario: train, checkpoint, reload the model, resume from the checkpoint, train on, checkpoint."""
    results = {}
    for name, settings in scenarios.items():
        ckpt = tmp_path / name / "dist"
        launch.ok("load_model", {"model_id": MODEL, "model_dir": str(model_dir)})
        launch.ok("setup_training", setup_content(settings))
        steps = [launch.ok("train_step", {"model_id": MODEL, "batch": b}) for b in plan[:resume_after]]
        path = launch.ok("save_checkpoint", {"model_id": MODEL, "dir": str(ckpt)})["path"]
        launch.ok("load_model", {"model_id": MODEL, "model_dir": str(model_dir)})  # all ranks start over
        launch.ok("load_checkpoint", {"model_id": MODEL, "path": path})
        steps += [launch.ok("train_step", {"model_id": MODEL, "batch": b}) for b in plan[resume_after:]]
        final = launch.ok("save_checkpoint", {"model_id": MODEL, "dir": str(ckpt)})["path"]
        results[name] = (steps, Path(path), Path(final))
    return results


def check_parity(model_dir, scenarios: dict, results: dict, plan, resume_after: int, tmp_path: Path) -> list[str]:
    """The distributed steps and final checkpoint against the one-process reference run."""
    report = []
    for name, settings in scenarios.items():
        steps, first, final = results[name]
        assert sorted(p.name for p in first.iterdir() if p.name.startswith("rng")) == ["rng.rank-00001.safetensors", "rng.safetensors"]
        ref = reference_run(model_dir, settings, plan, tmp_path / name / "ref", resume_after)
        for got, want in zip(steps, ref["steps"], strict=True):
            assert (got["step"], got["micro_step"], got["optimizer_stepped"]) == (want["step"], want["micro_step"], want["optimizer_stepped"])
            assert got["errors"] == want["errors"]
            for key in ("loss", "loss_lm", "loss_cl"):
                assert got[key] == pytest.approx(want[key], rel=LOSS_RTOL, abs=1e-7), (name, key)
        loss_diff = max(abs(g["loss"] - w["loss"]) / abs(w["loss"]) for g, w in zip(steps, ref["steps"]))
        saved = load_file(final / "model.safetensors")
        if (final / "projection_head.safetensors").is_file():
            saved.update({f"projection_head.{n}": t for n, t in load_file(final / "projection_head.safetensors").items()})
        assert sorted(saved) == sorted(ref["params"]), name
        assert all(saved[n].shape == p.shape for n, p in ref["params"].items()), name  # full, unsharded tensors
        diff = max((saved[n] - p).abs().max().item() for n, p in ref["params"].items())
        moved = max((load_file(first / "model.safetensors")[n] - saved[n]).abs().max().item()
                    for n in load_file(first / "model.safetensors"))
        report.append(f"{name}: max |param diff| {diff:.2e} (params moved up to {moved:.2e} after the checkpoint), "
                      f"max relative loss diff {loss_diff:.1e}")
        assert diff <= PARAM_ATOL and moved > 10 * PARAM_ATOL, report[-1]
    return report


def test_two_gloo_ranks_train_like_one_process_and_exit_cleanly(tiny_llava_dir, batches, tmp_path):
    plan = batches + batches[:2]  # six micro-batches: uneven shards, a skipped example, a batch of one
    resume_after = 3  # mid-accumulation for the accumulating scenarios: pending gradients are checkpointed
    with launched(tmp_path, "parity") as launch:
        results = train_distributed(launch, tiny_llava_dir, SCENARIOS, plan, resume_after, tmp_path)
        exported = launch.ok("export_model", {"model_id": MODEL, "dir": str(tmp_path / "export")})
        launch.ok("shutdown", {})
        code = launch.wait(30)
        log = launch.log()
    assert code == 0, f"torchrun exited with {code}:\n{log}"
    assert "SIGABRT" not in log and "Signals.SIG" not in log, log
    assert (Path(exported["path"]) / "config.json").is_file()

    report = check_parity(tiny_llava_dir, SCENARIOS, results, plan, resume_after, tmp_path)
    print("\n" + "\n".join(report))


def test_a_failure_on_rank_1_is_an_error_reply_and_the_ranks_go_on(tiny_llava_dir, batches, tmp_path):
    with launched(tmp_path, "failure", env={"C3L_TEST_FAIL": "train_step@1"}, parent_wrapper=True) as launch:
        launch.ok("load_model", {"model_id": MODEL, "model_dir": str(tiny_llava_dir)})
        launch.ok("setup_training", setup_content({"form": "none"}))
        reply = launch.request("train_step", {"model_id": MODEL, "batch": batches[0]}, timeout=30)
        assert reply["header"]["status"] == "error"
        assert reply["content"]["name"] == "RankError"
        assert "train_step failed on rank 1 of 2: RuntimeError: injected failure" in reply["content"]["message"]
        # nothing was half-done: every rank still agrees, collectives included
        saved = launch.ok("save_checkpoint", {"model_id": MODEL, "dir": str(tmp_path / "ckpt")})
        assert saved["step"] == 0
        launch.ok("load_checkpoint", {"model_id": MODEL, "path": saved["path"]})
        # a request that fails on every rank alike keeps rank 0's own error
        reply = launch.request("load_checkpoint", {"model_id": MODEL, "path": str(tmp_path / "nowhere" / "step-00000001")})
        assert (reply["header"]["status"], reply["content"]["name"]) == ("error", "CheckpointError")
        # load_checkpoint {dir}: every rank loads the newest checkpoint; a damaged one is set aside by rank 0
        # alone (a second rename on rank 1 would fail), and asking again restores the one before it
        ckpts = tmp_path / "ckpt"
        shutil.copytree(saved["path"], ckpts / "step-00000001")  # stands in for a later checkpoint
        (ckpts / "step-00000001" / "model.safetensors").write_bytes(b"")
        reply = launch.request("load_checkpoint", {"model_id": MODEL, "dir": str(ckpts)})
        assert (reply["header"]["status"], reply["content"]["name"]) == ("error", "CheckpointDamagedError"), reply
        assert reply["content"]["message"].endswith(f"; set aside as {ckpts / 'step-00000001.damaged'}")
        assert sorted(p.name for p in ckpts.iterdir()) == ["step-00000000", "step-00000001.damaged"]
        assert launch.ok("load_checkpoint", {"model_id": MODEL, "dir": str(ckpts)})["path"] == saved["path"]
        launch.ok("hello", {"client": "pytest"})

        # The orchestrator dies (SIGKILL, no clean-up): the ranks notice and leave, then the launcher.
        wrapper = launch.proc.pid
        launcher = rank_pids(wrapper)
        assert len(launcher) == 1, launcher
        ranks = rank_pids(launcher[0])
        assert len(ranks) == RANKS, ranks
        os.kill(wrapper, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not all(gone(p) for p in [*ranks, *launcher]):
            time.sleep(0.1)
        assert all(gone(p) for p in [*ranks, *launcher]), launch.log()


# FSDP: the head, accumulation with a mid-accumulation checkpoint (sharded pending gradients), and the
# preference form's unsharded reference copy.
FSDP_SCENARIOS = {name: SCENARIOS[name] for name in ("infonce_hidden-head-in_batch-accum", "preference")}


def test_fsdp_two_gloo_ranks_train_like_one_process_with_full_checkpoints(tiny_llava_dir, batches, tmp_path):
    plan = batches + batches[:1]  # five micro-batches: uneven shards, a skipped example, a batch of one
    resume_after = 3
    with launched(tmp_path, "fsdp", env={"C3L_DIST_STRATEGY": "fsdp"}) as launch:
        results = train_distributed(launch, tiny_llava_dir, FSDP_SCENARIOS, plan, resume_after, tmp_path)
        exported = launch.ok("export_model", {"model_id": MODEL, "dir": str(tmp_path / "export")})
        # a rank-0-only op cannot run a sharded forward: refused, and the ranks go on
        item = {"id": "r", "image_path": batches[0][0]["image_path"], "question": "what colour is the square ?",
                "answer": "red ."}
        reply = launch.request("score", {"model_id": MODEL, "items": [item]})
        assert reply["header"]["status"] == "error" and "distributed.strategy fsdp" in reply["content"]["message"]
        reply = launch.request("setup_training", setup_content({"form": "none", "lora": {"r": 4, "alpha": 8.0}}))
        assert reply["header"]["status"] == "error" and "already trained" in reply["content"]["message"]
        launch.ok("load_model", {"model_id": MODEL, "model_dir": str(tiny_llava_dir)})
        reply = launch.request("setup_training", setup_content({"form": "none", "lora": {"r": 4, "alpha": 8.0}}))
        assert reply["header"]["status"] == "error"
        assert "lora is not supported with distributed.strategy fsdp" in reply["content"]["message"]
        launch.ok("shutdown", {})
        code = launch.wait(30)
        log = launch.log()
    assert code == 0, f"torchrun exited with {code}:\n{log}"
    assert "SIGABRT" not in log and "Signals.SIG" not in log, log

    # The export is a plain, full transformers folder that loads to the final checkpoint's weights.
    from transformers import AutoConfig, LlavaForConditionalGeneration

    folder = Path(exported["path"])
    assert AutoConfig.from_pretrained(folder).architectures == ["LlavaForConditionalGeneration"]
    model = dict(LlavaForConditionalGeneration.from_pretrained(folder).named_parameters())
    final = load_file(results["preference"][2] / "model.safetensors")
    assert set(final) <= set(model)
    for name, tensor in final.items():
        assert torch.equal(model[name].detach(), tensor), name

    report = check_parity(tiny_llava_dir, FSDP_SCENARIOS, results, plan, resume_after, tmp_path)
    print("\nFSDP\n" + "\n".join(report))
