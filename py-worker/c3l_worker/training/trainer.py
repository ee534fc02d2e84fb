"""The Trainer kept in state.trainers[model_id]: freezing, LoRA, AdamW, schedule, accumulation.

Under torchrun (c3l_worker.distributed) every rank builds the whole batch, trains on its shard of the
examples through DistributedDataParallel, and scales its loss so that DDP's gradient average is the
gradient of the one-process loss on the whole batch (both terms are means over examples).

With distributed.strategy fsdp the model is sharded with FSDP2 (torch.distributed.fsdp.fully_shard):
each decoder/encoder layer, then the whole model, so every rank holds 1/N of the parameters, gradients
and AdamW state; FSDP's reduce-scatter averages gradients over ranks as DDP's all-reduce does, so the
same loss scaling holds. The projection head (small, and applied a different number of times on each
rank) stays replicated and its gradients are averaged by hand after each backward. Checkpoints and
exports gather full tensors (see checkpoint.py, export.py). LoRA is refused under fsdp, and a model
trains once per load_model (FSDP's sharding is not undone). The `preference` reference copy is made
before sharding: a full, unsharded copy on every rank.

Memory: the `preference` form without LoRA keeps a frozen deep copy of the model as its reference
(one more full copy of the weights, no gradients or optimizer state); with LoRA the reference is the
same model with its adapters disabled, at no extra memory.
"""
from __future__ import annotations

import copy
import inspect
import logging
import math
import random
import time
import warnings

import numpy as np
import torch

from .. import distributed, faults
from ..models import LoadedModel
from . import losses
from .batch import build_rows, forward_rows, pool_example
from .settings import LoraSettings, TrainSettings

log = logging.getLogger("c3l_worker.training")
# Set in LoadedModel.cache once training changed the base weights (full fine-tune steps, merged
# adapters): a LoRA checkpoint only restores onto the untouched base weights.
WEIGHTS_CHANGED = "training_changed_base_weights"
HEAD_PREFIX = "projection_head."


class NoTrainerError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds every CUDA device too


def schedule_factor(settings: TrainSettings):
    """lr multiplier for the optimizer step that follows `done` completed steps."""
    warmup, total = settings.warmup_steps, settings.total_steps

    def factor(done: int) -> float:
        if done < warmup:
            return (done + 1) / (warmup + 1)  # the first step already learns (HF's warmup starts at 0)
        progress = min(1.0, (done - warmup) / max(1, total - warmup))
        if settings.schedule == "linear":
            return 1.0 - progress
        if settings.schedule == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * progress))
        return 1.0
    return factor


def lora_target_names(loaded: LoadedModel, suffixes: tuple[str, ...]) -> list[str]:
    """Full names of the language model's modules ending in one of `suffixes` (vision tower and
    projector excluded: CLIP names its attention projections q_proj/k_proj/v_proj too)."""
    model = loaded.model
    excluded = {id(m) for part in (loaded.family.vision_tower(model), loaded.family.projector(model))
                for m in part.modules()}
    names = [name for name, module in model.named_modules()
             if id(module) not in excluded and name.split(".")[-1] in suffixes
             and isinstance(module, torch.nn.Linear)]
    if not names:
        raise ValueError(f"lora.target_modules {list(suffixes)} match no linear module of the language model")
    return names


def _wrap_lora(loaded: LoadedModel, lora: LoraSettings):
    """Injects adapters into loaded.model in place (other ops keep using it) and returns the PeftModel."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                        target_modules=lora_target_names(loaded, lora.target_modules))
    with warnings.catch_warnings():  # peft calls a transformers method deprecated in 5.x
        warnings.simplefilter("ignore", FutureWarning)
        peft_model = get_peft_model(loaded.model, config)  # freezes everything but the adapters
    assert peft_model.base_model.model is loaded.model
    return peft_model


class _Synced(torch.nn.Module):
    """What DDP keeps in sync: the model (its forward) and the projection head, which is applied
    outside the forward but whose gradients are averaged in the same backward."""

    def __init__(self, model: torch.nn.Module, head: torch.nn.Module | None):
        super().__init__()
        self.model = model
        self.head = head

    def forward(self, **inputs):
        return self.model(**inputs)


class Trainer:
    def __init__(self, loaded: LoadedModel, settings: TrainSettings):
        self.loaded = loaded
        self.settings = settings
        self.step = 0  # optimizer steps taken
        self.micro_step = 0  # micro-batches trained
        self.ddp = None  # DistributedDataParallel over the model and head, under torchrun (distribute)
        self.fsdp = False  # whether distribute() sharded the model with FSDP (strategy fsdp)
        seed_everything(settings.seed)
        model = loaded.model
        if distributed.is_sharded(model):
            raise ValueError("distributed.strategy fsdp: this model was already trained (its weights are sharded over "
                             "the ranks); load_model it again before another setup_training or load_checkpoint")
        w = distributed.world()
        if w.distributed and w.strategy == "fsdp" and settings.lora is not None:
            raise ValueError("lora is not supported with distributed.strategy fsdp (adapters, their merge on export and "
                             "the adapter-free reference need the unsharded model): use strategy ddp with lora, or fsdp "
                             "without it")
        model.requires_grad_(False)
        self.peft_model = _wrap_lora(loaded, settings.lora) if settings.lora else None
        if self.peft_model is None:
            model.requires_grad_(True)
            loaded.family.vision_tower(model).requires_grad_(False)
        self.head = self._make_head() if settings.projection_head else None
        self.reference = self._make_reference() if settings.form == "preference" else None
        self._make_optimizer()

    def _make_optimizer(self) -> None:
        settings = self.settings
        decay, no_decay = [], []
        for _, param in self.trainable():
            (decay if param.ndim >= 2 else no_decay).append(param)
        self.optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": settings.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=settings.lr)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, schedule_factor(settings))

    def distribute(self) -> None:
        """Wraps the model (and head) in DDP when there are several ranks; a collective, so every
        rank calls it together. DDP starts every rank from rank 0's parameters."""
        w = distributed.world()
        if not w.distributed:
            return
        from torch.nn.parallel import DistributedDataParallel

        device = self.loaded.model.device
        if (device.type == "cuda") != (w.backend == "nccl"):
            raise ValueError(f"the model is on {device} but the process group uses {w.backend}: use nccl with cuda "
                             f"and gloo with cpu (distributed.backend: auto picks it from generator.device)")
        if w.strategy == "fsdp":
            self._shard()
            return
        # Buffers (rotary tables) never change in training: no need to sync them before every forward.
        no_buffer_sync = ({"forward_sync_buffers": False} if "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
                          else {"broadcast_buffers": False})  # the older name, deprecated in torch 2.13
        self.ddp = DistributedDataParallel(_Synced(self.loaded.model, self.head),
                                           device_ids=[device.index] if device.type == "cuda" else None, **no_buffer_sync)

    def _shard(self) -> None:
        """FSDP2 over every transformer layer, then the model; the optimizer is rebuilt over the sharded
        parameters (no step was taken yet). The model is broadcast from rank 0 first, as DDP does."""
        import torch.distributed as dist
        from torch.distributed.fsdp import fully_shard

        model = self.loaded.model
        with torch.no_grad():
            for tensor in [*model.parameters(), *(self.head.parameters() if self.head is not None else ())]:
                dist.broadcast(tensor, src=0)
        layers = [m for m in model.modules() if type(m).__name__.endswith(("DecoderLayer", "EncoderLayer"))]
        for layer in layers:
            fully_shard(layer)
        fully_shard(model)
        self.fsdp = True
        self._make_optimizer()

    def _average_head_grads(self, before: list) -> None:
        """FSDP leaves the replicated head alone: average this backward's head gradients over ranks (a
        rank that did not use the head adds zeros), then add what earlier micro-batches accumulated."""
        import torch.distributed as dist

        for param, earlier in zip(self.head.parameters(), before):
            grad = param.grad if param.grad is not None else torch.zeros_like(param)
            dist.all_reduce(grad, op=dist.ReduceOp.SUM)
            grad.div_(distributed.world().world_size)
            param.grad = grad if earlier is None else earlier + grad

    def _make_head(self) -> torch.nn.Linear:
        dim = self.loaded.model.get_input_embeddings().embedding_dim
        return torch.nn.Linear(dim, dim).to(device=self.loaded.model.device, dtype=self.loaded.model.dtype)

    def _make_reference(self):
        if self.peft_model is not None:
            return None  # the same model with adapters disabled
        reference = copy.deepcopy(self.loaded.model).eval()
        reference.requires_grad_(False)
        return reference

    def trainable(self) -> list[tuple[str, torch.nn.Parameter]]:
        """Every trained parameter by name, in a fixed order that checkpoints rely on (head names prefixed)."""
        params = [(n, p) for n, p in self.loaded.model.named_parameters() if p.requires_grad]
        if self.head is not None:
            params += [(HEAD_PREFIX + n, p) for n, p in self.head.named_parameters()]
        return params

    def counts(self) -> tuple[int, int]:
        """(trainable, frozen) parameter counts of the model and head (the reference copy not counted)."""
        trainable = sum(p.numel() for _, p in self.trainable())
        total = sum(p.numel() for p in self.loaded.model.parameters())
        head = sum(p.numel() for p in self.head.parameters()) if self.head is not None else 0
        return trainable, total + head - trainable

    def release(self, *, keep_adapters: bool) -> None:
        """Before another setup on the same model: merge the adapters into the weights (keeping what
        was learned) or drop them (a checkpoint is about to replace them); free the reference."""
        if self.peft_model is not None:
            if keep_adapters:
                self.peft_model.merge_and_unload()
                if self.step:
                    self.loaded.cache[WEIGHTS_CHANGED] = True
            else:
                self.peft_model.unload()
            self.peft_model = None
        self.ddp = None
        self.reference = None
        self.loaded.model.requires_grad_(False)

    def train_step(self, batch: list[dict]) -> dict:
        started = time.perf_counter()
        form = self.settings.form
        w = distributed.world()
        model = self.loaded.model
        lr = self.optimizer.param_groups[0]["lr"]
        model.train()
        self.loaded.family.vision_tower(model).eval()  # frozen: no dropout noise in its features
        try:
            error, rows, lm, cl = None, None, None, None
            try:  # everything up to the agreement below, so a rank that fails alone never strands the others
                faults.injected_failure("train_step")
                # Every rank builds the whole batch: the same skips, counts and in-batch negatives everywhere.
                rows = build_rows(self.loaded, batch, negatives=form != "none", in_batch=self.settings.in_batch_negatives)
                if not rows.examples:
                    raise ValueError(f"every example of the batch failed ({len(batch)}): "
                                     + "; ".join(e["message"] for e in rows.errors))
                mine, weight = distributed.shard(len(rows.examples)), 1.0
                if not mine:  # fewer examples than ranks: join DDP's all-reduce with a zero-weight loss
                    mine, weight = range(1), 0.0
                lm, cl = self._losses(rows, mine)
                lm, cl = lm * weight, cl * weight
            except Exception as exc:
                error = exc
            n = len(rows.examples) if rows is not None else 0
            lm_total, cl_total, n_sum, n_squares = distributed.agree(
                error, [0.0, 0.0, n, n * n] if error is not None else [lm.item(), cl.item(), n, n * n])
            if n_squares * w.world_size != n_sum * n_sum:  # equal counts on all ranks, by Cauchy-Schwarz
                raise RuntimeError(f"the ranks built different examples from the same batch ({n} here, {n_sum:g} in all): "
                                   f"every rank must read the same image files")
            loss_total = lm_total + self.settings.lambda_cl * cl_total
            if not math.isfinite(loss_total):  # refuse before it reaches the weights (every rank alike)
                raise FloatingPointError(f"non-finite loss (L_LM {lm_total}, L_CL {cl_total}) on examples "
                                         + ", ".join(ex.example_id for ex in rows.examples))
            # DDP (FSDP) averages gradients over ranks, so each rank's share of the loss is scaled up by their
            # number; summed micro-batch grads are their mean.
            head_before = None
            if self.fsdp and self.head is not None:
                head_before = [p.grad for p in self.head.parameters()]
                for p in self.head.parameters():
                    p.grad = None
            ((lm + self.settings.lambda_cl * cl) * (w.world_size / self.settings.grad_accum_steps)).backward()
            if head_before is not None:
                self._average_head_grads(head_before)
        finally:
            model.eval()
        self.micro_step += 1
        grad_norm = None
        stepped = self.micro_step % self.settings.grad_accum_steps == 0
        if stepped:
            grad_norm = self._optimizer_step()
        return {
            "step": self.step, "micro_step": self.micro_step, "loss": loss_total, "loss_lm": lm_total,
            "loss_cl": cl_total, "lr": lr, "grad_norm": grad_norm, "optimizer_stepped": stepped,
            "errors": rows.errors, "seconds": time.perf_counter() - started,
        }

    def _optimizer_step(self) -> float:
        params = [p for _, p in self.trainable()]
        grads = [p.grad for p in params if p.grad is not None]
        if self.fsdp:
            norm = self._clip_sharded(grads)
        elif self.settings.grad_clip > 0:
            norm = torch.nn.utils.clip_grad_norm_(params, self.settings.grad_clip)
        else:
            norm = torch.nn.utils.get_total_norm(grads) if grads else torch.tensor(0.0)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        if self.peft_model is None:
            self.loaded.cache[WEIGHTS_CHANGED] = True
        return float(norm)

    def _clip_sharded(self, grads: list) -> torch.Tensor:
        """clip_grad_norm_ over FSDP's sharded (DTensor) gradients and the replicated head's plain ones."""
        from torch.distributed.tensor import DTensor

        total = torch.zeros((), dtype=torch.float32)
        for grad in grads:
            norm = torch.linalg.vector_norm(grad.float())
            total += (norm.full_tensor() if isinstance(norm, DTensor) else norm).cpu() ** 2
        total = total.sqrt()
        if self.settings.grad_clip > 0:
            coef = min(1.0, self.settings.grad_clip / (float(total) + 1e-6))
            for grad in grads:
                grad.mul_(coef)
        return total

    def _losses(self, all_rows, picked: range) -> tuple[torch.Tensor, torch.Tensor]:
        """This shard's parts of (L_LM, L_CL), each a weighted mean over the whole batch's examples: the sum of
        weight × the example's term over the count, L_LM over all of them, L_CL over those that have negatives
        (the others train on L_LM alone; L_CL is 0 when none has any). The count, not the sum of weights, so
        weights of 1 give the plain mean exactly and a zero weight removes the example. With one process the
        shard is the whole batch and the parts are the means themselves."""
        form, tau = self.settings.form, self.settings.tau
        n_contrastive = sum(ex.has_negatives for ex in all_rows.examples) if form != "none" else 0
        rows = all_rows.subset(picked)
        fwd = forward_rows(self.ddp or self.loaded.model, self.loaded, rows.sequences, hidden=form == "infonce_hidden")
        lm = torch.stack([_weighted(losses.lm_loss(fwd.token_logprobs[ex.rows[0]]), ex.weight)
                          for ex in rows.examples]).sum() / len(all_rows.examples)
        contrastive = [ex for ex in rows.examples if ex.has_negatives] if form != "none" else []
        if not contrastive:
            if n_contrastive == 0 and form != "none":
                log.info("no example in this micro-batch has negatives: L_LM only")
            return lm, torch.zeros((), device=lm.device)
        if form == "infonce_hidden":
            terms = [self._infonce_hidden(fwd.hidden, rows.sequences, ex.rows) for ex in contrastive]
        elif form == "infonce_loglik":
            terms = [losses.infonce_loglik(torch.stack([fwd.token_logprobs[r].mean() for r in ex.rows]), tau)
                     for ex in contrastive]
        else:
            reference = self._reference_logprobs([s for ex in contrastive for s in (rows.sequences[r] for r in ex.rows)])
            terms, at = [], 0
            for ex in contrastive:
                policy = torch.stack([fwd.token_logprobs[r].sum() for r in ex.rows])
                terms.append(losses.preference(policy, reference[at:at + len(ex.rows)], self.settings.beta))
                at += len(ex.rows)
        terms = [_weighted(term, ex.weight) for term, ex in zip(terms, contrastive)]
        return lm, torch.stack(terms).sum() / n_contrastive

    def _infonce_hidden(self, hidden: torch.Tensor, sequences, rows: list[int]) -> torch.Tensor:
        anchor, candidates = pool_example(hidden, sequences, rows)
        if self.head is not None:
            anchor, candidates = self._project(anchor), self._project(candidates)
        return losses.infonce_hidden(anchor, candidates, self.settings.tau)

    def _project(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.head(pooled.to(self.head.weight.dtype)).float()

    @torch.no_grad()
    def _reference_logprobs(self, sequences) -> torch.Tensor:
        """Summed candidate log-probs under the frozen reference, one per sequence."""
        if self.peft_model is not None:
            with self.peft_model.disable_adapter():
                fwd = forward_rows(self.loaded.model, self.loaded, sequences, hidden=False)
        else:
            fwd = forward_rows(self.reference, self.loaded, sequences, hidden=False)
        return torch.stack([lp.sum() for lp in fwd.token_logprobs])


def _weighted(term: torch.Tensor, weight: float) -> torch.Tensor:
    """weight × term, leaving a weight of 1 out of the graph so unweighted training is bit-identical."""
    return term if weight == 1.0 else term * weight


def setup_trainer(state, model_id: str, settings: TrainSettings, *, keep_adapters: bool = True) -> Trainer:
    """A new Trainer for the model, replacing any earlier one (see Trainer.release)."""
    trainer, error = None, None
    try:
        loaded = state.model(model_id)
        previous = state.trainers.pop(model_id, None)
        if previous is not None and previous.loaded is loaded:
            previous.release(keep_adapters=keep_adapters)
        trainer = Trainer(loaded, settings)
    except Exception as exc:
        error = exc
    distributed.agree(error)  # every rank has its trainer before DDP's collectives start
    trainer.distribute()
    state.trainers[model_id] = trainer
    return trainer


def trainer_for(state, model_id: str) -> Trainer:
    loaded = state.model(model_id)
    trainer = state.trainers.get(model_id)
    if trainer is None or trainer.loaded is not loaded:  # a reloaded model drops its old trainer
        state.trainers.pop(model_id, None)
        raise NoTrainerError(f"model {model_id!r} has no trainer; send setup_training first")
    return trainer
