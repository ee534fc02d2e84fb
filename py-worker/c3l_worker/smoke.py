"""The `builtin:smoke` data set and `builtin:smoke-llava` model: a small configuration of the
embedded world (its "smoke" split: world/scene.py draws the images, world/language.py writes the
prompt and the templated pairs) and a tiny LLaVA trained just enough to answer the generation
prompt with parseable, image-dependent QA pairs.

    build_smoke(DIR): the worker's build_smoke operation (ops/build.py) calls it

DIR/images/<id>.png, DIR/manifest.jsonl ({"id", "image"}), DIR/truth.jsonl ({"id", "objects"}: the
world's ground truth), DIR/model/ (a transformers checkpoint) and DIR/smoke.json, written last: a
finished build with equal parameters is returned at once. A random tiny LLaVA writes random words,
which never parse into pairs; this one has its projector aligned to the LM's word embeddings by the
world's grounding loss (so it cannot ignore the image) and is then trained (plain LM loss, the
project's own Trainer) on the world's templated true pairs about each image, so the whole pipeline
has pairs to work on. Grounding is only as good as a few hundred steps on a
dozen images make it. Deterministic for a seed on one machine; about 40 s on one CPU thread.
"""
from __future__ import annotations

import os
import random
import tempfile
import time
from pathlib import Path

from .built_folder import is_complete, staging, write_marker
from .world import language
from .world.layout import SMOKE_MODEL, smoke_split
from .world.layout import SMOKE_MARKER as MARKER  # written last: its presence means the folder is complete
from .world.scene import SHAPES, TYPICAL, Obj

SPLIT = "smoke"  # the world split the images are drawn from (ids smoke-00000, ...)
# The smoke config's generation prompt, k in K_RANGE: the world generator's; the model is trained on exactly this text.
PROMPT = language.GENERATION_PROMPT
K_RANGE = language.K_RANGE
# Of the training rows; the rest are single question -> answer, whose answers only the image
# tells (0.4 grounded the model more than 0.6 at the same cost, on one seed: noisy).
GENERATION_SHARE = 0.4


def true_pairs(objects: list[Obj]) -> list[tuple[str, str]]:
    """Every pair of the world's templates that is true of the scene, in one fixed order: the count,
    then per object its colour, position and presence, then each absent shape in its typical colour."""
    pairs = [(language.q_count(), language.a_count(len(objects)))]
    for o in objects:
        pairs += [(language.q_colour(o.shape), language.a_colour(o.shape, o.colour)),
                  (language.q_position(o.shape), language.a_position(o.shape, o.position)),
                  (language.q_exists(o.colour, o.shape), language.a_exists(o.colour, o.shape, True))]
    here = {o.shape for o in objects}
    pairs += [(language.q_exists(TYPICAL[s], s), language.a_exists(TYPICAL[s], s, False)) for s in SHAPES if s not in here]
    return pairs


def training_row(rng: random.Random, objects: list[Obj]) -> tuple[str, str]:
    """(context, target): most teach the generation prompt, the rest single question -> answer (so
    scoring a pair's answer under its question means something)."""
    pairs = true_pairs(objects)
    if rng.random() < GENERATION_SHARE:
        k = rng.randint(*K_RANGE)
        # A random subset, in true_pairs' order: greedy decoding then never repeats a pair.
        chosen = sorted(rng.sample(range(len(pairs)), min(k, len(pairs))))
        return PROMPT.format(k=k), f"{language.format_pairs([pairs[i] for i in chosen])} {language.EOS}"
    question, answer = rng.choice(pairs)
    return question, f"{answer} {language.EOS}"


def corpus() -> list[str]:
    """The tiny LLaVA's default corpus (what tests ask any tiny model) plus every word of the world's language."""
    from .tiny_llava import default_corpus

    return default_corpus() + language.corpus()


def _params(images: int, seed: int, steps: int, batch_size: int, lr: float, align_steps: int) -> dict:
    return {"format": 2,  # bump when the build changes output for the same parameters (2: the world's scenes)
            "images": images, "seed": seed, "steps": steps, "batch_size": batch_size, "lr": lr,
            "align_steps": align_steps,
            "prompt": PROMPT, "k_range": list(K_RANGE)}


def build_smoke(out_dir: str | os.PathLike, *, images: int = 12, seed: int = 0, steps: int = 250,
                batch_size: int = 8, lr: float = 3e-3, align_steps: int = 200, replace_stale: bool = False) -> Path:
    """Build (or find already built) the smoke data and model at `out_dir`; returns its path."""
    out = Path(out_dir)
    params = _params(images, seed, steps, batch_size, lr, align_steps)
    if is_complete(out, MARKER, params, "smoke build", replace_stale):
        return out
    if images < 1 or steps < 1 or batch_size < 1:
        raise ValueError(f"images, steps and batch_size must be >= 1, got {images}, {steps}, {batch_size}")
    from .world.build import write_split  # lazy: a finished build returns without torch

    started = time.perf_counter()
    with staging(out, MARKER, params, "smoke build") as tmp:
        files = smoke_split(tmp)
        scenes = write_split(files, seed, SPLIT, images)
        stats = _train_model(tmp, scenes, params)
        write_marker(tmp, MARKER, {**params, **stats, "build_seconds": round(time.perf_counter() - started, 2)})
    return out


def _train_model(folder: Path, scenes: list[tuple[str, list[Obj]]], params: dict) -> dict:
    """Tiny LLaVA -> projector alignment -> `steps` optimizer steps of LM loss (the project's
    Trainer, form "none") -> folder/model. Returns training stats for the marker."""
    from .models import load_model
    from .tiny_llava import build_tiny_llava
    from .training import Trainer, TrainSettings, export_model

    rng = random.Random(params["seed"])
    with tempfile.TemporaryDirectory(prefix="c3l-smoke-") as base:
        loaded = load_model(build_tiny_llava(Path(base) / "tiny-llava", corpus=corpus(), seed=params["seed"]))
    paths = {scene_id: str(smoke_split(folder).images / f"{scene_id}.png") for scene_id, _ in scenes}
    align_loss = _align_projector(loaded, scenes, paths, params["align_steps"], params["lr"])
    settings = TrainSettings(lr=params["lr"], total_steps=params["steps"], warmup_steps=min(20, params["steps"] // 10),
                             schedule="cosine", form="none", seed=params["seed"])
    trainer = Trainer(loaded, settings)
    losses = []
    for step in range(params["steps"]):
        batch = []
        for j in range(params["batch_size"]):
            scene_id, objects = rng.choice(scenes)
            context, target = training_row(rng, objects)
            batch.append({"id": f"{scene_id}#{step * params['batch_size'] + j}", "image_path": paths[scene_id],
                          "context": context, "positive": target, "negatives": []})
        result = trainer.train_step(batch)
        if result["errors"]:
            raise RuntimeError(f"smoke training examples failed: {result['errors']}")
        losses.append(result["loss"])
    export_model(loaded, folder / SMOKE_MODEL)
    tail = losses[-max(1, len(losses) // 10):]
    return {"align_loss": round(align_loss, 4), "first_loss": round(losses[0], 4),
            "final_loss": round(sum(tail) / len(tail), 4), "vocab_size": len(loaded.processor.tokenizer),
            "num_parameters": loaded.num_parameters}


def _align_projector(loaded, scenes: list[tuple[str, list[Obj]]], paths: dict[str, str], steps: int, lr: float) -> float:
    """A tiny LLaVA trained with the LM loss alone ignores the image (its projector collapses). So
    first train the vision tower and projector alone on the world's grounding loss, as the world's
    `ground` phase does (each cell's image token near the LM's own embeddings of the words for what
    is drawn there and where); the LM then only has to copy from its context. Cheap: no LM forward."""
    import torch

    from . import inputs
    from .world.pretrain import grounding_loss

    model = loaded.model
    images = [inputs.load_image(paths[scene_id], scene_id) for scene_id, _ in scenes]
    pixels = inputs.pixel_values(loaded, images)
    tower, projector = loaded.family.vision_tower(model), loaded.family.projector(model)
    words = model.get_input_embeddings().weight.detach()
    objects = [objects for _, objects in scenes]
    optimizer = torch.optim.AdamW([*tower.parameters(), *projector.parameters()], lr=lr)
    loss = torch.zeros(())
    for _ in range(steps):
        features = tower(pixels, output_hidden_states=True).hidden_states[model.config.vision_feature_layer][:, 1:]
        if features.shape[1] != 9:  # "default" strategy: CLS dropped
            raise ValueError(f"expected 9 image tokens (a 3x3 grid of cells), the model has {features.shape[1]}")
        loss = grounding_loss(loaded, projector(features), objects, words)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.item()
