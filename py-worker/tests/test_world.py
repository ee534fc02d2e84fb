"""The synthetic world: determinism, the grader against the templates, benchmark files, AUROC."""
import json
import random

import pytest

from c3l_worker.world import language
from c3l_worker.world.benchmarks import POPE_SPLITS, mc_questions, pope_questions, write_mmbench, write_pope, write_seed
from c3l_worker.world.grading import auroc, grade, grade_files, normalise
from c3l_worker.world.scene import TYPICAL, Obj, draw_scene, render, scene_rng


def scenes(n, split="test"):
    return [draw_scene(scene_rng(0, split, i)) for i in range(n)]


def test_scenes_are_seeded_and_splits_differ():
    a, b = scenes(20), scenes(20)
    assert a == b
    assert scenes(20, "other") != a
    r1, r2 = scene_rng(0, "test", 3), scene_rng(0, "test", 3)
    assert render(draw_scene(r1), r1).tobytes() == render(draw_scene(r2), r2).tobytes()


def test_objects_have_distinct_shapes_and_cells_and_the_prior_shows():
    many = scenes(2000)
    typical = sum(o.colour == TYPICAL[o.shape] for s in many for o in s) / sum(len(s) for s in many)
    assert 0.33 < typical < 0.47  # TYPICAL_P = 0.4, far above the 1/6 of no prior
    for s in many:
        assert len({o.shape for o in s}) == len(s) == len({(o.row, o.col) for o in s})


@pytest.mark.parametrize("family", language.QUESTION_FAMILIES)
def test_true_pairs_grade_grounded_and_false_priors_hallucinated(family):
    rng = random.Random(1)
    for objects in scenes(300):
        q, a = language.true_pair(objects, family, rng)
        assert grade(q, a, objects) == (family, "grounded"), (q, a, objects)
        q, a = language.prior_pair(objects, family, rng)
        fam, label = grade(q, a, objects)
        assert fam == family and label in ("grounded", "hallucinated")


def test_grader_catches_questions_about_absent_objects_and_malformed_text():
    objects = [Obj("square", "purple", "large", 0, 0)]
    assert grade("what colour is the circle ?", "the circle is blue .", objects) == ("colour", "hallucinated")
    assert grade("what colour is the square ?", "the square is purple .", objects) == ("colour", "grounded")
    assert grade("what colour is the square?", "the square is purple.", objects) == ("colour", "grounded")  # decoder spacing
    assert grade("what colour is the square ?", "the circle is purple .", objects) == ("colour", "hallucinated")
    assert grade("what colour is the square ?", "there are 2 shapes .", objects) == ("colour", "malformed")
    assert grade("is there a red square ?", "yes , there is a red circle .", objects) == ("existence", "hallucinated")
    assert grade("is there a red square ?", "yes , there is a red square .", objects) == ("existence", "hallucinated")
    assert grade("is there a red square ?", "no , there is no red square .", objects) == ("existence", "grounded")
    assert grade("how many shapes are there ?", "there are 2 shapes .", objects) == ("count", "hallucinated")
    assert grade("where is the square ?", "the square is at the top left .", objects) == ("position", "grounded")
    assert grade("what is this ?", "a square .", objects) == ("unknown", "malformed")
    assert normalise(" The SQUARE is red.") == "the square is red ."


def test_format_file_slots_are_the_scene_vocabulary_and_every_template_matches_its_family():
    """format.json is the one source of the world's patterns (grader and pipeline); its words must be the scenes'."""
    from c3l_worker.world.grading import FORMAT_FILE, question_family
    from c3l_worker.world.scene import COLOURS, SHAPES

    spec = json.loads(FORMAT_FILE.read_text())
    assert spec["slots"]["shape"].split("|") == list(SHAPES)
    assert spec["slots"]["colour"].split("|") == list(COLOURS)
    assert [f["name"] for f in spec["families"]] == list(language.QUESTION_FAMILIES)
    rng = random.Random(0)
    objects = [Obj("square", "purple", "large", 0, 0), Obj("circle", "blue", "small", 2, 1)]
    for family in language.QUESTION_FAMILIES:
        q, a = language.true_pair(objects, family, rng)
        assert question_family(q)[0] == family


def test_auroc_matches_the_definition():
    assert auroc([3, 4], [1, 2]) == 1.0
    assert auroc([1, 2], [3, 4]) == 0.0
    assert auroc([1, 1], [1, 1]) == 0.5
    rng = random.Random(0)
    pos, neg = [rng.random() + 0.3 for _ in range(50)], [rng.random() for _ in range(40)]
    brute = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / (50 * 40)
    assert auroc(pos, neg) == pytest.approx(brute)
    assert auroc([], [1.0]) is None


def test_pope_files_are_balanced_per_split_with_the_kinds_of_absent_objects(tmp_path):
    named = [(f"bench-{i}.png", s) for i, s in enumerate(scenes(60, "bench"))]
    truth = dict(named)
    for split in POPE_SPLITS:
        lines = pope_questions(named, split, 0)
        assert sum(l["label"] == "yes" for l in lines) == sum(l["label"] == "no" for l in lines) > 0
        assert [l["question_id"] for l in lines] == list(range(len(lines)))
        for l in lines:
            objects = truth[l["image"]]
            _, label = grade(l["text"], language.a_exists(*l["text"].split()[3:5], l["label"] == "yes"), objects)
            assert label == "grounded", l  # every label is the truth
            colour, shape = l["text"].split()[3:5]
            if l["label"] == "no" and split == "popular":
                assert colour == TYPICAL[shape]
            if l["label"] == "no" and split == "adversarial":
                assert shape in {o.shape for o in objects}
    write_pope(tmp_path / "pope", named, 0)
    assert sorted(p.name for p in (tmp_path / "pope").iterdir()) == [f"world_pope_{s}.json" for s in sorted(POPE_SPLITS)]


def test_multiple_choice_files_have_one_true_option(tmp_path):
    named = [(f"bench-{i}.png", s) for i, s in enumerate(scenes(10, "bench"))]
    (tmp_path / "images").mkdir()
    for name, objects in named:
        render(objects, random.Random(0)).save(tmp_path / "images" / name)
    questions = mc_questions(named, 0)
    truth = dict(named)
    for q in questions:
        grades = [grade(q["question"], option, truth[q["image"]])[1] for option in q["options"]]
        assert grades.count("grounded") == 1 and grades["ABCD".index(q["answer"])] == "grounded"
    write_seed(tmp_path / "seed.json", questions)
    doc = json.loads((tmp_path / "seed.json").read_text())
    assert len(doc["questions"]) == len(questions) and {"choice_d", "data_id", "question_type_id"} <= set(doc["questions"][0])
    write_mmbench(tmp_path / "mm.tsv", questions, tmp_path / "images")
    header, *rows = (tmp_path / "mm.tsv").read_text().splitlines()
    assert header.split("\t")[:8] == ["index", "question", "hint", "A", "B", "C", "D", "answer"] and len(rows) == len(questions)


def test_grade_files_reports_shares_families_and_auroc(tmp_path):
    objects = [Obj("square", "red", "small", 0, 0), Obj("circle", "green", "large", 1, 1)]
    (tmp_path / "truth.jsonl").write_text(json.dumps({"id": "img", "objects": [o.to_json() for o in objects]}) + "\n")
    pairs = [
        {"id": "1", "image_id": "img", "question": "what colour is the circle ?", "answer": "the circle is green .", "i2c": 2.0},
        {"id": "2", "image_id": "img", "question": "what colour is the circle ?", "answer": "the circle is blue .", "i2c": 0.5},
        {"id": "3", "image_id": "img", "question": "how many shapes are there ?", "answer": "there are 2 shapes .", "i2c": 1.0},
        {"id": "4", "image_id": "img", "question": "hello ?", "answer": "hi .", "i2c": 9.0},
    ]
    (tmp_path / "pairs.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs))
    summary = grade_files(tmp_path / "truth.jsonl", tmp_path / "pairs.jsonl", tmp_path / "labels.jsonl")
    assert summary["pairs"] == 4 and summary["grounded_share"] == 0.5 and summary["malformed_share"] == 0.25
    assert summary["by_family"]["colour"] == {"pairs": 2, "grounded": 1, "hallucinated": 1, "malformed": 0}
    assert summary["auroc_i2c"] == 1.0  # both grounded (2.0, 1.0) above the hallucinated 0.5; malformed left out
    assert len((tmp_path / "labels.jsonl").read_text().splitlines()) == 4


def test_every_word_of_the_world_is_in_the_tokenizer_vocabulary():
    from c3l_worker.tiny_llava import _build_tokenizer

    tokenizer = _build_tokenizer(language.corpus(), 512)
    rng = random.Random(0)
    texts = [language.GENERATION_PROMPT.format(k=3), language.CAPTION_PROMPT]
    for objects in scenes(200):
        texts.append(language.caption(objects))
        for family in language.QUESTION_FAMILIES:
            texts += [language.format_pairs([language.true_pair(objects, family, rng)]),
                      language.format_pairs([language.prior_pair(objects, family, rng)])]
    unknown = {t for text in texts for t in tokenizer.tokenize(text) if t == tokenizer.unk_token}
    assert not unknown, [text for text in texts if tokenizer.unk_token in tokenizer.tokenize(text)][:3]
