"""Batched decoding: (image, prompt) items -> continuations, with per-item errors.

Items are taken in chunks of `batch_size` in request order; the items of a chunk that can be built
are decoded together, left-padded with an attention mask (so batched greedy equals one-by-one
greedy). An item that cannot be built (missing or undecodable image, prompt too long) gets an
error and the rest of its chunk still runs.

Sampling is reproducible per (seed, batch): `generate` has no per-call generator, so torch's
global RNG is seeded with `seed + chunk index` right before each chunk's decoding, inside
`fork_rng` so the caller's random state (a training run's, say) is left untouched. The same
request gives the same texts; changing the batch size or the items of a chunk changes the draws.
Chunks are cut by position in the request, so a failed item only changes its own chunk.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from transformers import StoppingCriteria, StoppingCriteriaList

from .inputs import ItemError, Sequence, build_sequence, collate, load_image
from .models import LoadedModel


@dataclass(frozen=True)
class GenerationSettings:
    max_new_tokens: int = 128
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int = 0
    stop: tuple[str, ...] = ()
    batch_size: int = 8

    @classmethod
    def from_request(cls, content: dict) -> "GenerationSettings":
        keys = ("max_new_tokens", "do_sample", "temperature", "top_p", "seed", "batch_size")
        values = {k: content[k] for k in keys if k in content}
        settings = cls(**values, stop=tuple(content.get("stop", ())))
        settings.check()
        return settings

    def check(self) -> None:
        """Refuses settings that make the whole request meaningless (the caller gets an error reply)."""
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be at least 1, got {self.max_new_tokens}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.do_sample and not self.temperature > 0:
            raise ValueError(f"temperature must be > 0 when sampling, got {self.temperature} "
                             "(use do_sample=false for greedy)")
        if self.do_sample and not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if any(not s for s in self.stop):
            raise ValueError("stop strings must be non-empty")


@dataclass
class Completion:
    item_id: str
    text: str | None  # None on error
    num_tokens: int  # tokens the model produced, eos included; pads after the end excluded
    finish_reason: str  # eos | stop_string | length | error
    error: ItemError | None = None
    token_ids: list[int] | None = None  # the produced tokens (num_tokens of them); None on error


def generate_texts(loaded: LoadedModel, items: list[dict], settings: GenerationSettings) -> list[Completion]:
    """One Completion per item {"id", "image_path" (or None), "prompt"}, in order."""
    ids = [item["id"] for item in items]
    if len(set(ids)) != len(ids):
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"item ids must be unique; repeated: {', '.join(duplicated)}")
    model = loaded.model
    was_training = model.training
    model.eval()
    try:
        out: list[Completion] = []
        for index, start in enumerate(range(0, len(items), settings.batch_size)):
            out += _generate_chunk(loaded, items[start:start + settings.batch_size], settings, settings.seed + index)
        return out
    finally:
        model.train(was_training)  # a trainer sharing this model keeps its mode


def _prepare(loaded: LoadedModel, item: dict) -> Sequence:
    path = item.get("image_path")
    image = load_image(path, item["id"]) if path is not None else None
    return build_sequence(loaded, item["id"], image, item["prompt"], with_image=image is not None, need_answer=False)


def _generate_chunk(loaded: LoadedModel, items: list[dict], settings: GenerationSettings,
                    seed: int) -> list[Completion]:
    results: dict[str, Completion] = {}
    sequences: list[Sequence] = []
    for item in items:
        try:
            sequences.append(_prepare(loaded, item))
        except ItemError as error:
            results[item["id"]] = Completion(item["id"], None, 0, "error", error)
    if sequences:
        for completion in _decode_batch(loaded, sequences, settings, seed):
            results[completion.item_id] = completion
    return [results[item["id"]] for item in items]


class _StopStrings(StoppingCriteria):
    """Marks a row finished once its decoded continuation contains a stop string; records the step."""

    def __init__(self, tokenizer, stops: tuple[str, ...], prompt_width: int, rows: int):
        self.tokenizer, self.stops, self.prompt_width = tokenizer, stops, prompt_width
        self.stopped_at: list[int | None] = [None] * rows
        # A token decodes to at least one byte, so a stop string completed by the newest token lies
        # within its last 4*len (UTF-8) tokens; a margin keeps it away from the window's left edge,
        # where decoding may differ (a dropped leading space).
        self.window = 4 * max(len(s) for s in stops) + 8

    def __call__(self, input_ids: torch.Tensor, scores, **kwargs) -> torch.Tensor:
        new = input_ids[:, self.prompt_width:]
        for row, stopped in enumerate(self.stopped_at):
            if stopped is None:
                tail = self.tokenizer.decode(new[row, -self.window:], skip_special_tokens=True)
                if any(s in tail for s in self.stops):
                    self.stopped_at[row] = new.shape[1]
        return torch.tensor([s is not None for s in self.stopped_at], device=input_ids.device)


def _eos_ids(loaded: LoadedModel) -> set[int]:
    configured = loaded.model.generation_config.eos_token_id
    ids = set(configured if isinstance(configured, (list, tuple)) else [configured] if configured is not None else [])
    if loaded.processor.tokenizer.eos_token_id is not None:
        ids.add(loaded.processor.tokenizer.eos_token_id)
    return ids


@contextlib.contextmanager
def _seeded(seed: int):
    """Seeds torch (CPU and every CUDA device) for one batch and restores the previous state after."""
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def _decode_batch(loaded: LoadedModel, sequences: list[Sequence], settings: GenerationSettings,
                  seed: int) -> list[Completion]:
    tokenizer = loaded.processor.tokenizer
    batch = collate(loaded, sequences, pad_left=True)
    width = batch.input_ids.shape[1]
    stop = _StopStrings(tokenizer, settings.stop, width, len(sequences)) if settings.stop else None
    eos_ids = _eos_ids(loaded)
    kwargs = dict(
        input_ids=batch.input_ids,
        attention_mask=batch.attention_mask,
        max_new_tokens=settings.max_new_tokens,
        do_sample=settings.do_sample,
        pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else min(eos_ids),
        stopping_criteria=StoppingCriteriaList([stop] if stop else []),
    )
    if batch.pixel_values is not None:
        kwargs["pixel_values"] = batch.pixel_values
    if settings.do_sample:
        # top_k=0: the request offers temperature and top_p only; transformers' default top_k=50
        # would otherwise truncate the distribution behind the caller's back.
        kwargs.update(temperature=settings.temperature, top_p=settings.top_p, top_k=0)
    with torch.inference_mode(), (_seeded(seed) if settings.do_sample else contextlib.nullcontext()):
        output = loaded.model.generate(**kwargs)
    new_tokens = output[:, width:].tolist()

    completions = []
    for row, seq in enumerate(sequences):
        tokens = new_tokens[row]
        eos_at = next((i for i, t in enumerate(tokens) if t in eos_ids), None)
        stop_at = stop.stopped_at[row] if stop else None
        if eos_at is not None and (stop_at is None or eos_at < stop_at):
            count, reason = eos_at + 1, "eos"
        elif stop_at is not None:
            count, reason = stop_at, "stop_string"
        else:
            count, reason = len(tokens), "length"
        text = tokenizer.decode(tokens[:count], skip_special_tokens=True)
        cuts = [i for i in (text.find(s) for s in settings.stop) if i >= 0]
        if cuts:
            text, reason = text[:min(cuts)], "stop_string"
        completions.append(Completion(seq.item_id, text, count, reason, None, tokens[:count]))
    return completions
