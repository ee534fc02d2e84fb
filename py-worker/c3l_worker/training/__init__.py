"""The contrastive learning module: L = L_LM + lambda_cl * L_CL on (context, positive, negatives).

settings.py  the setup_training request with defaults and checks
batch.py     examples -> teacher-forced rows -> candidate log-probs and hidden states
losses.py    L_LM and the contrastive forms, as pure functions
trainer.py   the Trainer in state.trainers[model_id]: freezing, LoRA, AdamW, schedule, accumulation
checkpoint.py / export.py  save, restore and export
files.py     fsync, digests and disk-full errors for what those write
"""
from .checkpoint import (CheckpointDamagedError, CheckpointError, latest_checkpoint, load_checkpoint,
                         load_latest_checkpoint, save_checkpoint, set_aside_checkpoint)
from .export import export_model
from .files import DiskFullError
from .settings import LoraSettings, TrainSettings
from .trainer import NoTrainerError, Trainer, setup_trainer, trainer_for

__all__ = ["CheckpointDamagedError", "CheckpointError", "DiskFullError", "LoraSettings", "NoTrainerError", "TrainSettings", "Trainer", "export_model",
           "latest_checkpoint", "load_checkpoint", "load_latest_checkpoint", "save_checkpoint", "set_aside_checkpoint", "setup_trainer", "trainer_for"]
