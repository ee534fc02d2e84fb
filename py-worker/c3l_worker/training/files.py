"""Writing checkpoints and exports safely: disk-full errors that say so, fsync, per-file digests.

A full disk shows up as OSError ENOSPC from Python, as a SafetensorError "... (os error 28)" from
safetensors' Rust writer, and on file systems with delayed allocation only at fsync: `writing`
turns each of them into one DiskFullError naming what was being written.
"""
from __future__ import annotations

import errno
import hashlib
import os
from contextlib import contextmanager
from pathlib import Path

_FULL = (errno.ENOSPC, errno.EDQUOT)


class DiskFullError(OSError):
    """No space left (or quota exceeded) while writing a checkpoint or an export; nothing torn was kept."""

    def __init__(self, message: str):
        super().__init__(message)
        self.errno = errno.ENOSPC


def is_disk_full(exc: BaseException) -> bool:
    seen = set()
    while exc is not None and id(exc) not in seen:  # the cause chain: a wrapped ENOSPC is still one
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in _FULL:
            return True
        text = str(exc)
        if "os error 28" in text or "No space left on device" in text or "Disk quota exceeded" in text:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


@contextmanager
def writing(what: str):
    """Re-raises a disk-full failure inside the block as DiskFullError('disk full ... writing <what> ...')."""
    try:
        yield
    except DiskFullError:
        raise
    except Exception as exc:
        if is_disk_full(exc):
            raise DiskFullError(f"disk full (no space left on device) while writing {what}; nothing of it was kept "
                                f"and earlier files are intact: free space, then resume ({exc})") from exc
        raise


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: Path) -> None:
    """Makes renames and new files in `folder` durable; best effort (some file systems refuse)."""
    try:
        fsync_file(folder)
    except OSError as exc:
        if is_disk_full(exc):
            raise


def fsync_tree(folder: Path) -> None:
    """fsyncs every file under `folder`, then the folders themselves."""
    for root, _dirs, files in os.walk(folder):
        for name in files:
            fsync_file(Path(root) / name)
        fsync_dir(Path(root))


def file_digest(path: Path) -> dict:
    """{"bytes": size, "sha256": hex}: what a later load checks the file against."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return {"bytes": size, "sha256": h.hexdigest()}
