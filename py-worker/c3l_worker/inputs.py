"""Turning (image path, question, answer) items into token sequences the models consume.

Shared by generation, scoring and training so every operation builds the same sequence:
    BOS prefix [image tokens] question suffix answer
with the prompt pieces tokenized separately and concatenated (never re-tokenized jointly), so the
positions of the question and the answer are known exactly. Items that cannot be built raise
ItemError naming the item; callers turn it into a per-item error and process the rest.
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .models import LoadedModel

log = logging.getLogger("c3l_worker.inputs")


class ItemError(Exception):
    """One item of a batch cannot be processed; `code` is machine-readable, the message names the item."""

    def __init__(self, item_id: str, code: str, message: str):
        super().__init__(f"item {item_id}: {message}")
        self.item_id = item_id
        self.code = code

    def to_wire(self) -> dict:
        return {"code": self.code, "message": str(self)}


def load_image(path: str, item_id: str) -> Image.Image:
    """The image as the model sees it, and as the orchestrator's check and the report's thumbnails do:
    EXIF orientation applied, the first frame of an animation, 16-bit grey scaled (not clipped) to 8
    bits, any mode (CMYK, palette, grey, alpha dropped) as RGB. Images over PIL's decompression-bomb
    threshold (Image.MAX_IMAGE_PIXELS, the orchestrator's MAX_IMAGE_PIXELS) are refused."""
    file = Path(path)
    if not file.is_file():
        raise ItemError(item_id, "image_missing", f"image file {path} does not exist")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as image:
                image.seek(0)
                image = ImageOps.exif_transpose(image)
                rgb = _to_rgb(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ItemError(item_id, "image_too_large", f"image file {path} is too large: {exc}") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ItemError(item_id, "image_unreadable", f"image file {path} cannot be decoded: {exc}") from None
    for warning in {str(w.message) for w in caught}:  # PIL warns without saying which file
        log.warning("image file %s (item %s): %s", path, item_id, warning)
    return rgb


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):  # convert("RGB") would clip at 255, not scale
        values = np.asarray(image, dtype=np.int64)
        scaled = np.clip((values + 128) // 257, 0, 255).astype(np.uint8)  # 65535 -> 255, as libvips does
        return Image.fromarray(scaled, "L").convert("RGB")
    return image.convert("RGB")


def blank_image(loaded: LoadedModel) -> Image.Image:
    """A uniform image in the processor's mean colour: it normalizes to all-zero pixel values."""
    mean = loaded.processor.image_processor.image_mean
    return Image.new("RGB", (8, 8), tuple(round(255 * m) for m in mean))


@dataclass
class Sequence:
    """One item's token ids with the spans that matter. Positions index into `ids`."""
    item_id: str
    ids: list[int]
    image: Image.Image | None  # None when the image is dropped
    image_positions: range  # empty when no image tokens are present
    question_positions: range
    answer_positions: range

    def __len__(self) -> int:
        return len(self.ids)


def _prefix_ids(loaded: LoadedModel, with_image: bool) -> tuple[tuple[int, ...], range]:
    key = ("prefix_ids", with_image)
    if key not in loaded.cache:
        loaded.cache[key] = _expand_prefix(loaded, with_image)
    return loaded.cache[key]


def _expand_prefix(loaded: LoadedModel, with_image: bool) -> tuple[tuple[int, ...], range]:
    """BOS + prompt prefix, with the image placeholder expanded the way the processor does it."""
    prefix, _ = loaded.family.prompt_parts(with_image)
    if with_image:
        ids = loaded.processor(text=prefix, images=blank_image(loaded), return_tensors="pt")["input_ids"][0].tolist()
    else:
        ids = loaded.processor.tokenizer(prefix, add_special_tokens=True)["input_ids"]
    image_token = loaded.model.config.image_token_id
    where = [i for i, t in enumerate(ids) if t == image_token]
    return tuple(ids), (range(where[0], where[-1] + 1) if where else range(0))


def _text_ids(loaded: LoadedModel, text: str) -> list[int]:
    return loaded.processor.tokenizer(text, add_special_tokens=False)["input_ids"]


def max_length(loaded: LoadedModel) -> int:
    config = loaded.model.config
    text_config = getattr(config, "text_config", config)
    return min(loaded.processor.tokenizer.model_max_length, text_config.max_position_embeddings)


def build_sequence(loaded: LoadedModel, item_id: str, image: Image.Image | None, question: str,
                   answer: str = "", *, with_image: bool, need_answer: bool = True) -> Sequence:
    """`with_image` keeps the image tokens (image may be None only when with_image is False)."""
    if need_answer and not answer.strip():
        raise ItemError(item_id, "empty_answer", "the answer is empty")
    if not question.strip():
        raise ItemError(item_id, "empty_question", "the question is empty")
    prefix, image_positions = _prefix_ids(loaded, with_image)
    _, suffix = loaded.family.prompt_parts(with_image)
    question_ids = _text_ids(loaded, question)
    suffix_ids = _text_ids(loaded, suffix)
    answer_ids = _text_ids(loaded, " " + answer) if answer else []
    ids = [*prefix, *question_ids, *suffix_ids, *answer_ids]
    limit = max_length(loaded)
    if len(ids) > limit:
        raise ItemError(item_id, "too_long", f"the sequence has {len(ids)} tokens; the model takes at most {limit}")
    q_start = len(prefix)
    a_start = q_start + len(question_ids) + len(suffix_ids)
    return Sequence(item_id, ids, image if with_image else None, image_positions,
                    range(q_start, q_start + len(question_ids)), range(a_start, len(ids)))


def pixel_values(loaded: LoadedModel, images: list[Image.Image]) -> torch.Tensor:
    values = loaded.processor.image_processor(images, return_tensors="pt")["pixel_values"]
    return values.to(device=loaded.model.device, dtype=loaded.model.dtype)


@dataclass
class Batch:
    input_ids: torch.Tensor  # [B, L]
    attention_mask: torch.Tensor  # [B, L]
    pixel_values: torch.Tensor | None  # [n_images, C, H, W], one per row that has an image, in row order


def collate(loaded: LoadedModel, sequences: list[Sequence], *, pad_left: bool = False,
            mask_image: bool = False) -> Batch:
    """Pads to the longest row. Right padding keeps every row's positions equal to its unpadded
    positions (scoring, training); generation needs left padding. `mask_image` keeps the image
    tokens but hides them from attention (the `mask` way of withholding the image)."""
    pad_id = loaded.processor.tokenizer.pad_token_id
    width = max(len(s) for s in sequences)
    input_ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        start = width - len(seq) if pad_left else 0
        input_ids[row, start:start + len(seq)] = torch.tensor(seq.ids)
        attention[row, start:start + len(seq)] = 1
        if mask_image and len(seq.image_positions):
            attention[row, start + seq.image_positions.start:start + seq.image_positions.stop] = 0
    images = [s.image for s in sequences if s.image is not None]
    device = loaded.model.device
    return Batch(input_ids.to(device), attention.to(device), pixel_values(loaded, images) if images else None)
