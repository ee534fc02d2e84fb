"""The content relevance module: S(A|V), S(A) and S(I2C) for (image, question, answer) pairs,
teacher-forced on the given answer. `naive` is the per-pair two-pass reference; `optimized`
(the default) reuses each image's prefix and must equal it."""
from .api import DEFAULTS, METHODS, check_options, score_items
from .estimators import ESTIMATORS
from .prepare import SPANS, WITHHOLDS

__all__ = ["DEFAULTS", "ESTIMATORS", "METHODS", "SPANS", "WITHHOLDS", "check_options", "score_items"]
