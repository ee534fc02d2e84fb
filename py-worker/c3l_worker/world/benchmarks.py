"""Held-out scenes written as benchmarks in their published formats (each described in docs/EVAL.md),
so c3l's evaluators run on them unchanged: POPE per-split question files, a SEED-Bench JSON and an
MMBench TSV with base64 images."""
from __future__ import annotations

import base64
import csv
import json
import random
from pathlib import Path

from . import language
from .scene import Obj

POPE_SPLITS = ("random", "popular", "adversarial")
# SEED-Bench's image dimensions that the world's families correspond to.
SEED_TYPES = {"Instance Attributes": 3, "Instance Location": 4, "Instances Counting": 5}
FAMILY_TYPE = {"colour": "Instance Attributes", "position": "Instance Location", "count": "Instances Counting"}


def pope_questions(scenes: list[tuple[str, list[Obj]]], split: str, seed: int) -> list[dict]:
    """Per image 3 present and 3 absent objects of the split's kind (POPE: balanced yes/no).
    Images without 3 distinct absent objects of the kind contribute what they have, both halves
    trimmed to the same number so yes/no stays balanced."""
    rng = random.Random(f"c3l-world-pope/{seed}/{split}")
    lines = []
    for name, objects in scenes:
        yes = [(o.colour, o.shape) for o in objects][:3]
        no: list[tuple[str, str]] = []
        for _ in range(30):
            if len(no) == len(yes):
                break
            pick = language.absent_objects(objects, split, rng)
            if pick is not None and pick not in no:
                no.append(pick)
        n = min(len(yes), len(no))
        for (colour, shape), label in [(p, "yes") for p in yes[:n]] + [(p, "no") for p in no[:n]]:
            lines.append({"question_id": len(lines), "image": name, "text": language.q_exists(colour, shape), "label": label})
    return lines


def choice_question(objects: list[Obj], family: str, rng: random.Random) -> tuple[str, list[str], int]:
    """A four-way multiple-choice question: the true answer and three wrong ones of the same template."""
    question, answers, truth = language.template_answers(objects, family, rng)
    pool = [a for i, a in enumerate(answers) if i != truth]
    options = [answers[truth], *(pool if len(pool) == 3 else rng.sample(pool, 3))]
    order = list(range(4))
    rng.shuffle(order)
    return question, [options[i] for i in order], order.index(0)


def mc_questions(scenes: list[tuple[str, list[Obj]]], seed: int) -> list[dict]:
    rng = random.Random(f"c3l-world-mc/{seed}")
    out = []
    for name, objects in scenes:
        for family in FAMILY_TYPE:
            question, options, answer = choice_question(objects, family, rng)
            out.append({"image": name, "family": family, "question": question, "options": options, "answer": "ABCD"[answer]})
    return out


def write_pope(folder: Path, scenes: list[tuple[str, list[Obj]]], seed: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for split in POPE_SPLITS:
        with open(folder / f"world_pope_{split}.json", "w") as f:  # JSON Lines despite the name, as POPE's own
            for line in pope_questions(scenes, split, seed):
                f.write(json.dumps(line) + "\n")


def write_seed(file: Path, questions: list[dict]) -> None:
    records = [{"question_id": f"world-{i}", "question": q["question"],
                **{f"choice_{k}": q["options"][j] for j, k in enumerate("abcd")},
                "answer": q["answer"], "data_id": q["image"], "data_type": "image",
                "question_type_id": SEED_TYPES[FAMILY_TYPE[q["family"]]]} for i, q in enumerate(questions)]
    file.write_text(json.dumps({"questions": records, "question_type": SEED_TYPES}, indent=1) + "\n")


def write_mmbench(file: Path, questions: list[dict], image_dir: Path) -> None:
    with open(file, "w", newline="") as f:
        writer = csv.writer(f, delimiter="\t", lineterminator="\n")
        writer.writerow(["index", "question", "hint", "A", "B", "C", "D", "answer", "category", "l2-category", "split", "image"])
        for i, q in enumerate(questions):
            png = base64.b64encode((image_dir / q["image"]).read_bytes()).decode()
            writer.writerow([i, q["question"], "", *q["options"], q["answer"], FAMILY_TYPE[q["family"]], "perception", "dev", png])
