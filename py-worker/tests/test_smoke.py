"""The builtin smoke data and model: the world's smoke split, layout, idempotence, and a model whose
generations parse."""
import json
import math
import os
import random

import pytest
from PIL import Image

from c3l_worker import smoke
from c3l_worker.models import load_model
from c3l_worker.ops import HANDLERS
from c3l_worker.qa_parser import parse_qa
from c3l_worker.state import WorkerState
from c3l_worker.world import language
from c3l_worker.world.layout import LAYOUT
from c3l_worker.world.scene import Obj, draw_scene, render, scene_rng

# Smaller than the CLI defaults (12 images, 250 steps) to keep the file fast; still parses.
SETTINGS = {"images": 6, "steps": 100, "seed": 0}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return smoke.build_smoke(tmp_path_factory.mktemp("smoke") / "data", **SETTINGS)


@pytest.fixture(scope="module")
def state(built) -> WorkerState:
    state = WorkerState()
    state.models["smoke"] = load_model(built / "model")
    return state


def manifest(built) -> list[dict]:
    return [json.loads(line) for line in (built / "manifest.jsonl").read_text().splitlines()]


def generate(state, built, **options) -> list[dict]:
    items = [{"id": m["id"], "image_path": str(built / m["image"]), "prompt": smoke.PROMPT.format(k=3)}
             for m in manifest(built)]
    return HANDLERS["generate"]({"model_id": "smoke", "items": items, "max_new_tokens": 48, **options},
                                state)["results"]


def test_images_and_truth_are_the_worlds_smoke_split(built):
    """The smoke data is a small configuration of the one world, not a world of its own."""
    truth = [json.loads(line) for line in (built / "truth.jsonl").read_text().splitlines()]
    for index, entry in enumerate(truth):
        rng = scene_rng(SETTINGS["seed"], smoke.SPLIT, index)
        objects = draw_scene(rng)
        assert entry["id"] == f"{smoke.SPLIT}-{index:05d}"
        assert [Obj.from_json(o) for o in entry["objects"]] == objects
        with Image.open(built / "images" / f"{entry['id']}.png") as image:
            assert image.tobytes() == render(objects, rng).tobytes()


def test_layout_manifest_and_images(built):
    entries = manifest(built)
    assert len(entries) == SETTINGS["images"]
    assert len({e["id"] for e in entries}) == len(entries)
    truth = {t["id"]: t for t in map(json.loads, (built / "truth.jsonl").read_text().splitlines())}
    assert set(truth) == {e["id"] for e in entries}
    for entry in entries:
        assert entry["image"] == f"images/{entry['id']}.png"
        with Image.open(built / entry["image"]) as image:
            assert image.mode == "RGB" and image.size == (48, 48)
        assert truth[entry["id"]]["objects"]
    marker = json.loads((built / smoke.MARKER).read_text())
    assert {k: marker[k] for k in SETTINGS} == SETTINGS
    assert marker["final_loss"] < marker["first_loss"]
    assert (built / "model" / "config.json").is_file()
    assert [p.name for p in built.parent.iterdir()] == [built.name]  # no temporary folder left behind
    # Where the orchestrator looks: layout.json's smoke entry (one source for both sides).
    assert all((built / path).exists() for path in LAYOUT["smoke"].values())


def test_vocabulary_covers_prompt_and_the_worlds_language(state, built):
    tokenizer = state.models["smoke"].processor.tokenizer
    texts = [smoke.PROMPT.format(k=k) for k in range(smoke.K_RANGE[0], smoke.K_RANGE[1] + 1)] + language.corpus()
    rng = random.Random(0)
    for line in (built / "truth.jsonl").read_text().splitlines():
        objects = [Obj.from_json(o) for o in json.loads(line)["objects"]]
        texts += [language.format_pairs([language.true_pair(objects, family, rng)]) for family in language.QUESTION_FAMILIES]
    for text in texts:
        assert tokenizer.unk_token_id not in tokenizer(text, add_special_tokens=False)["input_ids"], text


def test_second_build_returns_the_finished_folder(built):
    before = {p: p.stat().st_mtime_ns for p in built.rglob("*")}
    assert smoke.build_smoke(built, **SETTINGS) == built
    assert {p: p.stat().st_mtime_ns for p in built.rglob("*")} == before
    with pytest.raises(FileExistsError, match="steps: found 100, wanted 101"):
        smoke.build_smoke(built, **{**SETTINGS, "steps": 101})


def test_refuses_a_folder_that_is_not_a_build(tmp_path):
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not a finished smoke build"):
        smoke.build_smoke(tmp_path / "other", **SETTINGS)
    assert os.listdir(tmp_path / "other") == ["notes.txt"]


def test_greedy_generations_parse_and_depend_on_the_image(state, built):
    results = generate(state, built)
    parsed = [r for r in results if r["qa_pairs"]]
    assert len(parsed) >= 0.75 * len(results), [r["text"] for r in results]
    for r in parsed:  # the handler's pairs are what the parser makes of the text
        assert parse_qa(r["text"], truncated=r["finish_reason"] == "length")[0] == r["qa_pairs"]
    # A model that ignores its image writes the same greedy text for every image.
    assert len({r["text"] for r in results}) >= 2, results[0]["text"]


def test_sampled_generations_mostly_parse(state, built):
    results = generate(state, built, do_sample=True, temperature=1.0, seed=1)
    assert sum(bool(r["qa_pairs"]) for r in results) >= 0.5 * len(results), [r["text"] for r in results]


def test_generated_pairs_score_to_finite_i2c(state, built):
    paths = {m["id"]: str(built / m["image"]) for m in manifest(built)}
    items = [{"id": f"{r['id']}/{n}", "image_path": paths[r["id"]], "question": p["question"], "answer": p["answer"]}
             for r in generate(state, built) for n, p in enumerate(r["qa_pairs"])]
    assert items
    for estimator in ("kl", "logratio"):
        results = HANDLERS["score"]({"model_id": "smoke", "items": items, "estimator": estimator}, state)["results"]
        assert all(r["error"] is None and math.isfinite(r["i2c"]) for r in results)
        # The image changes the answer's distribution somewhere (a model blind to it gives I2C 0).
        assert max(abs(r["i2c"]) for r in results) > 1e-3
