"""The worker under torchrun: one process per rank; rank 0 alone speaks to the orchestrator.

    python -m torch.distributed.run --nproc_per_node N [--standalone | --nnodes ... --node_rank ...
        --rdzv_backend ... --rdzv_endpoint ...] -m c3l_worker --endpoint ENDPOINT

Rank 0 binds ENDPOINT and serves as usual, but every request it receives (except RANK0_ONLY) is
broadcast to every rank and run there too, so all ranks load the same model, set up the same
trainer and take DDP steps together. Each rank's outcome is gathered on rank 0: a failure on any
rank becomes rank 0's error reply, and ops that use collectives first agree that every rank got
that far (agree), so a rank that failed alone never leaves the others waiting in a collective.
Other ranks never bind anything and leave their loop on shutdown, or die with the launcher.

Clean exit (see docs/DISTRIBUTED.md): barrier, drop trainers (DDP model, optimizer) and models,
destroy_process_group. Without it a rank sometimes aborts at exit (SIGABRT) on gloo.

torch is imported lazily: __main__ imports this module before it sets the thread environment.
"""
from __future__ import annotations

import gc
import logging
import os
import signal
import sys
import traceback
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

log = logging.getLogger("c3l_worker.distributed")

# Ops that touch no trainer and need no other rank: served by rank 0 alone (the builders and the
# grader too: every rank writing the same folder would race).
RANK0_ONLY = frozenset({"hello", "echo", "generate", "score", "build_world", "build_smoke", "grade_pairs"})

# Set by the orchestrator in torchrun's environment (inherited by every rank).
ENV_BACKEND = "C3L_DIST_BACKEND"  # auto | gloo | nccl
ENV_STRATEGY = "C3L_DIST_STRATEGY"  # ddp | fsdp
ENV_TIMEOUT = "C3L_DIST_TIMEOUT_S"  # collectives inside one op (a stuck rank fails the op after this)
BACKENDS = ("auto", "gloo", "nccl")
STRATEGIES = ("ddp", "fsdp")
DEFAULT_TIMEOUT_S = 600.0
IDLE_TIMEOUT = timedelta(days=30)  # other ranks wait this long for rank 0's next request


@dataclass(frozen=True)
class World:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None  # the default group's backend (None: not distributed)
    control: object = None  # a gloo group for requests, outcomes and agreement (CPU objects)
    strategy: str = "ddp"  # ddp | fsdp (C3L_DIST_STRATEGY)

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


_world = World()


def world() -> World:
    """This process's place: World() (one process, rank 0 of 1) unless init() ran under torchrun."""
    return _world


def under_torchrun() -> bool:
    return all(k in os.environ for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))


class PeerFailed(RuntimeError):
    """This rank stopped an op because another rank failed in it (that rank's error is the reply)."""


class RankError(RuntimeError):
    """An op failed on a rank other than 0 (the message names the rank and its error)."""


# ---------------------------------------------------------------- set-up

def init() -> World:
    """Joins the process group torchrun set up; sets the CUDA device from LOCAL_RANK."""
    global _world
    import torch
    import torch.distributed as dist

    strategy = os.environ.get(ENV_STRATEGY, "ddp")
    if strategy not in STRATEGIES:
        raise ValueError(f"{ENV_STRATEGY}={strategy!r}: expected one of {', '.join(STRATEGIES)}")
    backend = os.environ.get(ENV_BACKEND, "auto")
    if backend not in BACKENDS:
        raise ValueError(f"{ENV_BACKEND}={backend!r}: expected one of {', '.join(BACKENDS)}")
    if backend == "auto":
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    local_rank = int(os.environ["LOCAL_RANK"])
    if backend == "nccl":
        if not torch.cuda.is_available():
            raise ValueError(f"{ENV_BACKEND}=nccl needs CUDA, which is not available here; use gloo")
        torch.cuda.set_device(local_rank)
    timeout = timedelta(seconds=float(os.environ.get(ENV_TIMEOUT, DEFAULT_TIMEOUT_S)))
    dist.init_process_group(backend, timeout=timeout)
    control = dist.new_group(backend="gloo", timeout=IDLE_TIMEOUT)
    _world = World(dist.get_rank(), dist.get_world_size(), local_rank, backend, control, strategy)
    return _world


def _tag_logs(rank: int) -> None:
    """torchrun merges every rank's stderr into one stream: say which rank wrote each line."""
    formatter = logging.Formatter(f"%(asctime)s %(levelname)s rank{rank} %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)


def parent_gone(parent_pid: int):
    """A check for __main__'s parent watch. Under torchrun our parent is the launcher, not the
    orchestrator: gone when the launcher is (we were re-parented) or the orchestrator pid is."""
    if not under_torchrun():
        return lambda: os.getppid() != parent_pid
    launcher = os.getppid()
    return lambda: os.getppid() != launcher or not _alive(parent_pid)


def _alive(pid: int) -> bool:
    """Whether `pid` runs; a zombie (dead, not yet reaped by its own parent) does not."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False
    except OSError:  # no /proc here: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        return True


# ---------------------------------------------------------------- serving

def serve(state, make_server) -> int:
    """The worker's main loop under torchrun. make_server(handlers) builds rank 0's Server."""
    from .ops import HANDLERS

    w = init()
    _tag_logs(w.rank)
    log.info("rank %d of %d (local rank %d, backend %s, strategy %s)", w.rank, w.world_size, w.local_rank, w.backend, w.strategy)
    if w.is_main:
        # An abnormal exit (SIGTERM, a crash) skips the goodbye: the launcher then stops the other ranks.
        make_server(lockstep_handlers(HANDLERS, w)).serve_forever()
    else:
        # No socket to clean up here, and a rank blocked in a collective cannot run a Python handler.
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, signal.SIG_DFL)
        follow(state, HANDLERS, w)
    clean_exit(state)
    # Nothing is left to tear down, and the interpreter's own teardown takes seconds with torch loaded
    # (measured 3.5 s here): the launcher, and the orchestrator's stop grace, wait for every rank.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def lockstep_handlers(handlers: dict, w: World) -> dict:
    """Rank 0's handler table: RANK0_ONLY ops as they are, every other op run on every rank."""
    return {name: _unsharded_only(name, handler) if name in RANK0_ONLY else _lockstep(name, handler, w)
            for name, handler in handlers.items()}


def _unsharded_only(name: str, handler):
    """A RANK0_ONLY op refuses a model that FSDP sharded (its forward would wait for the other ranks)."""
    def run(content: dict, state) -> dict:
        loaded = state.models.get(content.get("model_id")) if isinstance(content, dict) else None
        if loaded is not None and is_sharded(loaded.model):
            raise ValueError(f"{name}: model {content['model_id']!r} was trained with distributed.strategy fsdp and its "
                             f"weights are sharded over the ranks; export_model it and load the export in a "
                             f"one-process worker (or load_model it again) to {name}")
        return handler(content, state)
    return run


def is_sharded(module) -> bool:
    """Whether FSDP (fully_shard) sharded this module's parameters."""
    if "torch" not in sys.modules:
        return False
    from torch.distributed.fsdp import FSDPModule

    return isinstance(module, FSDPModule)


def _lockstep(name: str, handler, w: World):
    def run(content: dict, state) -> dict:
        _broadcast([name, content], w)
        result, error = _call(handler, name, content, state, w)
        failures = _gather(_summary(error), w)
        if error is not None and not isinstance(error, PeerFailed):
            raise error  # rank 0's own failure: its reply keeps the original name and traceback
        for rank, failure in enumerate(failures):
            if failure is not None and not failure["peer"]:
                raise RankError(f"{name} failed on rank {rank} of {w.world_size}: {failure['name']}: {failure['message']}\n"
                                f"--- rank {rank} traceback ---\n{failure['traceback']}")
        if error is not None:
            raise error
        return result
    return run


def follow(state, handlers: dict, w: World) -> None:
    """Ranks other than 0: run whatever rank 0 broadcasts until shutdown (or the launcher stops us)."""
    while True:
        name, content = _broadcast(None, w)
        _, error = _call(handlers[name], name, content, state, w)
        _gather(_summary(error), w)
        if state.stop_requested:
            return


def _call(handler, name: str, content: dict, state, w: World):
    try:
        return handler(_localize(name, content, w), state), None
    except Exception as exc:  # every rank must reach the gather, whatever happened
        if w.rank != 0 and not isinstance(exc, PeerFailed):
            log.error("%s failed on rank %d:\n%s", name, w.rank, traceback.format_exc())
        return None, exc


def _localize(name: str, content: dict, w: World) -> dict:
    """Per-rank request changes: each rank puts its model on its own GPU (LOCAL_RANK)."""
    if name == "load_model" and str(content.get("device", "cpu")).startswith("cuda"):
        return {**content, "device": f"cuda:{w.local_rank}"}
    return content


def _summary(error: BaseException | None) -> dict | None:
    if error is None:
        return None
    return {"name": type(error).__name__, "message": str(error), "peer": isinstance(error, PeerFailed),
            "traceback": "".join(traceback.format_exception(error))}


def _broadcast(value, w: World):
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0, group=w.control)
    return box[0]


def _gather(value, w: World) -> list:
    """Every rank's value, on rank 0 (other ranks get [])."""
    import torch.distributed as dist

    out = [None] * w.world_size if w.is_main else None
    dist.gather_object(value, out, dst=0, group=w.control)
    return out or []


def gather_to_main(value) -> list:
    """Every rank's `value` in rank order on rank 0, [] elsewhere; [value] in one process."""
    w = world()
    return _gather(value, w) if w.distributed else [value]


def from_main(value):
    """Rank 0's `value` on every rank (a collective); `value` itself in one process."""
    w = world()
    return _broadcast(value, w) if w.distributed else value


def agree(error: BaseException | None, values: list[float] = ()) -> list[float]:
    """A collective check point inside an op: raises `error` on the rank that had it and PeerFailed
    on every other rank when any rank failed, so no rank goes on into a collective alone.
    Returns the sums over ranks of `values` (the same count on every rank) in the same all-reduce."""
    w = world()
    if not w.distributed:
        if error is not None:
            raise error
        return [float(v) for v in values]
    failed, *sums = all_reduce_sum([0.0 if error is None else 1.0, *values])
    if error is not None:
        raise error
    if failed > 0:
        raise PeerFailed(f"stopped because {int(failed)} other rank(s) failed (their errors are in the reply)")
    return sums


def all_reduce_sum(values: list[float]) -> list[float]:
    """Element-wise sums over ranks of a few CPU floats (in float64, on the gloo control group)."""
    import torch
    import torch.distributed as dist

    w = world()
    if not w.distributed:
        return list(values)
    tensor = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(tensor, group=w.control)
    return tensor.tolist()


def shard(n: int) -> range:
    """This rank's contiguous share of n items (the first n % world_size ranks get one more)."""
    w = world()
    base, extra = divmod(n, w.world_size)
    start = w.rank * base + min(w.rank, extra)
    return range(start, start + base + (1 if w.rank < extra else 0))


def clean_exit(state) -> None:
    """The exit order that avoids rank aborts: barrier, drop DDP models and optimizers, destroy."""
    global _world
    import torch.distributed as dist

    if not dist.is_initialized():
        return
    dist.barrier(group=_world.control)
    state.trainers.clear()
    state.models.clear()
    gc.collect()  # DDP reducers in reference cycles must go before their process group does
    dist.destroy_process_group()
    _world = World()


# ---------------------------------------------------------------- the launcher

def launch(argv: list[str]) -> int:
    """torchrun (torch.distributed.run) itself, returning its exit code instead of raising."""
    from torch.distributed.run import main

    try:
        main(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # a rank failed, or a signal stopped the launcher: torchrun's own report
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    # python -m c3l_worker.distributed TORCHRUN_ARGS: torchrun with a prompt exit. With its ranks gone
    # the launcher has nothing left to release, but the interpreter's teardown with torch loaded takes
    # seconds (1.6 s measured here), which the orchestrator's stop grace would count.
    code = launch(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
