"""Checkpoints resume exactly, never unpickle, never pick up half-written folders; export reloads."""
import json
import shutil

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForImageTextToText, AutoProcessor

from c3l_worker import inputs
from c3l_worker.ops import HANDLERS
from c3l_worker.protocol.schema import SCHEMA, validate_fields
from c3l_worker.state import WorkerState
from c3l_worker.tiny_llava import build_tiny_llava
from c3l_worker.training import CheckpointError, latest_checkpoint
from test_training import examples, images  # noqa: F401 (images is a fixture)

MODEL = "gen"


def call(state, name: str, content: dict) -> dict:
    reply = HANDLERS[name](content, state)
    assert validate_fields(reply, SCHEMA["messages"][name]["reply"], "content") == []
    return reply


def fresh_state(model_dir, dtype="float32") -> WorkerState:
    state = WorkerState()
    call(state, "load_model", {"model_id": MODEL, "model_dir": str(model_dir), "dtype": dtype})
    return state


def batches(images) -> list[list[dict]]:
    """Six distinct micro-batches (rotating examples and images)."""
    base = examples(images)
    colours = ["red", "blue", "green"]
    out = []
    for i in range(6):
        ex = dict(base[i % 2], id=f"ex-{i}", image_path=images[colours[i % 3]])
        other = dict(base[(i + 1) % 2], id=f"ex-{i}b", image_path=images[colours[(i + 1) % 3]])
        out.append([ex, other])
    return out


SETTINGS = {
    "full-hidden-head-accum": {"form": "infonce_hidden", "projection_head": True, "grad_accum_steps": 2,
                               "warmup_steps": 1, "weight_decay": 0.01},
    "full-preference": {"form": "preference", "schedule": "linear"},
    "lora-preference": {"form": "preference", "lora": {"r": 4, "alpha": 8.0}},
    "lora-loglik-inbatch": {"form": "infonce_loglik", "in_batch_negatives": True,
                            "lora": {"r": 2, "alpha": 4.0, "dropout": 0.1}},
}


def setup(state, **settings):
    return call(state, "setup_training", {"model_id": MODEL, "lr": 1e-3, "total_steps": 6, **settings})


def step(state, batch) -> float:
    return call(state, "train_step", {"model_id": MODEL, "batch": batch})["loss"]


@pytest.mark.parametrize("name", SETTINGS)
def test_resume_in_a_fresh_worker_continues_exactly(tiny_llava_dir, images, tmp_path, name):
    data = batches(images)
    run = fresh_state(tiny_llava_dir)
    setup(run, **SETTINGS[name])
    for batch in data[:3]:  # with grad_accum_steps 2, micro-step 3 leaves a half-accumulated step
        step(run, batch)
    saved = call(run, "save_checkpoint", {"model_id": MODEL, "dir": str(tmp_path / "ckpt"),
                                          "data_position": {"next_batch": 3, "epoch": 0}})
    uninterrupted = [step(run, batch) for batch in data[3:]]

    resumed_state = fresh_state(tiny_llava_dir)
    reply = call(resumed_state, "load_checkpoint", {"model_id": MODEL, "path": saved["path"]})
    assert reply == {"step": saved["step"], "data_position": {"next_batch": 3, "epoch": 0}}
    resumed = [step(resumed_state, batch) for batch in data[3:]]
    assert resumed == pytest.approx(uninterrupted, abs=1e-6)
    live = dict(run.models[MODEL].model.named_parameters())
    for n, p in resumed_state.models[MODEL].model.named_parameters():
        assert torch.allclose(p, live[n], atol=1e-6), n


def test_checkpoint_holds_no_pickles_and_names_its_step(tiny_llava_dir, images, tmp_path):
    state = fresh_state(tiny_llava_dir)
    setup(state, **SETTINGS["full-hidden-head-accum"])
    for batch in batches(images)[:3]:
        step(state, batch)
    path = call(state, "save_checkpoint", {"model_id": MODEL, "dir": str(tmp_path)})["path"]
    assert path == str(tmp_path / "step-00000001")
    files = sorted(p.name for p in (tmp_path / "step-00000001").iterdir())
    assert files == ["checkpoint.json", "grads.safetensors", "model.safetensors", "optimizer.safetensors",
                     "projection_head.safetensors", "rng.safetensors"]
    for f in (tmp_path / "step-00000001").iterdir():
        if f.suffix == ".safetensors":
            assert load_file(f)  # plain tensors only
        elif f.suffix != ".json":
            torch.load(f, weights_only=True)  # anything torch-saved must load without unpickling objects
    saved = load_file(tmp_path / "step-00000001" / "model.safetensors")
    assert saved and not any(n.startswith("model.vision_tower.") for n in saved)  # frozen: not stored
    meta = json.loads((tmp_path / "step-00000001" / "checkpoint.json").read_text())
    assert (meta["step"], meta["micro_step"], meta["settings"]["grad_accum_steps"]) == (1, 3, 2)


def test_lora_checkpoint_stores_adapters_only(tiny_llava_dir, images, tmp_path):
    state = fresh_state(tiny_llava_dir)
    setup(state, **SETTINGS["lora-preference"])
    step(state, batches(images)[0])
    path = call(state, "save_checkpoint", {"model_id": MODEL, "dir": str(tmp_path)})["path"]
    names = list(load_file(f"{path}/model.safetensors"))
    assert len(names) == 24 and all("lora_" in n for n in names)


def test_half_written_checkpoints_are_never_picked_up(tiny_llava_dir, images, tmp_path):
    state = fresh_state(tiny_llava_dir)
    setup(state, form="none")
    step(state, batches(images)[0])
    done = call(state, "save_checkpoint", {"model_id": MODEL, "dir": str(tmp_path)})["path"]
    tmp = tmp_path / ".step-00000002.tmp-12345"
    shutil.copytree(done, tmp)  # a save that died just before its rename
    unmarked = tmp_path / "step-00000003"
    shutil.copytree(done, unmarked)
    (unmarked / "checkpoint.json").unlink()  # a copy that died before its marker
    assert latest_checkpoint(tmp_path) == tmp_path / "step-00000001"
    fresh = fresh_state(tiny_llava_dir)
    with pytest.raises(CheckpointError, match="unfinished save"):
        HANDLERS["load_checkpoint"]({"model_id": MODEL, "path": str(tmp)}, fresh)
    with pytest.raises(CheckpointError, match="incomplete"):
        HANDLERS["load_checkpoint"]({"model_id": MODEL, "path": str(unmarked)}, fresh)
    assert MODEL not in fresh.trainers


def test_saving_the_same_step_again_replaces_it(tiny_llava_dir, images, tmp_path):
    state = fresh_state(tiny_llava_dir)
    setup(state, form="none")
    step(state, batches(images)[0])
    for position in (1, 2):
        call(state, "save_checkpoint", {"model_id": MODEL, "dir": str(tmp_path), "data_position": position})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-00000001"]
    assert json.loads((tmp_path / "step-00000001" / "checkpoint.json").read_text())["data_position"] == 2


def test_load_refuses_another_base_model_or_dtype(tiny_llava_dir, images, tmp_path):
    state = fresh_state(tiny_llava_dir)
    setup(state, form="none")
    step(state, batches(images)[0])
    path = call(state, "save_checkpoint", {"model_id": MODEL, "dir": str(tmp_path / "ckpt")})["path"]
    other_dir = build_tiny_llava(tmp_path / "other-tiny", seed=1)
    with pytest.raises(CheckpointError, match=f"trained from base model {tiny_llava_dir.resolve()}.*{other_dir}"):
        HANDLERS["load_checkpoint"]({"model_id": MODEL, "path": path}, fresh_state(other_dir))
    with pytest.raises(CheckpointError, match="trained in float32"):
        HANDLERS["load_checkpoint"]({"model_id": MODEL, "path": path}, fresh_state(tiny_llava_dir, "bfloat16"))


def test_lora_checkpoint_refuses_weights_trained_since_loading(tiny_llava_dir, images, tmp_path):
    state = fresh_state(tiny_llava_dir)
    setup(state, form="none", lora={"r": 2, "alpha": 4.0})
    step(state, batches(images)[0])
    path = call(state, "save_checkpoint", {"model_id": MODEL, "dir": str(tmp_path)})["path"]
    other = fresh_state(tiny_llava_dir)
    setup(other, form="none")
    step(other, batches(images)[0])  # full fine-tuning changed the base weights
    with pytest.raises(CheckpointError, match="load_model it again"):
        HANDLERS["load_checkpoint"]({"model_id": MODEL, "path": path}, other)
    call(state, "load_checkpoint", {"model_id": MODEL, "path": path})  # its own untouched base: fine


def logits_of(model, loaded, image_path) -> torch.Tensor:
    seq = inputs.build_sequence(loaded, "x", inputs.load_image(image_path, "x"), question="describe the image .",
                                answer="the square is red .", with_image=True)
    batch = inputs.collate(loaded, [seq])
    with torch.no_grad():
        return model(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                     pixel_values=batch.pixel_values).logits


@pytest.mark.parametrize("lora", [None, {"r": 4, "alpha": 8.0}])
def test_export_reloads_with_the_live_models_logits(tiny_llava_dir, images, tmp_path, lora):
    state = fresh_state(tiny_llava_dir)
    loaded = state.models[MODEL]
    setup(state, form="infonce_hidden", lora=lora)
    for batch in batches(images)[:2]:
        step(state, batch)
    adapters = {n: p.detach().clone() for n, p in loaded.model.named_parameters() if p.requires_grad}
    reply = call(state, "export_model", {"model_id": MODEL, "dir": str(tmp_path / "export")})
    assert reply == {"path": str(tmp_path / "export"), "lora_merged": lora is not None}
    assert [p.name for p in tmp_path.iterdir()] == ["export"]  # no temporary folder left behind
    exported = AutoModelForImageTextToText.from_pretrained(reply["path"], local_files_only=True).eval()
    processor = AutoProcessor.from_pretrained(reply["path"], backend="pil", local_files_only=True)
    assert processor.tokenizer.get_vocab() == loaded.processor.tokenizer.get_vocab()
    assert not any("lora" in n for n, _ in exported.named_parameters())
    live = logits_of(loaded.model, loaded, images["green"])
    assert torch.allclose(logits_of(exported, loaded, images["green"]), live, atol=1e-5 if lora else 1e-6)
    # The live model keeps its adapters and trains on.
    assert all(torch.equal(p, adapters[n]) for n, p in loaded.model.named_parameters() if p.requires_grad)
    step(state, batches(images)[2])
    with pytest.raises(FileExistsError, match="not empty"):
        HANDLERS["export_model"]({"model_id": MODEL, "dir": str(tmp_path / "export")}, state)
