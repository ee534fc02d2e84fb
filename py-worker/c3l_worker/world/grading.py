"""Grading files of generated pairs: shares per label and family, and how well I2C separates
grounded from hallucinated pairs (AUROC; malformed pairs are left out of it)."""
from __future__ import annotations

import json
from pathlib import Path

from .grader import LABELS, grade
from .scene import Obj


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
