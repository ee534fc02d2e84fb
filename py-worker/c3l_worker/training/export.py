"""Exporting the live model as a plain transformers checkpoint folder.

With LoRA the adapters are merged into a deep copy (one more copy of the weights while it is
written), so the live model keeps training with its adapters intact. A model sharded by FSDP
(distributed.strategy fsdp) is gathered first, on every rank, into a full CPU state dict that rank 0
writes: the same files as an unsharded export. Every file is fsynced before the rename, and a full
disk raises DiskFullError naming the export, with nothing of it left behind.
"""
from __future__ import annotations

import copy
import json
import os
import re
import shutil
from pathlib import Path

from .. import distributed
from ..models import LoadedModel
from .files import fsync_dir, fsync_tree, writing


def export_model(loaded: LoadedModel, directory: str | os.PathLike, peft_model=None) -> Path:
    """Writes model + processor to `directory` via a temporary folder and a rename; refuses to
    overwrite a non-empty folder. Returns the folder. Under torchrun only rank 0 writes (every rank
    holds the same weights)."""
    out = Path(directory)
    full = None
    if distributed.is_sharded(loaded.model):  # a collective: every rank, before rank 0 alone goes on
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        full = get_model_state_dict(loaded.model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    if not distributed.world().is_main:
        return out
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"export folder {out} already exists and is not empty; choose a new folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    unfinished = re.compile(rf"^\.{re.escape(out.name)}\.tmp-\d+$")
    for p in out.parent.iterdir():  # what a killed export left behind
        if unfinished.match(p.name):
            shutil.rmtree(p, ignore_errors=True)
    try:
        with writing(f"the export {out} (into its temporary folder {tmp.name}, removed)"):
            model = copy.deepcopy(peft_model).merge_and_unload() if peft_model is not None else loaded.model
            if full is None:
                model.save_pretrained(tmp)
            else:
                model.save_pretrained(tmp, state_dict=full)
                _unfsdp_architectures(tmp / "config.json", model)
            loaded.processor.save_pretrained(tmp)
            del model
            fsync_tree(tmp)
            if out.exists():
                out.rmdir()  # empty (checked above)
            os.rename(tmp, out)
            fsync_dir(out.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _unfsdp_architectures(config: Path, model) -> None:
    """FSDP swaps the model's class for an FSDP<Class> subclass, whose name save_pretrained writes."""
    meta = json.loads(config.read_text())
    plain = next(c.__name__ for c in type(model).__mro__ if not c.__name__.startswith("FSDP"))
    meta["architectures"] = [plain if a.startswith("FSDP") else a for a in meta.get("architectures") or []]
    config.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
