"""Labels a generated question/answer pair against a scene's ground truth.

    grounded      the question is one of the world's templates and the answer is true of the image
    hallucinated  a well-formed pair whose answer is false — including an answer about another
                  object than the one asked about — or which asks about an object that is not in
                  the image ("what colour is the cross ?" with no cross)
    malformed     not the world's language: an unknown question, or an answer not of the form
                  its question's family answers in
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from .language import a_colour, a_count, a_exists, a_position
from .scene import Obj

FORMAT_FILE = Path(__file__).with_name("format.json")


def _compile(pattern: str, slots: dict[str, str]) -> re.Pattern:
    """A format.json pattern: {slot} filled in, and JavaScript's (?<name>…) groups as Python's (?P<name>…)."""
    for name, alternatives in slots.items():
        pattern = pattern.replace("{" + name + "}", alternatives)
    return re.compile(re.sub(r"\(\?<(?=[A-Za-z_])", "(?P<", pattern))


def load_format(path: Path = FORMAT_FILE) -> tuple[list[tuple[str, re.Pattern]], dict[str, re.Pattern]]:
    """The world's question patterns in family order, and each family's answer pattern."""
    spec = json.loads(path.read_text())
    questions = [(f["name"], _compile(f["question"], spec["slots"])) for f in spec["families"]]
    answers = {f["name"]: _compile(f["answer"], spec["slots"]) for f in spec["families"]}
    return questions, answers


_QUESTIONS, _ANSWERS = load_format()
LABELS = ("grounded", "hallucinated", "malformed")


def normalise(text: str) -> str:
    """The decoder glues punctuation ("square?"); the templates space it ("square ?")."""
    text = re.sub(r"\s*([?.,])", r" \1", text.strip().lower())
    return re.sub(r"\s+", " ", text).strip()


def question_family(question: str) -> tuple[str, dict] | None:
    q = normalise(question)
    for family, pattern in _QUESTIONS:
        m = pattern.match(q)
        if m:
            return family, m.groupdict()
    return None


def grade(question: str, answer: str, objects: list[Obj]) -> tuple[str, str]:
    """(family or "unknown", label)."""
    parsed = question_family(question)
    if parsed is None:
        return "unknown", "malformed"
    family, slots = parsed
    a = normalise(answer)
    m = _ANSWERS[family].match(a)
    if m is None:
        return family, "malformed"
    if m.groupdict().get("shape") not in (None, slots.get("shape")) or (family == "existence" and m["colour"] != slots["colour"]):
        return family, "hallucinated"  # well-formed, but about another object than the question's
    by_shape = {o.shape: o for o in objects}
    if family == "count":
        truth = a_count(len(objects))
    elif family == "existence":
        here = any(o.shape == slots["shape"] and o.colour == slots["colour"] for o in objects)
        truth = a_exists(slots["colour"], slots["shape"], here)
    elif slots["shape"] not in by_shape:
        return family, "hallucinated"  # asks about an object that is not there
    elif family == "colour":
        truth = a_colour(slots["shape"], by_shape[slots["shape"]].colour)
    else:
        truth = a_position(slots["shape"], by_shape[slots["shape"]].position)
    return family, "grounded" if a == truth else "hallucinated"
