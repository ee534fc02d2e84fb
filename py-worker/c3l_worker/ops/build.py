"""Builders of the folders configs name as `builtin:` (the embedded world, the smoke set): built once, then
found. Long: each progress line goes to the requester (state.progress) and to the worker's log. Torch's
threads are the worker's own (--threads); a handler leaves them alone."""
import json
import logging
import os
from pathlib import Path
from typing import Callable

from . import op

log = logging.getLogger("c3l_worker")


@op("build_world")
def build_world(content: dict, state) -> dict:
    from ..world.build import build_world as build
    from ..world.layout import MARKER

    out = Path(os.path.abspath(content["out_dir"]))
    before = _stamp(out / MARKER)
    build(out, content["params"], replace_stale=content.get("replace_stale", False), progress=_reporter(state, "world"))
    marker = json.loads((out / MARKER).read_text())
    return {"dir": str(out), "already_built": before is not None and _stamp(out / MARKER) == before, "marker": marker}


@op("build_smoke")
def build_smoke(content: dict, state) -> dict:
    from .. import smoke

    out = Path(os.path.abspath(content["out_dir"]))
    before = _stamp(out / smoke.MARKER)
    report = _reporter(state, "smoke")
    if before is None:
        report(f"building the smoke data set and its model at {out}")
    smoke.build_smoke(out, replace_stale=content.get("replace_stale", False))
    already = before is not None and _stamp(out / smoke.MARKER) == before
    if not already:
        report(f"built {out}")
    return {"dir": str(out), "already_built": already}


def _reporter(state, what: str) -> Callable[[str], None]:
    def report(line: str) -> None:
        log.info("%s: %s", what, line)
        state.progress(line)
    return report


def _stamp(marker: Path) -> int | None:
    """The marker's mtime: unchanged across the call means the finished build was found, not made."""
    try:
        return marker.stat().st_mtime_ns
    except FileNotFoundError:
        return None
