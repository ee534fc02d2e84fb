from dataclasses import dataclass, field
from typing import Any


@dataclass
class WorkerState:
    """What handlers share: loaded models by id, settings, and the stop flag shutdown sets."""
    num_threads: int = 1
    max_frame_bytes: int = 0
    models: dict[str, Any] = field(default_factory=dict)
    stop_requested: bool = False
