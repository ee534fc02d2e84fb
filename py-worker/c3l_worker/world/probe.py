"""Direct-question accuracy of a world model, with and without the image, by answer likelihood:
for each held-out scene and family, the true answer competes with every other answer of the same
template; accuracy is how often the true one scores highest. Blind accuracy measures the prior."""
from __future__ import annotations

import random

import torch

from .. import inputs
from ..models import LoadedModel
from ..training.batch import forward_rows
from . import language
from .scene import Obj


@torch.no_grad()
def accuracy(loaded: LoadedModel, scenes: list[tuple[list[Obj], object]], family: str, seed: int = 0) -> dict:
    """scenes: (objects, PIL image). Returns {"with_image": acc, "blind": acc, "n": n}."""
    rng = random.Random(f"probe/{seed}/{family}")
    hits = {True: 0, False: 0}
    for i, (objects, image) in enumerate(scenes):
        question, answers, truth = language.template_answers(objects, family, rng)
        for with_image in (True, False):
            seqs = [inputs.build_sequence(loaded, f"probe-{i}", image, question, a, with_image=with_image) for a in answers]
            fwd = forward_rows(loaded.model, loaded, seqs, hidden=False)
            scores = torch.stack([lp.sum() for lp in fwd.token_logprobs])
            hits[with_image] += int(scores.argmax().item() == truth)
    n = len(scenes)
    return {"with_image": hits[True] / n, "blind": hits[False] / n, "n": n}


@torch.no_grad()
def existence_probe(loaded: LoadedModel, scenes: list[tuple[list[Obj], object]], seed: int = 0) -> dict:
    """Yes/no on existence questions (a present object, then an absent one of POPE's popular kind, per
    scene) by answer likelihood: {"accuracy", "yes_ratio", "n"}; 0.5 accuracy is chance."""
    rng = random.Random(f"probe/{seed}/existence")
    hits, yes, n = 0, 0, 0
    for i, (objects, image) in enumerate(scenes):
        present = rng.choice(objects)
        absent = language.absent_objects(objects, "popular", rng) or language.absent_objects(objects, "random", rng)
        for (colour, shape), truth in (((present.colour, present.shape), True), (absent, False)):
            question = language.q_exists(colour, shape)
            seqs = [inputs.build_sequence(loaded, f"exists-{i}", image, question, language.a_exists(colour, shape, y), with_image=True)
                    for y in (True, False)]
            fwd = forward_rows(loaded.model, loaded, seqs, hidden=False)
            says_yes = bool(fwd.token_logprobs[0].sum() > fwd.token_logprobs[1].sum())
            hits += int(says_yes == truth)
            yes += int(says_yes)
            n += 1
    return {"accuracy": hits / n, "yes_ratio": yes / n, "n": n}
