"""LLaVA-1.5 (llava-hf checkpoints and the tiny test model): `model_type` "llava"."""

from __future__ import annotations

from typing import Any

import torch

from .base import ModelFamily


class LlavaFamily(ModelFamily):
    name = "llava"  # its model_types are families.json's
    image_placeholder = "<image>"

    def prompt_parts(self, with_image: bool) -> tuple[str, str]:
        # The llava-hf prompt format: "USER: <image>\n{question} ASSISTANT:".
        return (f"USER: {self.image_placeholder}\n" if with_image else "USER: ", " ASSISTANT:")

    def vision_tower(self, model: Any) -> torch.nn.Module:
        return model.model.vision_tower  # transformers 5 layout

    def projector(self, model: Any) -> torch.nn.Module:
        return model.model.multi_modal_projector
