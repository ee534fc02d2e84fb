"""The align phase's seed instruction mix: training scenes only, existence with "no" answers of
POPE's three kinds, the question alone as the instruction, and the same mix for the same seed."""
from collections import Counter

import pytest
from PIL import Image

from c3l_worker.models import load_model
from c3l_worker.tiny_llava import build_tiny_llava
from c3l_worker.world import language, layout
from c3l_worker.world.build import DEFAULTS, normalise_params, pretrain_settings, write_split
from c3l_worker.world.pretrain import PhaseSettings, Pretrainer, PretrainSettings, SceneBank, instruct_mix
from c3l_worker.world.scene import TYPICAL, draw_scene, render, scene_rng


def train_objects(n, seed=0):
    return [draw_scene(scene_rng(seed, "train", i)) for i in range(n)]


def family_of(question):
    for family, start in (("count", "how many"), ("colour", "what colour"), ("existence", "is there"), ("position", "where is")):
        if question.startswith(start):
            return family
    raise AssertionError(f"not a world question: {question!r}")


def test_the_mix_is_deterministic_for_a_seed_and_varies_with_it():
    objects = train_objects(300)
    assert instruct_mix(objects, 400, 0) == instruct_mix(objects, 400, 0)
    assert instruct_mix(objects, 400, 0) != instruct_mix(objects, 400, 1)
    assert instruct_mix(objects, 200, 0) == instruct_mix(objects, 400, 0)[:200]  # a larger mix extends a smaller one
    assert instruct_mix(objects, 0, 0) == []


def test_every_family_and_existence_with_no_answers_about_absent_objects_of_popes_kinds():
    objects = train_objects(300)
    mix = instruct_mix(objects, 600, 0)
    families = Counter(family_of(q) for _, q, _ in mix)
    assert set(families) == set(language.QUESTION_FAMILIES)
    yes = [(i, q, a) for i, q, a in mix if family_of(q) == "existence" and a.startswith("yes")]
    no = [(i, q, a) for i, q, a in mix if family_of(q) == "existence" and a.startswith("no")]
    assert len(yes) == len(no) > 0  # POPE asks as many absent objects as present ones
    kinds = Counter()
    for index, question, answer in yes + no:
        colour, shape = question.split()[3:5]
        scene = objects[index]
        assert language.present(scene, colour, shape) == answer.startswith("yes")  # true of its scene
        assert answer == language.a_exists(colour, shape, answer.startswith("yes"))
        if answer.startswith("no"):
            kinds["adversarial" if shape in {o.shape for o in scene} else "popular" if colour == TYPICAL[shape] else "random"] += 1
    assert set(kinds) == {"random", "popular", "adversarial"}
    for index, question, answer in mix:  # every other family's answer is the scene's true one
        if family_of(question) == "count":
            assert answer == language.a_count(len(objects[index]))
        elif family_of(question) == "colour":
            shape = question.split()[4]
            assert answer == language.a_colour(shape, next(o.colour for o in objects[index] if o.shape == shape))


def test_the_mix_is_drawn_from_training_scenes_never_from_pipeline_or_benchmark_images(tmp_path):
    seed, n = 0, 64
    objects = train_objects(n, seed)
    mix = instruct_mix(objects, 300, seed)
    assert all(0 <= index < n for index, _, _ in mix)
    pool = write_split(layout.split(tmp_path, "data"), seed, "pool", 32)
    bench = write_split(layout.split(tmp_path, "bench"), seed, "bench", 32)
    assert {sid.split("-")[0] for sid, _ in pool} == {"pool"} and {sid.split("-")[0] for sid, _ in bench} == {"bench"}
    held_out = {Image.open(tmp_path / folder / "images" / f"{sid}.png").tobytes()
                for folder, split in (("data", pool), ("bench", bench)) for sid, _ in split}
    assert len(held_out) == 64
    for index in {i for i, _, _ in mix}:  # the images the mix's rows are trained with are none of them
        rng = scene_rng(seed, "train", index)
        assert render(draw_scene(rng), rng).tobytes() not in held_out


def test_the_mix_is_a_world_parameter_and_reaches_the_align_phase():
    params = normalise_params({})
    assert params["pretrain"]["instruct_pairs"] == DEFAULTS["pretrain"]["instruct_pairs"] > 0
    settings = pretrain_settings(normalise_params({"pretrain": {"instruct_pairs": 7, "instruct_share": 0.25}}))
    assert (settings.instruct_pairs, settings.instruct_share) == (7, 0.25)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    return load_model(build_tiny_llava(tmp_path_factory.mktemp("world") / "init", corpus=language.corpus(), seed=0))


def test_align_batches_mix_questions_alone_as_instructions_with_captions(loaded):
    s = PretrainSettings(train_scenes=16, instruct_pairs=40, instruct_share=0.5, align=PhaseSettings(4, 2e-3, 32, 1.0))
    bank = SceneBank(loaded, 0, s.train_scenes)
    trainer = Pretrainer(loaded, bank, s, "align")
    try:
        mix = {(i, q, f"{a} {language.EOS}") for i, q, a in trainer.mix}
        rows = [row for step in range(4) for row in trainer.batch(step)]
        qa = [r for r in rows if r[1] != language.CAPTION_PROMPT]
        assert 0 < len(qa) < len(rows)  # both kinds of rows
        assert all((index, context, target) in mix and with_image for index, context, target, with_image in qa)
        assert trainer.batch(2) == trainer.batch(2)
    finally:
        trainer.close()
    captions_only = Pretrainer(loaded, bank, PretrainSettings(train_scenes=16, instruct_pairs=0, align=s.align), "align")
    try:
        assert all(context == language.CAPTION_PROMPT for step in range(4) for _, context, _, _ in captions_only.batch(step))
    finally:
        captions_only.close()
