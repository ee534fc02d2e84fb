"""Exporting the live model as a plain transformers checkpoint folder.

With LoRA the adapters are merged into a deep copy (one more copy of the weights while it is
written), so the live model keeps training with its adapters intact.
"""
from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path

from .. import distributed
from ..models import LoadedModel


def export_model(loaded: LoadedModel, directory: str | os.PathLike, peft_model=None) -> Path:
    """Writes model + processor to `directory` via a temporary folder and a rename; refuses to
    overwrite a non-empty folder. Returns the folder. Under torchrun only rank 0 writes (every rank
    holds the same weights)."""
    out = Path(directory)
    if not distributed.world().is_main:
        return out
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"export folder {out} already exists and is not empty; choose a new folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        model = copy.deepcopy(peft_model).merge_and_unload() if peft_model is not None else loaded.model
        model.save_pretrained(tmp)
        loaded.processor.save_pretrained(tmp)
        del model
        if out.exists():
            out.rmdir()  # empty (checked above)
        os.rename(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
