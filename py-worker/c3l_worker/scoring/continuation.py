"""Key/value-cache reuse: run a shared prefix once, then score many continuations of it.

A continuation keeps the positions and the attention the full sequence would have (its own
earlier tokens and the prefix, minus any hidden image tokens), so every scored row sees exactly
what a full forward pass sees. Continuations of the same prefix row are PACKED into one lane (one
batch row) behind it, separated by a block mask, so the prefix keys/values are not copied once
per pair; a lane holds at most prefix_len // tail_len continuations, which keeps the attention
wasted on masked neighbours below the cost of copying the prefix.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers.cache_utils import DynamicCache, DynamicLayer

from ..inputs import Sequence
from ..models import LoadedModel
from .forward import backbone, head_logprobs, predicting_rows

# Attention implementations that take a ready 4-D additive mask as-is (flash attention does not).
MASKABLE = ("sdpa", "eager")


@dataclass
class Prefix:
    ids: tuple[int, ...]
    kv: list[tuple[torch.Tensor, torch.Tensor]]  # per layer: [n, heads, P, head_dim]
    mask: torch.Tensor  # [n, P]; 0 at image tokens hidden by the `mask` withholding
    last_hidden: torch.Tensor  # [n, H]: the last prefix row predicts the first continuation token

    def __len__(self) -> int:
        return len(self.ids)


def supports_prefix_reuse(loaded: LoadedModel) -> bool:
    """Plain full-attention caches (no sliding windows) and an attention that accepts 4-D masks."""
    config = loaded.model.config
    implementation = getattr(config.get_text_config(), "_attn_implementation", None)
    return implementation in MASKABLE and all(type(layer) is DynamicLayer for layer in DynamicCache(config=config).layers)


def run_prefix(loaded: LoadedModel, ids: tuple[int, ...], mask_row: list[int], pixels: torch.Tensor | None
               ) -> Prefix:
    """One row per image of `pixels` [n, C, H, W] (all rows share `ids`), or one text-only row."""
    model, device = loaded.model, loaded.model.device
    rows = len(pixels) if pixels is not None else 1
    mask = torch.tensor([mask_row] * rows, device=device)
    cache = DynamicCache(config=model.config)
    out = backbone(model)(input_ids=torch.tensor([list(ids)] * rows, device=device), attention_mask=mask,
                          pixel_values=None if pixels is None else pixels.to(device, model.dtype),
                          cache=cache, use_cache=True)
    return Prefix(ids, [(layer.keys, layer.values) for layer in cache.layers], mask, out.last_hidden_state[:, -1])


def continue_prefix(loaded: LoadedModel, prefix: Prefix, rows: list[int], seqs: list[Sequence],
                    positions: list[list[int]]) -> list[torch.Tensor]:
    """[n_i, V] log-probs at positions[i] for each sequence; sequence i continues prefix row rows[i]."""
    model, device, start = loaded.model, loaded.model.device, len(prefix)
    for seq in seqs:
        if tuple(seq.ids[:start]) != prefix.ids:
            raise RuntimeError(f"item {seq.item_id}: its sequence does not start with the shared prefix")
    tails = [seq.ids[start:] for seq in seqs]
    lanes = _lanes(rows, [len(t) for t in tails], start)
    width = max(sum(len(tails[i]) for i in members) for _, members in lanes)
    input_ids = torch.full((len(lanes), width), loaded.processor.tokenizer.pad_token_id, dtype=torch.long)
    position_ids = torch.full((len(lanes), width), start, dtype=torch.long)
    segment = torch.full((len(lanes), width), -1, dtype=torch.long)  # which sequence each column holds
    offset_of: dict[int, tuple[int, int]] = {}
    for lane, (_, members) in enumerate(lanes):
        offset = 0
        for i in members:
            span = slice(offset, offset + len(tails[i]))
            input_ids[lane, span] = torch.tensor(tails[i])
            position_ids[lane, span] = torch.arange(start, start + len(tails[i]))
            segment[lane, span] = i
            offset_of[i] = (lane, offset)
            offset += len(tails[i])
    lane_rows = [row for row, _ in lanes]
    cache = DynamicCache([(_pick(k, lane_rows), _pick(v, lane_rows)) for k, v in prefix.kv], config=model.config)
    mask = _lane_mask(prefix.mask[torch.tensor(lane_rows, device=device)].bool(), segment.to(device),
                      position_ids.to(device), model.dtype)
    hidden = backbone(model)(input_ids=input_ids.to(device), attention_mask=mask, position_ids=position_ids.to(device),
                             cache=cache, use_cache=True).last_hidden_state
    # Column 0 is the prefix's last position (start - 1); column 1 + c is the lane's column c.
    lane_hidden = torch.cat([prefix.last_hidden[torch.tensor(lane_rows, device=device)].unsqueeze(1), hidden], dim=1)
    lane_idx, col_idx = [], []
    for i, item_positions in enumerate(positions):
        lane, offset = offset_of[i]
        for j in predicting_rows(item_positions):
            if j < start - 1:
                raise RuntimeError(f"item {seqs[i].item_id}: a scored token lies inside the shared prefix")
            lane_idx.append(lane)
            col_idx.append(0 if j == start - 1 else 1 + offset + j - start)
    rows_hidden = lane_hidden[torch.tensor(lane_idx, device=device), torch.tensor(col_idx, device=device)]
    return list(head_logprobs(model, rows_hidden).split([len(p) for p in positions]))


def _lanes(rows: list[int], tail_lengths: list[int], prefix_len: int) -> list[tuple[int, list[int]]]:
    """(prefix row, sequence indices) per lane: consecutive sequences of one prefix row share a lane."""
    per_lane = max(1, prefix_len // max(tail_lengths))
    lanes: list[tuple[int, list[int]]] = []
    for i, row in enumerate(rows):
        if lanes and lanes[-1][0] == row and len(lanes[-1][1]) < per_lane:
            lanes[-1][1].append(i)
        else:
            lanes.append((row, [i]))
    return lanes


def _pick(t: torch.Tensor, lane_rows: list[int]) -> torch.Tensor:
    """Prefix rows for the lanes, as views where possible (the cache copies what it is given)."""
    if len(set(lane_rows)) == 1:
        return t[lane_rows[0]:lane_rows[0] + 1].expand(len(lane_rows), *t.shape[1:])
    if lane_rows == list(range(t.shape[0])):
        return t
    return t[torch.tensor(lane_rows, device=t.device)]


def _lane_mask(sees_prefix: torch.Tensor, segment: torch.Tensor, position_ids: torch.Tensor, dtype: torch.dtype
               ) -> torch.Tensor:
    """[lanes, 1, width, P + width] additive mask: a column sees the prefix (minus hidden image tokens)
    and the earlier columns of its own sequence; padding columns see the prefix only."""
    width = segment.shape[1]
    own = ((segment.unsqueeze(2) == segment.unsqueeze(1)) & (segment.unsqueeze(1) >= 0)
           & (position_ids.unsqueeze(1) <= position_ids.unsqueeze(2)))
    allowed = torch.cat([sees_prefix.unsqueeze(1).expand(-1, width, -1), own], dim=2)
    mask = torch.zeros(allowed.shape, dtype=dtype, device=allowed.device).masked_fill_(~allowed, torch.finfo(dtype).min)
    return mask.unsqueeze(1)
