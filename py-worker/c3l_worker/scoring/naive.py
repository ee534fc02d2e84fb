"""The reference scorer: every pair, two full forward passes of its own (image + text, then text
with the image withheld), one item at a time. Slow by design; the optimized scorer must match it."""
from __future__ import annotations

from collections.abc import Iterator

import torch

from ..inputs import Sequence, collate
from ..models import LoadedModel
from .forward import backbone, head_logprobs, predicting_rows
from .prepare import Prepared


def pass_logprobs(loaded: LoadedModel, seq: Sequence, positions: list[int], mask_image: bool = False) -> torch.Tensor:
    """[n, V] log-probs predicting seq.ids[p] for each p in positions, from one forward of seq alone."""
    batch = collate(loaded, [seq], mask_image=mask_image)
    hidden = backbone(loaded.model)(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                                    pixel_values=batch.pixel_values, use_cache=False).last_hidden_state[0]
    return head_logprobs(loaded.model, hidden[predicting_rows(positions)])


def score_naive(loaded: LoadedModel, prepared: list[Prepared]) -> Iterator[tuple[Prepared, torch.Tensor, torch.Tensor]]:
    """(item, log-probs with the image, log-probs without it) per item, in order."""
    for item in prepared:
        with_image = pass_logprobs(loaded, item.with_image, item.positions_with)
        without = pass_logprobs(loaded, item.without_image, item.positions_without, mask_image=item.mask_without)
        yield item, with_image, without
