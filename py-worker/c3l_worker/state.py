from dataclasses import dataclass, field
from typing import Any, Callable


def no_progress(line: str) -> None:
    """Progress with nowhere to go: outside a request, or a requester older than protocol 1.3."""


class UnknownModelError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


@dataclass
class WorkerState:
    """What handlers share: loaded models and trainers by model id, settings, the stop flag, and
    `progress(line)`, which sends one line to the current request's sender before its reply."""
    num_threads: int = 1
    max_frame_bytes: int = 0
    models: dict[str, Any] = field(default_factory=dict)  # model_id -> models.LoadedModel
    trainers: dict[str, Any] = field(default_factory=dict)  # model_id -> training state (setup_training)
    stop_requested: bool = False
    # Set by the server around each handler call; call it from the handler's own thread (the socket's).
    progress: Callable[[str], None] = field(default_factory=lambda: no_progress)

    def model(self, model_id: str) -> Any:
        """The loaded model, or an error that lists what is loaded."""
        if model_id not in self.models:
            loaded = ", ".join(sorted(self.models)) or "none"
            raise UnknownModelError(f"no model is loaded under id {model_id!r} (loaded: {loaded}); send load_model first")
        return self.models[model_id]
