"""The world folder's layout, read from layout.json (the orchestrator reads the same file)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

LAYOUT_FILE = Path(__file__).with_name("layout.json")
LAYOUT: dict = json.loads(LAYOUT_FILE.read_text())
FORMAT: int = LAYOUT["format"]
MARKER: str = LAYOUT["marker"]


@dataclass(frozen=True)
class Split:
    """A split's files: images/<id>.png, a manifest ({"id", "image"} with image relative to root), the truth."""
    root: Path
    images: Path
    manifest: Path
    truth: Path


def split(folder: Path, name: str) -> Split:
    return Split(**{key: folder / rel for key, rel in LAYOUT["splits"][name].items()})


def benchmark(folder: Path, name: str) -> Path:
    return folder / LAYOUT["benchmarks"][name]


def smoke_split(folder: Path) -> Split:
    """The smoke folder's data files (the smoke set is a small configuration of the world)."""
    files = LAYOUT["smoke"]
    return Split(**{key: folder / files[key] for key in ("root", "images", "manifest", "truth")})


SMOKE_MARKER: str = LAYOUT["smoke"]["marker"]
SMOKE_MODEL: str = LAYOUT["smoke"]["model"]


def model(folder: Path, name: str) -> Path:
    return folder / LAYOUT["models"][name]
