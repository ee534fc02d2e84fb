import time

from . import op


@op("score")
def score(content: dict, state) -> dict:
    """S(A|V), S(A), S(I2C) per item; per-item failures come back inside the item's result."""
    from ..scoring import DEFAULTS, score_items  # lazy: torch/transformers load on first use

    started = time.perf_counter()
    loaded = state.model(content["model_id"])
    options = {name: content[name] if content.get(name) is not None else default for name, default in DEFAULTS.items()}
    results = score_items(loaded, content["items"], **options)
    return {"results": results, "seconds": time.perf_counter() - started}
