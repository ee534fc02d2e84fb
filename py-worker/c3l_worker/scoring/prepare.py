"""Items -> the two teacher-forced sequences each pair is scored on, or a per-item error.

Both scorers (naive and optimized) consume the same Prepared items, so they differ only in how
they run the model.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from PIL import Image

from ..inputs import ItemError, Sequence, blank_image, build_sequence, load_image, pixel_values
from ..models import LoadedModel

WITHHOLDS = ("drop", "blank", "mask")  # how the image is taken away for the second pass (_prepare)
# The scored token positions per span; the question/answer suffix between them is prompt text, not generated.
_SPAN_POSITIONS = {"answer": lambda seq: list(seq.answer_positions),
                   "qa": lambda seq: [*seq.question_positions, *seq.answer_positions]}
SPANS = tuple(_SPAN_POSITIONS)


@dataclass
class Prepared:
    index: int  # position in the request
    item_id: str
    image_key: str  # items with the same key share one image (and its prefix)
    with_image: Sequence
    without_image: Sequence
    mask_without: bool  # withhold == "mask": the image tokens stay but are hidden from attention
    pixels: torch.Tensor  # [C, H, W] on the CPU: the image preprocessed once, for scorers that reuse it
    positions_with: list[int]  # scored token positions in with_image.ids
    positions_without: list[int]  # the same tokens' positions in without_image.ids

    @property
    def targets(self) -> list[int]:
        return [self.with_image.ids[p] for p in self.positions_with]


def scored_positions(seq: Sequence, span: str) -> list[int]:
    return _SPAN_POSITIONS[span](seq)


def prepare_items(loaded: LoadedModel, items: list[dict], withhold: str, span: str
                  ) -> tuple[list[Prepared], dict[int, ItemError]]:
    """Prepared items in request order, and the errors of those that cannot be scored, by index
    (`withhold` and `span` are among WITHHOLDS and SPANS: score_items checks them once)."""
    images: dict[str, tuple[Image.Image, torch.Tensor] | ItemError] = {}  # each distinct path is read once
    blank = blank_image(loaded) if withhold == "blank" else None
    prepared, errors = [], {}
    for index, item in enumerate(items):
        item_id = item["id"]
        try:
            image, pixels = _image(loaded, images, item["image_path"], item_id)
            prepared.append(_prepare(loaded, index, item_id, item, image, pixels, blank, withhold, span))
        except ItemError as err:
            errors[index] = err
    return prepared, errors


def _image(loaded: LoadedModel, cache: dict, path: str, item_id: str) -> tuple[Image.Image, torch.Tensor]:
    if path not in cache:
        try:
            image = load_image(path, item_id)
            # Decodable is not enough: the processor must take it too. Kept on the CPU (GPU memory is scarcer).
            cache[path] = (image, pixel_values(loaded, [image])[0].cpu())
        except ItemError as err:
            cache[path] = err
        except Exception as exc:  # noqa: BLE001 (an odd image must fail its items, not the batch)
            cache[path] = ItemError(item_id, "image_unreadable", f"image file {path} cannot be processed: {exc}")
    found = cache[path]
    if isinstance(found, ItemError):  # re-raised under this item's id
        raise ItemError(item_id, found.code, str(found).removeprefix(f"item {found.item_id}: "))
    return found


def _prepare(loaded: LoadedModel, index: int, item_id: str, item: dict, image: Image.Image, pixels: torch.Tensor,
             blank: Image.Image | None, withhold: str, span: str) -> Prepared:
    question, answer = item.get("question", ""), item.get("answer", "")
    with_image = build_sequence(loaded, item_id, image, question, answer, with_image=True)
    if withhold == "drop":
        without = build_sequence(loaded, item_id, None, question, answer, with_image=False)
    else:  # blank swaps the image; mask keeps it and hides it in collate/attention
        without = build_sequence(loaded, item_id, blank if withhold == "blank" else image, question, answer,
                                 with_image=True)
    _check_text(loaded, item_id, with_image)
    positions_with, positions_without = scored_positions(with_image, span), scored_positions(without, span)
    if not positions_with:
        raise ItemError(item_id, "empty_answer", "the answer has no tokens")
    prepared = Prepared(index, item_id, item["image_path"], with_image, without, withhold == "mask",
                        pixels, positions_with, positions_without)
    if [without.ids[p] for p in positions_without] != prepared.targets:
        raise RuntimeError(f"item {item_id}: the two passes score different tokens")  # a bug, not bad input
    return prepared


def _check_text(loaded: LoadedModel, item_id: str, seq: Sequence) -> None:
    """An image placeholder typed into the text would be taken for an image token."""
    image_token = loaded.model.config.image_token_id
    text_start = seq.image_positions.stop if len(seq.image_positions) else 0
    if image_token in seq.ids[text_start:]:
        raise ItemError(item_id, "invalid_text", "the question or answer contains the image placeholder token")
