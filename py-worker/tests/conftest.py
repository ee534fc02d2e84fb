import os
import sys
from pathlib import Path

# Set before transformers/huggingface_hub are imported: they read these at import time.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # import c3l_worker without installing it

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)  # 2 threads on 2 cores were 10-50x slower at random


@pytest.fixture(scope="session")
def tiny_llava_dir(tmp_path_factory) -> Path:
    """A tiny random LLaVA (seed 0) built once per test session."""
    from c3l_worker.tiny_llava import build_tiny_llava

    return build_tiny_llava(tmp_path_factory.mktemp("models") / "tiny-llava", seed=0)
