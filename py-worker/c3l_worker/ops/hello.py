import os
import platform
from importlib.metadata import version

import torch

from .. import __version__
from ..protocol import PROTOCOL_VERSION
from . import HANDLERS_VIEW, op


@op("hello")
def hello(content: dict, state) -> dict:
    from ..models import FAMILIES  # lazy: keeps transformers' import cost out of worker start-up

    return {
        "protocol_version": PROTOCOL_VERSION,
        "worker_version": __version__,
        "python_version": platform.python_version(),
        "torch_version": torch.__version__,
        "transformers_version": version("transformers"),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "cuda_device_count": torch.cuda.device_count(),
        "num_threads": torch.get_num_threads(),
        "model_families": sorted(FAMILIES),
        "ops": sorted(HANDLERS_VIEW()),
        "pid": os.getpid(),
        "max_frame_bytes": state.max_frame_bytes,
    }
