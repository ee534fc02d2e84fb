"""The builtin smoke data and model: layout, idempotence, and a model whose generations parse."""
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


def test_scenes_are_distinct_and_pairs_match_them():
    rng = random.Random(3)
    for _ in range(50):
        objects = smoke.draw_scene(rng)
        assert 1 <= len(objects) <= 2
        for key in ("shape", "colour", "position"):
            assert len({o[key] for o in objects}) == len(objects)
        pairs = dict(smoke.true_pairs(objects))
        for o in objects:
            assert pairs[f"what colour is the {o['shape']} ?"] == f"the {o['shape']} is {o['colour']} ."
        absent = set(smoke.SHAPES) - {o["shape"] for o in objects}
        assert all(pairs[f"is there a {s} ?"].startswith("no ,") for s in absent)


def test_render_draws_each_object_in_its_cell():
    objects = [{"shape": "square", "colour": "red", "row": 0, "col": 2, "position": "top right"}]
    image = smoke.render(objects)
    assert image.size == (smoke.SIZE, smoke.SIZE)
    assert image.getpixel((2 * smoke.CELL + smoke.CELL // 2, smoke.CELL // 2)) == smoke.COLOURS["red"]
    assert image.getpixel((smoke.CELL // 2, smoke.CELL // 2)) == smoke.BACKGROUND


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
        assert truth[entry["id"]]["objects"] and truth[entry["id"]]["pairs"]
    marker = json.loads((built / smoke.MARKER).read_text())
    assert {k: marker[k] for k in SETTINGS} == SETTINGS
    assert marker["final_loss"] < marker["first_loss"]
    assert (built / "model" / "config.json").is_file()
    assert [p.name for p in built.parent.iterdir()] == [built.name]  # no temporary folder left behind


def test_vocabulary_covers_prompt_and_templates(state, built):
    tokenizer = state.models["smoke"].processor.tokenizer
    truth = [json.loads(line) for line in (built / "truth.jsonl").read_text().splitlines()]
    texts = [smoke.PROMPT.format(k=k) for k in range(smoke.K_RANGE[0], smoke.K_RANGE[1] + 1)]
    texts += [smoke.format_pairs([(p["question"], p["answer"])]) for t in truth for p in t["pairs"]]
    for text in texts:
        assert tokenizer.unk_token_id not in tokenizer(text, add_special_tokens=False)["input_ids"], text


def test_second_build_returns_the_finished_folder(built, capsys):
    before = {p: p.stat().st_mtime_ns for p in built.rglob("*")}
    assert smoke.build_smoke(built, **SETTINGS) == built
    assert smoke.main(["--out", str(built), "--images", "6", "--steps", "100", "--seed", "0"]) == 0
    assert capsys.readouterr().out.strip() == str(built)
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
