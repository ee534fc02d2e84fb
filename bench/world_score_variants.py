"""Per-pair score variants beyond the estimators, from one pass of per-token log-probabilities.

    .venv/bin/python bench/world_score_variants.py WORLD_DIR [--seeds 0,1,2] [--images 200]

The world's generator writes k = 3 pairs per pipeline image (T = 0.7, seeded per seed); the grader
labels them; every pair's answer tokens are scored with the image and with it withheld (drop).
Prints, per variant, the AUROC of grounded vs hallucinated (mean ± sd over seeds), the AUROC
within each question family, and the grounded share of the top `--keep` pairs under equal family
quotas. Variants: mean/min log-ratio, mean/min log p(A|V), their sums, the vocabulary KL. What
issue #18's first target was chosen from (EVIDENCE.md); `logratio_minlogp` became an estimator.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "py-worker"))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # world_generation.py

from c3l_worker.world.language import QUESTION_FAMILIES  # noqa: E402 (after the path insert)


def variants(w: list[float], o: list[float], kl: list[float]) -> dict[str, float]:
    lr = [a - b for a, b in zip(w, o)]
    n = len(w)
    return {"logratio mean (logratio)": sum(lr) / n, "logratio min": min(lr), "log p(A|V) mean": sum(w) / n,
            "log p(A|V) min": min(w), "logratio mean + log p(A|V) min (logratio_minlogp)": sum(lr) / n + min(w),
            "logratio mean + log p(A|V) mean": sum(lr) / n + sum(w) / n, "vocabulary KL mean (kl)": sum(kl) / n}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("world", type=Path)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--keep", type=int, default=150, help="top pairs under equal family quotas")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from c3l_worker.scoring.estimators import token_logprobs
    from c3l_worker.scoring.optimized import score_optimized
    from c3l_worker.scoring.prepare import prepare_items
    from c3l_worker.world.grading import auroc
    from world_generation import generate_and_grade, load_generator

    loaded = load_generator(args.world)
    per_seed: list[dict] = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        gen = generate_and_grade(args.world, loaded, images=args.images, k=3, temperature=0.7, seed=seed)
        pairs, summary, labels = gen.pairs, gen.summary, gen.labels
        score_input = [{"id": p["id"], "image_path": p["image_path"], "question": p["question"], "answer": p["answer"]} for p in pairs]
        scores: dict[int, dict[str, float]] = {}
        with torch.inference_mode():
            loaded.model.eval()
            prepared, _ = prepare_items(loaded, score_input, "drop", "answer")
            for item, lw, lo in score_optimized(loaded, prepared, 64):
                targets = torch.tensor(item.targets)
                lw, lo = lw.double(), lo.double()
                kl = (lw.exp() * (lw - lo)).sum(-1).clamp_min(0)
                scores[item.index] = variants(token_logprobs(lw, targets).tolist(), token_logprobs(lo, targets).tolist(), kl.tolist())
        rows = [(scores[i], labels[i]["label"], labels[i]["family"]) for i in range(len(pairs)) if i in scores and labels[i]["label"] != "malformed"]
        result = {"seed": seed, "pairs": len(pairs), "grounded_share": summary["grounded_share"], "variants": {}}
        for name in rows[0][0]:
            by = lambda label, fam=None: [s[name] for s, l, f in rows if l == label and (fam is None or f == fam)]  # noqa: E731
            ranked = sorted(rows, key=lambda r: -r[0][name])
            quota = {f: args.keep // len(QUESTION_FAMILIES) for f in QUESTION_FAMILIES}
            kept = []
            for s, label, family in ranked:
                if quota.get(family, 0) > 0:
                    quota[family] -= 1
                    kept.append(label)
            result["variants"][name] = {"auroc": auroc(by("grounded"), by("hallucinated")),
                                        "auroc_by_family": {f: auroc(by("grounded", f), by("hallucinated", f)) for f in QUESTION_FAMILIES},
                                        "top_grounded_share": sum(label == "grounded" for label in kept) / max(1, len(kept))}
        per_seed.append(result)
    def mean_sd(values):
        values = [v for v in values if v is not None]
        return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}" if len(values) > 1 else f"{values[0]:.3f}"
    print(f"| score | AUROC | {' | '.join(f'{f} AUROC' for f in QUESTION_FAMILIES)} | grounded share of the top {args.keep} (equal family quotas) |")
    print("|---|---:|" + "---:|" * len(QUESTION_FAMILIES) + "---:|")
    for name in per_seed[0]["variants"]:
        v = [r["variants"][name] for r in per_seed]
        fam = " | ".join(mean_sd([x["auroc_by_family"][f] for x in v]) for f in QUESTION_FAMILIES)
        print(f"| {name} | {mean_sd([x['auroc'] for x in v])} | {fam} | {mean_sd([x['top_grounded_share'] for x in v])} |")
    print(f"\nbase generation: {', '.join(str(r['pairs']) for r in per_seed)} pairs, grounded "
          f"{mean_sd([r['grounded_share'] for r in per_seed])} (seeds {args.seeds}); world {args.world}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
