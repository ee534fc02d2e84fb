"""Fault injection for tests: the one place the worker reads a test-only environment variable.

Every such variable, of both languages, is listed in docs/TESTING.md; unset, nothing here does anything.
"""

from __future__ import annotations

import os

from .distributed import world

ENV_FAIL = "C3L_TEST_FAIL"  # "OP@RANK": OP raises on that rank (one rank of a torchrun group failing alone)


def injected_failure(op: str) -> None:
    """Raises where a test asked for a failure of `op` on this rank (C3L_TEST_FAIL=OP@RANK)."""
    if os.environ.get(ENV_FAIL) == f"{op}@{world().rank}":
        raise RuntimeError(f"injected failure of {op} on rank {world().rank} ({ENV_FAIL})")
