"""The world's templated language: question/answer families, captions, prior-driven (wrong) answers
and the generation format. The grader inverts these templates, so they live in one place."""
from __future__ import annotations

import random

from .scene import COLOURS, COLUMNS, ROWS, SHAPES, TYPICAL, Obj, position_words

QUESTION_FAMILIES = ("count", "colour", "existence", "position")
GENERATION_PROMPT = "write {k} questions and answers about the image ."
CAPTION_PROMPT = "describe the image ."
K_RANGE = (2, 4)
EOS = "</s>"
PRIOR_COUNT = 2  # what a blind model says about counts (the middle of 1-4)
PRIOR_POSITION = (1, 1)  # ... and about places


def q_count() -> str:
    return "how many shapes are there ?"


def a_count(n: int) -> str:
    return "there is 1 shape ." if n == 1 else f"there are {n} shapes ."


def q_colour(shape: str) -> str:
    return f"what colour is the {shape} ?"


def a_colour(shape: str, colour: str) -> str:
    return f"the {shape} is {colour} ."


def q_exists(colour: str, shape: str) -> str:
    return f"is there a {colour} {shape} ?"


def a_exists(colour: str, shape: str, yes: bool) -> str:
    return f"yes , there is a {colour} {shape} ." if yes else f"no , there is no {colour} {shape} ."


def q_position(shape: str) -> str:
    return f"where is the {shape} ?"


def a_position(shape: str, position: str) -> str:
    return f"the {shape} is at the {position} ."


def caption(objects: list[Obj]) -> str:
    return " and ".join(f"a {o.size} {o.colour} {o.shape} at the {o.position}" for o in objects) + " ."


def present(objects: list[Obj], colour: str, shape: str) -> bool:
    return any(o.shape == shape and o.colour == colour for o in objects)


def absent_objects(objects: list[Obj], kind: str, rng: random.Random) -> tuple[str, str] | None:
    """An absent (colour, shape) of POPE's three kinds: random, popular (the shape's typical colour),
    adversarial (a present shape in another colour). None when the scene has no such object."""
    shapes_here = {o.shape for o in objects}
    if kind == "random":
        options = [(c, s) for s in SHAPES for c in COLOURS if not present(objects, c, s)]
    elif kind == "popular":
        options = [(TYPICAL[s], s) for s in SHAPES if not present(objects, TYPICAL[s], s)]
    elif kind == "adversarial":
        options = [(c, s) for s in sorted(shapes_here) for c in COLOURS if not present(objects, c, s)]
    else:
        raise ValueError(f"unknown absent-object kind {kind!r}")
    return rng.choice(options) if options else None


def true_pair(objects: list[Obj], family: str, rng: random.Random) -> tuple[str, str]:
    """A (question, answer) of `family` that is true of the scene."""
    if family == "count":
        return q_count(), a_count(len(objects))
    obj = rng.choice(objects)
    if family == "colour":
        return q_colour(obj.shape), a_colour(obj.shape, obj.colour)
    if family == "position":
        return q_position(obj.shape), a_position(obj.shape, obj.position)
    if family == "existence":
        if rng.random() < 0.5:
            return q_exists(obj.colour, obj.shape), a_exists(obj.colour, obj.shape, True)
        colour, shape = absent_objects(objects, rng.choice(("random", "popular", "adversarial")), rng) \
            or absent_objects(objects, "random", rng)
        return q_exists(colour, shape), a_exists(colour, shape, False)
    raise ValueError(f"unknown family {family!r}")


def prior_pair(objects: list[Obj], family: str, rng: random.Random) -> tuple[str, str]:
    """A pair a blind generator would write from the priors alone; usually false of the scene."""
    if family == "count":
        return q_count(), a_count(PRIOR_COUNT)
    shape = rng.choice(SHAPES)  # may be absent: a question about something not in the image
    if family == "colour":
        return q_colour(shape), a_colour(shape, TYPICAL[shape])
    if family == "position":
        return q_position(shape), a_position(shape, position_words(*PRIOR_POSITION))
    if family == "existence":
        return q_exists(TYPICAL[shape], shape), a_exists(TYPICAL[shape], shape, True)
    raise ValueError(f"unknown family {family!r}")


def template_answers(objects: list[Obj], family: str, rng: random.Random) -> tuple[str, list[str], int]:
    """(question, every answer its template can give, index of the true one) for a direct question
    of `family` about a random object of the scene: what the probe ranks and the benchmarks' choices
    are drawn from."""
    obj = rng.choice(objects)
    if family == "colour":
        return q_colour(obj.shape), [a_colour(obj.shape, c) for c in COLOURS], list(COLOURS).index(obj.colour)
    if family == "count":
        return q_count(), [a_count(n) for n in range(1, 5)], len(objects) - 1
    if family == "position":
        places = [position_words(r, c) for r in range(3) for c in range(3)]
        return q_position(obj.shape), [a_position(obj.shape, p) for p in places], places.index(obj.position)
    raise ValueError(f"no direct question of family {family!r}")


def format_pairs(pairs: list[tuple[str, str]]) -> str:
    """The generator's output form, which c3l's QA parser reads: "q: ... a: ... q: ... a: ..."."""
    return " ".join(f"q: {q} a: {a}" for q, a in pairs)


def corpus() -> list[str]:
    """Every word the world's prompts, questions, answers and captions use (the tokenizer's vocabulary)."""
    lines = [GENERATION_PROMPT.format(k=k) for k in range(1, 10)] + [CAPTION_PROMPT, "q: a: no , there"]
    lines.append(" ".join(SHAPES) + " " + " ".join(COLOURS) + " small large " + " ".join(ROWS + COLUMNS))
    lines.append(q_count())
    for n in range(1, 5):
        lines.append(a_count(n))
    for shape in SHAPES:
        for colour in COLOURS:
            lines += [q_colour(shape), a_colour(shape, colour), q_exists(colour, shape),
                      a_exists(colour, shape, True), a_exists(colour, shape, False)]
        for r in range(3):
            for c in range(3):
                lines += [q_position(shape), a_position(shape, position_words(r, c))]
    lines.append(caption([Obj("square", "red", "small", 0, 0), Obj("circle", "blue", "large", 1, 1)]))
    # Benchmarks' own prompt words (POPE's LLaVA suffix, SEED's letter prompt) so they tokenize.
    lines.append("answer the question using a single word or phrase . answer with the option's letter from the given choices directly . a b c d")
    return lines
