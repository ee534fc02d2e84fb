"""Benchmark of the content relevance module: naive per-pair two-pass scoring against the
optimized scorer (each image's prefix run once and reused), on the same items in one run.

    npm run bench:score        # = bash scripts/setup.sh && .venv/bin/python bench/score_bench.py
    .venv/bin/python bench/score_bench.py --images 2 --repeats 1      # quicker

The model is a tiny random LLaVA at LLaVA-1.5 sequence GEOMETRY (336 px images, 14 px patches:
576 image tokens before every pair), built once under .cache/; hidden sizes are small so a run
takes about a minute on one CPU thread. Pairs are ~40 tokens, K per image. Prints pairs/s for both
methods, the largest score difference between them, and as the last line `ratio: <optimized/naive>`.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch loads: 2 threads on 2 cores were 10-50x slower
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "py-worker"))

import torch  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from c3l_worker.models import load_model  # noqa: E402
from c3l_worker.scoring import score_items  # noqa: E402
from c3l_worker.tiny_llava import COLOURS, SHAPES, build_tiny_llava  # noqa: E402

MODEL = {"image_size": 336, "patch_size": 14, "vision_hidden": 64, "vision_layers": 2, "vision_heads": 2,
         "text_hidden": 128, "text_layers": 4, "text_heads": 4, "model_max_length": 1024}
SCORES = ("logp_with_image", "logp_without_image", "i2c")


def make_images(folder: Path, count: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        image = Image.new("RGB", (400, 360), "white")
        ImageDraw.Draw(image).ellipse((40 + 20 * i, 60, 200 + 20 * i, 220), fill=COLOURS[i % len(COLOURS)])
        paths.append(str(folder / f"bench-{i}.png"))
        image.save(paths[-1])
    return paths


def make_items(paths: list[str], pairs_per_image: int, seed: int = 0) -> list[dict]:
    """K question/answer pairs per image, ~40 tokens together (word-level tokenizer: a word is a token)."""
    rng = random.Random(seed)
    questions = ["what colour is the {s} on the {p} of the image ?",
                 "is there a {c} {s} next to the {o} in the {p} corner ?",
                 "how many {o}s are there in the image , and where is the {s} ?"]
    answers = ["the {s} is {c} , and it is next to the {o} on the {p} side of the grid . the {o} is not {c} .",
               "yes , there is a {c} {s} . it is at the {p} , next to {n} {o}s . the answer is yes .",
               "there are {n} {o}s in total . the {s} is in the {p} corner , one by one , {c} ."]
    items = []
    for i, path in enumerate(paths):
        for k in range(pairs_per_image):
            words = {"s": rng.choice(SHAPES), "o": rng.choice(SHAPES), "c": rng.choice(COLOURS),
                     "p": rng.choice(["left", "right", "top", "bottom"]), "n": rng.randint(2, 9)}
            items.append({"id": f"img{i}-pair{k}", "image_path": path,
                          "question": rng.choice(questions).format(**words),
                          "answer": rng.choice(answers).format(**words)})
    return items


def timed(loaded, items: list[dict], repeats: int, methods: dict[str, dict]) -> dict[str, tuple[float, list]]:
    """Best wall time per method over `repeats` rounds; the methods alternate within a round so
    both see the same machine load (other processes only ever slow a run down)."""
    best = {name: (float("inf"), []) for name in methods}
    for _ in range(repeats):
        for name, options in methods.items():
            started = time.perf_counter()
            results = score_items(loaded, items, **options)
            best[name] = min(best[name], (time.perf_counter() - started, results), key=lambda t: t[0])
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=8, help="distinct images (default 8)")
    parser.add_argument("--pairs-per-image", type=int, default=5, help="K (default 5)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per method; the best counts (default 5)")
    parser.add_argument("--batch-size", type=int, default=8, help="optimized scorer's batch size (default 8)")
    parser.add_argument("--estimator", default="kl")
    parser.add_argument("--withhold", default="drop")
    parser.add_argument("--span", default="answer")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    cache = ROOT / ".cache" / "bench"
    name = "tiny-llava-" + "-".join(str(v) for v in MODEL.values())  # a new geometry builds a new folder
    model_dir = build_tiny_llava(cache / name, seed=0, **MODEL)
    loaded = load_model(model_dir)
    items = make_items(make_images(cache / "images", args.images), args.pairs_per_image)
    options = {"estimator": args.estimator, "withhold": args.withhold, "span": args.span}
    lengths = [len(loaded.processor.tokenizer(" " + i["question"] + " " + i["answer"], add_special_tokens=False)
                   ["input_ids"]) for i in items]
    print(f"model: tiny LLaVA {MODEL} ({loaded.num_parameters / 1e6:.1f}M params), torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}")
    print(f"items: {len(items)} pairs = {args.images} images x K={args.pairs_per_image}, "
          f"{min(lengths)}-{max(lengths)} question+answer tokens, options {options}, batch_size {args.batch_size}")

    score_items(loaded, items[:2], method="naive", **options)  # warm-up: first calls allocate and dispatch
    score_items(loaded, items[:2], method="optimized", **options)
    best = timed(loaded, items, args.repeats, {"naive": {"method": "naive", **options},
                                               "optimized": {"method": "optimized", "batch_size": args.batch_size,
                                                             **options}})
    (naive_s, naive), (fast_s, fast) = best["naive"], best["optimized"]

    failed = [r["id"] for r in naive + fast if r["error"] is not None]
    if failed:
        print(f"error: items failed to score: {failed}", file=sys.stderr)
        return 1
    diff = max(abs(a[k] - b[k]) for a, b in zip(naive, fast) for k in SCORES)
    print(f"max abs diff naive vs optimized: {diff:.2e}")
    print(f"naive:     {len(items) / naive_s:8.2f} pairs/s ({naive_s:.2f} s for {len(items)} pairs, best of {args.repeats})")
    print(f"optimized: {len(items) / fast_s:8.2f} pairs/s ({fast_s:.2f} s for {len(items)} pairs, best of {args.repeats})")
    if diff > 1e-4:
        print(f"error: the optimized scores differ from the naive ones by {diff:.2e} (> 1e-4)", file=sys.stderr)
        return 1
    print(f"ratio: {naive_s / fast_s:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
