"""load_model / unload_model: put a model into the worker's state and take it out (the family
registry that does the loading is c3l_worker.models)."""
import gc
import time
from pathlib import Path

from . import op


@op("load_model")
def load_model(content: dict, state) -> dict:
    from ..models import load_model as load  # lazy: transformers is imported on first load

    started = time.perf_counter()
    state.models.pop(content["model_id"], None)  # free the old weights (and any trainer on them) first
    state.trainers.pop(content["model_id"], None)
    gc.collect()
    loaded = load(content["model_dir"], device=content.get("device", "cpu"), dtype=content.get("dtype", "float32"))
    state.models[content["model_id"]] = loaded
    return {
        "model_id": content["model_id"],
        "family": loaded.family.name,
        "model_dir": str(Path(loaded.model_dir).resolve()),
        "num_parameters": loaded.num_parameters,
        "device": str(loaded.device),
        "dtype": str(loaded.dtype).removeprefix("torch."),
        "vocab_size": len(loaded.processor.tokenizer),
        "load_seconds": time.perf_counter() - started,
    }


@op("unload_model")
def unload_model(content: dict, state) -> dict:
    unloaded = state.models.pop(content["model_id"], None) is not None
    state.trainers.pop(content["model_id"], None)
    gc.collect()
    return {"model_id": content["model_id"], "unloaded": unloaded}
