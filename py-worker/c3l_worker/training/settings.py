"""Training settings: the setup_training request with every default filled in, checked once.

The normalized settings are what a checkpoint stores, so load_checkpoint re-runs the same setup.
Defaults mirror the `doc` strings in proto/schema.json.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

FORMS = ("infonce_hidden", "infonce_loglik", "preference", "none")
SCHEDULES = ("constant", "linear", "cosine")
DEFAULT_LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")  # the LM's attention projections


@dataclass(frozen=True)
class LoraSettings:
    r: int
    alpha: float
    dropout: float = 0.0
    target_modules: tuple[str, ...] = DEFAULT_LORA_TARGETS  # module-name suffixes, matched inside the LM only


@dataclass(frozen=True)
class TrainSettings:
    lr: float
    total_steps: int  # optimizer steps, for the schedule
    weight_decay: float = 0.0  # applied to matrices only, never to biases and norms (nanoGPT's rule)
    warmup_steps: int = 0
    schedule: str = "cosine"
    grad_clip: float = 1.0  # max global grad norm; 0 disables clipping
    grad_accum_steps: int = 1  # micro-batches per optimizer step
    form: str = "infonce_hidden"
    tau: float = 0.1  # InfoNCE temperature
    lambda_cl: float = 0.1  # L = L_LM + lambda_cl * L_CL
    beta: float = 0.1  # preference (DPO) strength
    projection_head: bool = False  # a linear head on pooled hidden states (infonce_hidden only)
    in_batch_negatives: bool = False  # other examples' positives are extra negatives
    lora: LoraSettings | None = None  # None: projector + language model trained in full
    seed: int = 0

    @classmethod
    def from_request(cls, content: dict) -> "TrainSettings":
        """Fills defaults and checks cross-field rules; raises ValueError listing every problem."""
        known = {f.name for f in fields(cls)}  # model_id and unknown keys are not settings
        values = {k: v for k, v in content.items() if k in known and v is not None}
        lora = values.pop("lora", None)
        if lora is not None:
            lora = dict(lora)
            if lora.get("target_modules") is not None:
                lora["target_modules"] = tuple(lora["target_modules"])
            lora = LoraSettings(**{k: v for k, v in lora.items() if v is not None and k in LoraSettings.__dataclass_fields__})
        settings = cls(**values, lora=lora)
        problems = settings.problems()
        if problems:
            raise ValueError("invalid training settings: " + "; ".join(problems))
        return settings

    def problems(self) -> list[str]:
        checks = [
            (self.lr > 0, f"lr: must be > 0, got {self.lr}"),
            (self.total_steps >= 1, f"total_steps: must be >= 1, got {self.total_steps}"),
            (self.weight_decay >= 0, f"weight_decay: must be >= 0, got {self.weight_decay}"),
            (0 <= self.warmup_steps, f"warmup_steps: must be >= 0, got {self.warmup_steps}"),
            (self.schedule in SCHEDULES, f"schedule: expected one of {SCHEDULES}, got {self.schedule!r}"),
            (self.grad_clip >= 0, f"grad_clip: must be >= 0 (0 disables), got {self.grad_clip}"),
            (self.grad_accum_steps >= 1, f"grad_accum_steps: must be >= 1, got {self.grad_accum_steps}"),
            (self.form in FORMS, f"form: expected one of {FORMS}, got {self.form!r}"),
            (self.tau > 0, f"tau: must be > 0, got {self.tau}"),
            (self.lambda_cl >= 0, f"lambda_cl: must be >= 0, got {self.lambda_cl}"),
            (self.beta > 0, f"beta: must be > 0, got {self.beta}"),
            (not self.projection_head or self.form == "infonce_hidden",
             f"projection_head: only form infonce_hidden pools hidden states, got form {self.form!r}"),
        ]
        if self.lora is not None:
            checks += [
                (self.lora.r >= 1, f"lora.r: must be >= 1, got {self.lora.r}"),
                (self.lora.alpha > 0, f"lora.alpha: must be > 0, got {self.lora.alpha}"),
                (0 <= self.lora.dropout < 1, f"lora.dropout: must be in [0, 1), got {self.lora.dropout}"),
                (len(self.lora.target_modules) > 0, "lora.target_modules: must not be empty"),
            ]
        return [message for ok, message in checks if not ok]

    def to_json(self) -> dict:
        """The setup_training request content (without model_id) that reproduces these settings."""
        out = asdict(self)
        if self.lora is not None:
            out["lora"]["target_modules"] = list(self.lora.target_modules)
        return out
