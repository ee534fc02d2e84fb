"""The two model calls both scorers share: hidden states from the backbone, and log-probs from
the LM head applied only to the rows that are scored (full logits would be B x L x V)."""
from __future__ import annotations

import torch


def backbone(model) -> torch.nn.Module:
    """The multimodal decoder without its LM head (transformers 5: XForConditionalGeneration.model)."""
    return model.model


def head_logprobs(model, hidden: torch.Tensor) -> torch.Tensor:
    """[n, H] final hidden states -> [n, V] float32 log-softmax over the vocabulary."""
    logits = model.get_output_embeddings()(hidden)
    return torch.log_softmax(logits.float(), dim=-1)


def predicting_rows(positions: list[int]) -> list[int]:
    """The hidden state at position i predicts token i+1: token p is scored from row p-1."""
    if min(positions) < 1:
        raise ValueError("position 0 (BOS) has no preceding token to predict it")
    return [p - 1 for p in positions]
