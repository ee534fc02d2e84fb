"""The handler table: message type -> function(content, state) -> reply content.

Adding an operation is one new module in this package that decorates its handler with @op(name)
(plus the message in proto/schema.json); every module here is imported on first use of HANDLERS.
"""
import importlib
import pkgutil
from typing import Callable

Handler = Callable[[dict, "WorkerState"], dict]  # noqa: F821 (WorkerState lives in c3l_worker.state)
_REGISTRY: dict[str, Handler] = {}


def op(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        if name in _REGISTRY:
            raise ValueError(f"two handlers for message type {name!r}")
        _REGISTRY[name] = handler
        return handler
    return register


def _load_all() -> dict[str, Handler]:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return _REGISTRY


def HANDLERS_VIEW() -> dict[str, Handler]:
    """The table as it stands, for handlers (hello) that list it while it is still being built."""
    return _REGISTRY


HANDLERS: dict[str, Handler] = _load_all()
