"""Pretraining the world's tiny LLaVA in two phases, by step budgets, with exact resume.

align      the finetune target of the paper table: an auxiliary grounding loss, captions and a small
           seed instruction mix (question -> answer rows of every family about training scenes,
           existence asked with "no" answers as often as "yes"), so the target starts able to
           follow an instruction, as the paper's LLaVA target does, yet has room to learn more;
generator  from it: instruction data written in the generator's "q: ... a: ..." form and single
           question -> answer rows, with a share of prior-driven (false) pairs injected, so the
           generator has an LVLM-like bias for C3L to correct; a share of rows without the image
           teaches the same model the image-withheld likelihood.

Why the auxiliary loss: trained on the LM loss alone, the tiny LLaVA ignored the
image (its projector collapsed to a constant). Classifying each projected image token against the
LM's own word embeddings — its cell's shape word (or "no"), colour word, row and column words —
makes the image tokens mean something the LM can copy.

Each step's batch depends only on (seed, phase, step), so resuming from a checkpoint (model,
optimizer, step; no dropout in these models) continues exactly as an uninterrupted run.
"""
from __future__ import annotations

import json
import math
import os
import random
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .. import inputs
from ..models import LoadedModel
from . import language
from .scene import COLUMNS, ROWS, Obj, draw_scene, render, scene_rng



@dataclass(frozen=True)
class PhaseSettings:
    steps: int
    lr: float
    batch_size: int
    aux_weight: float


@dataclass(frozen=True)
class PretrainSettings:
    seed: int = 0
    train_scenes: int = 3000
    ground: PhaseSettings = PhaseSettings(steps=800, lr=3e-3, batch_size=64, aux_weight=1.0)
    align: PhaseSettings = PhaseSettings(steps=600, lr=2e-3, batch_size=32, aux_weight=1.0)
    generator: PhaseSettings = PhaseSettings(steps=900, lr=1e-3, batch_size=32, aux_weight=0.5)
    hallucination_share: float = 0.2  # of the generator's training pairs: prior-driven, usually false
    blind_share: float = 0.1  # of the generator's rows: no image (the image-withheld likelihood)
    generation_share: float = 0.5  # of the generator's image rows: the generation prompt, k pairs
    instruct_pairs: int = 3000  # the align phase's seed instruction mix: pairs about training scenes (0: captions only)
    instruct_share: float = 0.75  # of the align phase's rows: drawn from the seed instruction mix
    checkpoint_every: int = 200

    def to_json(self) -> dict:
        return asdict(self)


class SceneBank:
    """The training scenes, rendered and preprocessed once (pixel tensors in memory)."""

    def __init__(self, loaded: LoadedModel, seed: int, count: int):
        self.objects: list[list[Obj]] = []
        images = []
        for index in range(count):
            rng = scene_rng(seed, "train", index)
            objects = draw_scene(rng)
            self.objects.append(objects)
            images.append(render(objects, rng))
        self.pixels = torch.cat([inputs.pixel_values(loaded, images[i:i + 256]) for i in range(0, count, 256)])

    def __len__(self) -> int:
        return len(self.objects)


def cell_targets(loaded: LoadedModel, objects: list[Obj]) -> torch.Tensor:
    """[4, 9] word ids per grid cell: shape word (or "no"), colour word (or "no"), row word, column word."""
    word = loaded.processor.tokenizer.convert_tokens_to_ids
    targets = torch.empty(4, 9, dtype=torch.long)
    for cell in range(9):
        row, col = divmod(cell, 3)
        targets[0, cell] = targets[1, cell] = word("no")
        targets[2, cell], targets[3, cell] = word(ROWS[row]), word(COLUMNS[col])
    for obj in objects:
        cell = 3 * obj.row + obj.col
        targets[0, cell], targets[1, cell] = word(obj.shape), word(obj.colour)
    return targets


def grounding_loss(loaded: LoadedModel, projected: torch.Tensor, scenes: list[list[Obj]], words: torch.Tensor
                   ) -> torch.Tensor:
    """The auxiliary loss: each projected image token [n, 9, d] classified against the word
    embeddings `words` [vocab, d]: its cell's shape, colour, row and column words (mean of the four
    cross-entropies). Also what aligns the smoke model's projector (smoke.py)."""
    logits = projected @ words.T  # [n, 9, vocab]
    targets = torch.stack([cell_targets(loaded, objects) for objects in scenes])  # [n, 4, 9]
    return sum(torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets[:, k].flatten()) for k in range(4)) / 4


def generator_row(rng: random.Random, objects: list[Obj], settings: PretrainSettings) -> tuple[str, str, bool]:
    """(context, target, with_image) of one generator-phase row."""
    def pair(family: str) -> tuple[str, str]:
        if rng.random() < settings.hallucination_share:
            return language.prior_pair(objects, family, rng)
        return language.true_pair(objects, family, rng)

    if rng.random() < settings.blind_share:
        # The image-withheld model: what a question's answer looks like across all images.
        return (*language.true_pair(objects, rng.choice(language.QUESTION_FAMILIES), rng), False)
    if rng.random() < settings.generation_share:
        k = rng.randint(*language.K_RANGE)
        pairs, seen = [], set()
        for _ in range(4 * k):
            q, a = pair(rng.choice(language.QUESTION_FAMILIES))
            if q not in seen:
                seen.add(q)
                pairs.append((q, a))
            if len(pairs) == k:
                break
        return language.GENERATION_PROMPT.format(k=len(pairs)), f"{language.format_pairs(pairs)} {language.EOS}", True
    q, a = pair(rng.choice(language.QUESTION_FAMILIES))
    return q, f"{a} {language.EOS}", True


def align_row(objects: list[Obj]) -> tuple[str, str, bool]:
    return language.CAPTION_PROMPT, f"{language.caption(objects)} {language.EOS}", True


# One turn of the seed instruction mix: existence four times ("yes" and "no" in turn) for every other
# family once. Measured on the world: existence (comparing the question's object with the image) is
# learned only after some thousands of existence rows, the other families far sooner.
INSTRUCT_TURN = ("count", "existence", "colour", "existence", "position", "existence", "existence")
ABSENT_KINDS = ("random", "popular", "adversarial")  # POPE's kinds of absent objects, taken in turn


def instruct_mix(train_objects: list[list[Obj]], size: int, seed: int) -> list[tuple[int, str, str]]:
    """The align phase's seed instruction mix: `size` (training-scene index, question, answer) rows
    in the form the finetune stage and the world's POPE use (the question alone as the instruction).
    Drawn only from the training scenes passed in (the pretraining bank), never from the pipeline's or
    the benchmarks' scenes; depends only on (seed, the scenes, size)."""
    rng = random.Random(f"c3l-world-instruct/{seed}")
    mix, asked = [], 0  # asked: existence questions so far ("yes" and "no" alternate)
    for i in range(size):
        index = rng.randrange(len(train_objects))
        objects = train_objects[index]
        family = INSTRUCT_TURN[i % len(INSTRUCT_TURN)]
        if family != "existence":
            mix.append((index, *language.true_pair(objects, family, rng)))
            continue
        if asked % 2 == 0:
            obj = rng.choice(objects)
            colour, shape, yes = obj.colour, obj.shape, True
        else:
            kind = ABSENT_KINDS[(asked // 2) % len(ABSENT_KINDS)]
            colour, shape = language.absent_objects(objects, kind, rng) or language.absent_objects(objects, "random", rng)
            yes = False
        asked += 1
        mix.append((index, language.q_exists(colour, shape), language.a_exists(colour, shape, yes)))
    return mix


PHASES = ("ground", "align", "generator")


class Pretrainer:
    """One phase: `ground` trains only the vision tower and projector on the auxiliary loss (no
    LM forward: about 20x cheaper a step, and what makes the image tokens mean something);
    `align` and `generator` train the whole model on their rows plus the auxiliary loss."""

    def __init__(self, loaded: LoadedModel, bank: SceneBank, settings: PretrainSettings, phase: str):
        self.loaded, self.bank, self.settings, self.phase = loaded, bank, settings, phase
        self.phase_settings: PhaseSettings = getattr(settings, phase)
        model = loaded.model
        if phase == "ground":
            model.requires_grad_(False)
            seeing = [*loaded.family.vision_tower(model).parameters(), *loaded.family.projector(model).parameters()]
            for param in seeing:
                param.requires_grad_(True)
        else:
            model.requires_grad_(True)  # the vision tower learns to see too: it starts random
        trained = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(trained, lr=self.phase_settings.lr, weight_decay=0.0)
        self.mix = instruct_mix(bank.objects, settings.instruct_pairs, settings.seed) if phase == "align" else []
        self.step = 0
        self.recent: list[dict] = []  # the last 50 steps' losses (saved with checkpoints)
        self._projected: list[torch.Tensor] = []
        self._hook = loaded.family.projector(model).register_forward_hook(lambda _m, _i, out: self._projected.append(out))

    def close(self) -> None:
        self._hook.remove()
        self._projected.clear()

    def lr_at(self, step: int) -> float:
        """Linear warm-up over 5% of the steps, then cosine to 10%."""
        total, warm = self.phase_settings.steps, max(1, self.phase_settings.steps // 20)
        base = self.phase_settings.lr
        if step < warm:
            return base * (step + 1) / warm
        progress = (step - warm) / max(1, total - warm)
        return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))

    def batch(self, step: int) -> list[tuple[int, str, str, bool]]:
        rng = random.Random(f"c3l-world-pretrain/{self.settings.seed}/{self.phase}/{step}")
        rows = []
        for _ in range(self.phase_settings.batch_size):
            index = rng.randrange(len(self.bank))
            objects = self.bank.objects[index]
            if self.phase != "align":
                row = generator_row(rng, objects, self.settings)
            elif self.mix and rng.random() < self.settings.instruct_share:
                index, question, answer = self.mix[rng.randrange(len(self.mix))]
                row = (question, f"{answer} {language.EOS}", True)
            else:
                row = align_row(objects)
            rows.append((index, *row))
        return rows

    def ground_step(self) -> dict:
        loaded, model = self.loaded, self.loaded.model
        rng = random.Random(f"c3l-world-pretrain/{self.settings.seed}/ground/{self.step}")
        indices = [rng.randrange(len(self.bank)) for _ in range(self.phase_settings.batch_size)]
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr_at(self.step)
        model.train()
        tower = loaded.family.vision_tower(model)(self.bank.pixels[indices], output_hidden_states=True)
        features = tower.hidden_states[model.config.vision_feature_layer][:, 1:]  # "default": CLS dropped
        loss = self.aux_loss(loaded.family.projector(model)(features), indices, model.get_input_embeddings().weight.detach())
        self._apply(loss, torch.zeros(()), loss)
        return {"step": self.step, "loss": loss.item(), "loss_lm": 0.0, "loss_aux": loss.item()}

    def aux_loss(self, projected: torch.Tensor, indices: list[int], words: torch.Tensor) -> torch.Tensor:
        return grounding_loss(self.loaded, projected, [self.bank.objects[i] for i in indices], words)

    def _apply(self, loss: torch.Tensor, loss_lm: torch.Tensor, loss_aux: torch.Tensor) -> None:
        if not torch.isfinite(loss):
            raise FloatingPointError(f"{self.phase} step {self.step}: non-finite loss (LM {loss_lm.item()}, aux {loss_aux.item()})")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for g in self.optimizer.param_groups for p in g["params"]], 1.0)
        self.optimizer.step()
        self.loaded.model.eval()
        self.step += 1

    def train_step(self) -> dict:
        if self.phase == "ground":
            return self.ground_step()
        loaded, model = self.loaded, self.loaded.model
        rows = self.batch(self.step)
        # No PIL image in the sequences: the bank supplies the pixel values, in row order.
        sequences = [inputs.build_sequence(loaded, f"{self.phase}-{self.step}-{i}", None, context, target, with_image=with_image)
                     for i, (_, context, target, with_image) in enumerate(rows)]
        batch = inputs.collate(loaded, sequences)
        image_rows = [index for (index, *_rest, with_image) in rows if with_image]
        pixels = self.bank.pixels[image_rows] if image_rows else None
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr_at(self.step)
        model.train()
        self._projected.clear()
        out = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask, pixel_values=pixels, use_cache=False)
        log_probs = torch.log_softmax(out.logits[:, :-1].float(), dim=-1)
        per_row = []
        for row, seq in enumerate(sequences):
            span = seq.answer_positions
            targets = batch.input_ids[row, span.start:span.stop]
            per_row.append(-log_probs[row, span.start - 1:span.stop - 1].gather(-1, targets.unsqueeze(-1)).mean())
        loss_lm = torch.stack(per_row).mean()
        loss_aux = torch.zeros(())
        if image_rows:  # the projector's output for this forward's images, [n_images, 9, d]
            loss_aux = self.aux_loss(self._projected[-1], image_rows, model.get_input_embeddings().weight)
        loss = loss_lm + self.phase_settings.aux_weight * loss_aux
        self._apply(loss, loss_lm, loss_aux)
        return {"step": self.step, "loss": loss.item(), "loss_lm": loss_lm.item(), "loss_aux": float(loss_aux.detach())}

    # ------------------------------------------------------------ exact resume

    def save(self, directory: Path) -> None:
        tmp = directory.with_name(directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        save_file({n: p.detach().contiguous() for n, p in self.loaded.model.state_dict().items()}, tmp / "model.safetensors")
        state = self.optimizer.state_dict()
        save_file({f"{i}.{k}": v.contiguous() for i, s in state["state"].items() for k, v in s.items()},
                  tmp / "optimizer.safetensors")
        # `recent`: the last steps' losses, so a resumed phase reports the stats an uninterrupted one does
        (tmp / "state.json").write_text(json.dumps({"phase": self.phase, "step": self.step, "param_groups": state["param_groups"],
                                                    "recent": self.recent}))
        shutil.rmtree(directory, ignore_errors=True)
        os.rename(tmp, directory)

    def load(self, directory: Path) -> None:
        meta = json.loads((directory / "state.json").read_text())
        if meta["phase"] != self.phase:
            raise ValueError(f"checkpoint {directory} is of phase {meta['phase']}, not {self.phase}")
        self.loaded.model.load_state_dict(load_file(directory / "model.safetensors"))
        flat = load_file(directory / "optimizer.safetensors")
        state: dict[int, dict] = {}
        for key, value in flat.items():
            index, name = key.split(".", 1)
            state.setdefault(int(index), {})[name] = value
        self.optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
        self.step = meta["step"]
        self.recent = list(meta.get("recent", []))


def run_phase(loaded: LoadedModel, bank: SceneBank, settings: PretrainSettings, phase: str, work: Path,
              progress=lambda line: None) -> dict:
    """Trains `phase` to its step budget, checkpointing into work/<phase>-ckpt and resuming from it."""
    trainer = Pretrainer(loaded, bank, settings, phase)
    ckpt = work / f"{phase}-ckpt"
    if (ckpt / "state.json").is_file():
        trainer.load(ckpt)
        progress(f"{phase}: resuming at step {trainer.step}/{trainer.phase_settings.steps}")
    started = time.perf_counter()
    first = trainer.step
    while trainer.step < trainer.phase_settings.steps:
        stats = trainer.train_step()
        trainer.recent = (trainer.recent + [stats])[-50:]
        recent = trainer.recent
        if trainer.step % settings.checkpoint_every == 0 or trainer.step == trainer.phase_settings.steps:
            trainer.save(ckpt)
        if trainer.step % 50 == 0 or trainer.step == trainer.phase_settings.steps:
            mean = lambda k: sum(s[k] for s in recent) / len(recent)  # noqa: E731
            rate = (trainer.step - first) / (time.perf_counter() - started)
            progress(f"{phase}: step {trainer.step}/{trainer.phase_settings.steps} loss {mean('loss'):.3f} "
                     f"(lm {mean('loss_lm'):.3f}, aux {mean('loss_aux'):.3f}) {rate:.1f} steps/s")
    trainer.close()
    tail = trainer.recent[-20:]  # restored with the checkpoint, so equal whether or not the phase was resumed
    mean = (lambda k: round(sum(s[k] for s in tail) / len(tail), 4)) if tail else (lambda k: None)
    return {"steps": trainer.step, "final_loss_lm": mean("loss_lm"), "final_loss_aux": mean("loss_aux")}
