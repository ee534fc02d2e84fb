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
    from c3l_worker.generation import GenerationSettings, generate_texts
    from c3l_worker.models import load_model
    from c3l_worker.qa_parser import parse_qa
    from c3l_worker.scoring import score_items
    from c3l_worker.world.grading import auroc, grade_pairs
    from c3l_worker.world.language import GENERATION_PROMPT
    from c3l_worker.world.scene import Obj

    data = args.world / "data"
    manifest = [json.loads(line) for line in (data / "manifest.jsonl").read_text().splitlines()][:args.images]
    truth = {t["id"]: [Obj.from_json(o) for o in t["objects"]] for t in map(json.loads, (data / "truth.jsonl").read_text().splitlines())}
    loaded = load_model(str(args.world / "models" / "generator"))
    items = [{"id": m["id"], "image_path": str(data / m["image"]), "prompt": GENERATION_PROMPT.format(k=args.k)} for m in manifest]
    settings = GenerationSettings.from_request({"max_new_tokens": 96, "do_sample": True, "temperature": args.temperature,
                                                "top_p": 1.0, "stop": [], "seed": args.seed, "batch_size": 16})
    pairs = []
    for completion in generate_texts(loaded, items, settings):
        parsed, _ = parse_qa(completion.text, truncated=completion.finish_reason == "length")
        pairs += [{"id": f"{completion.item_id}#{j}", "image_id": completion.item_id, **p} for j, p in enumerate(parsed)]
    summary, labels = grade_pairs(truth, pairs)
    label = [entry["label"] for entry in labels]
    paths = {item["id"]: item["image_path"] for item in items}
    score_input = [{"id": p["id"], "image_path": paths[p["image_id"]], "question": p["question"], "answer": p["answer"]} for p in pairs]
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
    print(json.dumps({"world": str(args.world), "images": len(items), "k": args.k, "temperature": args.temperature,
                      "seed": args.seed, "generation": summary, "variants": variants}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
