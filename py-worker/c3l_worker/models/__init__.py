"""Model families by name, and loading a local checkpoint folder with the right one.

Adding a family: write `models/<family>.py` with a ModelFamily subclass named like the family, and
add the family with its config.json model_types to families.json (the one list, which the
orchestrator also reads to refuse unsupported checkpoints before a run starts).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from .base import DTYPES, LoadedModel, ModelFamily

FAMILIES_FILE = Path(__file__).with_name("families.json")


def _registry() -> dict[str, ModelFamily]:
    """One instance per family of families.json, from models/<name>.py, its model_types from the file."""
    registry = {}
    for name, entry in json.loads(FAMILIES_FILE.read_text())["families"].items():
        module = importlib.import_module(f"{__name__}.{name}")
        classes = [c for c in vars(module).values() if isinstance(c, type) and issubclass(c, ModelFamily) and getattr(c, "name", None) == name]
        if len(classes) != 1:
            raise ImportError(f"models/{name}.py must define one ModelFamily subclass with name = {name!r} (families.json lists it)")
        family = classes[0]()
        family.model_types = tuple(entry["model_types"])
        registry[name] = family
    return registry


FAMILIES: dict[str, ModelFamily] = _registry()

__all__ = ["DTYPES", "FAMILIES", "LoadedModel", "ModelFamily", "UnsupportedModelError", "family_for", "load_model"]


class UnsupportedModelError(ValueError):
    """The checkpoint's model_type belongs to no registered family."""


def _supported() -> str:
    return ", ".join(f"{f.name} ({'/'.join(f.model_types)})" for f in FAMILIES.values())


def _check_model_dir(model_dir: Path) -> Path:
    if not model_dir.is_dir():
        raise FileNotFoundError(f"model directory {model_dir} does not exist or is not a directory")
    config_path = model_dir / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"model directory {model_dir} has no config.json (expected {config_path})")
    return config_path


def family_for(model_dir: str | Path) -> ModelFamily:
    """The family whose model_types include config.json's `model_type`."""
    model_dir = Path(model_dir)
    config_path = _check_model_dir(model_dir)
    try:
        config = json.loads(config_path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{config_path} is not valid JSON: {e}") from e
    for family in FAMILIES.values():
        if family.matches(config):
            return family
    raise UnsupportedModelError(
        f"model in {model_dir} has model_type {config.get('model_type')!r}, "
        f"which no model family supports; supported: {_supported()}"
    )


def load_model(model_dir: str | Path, device: str = "cpu", dtype: str = "float32") -> LoadedModel:
    """Load a local checkpoint folder (never the HF hub) in eval mode."""
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; expected one of {', '.join(DTYPES)}")
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} requested but CUDA is not available")
    return family_for(model_dir).load(model_dir, device=device, dtype=dtype)
