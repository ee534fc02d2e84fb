"""How well each I2C variant separates grounded from hallucinated pairs on a built world.

    .venv/bin/python bench/world_scoring.py WORLD_DIR [--images 200] [--k 3] [--temperature 0.7] [--seed 0]

The world's generator writes k pairs for each pipeline image (seeded sampling, as the pipeline's
generate stage), the grader labels them against the ground truth, and every scoring variant
(estimator × withhold × span) scores the same pairs; prints one JSON object: the grade of the
generation, AUROC per variant, and the grounded share of the top half by each variant.
WORLD_DIR is a built world folder (.cache/builtin/world-<hash>/, see `c3l runs` / the pretrain
stage's state for its path).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "py-worker"))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # world_generation.py

VARIANTS = [("logratio_minlogp", "drop", "answer"), ("logratio", "drop", "answer"), ("kl", "drop", "answer"),
            ("logratio", "blank", "answer"), ("logratio", "mask", "answer"), ("logratio", "drop", "qa"), ("kl", "drop", "qa")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("world", type=Path)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from c3l_worker.scoring import score_items
    from c3l_worker.world.grading import auroc
    from world_generation import generate_and_grade, load_generator

    loaded = load_generator(args.world)
    gen = generate_and_grade(args.world, loaded, images=args.images, k=args.k, temperature=args.temperature, seed=args.seed,
                             max_new_tokens=96, batch_size=16)
    pairs, summary = gen.pairs, gen.summary
    label = [entry["label"] for entry in gen.labels]
    score_input = [{"id": p["id"], "image_path": p["image_path"], "question": p["question"], "answer": p["answer"]} for p in pairs]
    variants = {}
    for estimator, withhold, span in VARIANTS:
        results = score_items(loaded, score_input, estimator=estimator, withhold=withhold, span=span, method="optimized", batch_size=32)
        i2c = [r["i2c"] for r in results]
        by = lambda name: [s for s, l in zip(i2c, label) if l == name and s is not None]  # noqa: E731
        top = sorted(range(len(pairs)), key=lambda i: -(i2c[i] if i2c[i] is not None else float("-inf")))[:len(pairs) // 2]
        variants[f"{estimator}/{withhold}/{span}"] = {
            "auroc": auroc(by("grounded"), by("hallucinated")),
            "top_half_grounded_share": sum(label[i] == "grounded" for i in top) / max(1, len(top))}
    logp = [r["logp_with_image"] for r in score_items(loaded, score_input, estimator="logratio", withhold="drop", span="answer",
                                                         method="optimized", batch_size=32)]
    variants["log p(A|V) alone"] = {"auroc": auroc([s for s, l in zip(logp, label) if l == "grounded"],
                                                    [s for s, l in zip(logp, label) if l == "hallucinated"])}
    print(json.dumps({"world": str(args.world), "images": len({p["image_id"] for p in pairs}), "k": args.k, "temperature": args.temperature,
                      "seed": args.seed, "generation": summary, "variants": variants}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
