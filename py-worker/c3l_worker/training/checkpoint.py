"""Training checkpoints: DIR/step-NNNNNNNN/, written under a temporary name and renamed.

A checkpoint holds only safetensors and JSON, so loading never unpickles anything:
  model.safetensors            the trained parameters of the model by name (with LoRA: the adapters
                               only; in full fine-tuning everything but the frozen vision tower)
  projection_head.safetensors  the projection head, when there is one
  optimizer.safetensors        AdamW's per-parameter tensors (param groups are in the JSON)
  grads.safetensors            gradients of a half-accumulated optimizer step, when there are any
  rng.safetensors              torch CPU / CUDA generator states and numpy's key array
  rng.rank-NNNNN.safetensors   under torchrun: the torch generator states of each rank but 0
  checkpoint.json              written last: settings, counters, data_position, scheduler, RNG rest,
                               the base model it was trained from, and each file's size and sha256
                               (checked on load). No checkpoint.json, no checkpoint.

Every file is fsynced before the marker is written and the folder renamed into place; a save that
fails (a full disk: DiskFullError naming the file) leaves nothing but the earlier checkpoints, and
the next save clears any temporary folder a killed one left. A checkpoint whose files do not match
their recorded sizes and digests, or cannot be read, raises CheckpointDamagedError naming the file,
before anything is restored. This module alone knows the folder's layout: the orchestrator asks for
the newest checkpoint of DIR (load_latest_checkpoint), which sets a damaged one aside as
<name>.damaged, so asking again falls back to the one before it.

Under torchrun rank 0 writes (the parameters, optimizer and gradients are the same on every rank)
and every rank loads, so DIR must be on a file system every node sees. Under distributed.strategy
fsdp every rank first gathers the full tensors of its sharded parameters, optimizer state and
gradients (collectives), so the files are the same full, unsharded ones a one-process run writes
and reads; on load each rank keeps its shard of them.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from .. import distributed
from .files import file_digest, fsync_dir, fsync_file, writing
from .settings import TrainSettings
from .trainer import HEAD_PREFIX, WEIGHTS_CHANGED, Trainer, setup_trainer

FORMAT = 1
MARKER = "checkpoint.json"
STEP_DIR = re.compile(r"^step-(\d{8})$")


class CheckpointError(ValueError):
    """A checkpoint that cannot be restored here (incomplete, other base model, other format)."""


class CheckpointDamagedError(CheckpointError):
    """A complete checkpoint whose files are truncated, corrupt or unreadable; nothing was restored from it
    (or, for a file that fails only while being read, the caller must reload the model before another try)."""


def _config_sha256(model_dir: Path) -> str:
    return hashlib.sha256((Path(model_dir) / "config.json").read_bytes()).hexdigest()


def _tensors(named) -> dict[str, torch.Tensor]:
    return {name: _full(t).detach().to("cpu").contiguous().clone() for name, t in named}


def _full(tensor: torch.Tensor) -> torch.Tensor:
    """The whole tensor of an FSDP shard (a collective: every rank calls it in the same order)."""
    from torch.distributed.tensor import DTensor

    return tensor.full_tensor() if isinstance(tensor, DTensor) else tensor


def _like(value: torch.Tensor, param: torch.Tensor) -> torch.Tensor:
    """`value` (a full tensor) sharded like `param` when FSDP shards it; as it is otherwise."""
    from torch.distributed.tensor import DTensor, distribute_tensor

    if not isinstance(param, DTensor) or value.ndim == 0:
        return value
    return distribute_tensor(value.to(device=param.device, dtype=param.dtype), param.device_mesh, param.placements)


def _snapshot(trainer: Trainer) -> dict:
    """The full tensors a checkpoint holds: model, head, optimizer state, pending gradients."""
    params = trainer.trainable()
    optimizer = trainer.optimizer.state_dict()
    return {
        "names": [n for n, _ in params],
        "model": _tensors((n, p) for n, p in params if not n.startswith(HEAD_PREFIX)),
        "head": _tensors(trainer.head.named_parameters()) if trainer.head is not None else None,
        "optimizer": {f"{index}.{key}": value for index, state in optimizer["state"].items()
                      for key, value in _tensors(state.items()).items()},
        "param_groups": optimizer["param_groups"],
        "grads": _tensors((n, p.grad) for n, p in params if p.grad is not None),
    }


# ---------------------------------------------------------------- save

def save_checkpoint(trainer: Trainer, directory: str | os.PathLike, data_position=None, keep_last: int | None = None) -> Path:
    """Writes DIR/step-%08d/ for the trainer's current step and returns its path (rank 0 writes);
    with keep_last, then deletes all but the newest keep_last complete checkpoints."""
    if keep_last is not None and keep_last < 1:
        raise ValueError(f"keep_last must be >= 1 (the checkpoint just written stays), got {keep_last}")
    rank_rngs = distributed.gather_to_main(_torch_rng())  # first: a collective every rank reaches
    snapshot = _snapshot(trainer) if trainer.fsdp else None  # FSDP: gathering shards is a collective too
    try:
        json.dumps(data_position, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"data_position must be JSON-serializable (it is stored in {MARKER}): {exc}") from None
    root = Path(directory)
    name = f"step-{trainer.step:08d}"
    final, tmp = root / name, root / f".{name}.tmp-{os.getpid()}"
    if not distributed.world().is_main:
        return final
    root.mkdir(parents=True, exist_ok=True)
    _clear_unfinished(root)
    tmp.mkdir()
    try:
        _write(trainer, tmp, final, data_position, snapshot or _snapshot(trainer), rank_rngs)
        with writing(f"checkpoint {final} (renaming it into place)"):
            _replace(tmp, final)
            fsync_dir(root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if keep_last is not None:
        prune_checkpoints(root, keep_last)
    return final


def prune_checkpoints(root: Path, keep_last: int) -> list[Path]:
    """Deletes the complete step folders older than the newest keep_last (a checkpoint keeps the
    optimizer state: several GB each for a 7B model); returns what it deleted. Only after the new
    one is in place, so a kill meanwhile never leaves fewer than keep_last."""
    done = sorted((p for p in root.iterdir() if STEP_DIR.match(p.name) and (p / MARKER).is_file()), key=lambda p: p.name)
    old = done[:-keep_last]
    for folder in old:
        shutil.rmtree(folder, ignore_errors=True)
    if old:
        fsync_dir(root)
    return old


UNFINISHED = re.compile(r"^\.step-\d{8}\.(tmp|old)-\d+$")


def _clear_unfinished(root: Path) -> None:
    """Removes the temporary folders of saves that were killed (one writer per folder: the run's)."""
    for p in root.iterdir():
        if UNFINISHED.match(p.name):
            shutil.rmtree(p, ignore_errors=True)


def _save(tensors: dict, out: Path, name: str, final: Path, files: dict) -> None:
    """save_file + fsync, recording the file's size and digest; a full disk raises DiskFullError naming it."""
    with writing(f"{name} of checkpoint {final}"):
        save_file(tensors, out / name)
        fsync_file(out / name)
    files[name] = file_digest(out / name)


def _write(trainer: Trainer, out: Path, final: Path, data_position, snapshot: dict, rank_rngs: list) -> None:
    files: dict[str, dict] = {}
    _save(snapshot["model"], out, "model.safetensors", final, files)
    if snapshot["head"] is not None:
        _save(snapshot["head"], out, "projection_head.safetensors", final, files)
    _save(snapshot["optimizer"], out, "optimizer.safetensors", final, files)
    if snapshot["grads"]:
        _save(snapshot["grads"], out, "grads.safetensors", final, files)
    rng = _torch_rng()
    numpy_state = np.random.get_state()
    rng["numpy_keys"] = torch.from_numpy(numpy_state[1].astype(np.int64))
    _save(rng, out, "rng.safetensors", final, files)
    for rank, rank_rng in enumerate(rank_rngs[1:], start=1):
        _save(rank_rng, out, RANK_RNG.format(rank=rank), final, files)
    loaded = trainer.loaded
    meta = {
        "format": FORMAT,
        "world_size": distributed.world().world_size,
        "step": trainer.step,
        "micro_step": trainer.micro_step,
        "data_position": data_position,
        "settings": trainer.settings.to_json(),
        "base_model": {"dir": str(Path(loaded.model_dir).resolve()), "config_sha256": _config_sha256(loaded.model_dir),
                       "dtype": loaded.dtype},
        "parameters": snapshot["names"],
        "optimizer_param_groups": snapshot["param_groups"],
        "scheduler": trainer.scheduler.state_dict(),
        "rng": {"python": random.getstate(), "numpy": [numpy_state[0], *map(_plain, numpy_state[2:])]},
        "files": files,
    }
    with writing(f"{MARKER} of checkpoint {final}"):
        _write_json(out / MARKER, meta)  # last: its presence means the folder is complete


RANK_RNG = "rng.rank-{rank:05d}.safetensors"


def _torch_rng() -> dict[str, torch.Tensor]:
    rng = {"torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng.update({f"torch_cuda.{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    return rng


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _write_json(path: Path, value) -> None:
    with open(path, "w") as f:
        json.dump(value, f, indent=1)
        f.flush()
        os.fsync(f.fileno())


def _replace(tmp: Path, final: Path) -> None:
    """Renames tmp to final; an existing final (the same step saved again) is replaced."""
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.rename(final, old)
        os.rename(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, final)


def latest_checkpoint(directory: str | os.PathLike) -> Path | None:
    """The complete step-NNNNNNNN folder with the highest step; temporary folders never count."""
    root = Path(directory)
    if not root.is_dir():
        return None
    done = [p for p in root.iterdir() if STEP_DIR.match(p.name) and (p / MARKER).is_file()]
    return max(done, key=lambda p: p.name, default=None)


DAMAGED_SUFFIX = ".damaged"


def set_aside_checkpoint(path: str | os.PathLike) -> Path:
    """Renames a damaged checkpoint to <name>.damaged (kept to look at; latest_checkpoint never picks
    it again, so the one before it is next) and returns the new path; an older copy of it is replaced."""
    folder = Path(path)
    aside = folder.with_name(folder.name + DAMAGED_SUFFIX)
    shutil.rmtree(aside, ignore_errors=True)
    os.rename(folder, aside)
    return aside


# ---------------------------------------------------------------- load

def read_checkpoint_meta(path: str | os.PathLike) -> dict:
    folder = Path(path)
    if not folder.is_dir():
        raise CheckpointError(f"checkpoint {folder} does not exist or is not a directory")
    if not STEP_DIR.match(folder.name):
        raise CheckpointError(f"{folder} is not a checkpoint folder (expected a name like step-00000012; "
                              f"a .step-*.tmp-* folder is an unfinished save)")
    if not (folder / MARKER).is_file():
        raise CheckpointError(f"checkpoint {folder} is incomplete: it has no {MARKER} (the save was interrupted)")
    try:
        meta = json.loads((folder / MARKER).read_text())
    except (ValueError, OSError) as exc:
        raise CheckpointDamagedError(f"checkpoint {folder} is damaged: {folder / MARKER} cannot be read ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        got = meta.get("format") if isinstance(meta, dict) else meta
        raise CheckpointError(f"checkpoint {folder} has format {got!r}; this worker reads format {FORMAT}")
    return meta


def verify_checkpoint(folder: Path, meta: dict) -> None:
    """Checks every file against the size and sha256 recorded when it was saved (checkpoints saved
    before digests were recorded have none to check). Raises CheckpointDamagedError naming the file."""
    for name, want in (meta.get("files") or {}).items():
        path = folder / name
        if not path.is_file():
            raise CheckpointDamagedError(f"checkpoint {folder} is damaged: {path} is missing")
        size = path.stat().st_size
        if size != want["bytes"]:
            raise CheckpointDamagedError(f"checkpoint {folder} is damaged: {path} has {size} bytes, "
                                         f"{want['bytes']} were saved (truncated or overwritten)")
        if file_digest(path)["sha256"] != want["sha256"]:
            raise CheckpointDamagedError(f"checkpoint {folder} is damaged: {path} does not match the sha256 "
                                         f"recorded when it was saved (corrupted on disk)")


def _load(folder: Path, name: str) -> dict[str, torch.Tensor]:
    try:
        return load_file(folder / name)
    except Exception as exc:  # SafetensorError (a bad header, a short file) or OSError
        raise CheckpointDamagedError(f"checkpoint {folder} is damaged: {folder / name} cannot be read "
                                     f"({type(exc).__name__}: {exc})") from None


def _check_base(meta: dict, loaded, model_id: str, folder: Path) -> None:
    base = meta["base_model"]
    here = str(Path(loaded.model_dir).resolve())
    if base["dir"] != here or base["config_sha256"] != _config_sha256(loaded.model_dir):
        what = "folder" if base["dir"] != here else "config.json (the folder's model changed since)"
        raise CheckpointError(f"checkpoint {folder} was trained from base model {base['dir']}, but model "
                              f"{model_id!r} is loaded from {here} (different {what}); load_model that base first")
    if base["dtype"] != loaded.dtype:
        raise CheckpointError(f"checkpoint {folder} was trained in {base['dtype']}, but model {model_id!r} is "
                              f"loaded in {loaded.dtype}; load it with dtype {base['dtype']}")


def load_checkpoint(state, model_id: str, path: str | os.PathLike) -> tuple[Trainer, dict]:
    """Re-runs setup from the saved settings and restores weights, optimizer, scheduler, gradients,
    RNG and counters. Returns the trainer and the checkpoint's metadata (data_position inside)."""
    folder = Path(path)
    error = None
    try:
        meta = read_checkpoint_meta(folder)
        verify_checkpoint(folder, meta)  # before anything is touched: a damaged one leaves the model as it was
        loaded = state.model(model_id)
        _check_base(meta, loaded, model_id, folder)
        settings = TrainSettings.from_request(meta["settings"])
        if settings.lora is not None and loaded.cache.get(WEIGHTS_CHANGED):
            raise CheckpointError(f"checkpoint {folder} holds LoRA adapters for the untouched base weights, but model "
                                  f"{model_id!r} was trained since it was loaded; load_model it again first")
    except Exception as exc:
        error = exc
    distributed.agree(error)  # setup_trainer's collectives follow: every rank gets there or none
    trainer = setup_trainer(state, model_id, settings, keep_adapters=False)
    try:
        _restore(trainer, folder, meta)
    except Exception:
        state.trainers.pop(model_id, None)  # no half-restored trainer stays behind
        trainer.release(keep_adapters=False)
        if settings.lora is None:
            loaded.cache[WEIGHTS_CHANGED] = True  # some weights may already be overwritten
        raise
    if settings.lora is None:
        loaded.cache[WEIGHTS_CHANGED] = True  # the base weights are now trained ones
    return trainer, meta


def load_latest_checkpoint(state, model_id: str, directory: str | os.PathLike) -> tuple[Path, Trainer, dict] | None:
    """load_checkpoint of the newest complete checkpoint in DIR: (its path, the trainer, its metadata),
    or None when DIR holds none (nothing is touched). A damaged one is set aside (<name>.damaged) and
    CheckpointDamagedError names where, so the next call restores the one before it. Under torchrun
    every rank loads rank 0's choice, and rank 0 alone renames, once every rank is done with the folder."""
    folder = distributed.from_main(latest_checkpoint(directory))  # ranks on other nodes may list a stale folder
    if folder is None:
        return None
    error = None
    try:
        trainer, meta = load_checkpoint(state, model_id, folder)
    except Exception as exc:  # every rank must reach the gather below, whatever happened
        error = exc
    damaged = str(error) if isinstance(error, CheckpointDamagedError) else None
    damage = [d for d in distributed.gather_to_main(damaged) if d]  # every rank is done with the folder
    if damage:  # rank 0 only: the gather reports every rank's damage to it
        error = CheckpointDamagedError(f"{damage[0]}; set aside as {set_aside_checkpoint(folder)}")
    distributed.agree(error)
    return folder, trainer, meta


def _restore(trainer: Trainer, folder: Path, meta: dict) -> None:
    named = dict(trainer.trainable())
    if list(named) != meta["parameters"]:
        missing, extra = set(meta["parameters"]) - set(named), set(named) - set(meta["parameters"])
        raise CheckpointError(f"checkpoint {folder} does not fit the model's trainable parameters "
                              f"(in the checkpoint only: {sorted(missing)[:5]}; in the model only: {sorted(extra)[:5]})")
    with torch.no_grad():
        weights = _load(folder, "model.safetensors")
        if trainer.head is not None:
            weights.update({HEAD_PREFIX + n: t for n, t in _load(folder, "projection_head.safetensors").items()})
        for name, param in named.items():
            param.copy_(_like(weights[name], param))
    optimizer = _optimizer_state(folder, meta)
    ordered = [p for group in trainer.optimizer.param_groups for p in group["params"]]
    for index, state in optimizer["state"].items():
        for key, value in state.items():
            state[key] = _like(value, ordered[index])
    trainer.optimizer.load_state_dict(optimizer)
    trainer.scheduler.load_state_dict(meta["scheduler"])
    if (folder / "grads.safetensors").is_file():
        for name, grad in _load(folder, "grads.safetensors").items():
            named[name].grad = _like(grad.to(device=named[name].device, dtype=named[name].dtype), named[name])
    trainer.step, trainer.micro_step = meta["step"], meta["micro_step"]
    _restore_rng(folder, meta["rng"])


def _optimizer_state(folder: Path, meta: dict) -> dict:
    state: dict[int, dict] = {}
    for key, value in _load(folder, "optimizer.safetensors").items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    groups = [{**g, "betas": tuple(g["betas"])} if "betas" in g else g for g in meta["optimizer_param_groups"]]
    return {"state": state, "param_groups": groups}


def _restore_rng(folder: Path, rng: dict) -> None:
    tensors = _load(folder, "rng.safetensors")
    version, internal, gauss = rng["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, pos, has_gauss, cached = rng["numpy"]
    np.random.set_state((kind, tensors["numpy_keys"].numpy().astype(np.uint32), pos, has_gauss, cached))
    rank = distributed.world().rank
    if rank and (folder / RANK_RNG.format(rank=rank)).is_file():  # else saved with fewer ranks: rank 0's state
        tensors = _load(folder, RANK_RNG.format(rank=rank))
    torch.set_rng_state(tensors["torch_cpu"])
    cuda = [tensors[f"torch_cuda.{i}"] for i in range(len(tensors)) if f"torch_cuda.{i}" in tensors]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda[:torch.cuda.device_count()])
