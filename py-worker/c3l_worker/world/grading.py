"""The world's grader: labels generated question/answer pairs against a scene's ground truth, and
grades files of them (shares per label and family, and how well I2C separates grounded from
hallucinated pairs: AUROC, malformed pairs left out of it).

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


def auroc(positives: list[float], negatives: list[float]) -> float | None:
    """P(score of a random positive > a random negative), ties counting half (Mann-Whitney U)."""
    if not positives or not negatives:
        return None
    ranked = sorted([(s, 1) for s in positives] + [(s, 0) for s in negatives])
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        mid = (i + 1 + j) / 2  # the average rank of a tie group (ranks are 1-based)
        rank_sum += mid * sum(label for _, label in ranked[i:j])
        i = j
    n_pos, n_neg = len(positives), len(negatives)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def read_jsonl(path) -> list[dict]:
    out = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON: {exc}") from None
    return out


def grade_pairs(truth: dict[str, list[Obj]], pairs: list[dict]) -> tuple[dict, list[dict]]:
    labels, by_family = [], {}
    for pair in pairs:
        objects = truth.get(pair["image_id"])
        if objects is None:
            raise KeyError(f"pair {pair['id']}: image {pair['image_id']!r} has no ground truth")
        family, label = grade(pair["question"], pair["answer"], objects)
        labels.append({"id": pair["id"], "family": family, "label": label})
        counts = by_family.setdefault(family, {"pairs": 0, **{k: 0 for k in LABELS}})
        counts["pairs"] += 1
        counts[label] += 1
    n = len(pairs)
    total = {k: sum(c[k] for c in by_family.values()) for k in LABELS}
    scores = {label: [p["i2c"] for p, l in zip(pairs, labels) if l["label"] == label and p.get("i2c") is not None]
              for label in ("grounded", "hallucinated")}
    summary = {"pairs": n, **{f"{k}_share": (total[k] / n if n else None) for k in LABELS},
               "by_family": by_family, "auroc_i2c": auroc(scores["grounded"], scores["hallucinated"])}
    return summary, labels


def grade_files(truth_file, pairs_file, labels_file=None) -> dict:
    truth = {t["id"]: [Obj.from_json(o) for o in t["objects"]] for t in read_jsonl(truth_file)}
    summary, labels = grade_pairs(truth, read_jsonl(pairs_file))
    if labels_file:
        Path(labels_file).write_text("".join(json.dumps(l) + "\n" for l in labels))
    return summary
