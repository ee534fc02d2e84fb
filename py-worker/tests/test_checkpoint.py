"""Checkpoints resume exactly, never unpickle, never pick up half-written folders; export reloads.
A damaged checkpoint is refused naming the file; a full disk is a DiskFullError leaving nothing torn."""
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForImageTextToText, AutoProcessor

from c3l_worker import inputs
from c3l_worker.ops import HANDLERS
from c3l_worker.protocol.schema import SCHEMA, validate_fields
from c3l_worker.state import WorkerState
from c3l_worker.tiny_llava import build_tiny_llava
from c3l_worker.training import (CheckpointDamagedError, CheckpointError, DiskFullError, latest_checkpoint,
                                 set_aside_checkpoint)
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
    assert reply == {"path": saved["path"], "step": saved["step"], "data_position": {"next_batch": 3, "epoch": 0}}
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


def test_a_set_aside_checkpoint_is_never_picked_up_and_the_one_before_is_next(tmp_path):
    for step_no in (2, 4):
        (tmp_path / f"step-{step_no:08d}").mkdir()
        (tmp_path / f"step-{step_no:08d}" / "checkpoint.json").write_text("{}")
    (tmp_path / "step-00000004.damaged").mkdir()  # an older damaged copy of the same step: replaced
    assert latest_checkpoint(tmp_path) == tmp_path / "step-00000004"
    aside = set_aside_checkpoint(tmp_path / "step-00000004")
    assert aside == tmp_path / "step-00000004.damaged" and (aside / "checkpoint.json").is_file()
    assert latest_checkpoint(tmp_path) == tmp_path / "step-00000002"
    assert latest_checkpoint(tmp_path / "none") is None


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


def test_keep_last_keeps_the_newest_checkpoints_and_the_damaged_ones(tiny_llava_dir, images, tmp_path):
    state = fresh_state(tiny_llava_dir)
    setup(state, form="none")
    (tmp_path / "step-00000000.damaged").mkdir(parents=True)  # set aside earlier: kept to look at
    for n in range(4):
        step(state, batches(images)[n % 2])
        call(state, "save_checkpoint", {"model_id": MODEL, "dir": str(tmp_path), "data_position": n, "keep_last": 2})
        kept = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("step-") and not p.name.endswith(".damaged"))
        assert kept == [f"step-{k:08d}" for k in range(max(1, n), n + 2)]  # the newest two, the one just written included
    assert (tmp_path / "step-00000000.damaged").is_dir()
    assert latest_checkpoint(tmp_path) == tmp_path / "step-00000004"
    call(state, "save_checkpoint", {"model_id": MODEL, "dir": str(tmp_path), "keep_last": None})  # none: every one stays
    assert len([p for p in tmp_path.iterdir() if p.name.startswith("step-") and not p.name.endswith(".damaged")]) == 2
    with pytest.raises(ValueError, match="keep_last must be >= 1"):
        call(state, "save_checkpoint", {"model_id": MODEL, "dir": str(tmp_path), "keep_last": 0})


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


def params_of(state) -> dict:
    return {n: p.detach().clone() for n, p in state.models[MODEL].model.named_parameters()}


def test_a_truncated_or_corrupt_file_is_refused_naming_it_and_nothing_is_restored(tiny_llava_dir, images, tmp_path):
    state = fresh_state(tiny_llava_dir)
    setup(state, form="none")
    for batch in batches(images)[:2]:
        step(state, batch)
        call(state, "save_checkpoint", {"model_id": MODEL, "dir": str(tmp_path), "data_position": {"micro": 0}})
    latest = tmp_path / "step-00000002"
    weights = latest / "model.safetensors"
    size = weights.stat().st_size
    with open(weights, "r+b") as f:
        f.truncate(size // 2)  # a copy or a disk that lost the file's end
    fresh = fresh_state(tiny_llava_dir)
    before = params_of(fresh)
    with pytest.raises(CheckpointDamagedError, match=f"{weights} has {size // 2} bytes, {size} were saved"):
        HANDLERS["load_checkpoint"]({"model_id": MODEL, "path": str(latest)}, fresh)
    optimizer = tmp_path / "step-00000001" / "optimizer.safetensors"
    data = bytearray(optimizer.read_bytes())
    data[-1] ^= 0xFF  # same size, one flipped byte
    optimizer.write_bytes(bytes(data))
    with pytest.raises(CheckpointDamagedError, match=f"{optimizer} does not match the sha256"):
        HANDLERS["load_checkpoint"]({"model_id": MODEL, "path": str(tmp_path / "step-00000001")}, fresh)
    assert MODEL not in fresh.trainers
    assert all(torch.equal(p, before[n]) for n, p in params_of(fresh).items())  # refused before anything changed


def test_an_unreadable_file_without_a_recorded_digest_is_damaged_too(tiny_llava_dir, images, tmp_path):
    """Checkpoints saved before digests were recorded: the read itself fails, naming the file."""
    state = fresh_state(tiny_llava_dir)
    setup(state, form="none")
    step(state, batches(images)[0])
    path = tmp_path / "step-00000001"
    call(state, "save_checkpoint", {"model_id": MODEL, "dir": str(tmp_path)})
    meta = json.loads((path / "checkpoint.json").read_text())
    del meta["files"]
    (path / "checkpoint.json").write_text(json.dumps(meta))
    (path / "model.safetensors").write_bytes((path / "model.safetensors").read_bytes()[:100])
    with pytest.raises(CheckpointDamagedError, match=f"{path / 'model.safetensors'} cannot be read"):
        HANDLERS["load_checkpoint"]({"model_id": MODEL, "path": str(path)}, fresh_state(tiny_llava_dir))


def test_dir_restores_the_newest_checkpoint_and_sets_a_damaged_one_aside(tiny_llava_dir, images, tmp_path):
    """load_checkpoint {dir}: the worker alone reads the folder's layout; a damaged newest checkpoint is
    renamed <name>.damaged, named in the error, and the next request restores the one before it."""
    ckpts = tmp_path / "ckpt"
    empty = fresh_state(tiny_llava_dir)
    for nothing in (ckpts, tmp_path):  # missing, and a folder without checkpoints
        assert call(empty, "load_checkpoint", {"model_id": MODEL, "dir": str(nothing)}) == {"path": None, "step": 0, "data_position": None}
    assert MODEL not in empty.trainers

    state = fresh_state(tiny_llava_dir)
    setup(state, form="none")
    for micro, batch in enumerate(batches(images)[:2], start=1):
        step(state, batch)
        call(state, "save_checkpoint", {"model_id": MODEL, "dir": str(ckpts), "data_position": {"micro": micro}})
    reply = call(fresh_state(tiny_llava_dir), "load_checkpoint", {"model_id": MODEL, "dir": str(ckpts)})
    assert reply == {"path": str(ckpts / "step-00000002"), "step": 2, "data_position": {"micro": 2}}

    weights = ckpts / "step-00000002" / "model.safetensors"
    with open(weights, "r+b") as f:
        f.truncate(weights.stat().st_size // 2)
    fresh = fresh_state(tiny_llava_dir)
    aside = ckpts / "step-00000002.damaged"
    with pytest.raises(CheckpointDamagedError, match=f"{weights} has .*; set aside as {aside}$"):
        HANDLERS["load_checkpoint"]({"model_id": MODEL, "dir": str(ckpts)}, fresh)
    assert sorted(p.name for p in ckpts.iterdir()) == ["step-00000001", "step-00000002.damaged"]
    reply = call(fresh, "load_checkpoint", {"model_id": MODEL, "dir": str(ckpts)})
    assert reply == {"path": str(ckpts / "step-00000001"), "step": 1, "data_position": {"micro": 1}}


@pytest.mark.parametrize("content", [{}, {"path": "/a/step-00000001", "dir": "/a"}])
def test_load_checkpoint_takes_exactly_one_of_path_and_dir(content):
    with pytest.raises(ValueError, match="exactly one of path .* and dir"):
        HANDLERS["load_checkpoint"]({"model_id": MODEL, **content}, WorkerState())


class SmallDisk:
    """A size-limited tmpfs mounted at `path`; `resize(bytes)` makes room or takes it away."""

    def __init__(self, path):
        self.path = path

    def mount(self, size: int, *extra: str) -> None:
        opts = ",".join([*extra, f"size={size}"])
        subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(self.path)], check=True, capture_output=True, text=True)

    def resize(self, size: int) -> None:
        self.mount(size, "remount")

    def __truediv__(self, other):
        return self.path / other


@pytest.fixture
def small_disk(tmp_path):
    """A SmallDisk at tmp_path/disk; skipped where mounting is not allowed (not root, or no mount permission)."""
    disk = SmallDisk(tmp_path / "disk")
    disk.path.mkdir()
    try:
        disk.mount(1 << 20)
    except (OSError, subprocess.CalledProcessError) as exc:
        reason = exc.stderr.strip() if isinstance(exc, subprocess.CalledProcessError) else exc
        pytest.skip(f"cannot mount a size-limited tmpfs to fill (needs root and mount permission): {reason}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk.path)], check=False)


def test_a_full_disk_while_saving_a_checkpoint_names_the_file_and_keeps_nothing_torn(tiny_llava_dir, images, tmp_path, small_disk):
    data = batches(images)
    state = fresh_state(tiny_llava_dir)
    setup(state, form="none")
    step(state, data[0])
    probe = call(state, "save_checkpoint", {"model_id": MODEL, "dir": str(tmp_path / "probe")})["path"]
    one = sum(f.stat().st_size for f in Path(probe).iterdir())
    small_disk.resize(int(one * 1.5))  # room for one checkpoint, not two
    ckpts = small_disk / "ckpt"
    call(state, "save_checkpoint", {"model_id": MODEL, "dir": str(ckpts), "data_position": {"micro": 1}})
    step(state, data[1])
    with pytest.raises(DiskFullError, match=rf"disk full \(no space left on device\) while writing \S+\.safetensors of checkpoint {ckpts / 'step-00000002'}"):
        HANDLERS["save_checkpoint"]({"model_id": MODEL, "dir": str(ckpts), "data_position": {"micro": 2}}, state)
    assert sorted(p.name for p in ckpts.iterdir()) == ["step-00000001"]  # no half-written folder
    assert latest_checkpoint(ckpts) == ckpts / "step-00000001"
    fresh = fresh_state(tiny_llava_dir)
    assert call(fresh, "load_checkpoint", {"model_id": MODEL, "path": str(ckpts / "step-00000001")})["step"] == 1

    small_disk.resize(int(one * 4))  # space returns: the same save now succeeds, byte for byte as on a roomy disk
    path = call(state, "save_checkpoint", {"model_id": MODEL, "dir": str(ckpts), "data_position": {"micro": 2}})["path"]
    roomy = call(state, "save_checkpoint", {"model_id": MODEL, "dir": str(tmp_path / "roomy"), "data_position": {"micro": 2}})["path"]
    for name in ("model.safetensors", "optimizer.safetensors"):
        assert (Path(path) / name).read_bytes() == (Path(roomy) / name).read_bytes()


def test_a_full_disk_while_exporting_names_the_export_and_leaves_nothing(tiny_llava_dir, images, tmp_path, small_disk):
    state = fresh_state(tiny_llava_dir)
    setup(state, form="none")
    step(state, batches(images)[0])
    call(state, "export_model", {"model_id": MODEL, "dir": str(tmp_path / "roomy")})
    size = sum(f.stat().st_size for f in (tmp_path / "roomy").iterdir())
    small_disk.resize(size // 2)
    out = small_disk / "models" / "r0-contrast"
    with pytest.raises(DiskFullError, match=f"disk full .* while writing the export {out}"):
        HANDLERS["export_model"]({"model_id": MODEL, "dir": str(out)}, state)
    assert list((small_disk / "models").iterdir()) == []  # neither the export nor its temporary folder
    small_disk.resize(size * 2)
    call(state, "export_model", {"model_id": MODEL, "dir": str(out)})
    for f in (tmp_path / "roomy").iterdir():
        assert (out / f.name).read_bytes() == f.read_bytes(), f.name
