"""World pretraining: finite losses, exact resume from a checkpoint, and a build that is cached."""
import json

import pytest
import torch

from c3l_worker.models import load_model
from c3l_worker.tiny_llava import build_tiny_llava
from c3l_worker.world import language
from c3l_worker.world.build import build_world, normalise_params
from c3l_worker.world.pretrain import PhaseSettings, Pretrainer, PretrainSettings, SceneBank, run_phase


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return build_tiny_llava(tmp_path_factory.mktemp("world") / "init", corpus=language.corpus(), seed=0)


def settings(steps):
    return PretrainSettings(train_scenes=16, align=PhaseSettings(steps, 2e-3, 4, 1.0), generator=PhaseSettings(steps, 1e-3, 4, 0.5))


def train(model_dir, phase, steps, resume_at=None, tmp=None):
    loaded = load_model(model_dir)
    s = settings(steps)
    bank = SceneBank(loaded, 0, s.train_scenes)
    trainer = Pretrainer(loaded, bank, s, phase)
    losses = []
    while trainer.step < steps:
        losses.append(trainer.train_step()["loss"])
        if trainer.step == resume_at:
            trainer.save(tmp / "ckpt")
            trainer.close()
            loaded = load_model(model_dir)  # a fresh process's view: new weights, new optimizer
            trainer = Pretrainer(loaded, SceneBank(loaded, 0, s.train_scenes), s, phase)
            trainer.load(tmp / "ckpt")
    return losses, {n: p.detach().clone() for n, p in loaded.model.named_parameters()}


@pytest.mark.parametrize("phase", ["align", "generator"])
def test_resumed_pretraining_equals_an_uninterrupted_one(model_dir, tmp_path, phase):
    straight, params = train(model_dir, phase, 6)
    resumed, params_resumed = train(model_dir, phase, 6, resume_at=3, tmp=tmp_path)
    assert all(torch.isfinite(torch.tensor(straight)))
    assert straight == pytest.approx(resumed, abs=1e-6)
    assert max((params[n] - params_resumed[n]).abs().max().item() for n in params) < 1e-6
    assert straight[-1] != straight[0]  # it trains


def test_a_phase_resumed_after_its_last_checkpoint_reports_the_same_stats(model_dir, tmp_path):
    # The chaos suite (scripts/chaos.mjs) found world.json's final losses null after a build killed
    # between a phase's last checkpoint and the end of the build: the recent losses now travel with it.
    s = settings(4)
    loaded = load_model(model_dir)
    straight = run_phase(loaded, SceneBank(loaded, 0, s.train_scenes), s, "align", tmp_path)
    loaded = load_model(model_dir)  # a fresh process finds the phase's final checkpoint
    resumed = run_phase(loaded, SceneBank(loaded, 0, s.train_scenes), s, "align", tmp_path)
    assert straight["final_loss_lm"] is not None
    assert resumed == straight


def test_world_build_is_cached_and_refuses_unknown_parameters(tmp_path):
    params = {"pool_images": 4, "bench_images": 4,
              "pretrain": {"train_scenes": 8, "ground_steps": 2, "align_steps": 2, "generator_steps": 2, "batch_size": 2}}
    out = build_world(tmp_path / "w", params)
    marker = json.loads((out / "world.json").read_text())
    assert marker["stats"]["generator"]["steps"] == 2
    assert len((out / "data" / "manifest.jsonl").read_text().splitlines()) == 4
    assert (out / "models" / "generator" / "config.json").is_file() and not (tmp_path / "w.work").exists()
    before = (out / "world.json").stat().st_mtime_ns
    build_world(tmp_path / "w", params)  # complete: returned at once
    assert (out / "world.json").stat().st_mtime_ns == before
    with pytest.raises(ValueError, match="pretrain.align_step"):
        normalise_params({"pretrain": {"align_step": 3}})
