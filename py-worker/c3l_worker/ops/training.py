"""setup_training, train_step, save_checkpoint, load_checkpoint, export_model: thin handlers over
c3l_worker.training (imported lazily, like transformers, to keep worker start-up fast)."""
import time

from . import op


@op("setup_training")
def setup_training(content: dict, state) -> dict:
    from ..training import TrainSettings, setup_trainer

    trainer = setup_trainer(state, content["model_id"], TrainSettings.from_request(content))
    trainable, frozen = trainer.counts()
    return {"model_id": content["model_id"], "trainable_parameters": trainable, "frozen_parameters": frozen,
            "lora": trainer.peft_model is not None}


@op("train_step")
def train_step(content: dict, state) -> dict:
    from ..training import trainer_for

    return trainer_for(state, content["model_id"]).train_step(content["batch"])


@op("save_checkpoint")
def save_checkpoint(content: dict, state) -> dict:
    from ..training import save_checkpoint as save, trainer_for

    started = time.perf_counter()
    trainer = trainer_for(state, content["model_id"])
    path = save(trainer, content["dir"], content.get("data_position"), keep_last=content.get("keep_last"))
    return {"path": str(path), "step": trainer.step, "seconds": time.perf_counter() - started}


@op("load_checkpoint")
def load_checkpoint(content: dict, state) -> dict:
    from ..training import load_checkpoint as load, load_latest_checkpoint

    path, directory = content.get("path"), content.get("dir")
    if (path is None) == (directory is None):
        raise ValueError("load_checkpoint takes exactly one of path (a checkpoint folder) and dir (a checkpoints "
                         f"folder, whose newest checkpoint it restores); got {'both' if path else 'neither'}")
    if path is not None:
        trainer, meta = load(state, content["model_id"], path)
    else:
        latest = load_latest_checkpoint(state, content["model_id"], directory)
        if latest is None:
            return {"path": None, "step": 0, "data_position": None}
        path, trainer, meta = latest
    return {"path": str(path), "step": trainer.step, "data_position": meta["data_position"]}


@op("export_model")
def export_model(content: dict, state) -> dict:
    from ..training import export_model as export

    loaded = state.model(content["model_id"])
    trainer = state.trainers.get(content["model_id"])
    peft_model = trainer.peft_model if trainer is not None and trainer.loaded is loaded else None
    path = export(loaded, content["dir"], peft_model)
    return {"path": str(path), "lora_merged": peft_model is not None}
