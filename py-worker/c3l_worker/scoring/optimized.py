"""The fast scorer. Naive scoring recomputes the same prefix (BOS + prompt prefix + 576 image tokens
on LLaVA-1.5) for every pair; here each distinct image is encoded and its prefix run ONCE per
batch, and its pairs run as continuations of that prefix (continuation.py). The image-withheld
prefix is the same for every item (drop: text only; blank: the blank image; mask: image tokens
hidden from attention), so it runs once per call. Equal to the naive scorer within float rounding."""
from __future__ import annotations

from collections.abc import Iterator

import torch

from ..inputs import Sequence, pixel_values
from ..models import LoadedModel
from .continuation import Prefix, continue_prefix, run_prefix, supports_prefix_reuse
from .naive import score_naive
from .prepare import Prepared


def score_optimized(loaded: LoadedModel, prepared: list[Prepared], batch_size: int
                    ) -> Iterator[tuple[Prepared, torch.Tensor, torch.Tensor]]:
    """(item, log-probs with the image, log-probs without it) per item, grouped by image."""
    if not prepared:
        return
    if not supports_prefix_reuse(loaded):
        yield from score_naive(loaded, prepared)
        return
    shared: dict[str, Prefix] = {}
    for chunk in _chunks(prepared, batch_size):
        with_image, image_rows = _per_image_prefix(loaded, chunk, image_pass=True)
        without, without_rows = _withheld_prefix(loaded, chunk, shared)
        for part in _split(chunk, batch_size):
            lp_with = continue_prefix(loaded, with_image, [image_rows[i.image_key] for i in part],
                                      [i.with_image for i in part], [i.positions_with for i in part])
            lp_without = continue_prefix(loaded, without, [without_rows.get(i.image_key, 0) for i in part],
                                         [i.without_image for i in part], [i.positions_without for i in part])
            yield from zip(part, lp_with, lp_without)


def _prefix_of(item: Prepared, image_pass: bool) -> tuple[Sequence, tuple[int, ...], list[int]]:
    """The pass's sequence, its prefix ids (everything before the question) and attention mask."""
    seq = item.with_image if image_pass else item.without_image
    ids = tuple(seq.ids[:seq.question_positions.start])
    hidden = () if image_pass or not item.mask_without else seq.image_positions
    return seq, ids, [0 if p in hidden else 1 for p in range(len(ids))]


def _per_image_prefix(loaded: LoadedModel, chunk: list[Prepared], image_pass: bool
                      ) -> tuple[Prefix, dict[str, int]]:
    """One prefix row per distinct image of the chunk, run in one forward pass (each image encoded once)."""
    firsts = {item.image_key: item for item in reversed(chunk)}  # reversed: the first item of each image wins
    keys = list(dict.fromkeys(item.image_key for item in chunk))
    _, ids, mask_row = _prefix_of(chunk[0], image_pass)
    pixels = torch.stack([firsts[key].pixels for key in keys])
    return run_prefix(loaded, ids, mask_row, pixels), {key: row for row, key in enumerate(keys)}


def _withheld_prefix(loaded: LoadedModel, chunk: list[Prepared], shared: dict[str, Prefix]
                     ) -> tuple[Prefix, dict[str, int]]:
    """The image-withheld prefix: the same for every item (drop: text only; blank: the blank image;
    mask: image tokens no other token can see, so whichever image fills them changes nothing), so it
    runs once per call. One exception: in `mask` mode a prompt whose prefix ENDS on an image token
    predicts the first question token from that token's own row, whose residual stream carries its
    image; that prefix is run per image to stay exact."""
    seq, ids, mask_row = _prefix_of(chunk[0], image_pass=False)
    if chunk[0].mask_without and len(ids) - 1 in seq.image_positions:
        return _per_image_prefix(loaded, chunk, image_pass=False)
    if "withheld" not in shared:
        pixels = pixel_values(loaded, [seq.image]) if seq.image is not None else None
        shared["withheld"] = run_prefix(loaded, ids, mask_row, pixels)
    return shared["withheld"], {}


def _chunks(prepared: list[Prepared], batch_size: int) -> list[list[Prepared]]:
    """Whole images per chunk, at most batch_size pairs (an image with more pairs is a chunk alone)."""
    groups: dict[str, list[Prepared]] = {}
    for item in prepared:
        groups.setdefault(item.image_key, []).append(item)
    chunks, current = [], []
    for group in groups.values():
        if current and len(current) + len(group) > batch_size:
            chunks.append(current)
            current = []
        current = current + group
    return chunks + ([current] if current else [])


def _split(items: list[Prepared], size: int) -> list[list[Prepared]]:
    return [items[i:i + size] for i in range(0, len(items), size)]
