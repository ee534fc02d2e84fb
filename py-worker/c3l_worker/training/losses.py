"""The loss terms of L = L_LM + lambda_cl * L_CL, as pure functions of per-candidate quantities.

Every function takes one example's values (candidate 0 is the positive, the rest negatives) and
returns a scalar, so callers average over examples: each image weighs the same, whatever its
token count, and two micro-batches accumulate to exactly the loss of their union.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def mean_pool(hidden: torch.Tensor, span: range) -> torch.Tensor:
    """Mean of one row's hidden states ([L, d]) over the positions in `span`."""
    if len(span) == 0:
        raise ValueError("cannot pool an empty span")
    return hidden[span.start:span.stop].float().mean(dim=0)


def lm_loss(positive_logprobs: torch.Tensor) -> torch.Tensor:
    """Next-token cross-entropy of the positive's tokens: minus their mean log-probability."""
    return -positive_logprobs.mean()


def infonce(scores: torch.Tensor, tau: float) -> torch.Tensor:
    """-log( exp(s_pos/tau) / sum_c exp(s_c/tau) ) with s_pos = scores[0]."""
    return -torch.log_softmax(scores / tau, dim=0)[0]


def infonce_hidden(anchor: torch.Tensor, candidates: torch.Tensor, tau: float) -> torch.Tensor:
    """InfoNCE over cosine similarities of the anchor [d] with candidate embeddings [n, d]."""
    return infonce(F.cosine_similarity(anchor.unsqueeze(0), candidates, dim=-1), tau)


def infonce_loglik(mean_logprobs: torch.Tensor, tau: float) -> torch.Tensor:
    """InfoNCE with each candidate's mean token log-likelihood as its score (CoNT-style)."""
    return infonce(mean_logprobs, tau)


def preference(policy: torch.Tensor, reference: torch.Tensor, beta: float) -> torch.Tensor:
    """DPO on (positive, negative_k) pairs, averaged over k. Inputs are summed token log-probs [n]."""
    margin = (policy[0] - reference[0]) - (policy[1:] - reference[1:])
    return -F.logsigmoid(beta * margin.float()).mean()
