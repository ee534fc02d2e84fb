"""Folders built once and reused (tiny models, the smoke world): a marker file written last says
the build finished and with which parameters; builds happen under a temporary name and are renamed."""
import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def is_complete(out: Path, marker: str, params: dict, what: str, replace_stale: bool = False) -> bool:
    """True when `out` holds a finished build with these parameters; raises if it holds another
    build, unless `replace_stale` (a cache folder) says to delete it and build again."""
    marker_file = out / marker
    if not marker_file.is_file():
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise FileExistsError(f"{out} exists but is not a finished {what} build (no {marker})")
        return False
    found = json.loads(marker_file.read_text())
    diff = {k: (found.get(k), v) for k, v in params.items() if found.get(k) != v}
    if not diff:
        return True
    if replace_stale:
        shutil.rmtree(out)
        return False
    detail = ", ".join(f"{k}: found {a!r}, wanted {b!r}" for k, (a, b) in diff.items())
    raise FileExistsError(f"{out} holds a {what} built with other parameters ({detail})")


def publish(tmp: Path, out: Path, marker: str) -> None:
    """Moves a finished build into place; losing a race to a concurrent builder is fine."""
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()
    try:
        os.rename(tmp, out)
    except OSError:
        if not (out / marker).is_file():
            raise


@contextmanager
def staging(out: Path, marker: str, params: dict, what: str) -> Iterator[Path]:
    """A fresh temporary folder beside `out` to build in. The body writes everything, the marker
    last (write_marker); on success the folder is renamed into place, and it never lingers."""
    tmp = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
        publish(tmp, out, marker)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not is_complete(out, marker, params, what):
        raise RuntimeError(f"{what} at {out} did not complete")


def write_marker(folder: Path, marker: str, record: dict) -> None:
    (folder / marker).write_text(json.dumps(record, indent=2) + "\n")
