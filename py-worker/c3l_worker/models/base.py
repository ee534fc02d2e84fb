"""The model-family interface: what the worker needs to know about one VLM architecture."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass(eq=False)
class LoadedModel:
    model: Any  # a transformers PreTrainedModel, in eval mode
    processor: Any  # the checkpoint's own processor (PIL image backend)
    family: "ModelFamily"
    model_dir: Path
    device: str
    dtype: str  # a key of DTYPES
    num_parameters: int
    cache: dict = field(default_factory=dict)  # per-model derived values (prompt prefixes); freed with the model


class ModelFamily(ABC):
    """One architecture: how to load it, prompt it and reach its vision parts."""

    name: str  # registry key, used in configs
    model_types: tuple[str, ...] = ()  # config.json `model_type` values this family handles: families.json's, set by the registry
    image_placeholder: str  # the text the processor expands into image tokens

    def matches(self, config: Any) -> bool:
        """True for a config (a PretrainedConfig or config.json as a dict) of this family."""
        model_type = config.get("model_type") if isinstance(config, dict) else getattr(config, "model_type", None)
        return model_type in self.model_types

    @abstractmethod
    def prompt_parts(self, with_image: bool) -> tuple[str, str]:
        """(prefix, suffix) around the user's text: prompt = prefix + question + suffix, and the
        answer follows the suffix. Without the image the placeholder is DROPPED, not left in the
        text (a placeholder without pixel values is silently embedded as an ordinary word)."""

    def build_prompt(self, question: str, with_image: bool) -> str:
        prefix, suffix = self.prompt_parts(with_image)
        return f"{prefix}{question}{suffix}"

    @abstractmethod
    def vision_tower(self, model: Any) -> torch.nn.Module: ...

    @abstractmethod
    def projector(self, model: Any) -> torch.nn.Module: ...

    def load(self, model_dir: str | Path, *, device: str = "cpu", dtype: str = "float32") -> LoadedModel:
        from transformers import AutoModelForImageTextToText, AutoProcessor

        model_dir = Path(model_dir)
        torch_dtype = DTYPES[dtype]
        # backend="pil": without torchvision the PIL path is used anyway; pin it so CPU and GPU agree.
        processor = AutoProcessor.from_pretrained(model_dir, backend="pil", local_files_only=True)
        # Batched greedy generation only equals one-by-one with left padding.
        processor.tokenizer.padding_side = "left"
        model = AutoModelForImageTextToText.from_pretrained(model_dir, dtype=torch_dtype, local_files_only=True)
        model = model.to(device).eval()
        return LoadedModel(
            model=model,
            processor=processor,
            family=self,
            model_dir=model_dir,
            device=device,
            dtype=dtype,
            num_parameters=sum(p.numel() for p in model.parameters()),
        )
