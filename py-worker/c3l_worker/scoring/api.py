"""score_items: the content relevance module's entry point (what the `score` handler calls)."""
from __future__ import annotations

from contextlib import contextmanager

import torch

from ..models import LoadedModel
from .estimators import ESTIMATORS, summarize
from .naive import score_naive
from .optimized import score_optimized
from .prepare import SPANS, WITHHOLDS, prepare_items

METHODS = ("optimized", "naive")
DEFAULTS = {"estimator": "kl", "withhold": "drop", "span": "answer", "method": "optimized", "batch_size": 8}


def check_options(estimator: str, withhold: str, span: str, method: str, batch_size: int) -> None:
    """Raises ValueError naming every bad option and what it allows. The one check inside the worker
    (the wire schema refuses bad requests before the handler; direct callers such as bench/ need this);
    the scorers and estimators below take the options as checked."""
    problems = [f"unknown {name} {value!r}; expected one of {', '.join(allowed)}"
                for name, value, allowed in (("estimator", estimator, ESTIMATORS), ("withhold", withhold, WITHHOLDS),
                                             ("span", span, SPANS), ("method", method, METHODS))
                if value not in allowed]
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        problems.append(f"batch_size must be a positive integer, got {batch_size!r}")
    if problems:
        raise ValueError("; ".join(problems))


@contextmanager
def _eval_mode(model):
    """Score in eval mode (no dropout) without disturbing a trainer that left the model in train mode."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def score_items(loaded: LoadedModel, items: list[dict], *, estimator: str = DEFAULTS["estimator"],
                withhold: str = DEFAULTS["withhold"], span: str = DEFAULTS["span"], method: str = DEFAULTS["method"],
                batch_size: int = DEFAULTS["batch_size"]) -> list[dict]:
    """One ScoreResult per item ({id, image_path, question, answer}), in request order. Items that
    cannot be scored get `error` and null scores; the others are scored regardless."""
    check_options(estimator, withhold, span, method, batch_size)
    results: list[dict | None] = [None] * len(items)
    with torch.inference_mode(), _eval_mode(loaded.model):
        prepared, errors = prepare_items(loaded, items, withhold, span)
        for index, error in errors.items():
            results[index] = {"id": items[index]["id"], "logp_with_image": None, "logp_without_image": None,
                              "i2c": None, "num_tokens": 0, "error": error.to_wire()}
        scored = score_naive(loaded, prepared) if method == "naive" else score_optimized(loaded, prepared, batch_size)
        for item, logp_with, logp_without in scored:
            targets = torch.tensor(item.targets, device=logp_with.device)
            results[item.index] = {"id": item.item_id, **summarize(logp_with, logp_without, targets, estimator),
                                   "error": None}
    return results
