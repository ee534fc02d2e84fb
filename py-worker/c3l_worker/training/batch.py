"""Turning a micro-batch of TrainExamples into rows and running one teacher-forced forward.

Each example contributes one row per candidate (positive first, then its negatives), every row
being `context WITH the image` followed by the candidate's text, so all candidates of an example
share the same context positions. Rows are right-padded (inputs.collate), keeping each row's
positions equal to its unpadded ones.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from .. import inputs
from . import losses
from ..inputs import ItemError, Sequence
from ..models import LoadedModel


@dataclass
class ExampleRows:
    """One example that built: its row indices (rows[0] is the positive) and its loss weight."""
    example_id: str
    rows: list[int] = field(default_factory=list)
    weight: float = 1.0

    @property
    def has_negatives(self) -> bool:
        return len(self.rows) > 1


@dataclass
class Rows:
    examples: list[ExampleRows]
    sequences: list[Sequence]
    errors: list[dict]  # ItemError.to_wire() of the skipped examples

    def subset(self, picked: range) -> "Rows":
        """The examples at `picked` with their rows renumbered (one rank's shard of the batch)."""
        examples, sequences = [], []
        for ex in (self.examples[i] for i in picked):
            examples.append(ExampleRows(ex.example_id, list(range(len(sequences), len(sequences) + len(ex.rows))), ex.weight))
            sequences += [self.sequences[r] for r in ex.rows]
        return Rows(examples, sequences, self.errors)


def build_rows(loaded: LoadedModel, batch: list[dict], *, negatives: bool, in_batch: bool) -> Rows:
    """Per-example failures (image, empty text, too long, a bad weight) skip that example with an error."""
    built: list[tuple[dict, list[Sequence]]] = []
    errors: list[dict] = []
    for example in batch:
        try:
            example_weight(example)
            built.append((example, _example_sequences(loaded, example, negatives)))
        except ItemError as err:
            errors.append(err.to_wire())
    if in_batch and negatives:
        _add_in_batch_negatives(loaded, built)
    examples, sequences = [], []
    for example, seqs in built:
        examples.append(ExampleRows(example["id"], list(range(len(sequences), len(sequences) + len(seqs))),
                                    example_weight(example)))
        sequences += seqs
    return Rows(examples, sequences, errors)


def example_weight(example: dict) -> float:
    """The example's loss weight (protocol 1.2): missing means 1; negative or non-finite is refused."""
    weight = float(example.get("weight", 1.0))
    if not math.isfinite(weight) or weight < 0:
        raise ItemError(example["id"], "invalid_weight", f"weight must be finite and >= 0, got {weight}")
    return weight


def _example_sequences(loaded: LoadedModel, example: dict, negatives: bool) -> list[Sequence]:
    item_id = example["id"]
    image = inputs.load_image(example["image_path"], item_id)
    texts = [("positive", example["positive"])]
    if negatives:
        texts += [(f"negative {k}", text) for k, text in enumerate(example.get("negatives") or [])]
    sequences = []
    for label, text in texts:
        try:
            sequences.append(inputs.build_sequence(loaded, item_id, image, question=example["context"],
                                                   answer=text, with_image=True))
        except ItemError as err:
            detail = str(err).removeprefix(f"item {item_id}: ")
            raise ItemError(item_id, err.code, f"{label}: {detail}") from None
    return sequences


def _add_in_batch_negatives(loaded: LoadedModel, built: list[tuple[dict, list[Sequence]]]) -> None:
    """Other examples' positives, teacher-forced after this example's own image and context."""
    positives = [example["positive"] for example, _ in built]
    for example, seqs in built:
        seen = {example["positive"], *(example.get("negatives") or [])}
        for text in positives:
            if text in seen:
                continue  # never its own positive, never a duplicate candidate
            seen.add(text)
            try:
                seqs.append(inputs.build_sequence(loaded, example["id"], seqs[0].image, question=example["context"],
                                                  answer=text, with_image=True))
            except ItemError:
                continue  # an optional extra negative (e.g. too long here): leave it out


@dataclass
class Forward:
    token_logprobs: list[torch.Tensor]  # per row: log p of each candidate token, [n_tokens]
    hidden: torch.Tensor | None  # [R, L, d] last-layer hidden states, when asked for


def forward_rows(model, loaded: LoadedModel, sequences: list[Sequence], *, hidden: bool) -> Forward:
    """Log-probs of every row's candidate tokens (logits only from the first candidate position on)."""
    batch = inputs.collate(loaded, sequences)
    width = batch.input_ids.shape[1]
    first = min(s.answer_positions.start for s in sequences)
    keep = width - (first - 1)  # logits at position p predict token p + 1
    out = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask, pixel_values=batch.pixel_values,
                output_hidden_states=hidden, logits_to_keep=keep, use_cache=False)
    offset = width - keep
    logprobs = []
    for row, seq in enumerate(sequences):
        span = seq.answer_positions
        logits = out.logits[row, span.start - 1 - offset:span.stop - 1 - offset].float()
        targets = batch.input_ids[row, span.start:span.stop]
        logprobs.append(torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1))
    return Forward(logprobs, out.hidden_states[-1] if hidden else None)


def pool_example(hidden: torch.Tensor, sequences: list[Sequence], rows: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """(anchor z_c [d], candidates z_h [n, d]) for one example. The anchor pools the positive row's
    context (BOS, prompt, image tokens: every position before the candidate), which causal attention
    keeps independent of any candidate; each candidate pools its own tokens."""
    context = range(0, sequences[rows[0]].answer_positions.start)
    anchor = losses.mean_pool(hidden[rows[0]], context)
    candidates = torch.stack([losses.mean_pool(hidden[r], sequences[r].answer_positions) for r in rows])
    return anchor, candidates
