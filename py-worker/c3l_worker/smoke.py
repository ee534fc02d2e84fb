"""The `builtin:smoke` data set and `builtin:smoke-llava` model: a few drawn images and a tiny LLaVA
trained just enough to answer the generation prompt with parseable, image-dependent QA pairs.

    python -m c3l_worker.smoke --out DIR [--images 12] [--seed 0] [--steps 250]

DIR/images/<id>.png, DIR/manifest.jsonl ({"id", "image"}), DIR/truth.jsonl (the drawn objects and
every true templated pair), DIR/model/ (a transformers checkpoint) and DIR/smoke.json, written
last: a finished build with equal parameters is returned at once. A random tiny LLaVA writes
random words, which never parse into pairs; this one has its projector aligned to the LM's word
embeddings (so it cannot ignore the image) and is then trained (plain LM loss, the project's own
Trainer) on templated pairs about each image, so the whole pipeline has pairs to work on.
Grounding is only as good as a few hundred steps on a dozen images make it. Deterministic for a
seed on one machine; about 40 s on one CPU thread.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

from .built_folder import is_complete, staging, write_marker

MARKER = "smoke.json"  # written last: its presence means the folder is complete
# The smoke config's generation prompt, k in K_RANGE; the model is trained on exactly this text.
PROMPT = "write {k} questions and answers about the image ."
K_RANGE = (2, 4)
SIZE = 48  # the tiny LLaVA's image size: a 3x3 grid of 16-px cells, one vision patch each
CELL = SIZE // 3
SHAPES = ("square", "circle", "triangle")
COLOURS = {"red": (220, 40, 40), "green": (40, 170, 60), "blue": (40, 80, 220), "yellow": (235, 205, 30)}
BACKGROUND = (245, 245, 245)
ROWS = ("top", "middle", "bottom")
COLUMNS = ("left", "centre", "right")
EOS = "</s>"  # ends every training target, so generation stops by itself
# Of the training examples; the rest are single question -> answer, whose answers only the image
# tells (0.4 grounded the model more than 0.6 at the same cost, on one seed: noisy).
GENERATION_SHARE = 0.4


def position(row: int, col: int) -> str:
    return "centre" if (row, col) == (1, 1) else f"{ROWS[row]} {COLUMNS[col]}"


def draw_scene(rng: random.Random) -> list[dict]:
    """1-2 objects with distinct shapes, colours and grid cells."""
    count = rng.choice((1, 2))
    shapes, colours = rng.sample(SHAPES, count), rng.sample(sorted(COLOURS), count)
    cells = rng.sample([(r, c) for r in range(3) for c in range(3)], count)
    return [{"shape": s, "colour": c, "row": r, "col": k, "position": position(r, k)}
            for s, c, (r, k) in zip(shapes, colours, cells)]


def render(objects: list[dict]) -> Image.Image:
    image = Image.new("RGB", (SIZE, SIZE), BACKGROUND)
    draw = ImageDraw.Draw(image)
    for obj in objects:
        x, y, m = obj["col"] * CELL, obj["row"] * CELL, 2
        box = (x + m, y + m, x + CELL - 1 - m, y + CELL - 1 - m)
        fill = COLOURS[obj["colour"]]
        if obj["shape"] == "square":
            draw.rectangle(box, fill=fill)
        elif obj["shape"] == "circle":
            draw.ellipse(box, fill=fill)
        else:
            draw.polygon([((box[0] + box[2]) / 2, box[1]), (box[0], box[3]), (box[2], box[3])], fill=fill)
    return image


def true_pairs(objects: list[dict]) -> list[tuple[str, str]]:
    """Every templated (question, answer) that is true of the scene."""
    n = len(objects)
    pairs = [("how many shapes are there ?", "there is 1 shape ." if n == 1 else f"there are {n} shapes ."),
             ("what is in the image ?", " and ".join(f"a {o['colour']} {o['shape']}" for o in objects) + " .")]
    for o in objects:
        s, c = o["shape"], o["colour"]
        pairs += [(f"what colour is the {s} ?", f"the {s} is {c} ."),
                  (f"what shape is {c} ?", f"the {c} shape is a {s} ."),
                  (f"where is the {s} ?", f"the {s} is at the {o['position']} ."),
                  (f"is there a {s} ?", f"yes , there is a {c} {s} .")]
    present = {o["shape"] for o in objects}
    pairs += [(f"is there a {s} ?", f"no , there is no {s} .") for s in SHAPES if s not in present]
    return pairs


def format_pairs(pairs: list[tuple[str, str]]) -> str:
    """The text the generator is taught to write, in the QA parser's "q: ... a: ..." form."""
    return " ".join(f"q: {q} a: {a}" for q, a in pairs)


def corpus() -> list[str]:
    """The tiny LLaVA's default corpus plus every word the prompt and the templates use."""
    from .tiny_llava import default_corpus

    lines = [PROMPT.format(k=k) for k in range(K_RANGE[0], K_RANGE[1] + 1)]
    for shape in SHAPES:
        for colour in COLOURS:
            for row in range(3):
                for col in range(3):
                    obj = {"shape": shape, "colour": colour, "row": row, "col": col, "position": position(row, col)}
                    lines.append(format_pairs(true_pairs([obj])))
    return default_corpus() + lines


def training_example(rng: random.Random, scene: dict, image_path: str, index: int) -> dict:
    """A TrainExample: most teach the generation prompt, the rest single question -> answer (so
    scoring a pair's answer under its question means something)."""
    pairs = scene["pairs"]
    if rng.random() < GENERATION_SHARE:
        k = rng.randint(*K_RANGE)
        # A random subset, in the templates' order: greedy decoding then never repeats a pair.
        chosen = sorted(rng.sample(range(len(pairs)), min(k, len(pairs))))
        context, positive = PROMPT.format(k=k), format_pairs([pairs[i] for i in chosen])
    else:
        context, positive = rng.choice(pairs)
    return {"id": f"{scene['id']}#{index}", "image_path": image_path, "context": context,
            "positive": f"{positive} {EOS}", "negatives": []}


def _params(images: int, seed: int, steps: int, batch_size: int, lr: float, align_steps: int) -> dict:
    return {"format": 1,  # bump when the build changes output for the same parameters
            "images": images, "seed": seed, "steps": steps, "batch_size": batch_size, "lr": lr,
            "align_steps": align_steps,
            "prompt": PROMPT, "k_range": list(K_RANGE)}


def build_smoke(out_dir: str | os.PathLike, *, images: int = 12, seed: int = 0, steps: int = 250,
                batch_size: int = 8, lr: float = 3e-3, align_steps: int = 200, replace_stale: bool = False) -> Path:
    """Build (or find already built) the smoke data and model at `out_dir`; returns its path."""
    out = Path(out_dir)
    params = _params(images, seed, steps, batch_size, lr, align_steps)
    if is_complete(out, MARKER, params, "smoke build", replace_stale):
        return out
    if images < 1 or steps < 1 or batch_size < 1:
        raise ValueError(f"images, steps and batch_size must be >= 1, got {images}, {steps}, {batch_size}")
    started = time.perf_counter()
    with staging(out, MARKER, params, "smoke build") as tmp:
        (tmp / "images").mkdir()
        scenes = _write_images(tmp, images, seed)
        stats = _train_model(tmp, scenes, params)
        write_marker(tmp, MARKER, {**params, **stats, "build_seconds": round(time.perf_counter() - started, 2)})
    return out


def _write_images(folder: Path, count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    scenes = []
    with open(folder / "manifest.jsonl", "w") as manifest, open(folder / "truth.jsonl", "w") as truth:
        for i in range(count):
            scene_id = f"smoke-{i:03d}"
            objects = draw_scene(rng)
            render(objects).save(folder / "images" / f"{scene_id}.png")
            pairs = true_pairs(objects)
            manifest.write(json.dumps({"id": scene_id, "image": f"images/{scene_id}.png"}) + "\n")
            truth.write(json.dumps({"id": scene_id, "objects": objects,
                                    "pairs": [{"question": q, "answer": a} for q, a in pairs]}) + "\n")
            scenes.append({"id": scene_id, "objects": objects, "pairs": pairs})
    return scenes


def _train_model(folder: Path, scenes: list[dict], params: dict) -> dict:
    """Tiny LLaVA -> projector alignment -> `steps` optimizer steps of LM loss (the project's
    Trainer, form "none") -> folder/model. Returns training stats for the marker."""
    from .models import load_model
    from .tiny_llava import build_tiny_llava
    from .training import Trainer, TrainSettings, export_model

    rng = random.Random(params["seed"])
    with tempfile.TemporaryDirectory(prefix="c3l-smoke-") as base:
        loaded = load_model(build_tiny_llava(Path(base) / "tiny-llava", corpus=corpus(), seed=params["seed"]))
    paths = paths_for(folder, scenes)
    align_loss = _align_projector(loaded, scenes, paths, params["align_steps"], params["lr"])
    settings = TrainSettings(lr=params["lr"], total_steps=params["steps"], warmup_steps=min(20, params["steps"] // 10),
                             schedule="cosine", form="none", seed=params["seed"])
    trainer = Trainer(loaded, settings)
    losses = []
    for step in range(params["steps"]):
        batch = [training_example(rng, scene, paths[scene["id"]], step * params["batch_size"] + j)
                 for j, scene in enumerate(rng.choice(scenes) for _ in range(params["batch_size"]))]
        result = trainer.train_step(batch)
        if result["errors"]:
            raise RuntimeError(f"smoke training examples failed: {result['errors']}")
        losses.append(result["loss"])
    export_model(loaded, folder / "model")
    tail = losses[-max(1, len(losses) // 10):]
    return {"align_loss": round(align_loss, 4), "first_loss": round(losses[0], 4),
            "final_loss": round(sum(tail) / len(tail), 4), "vocab_size": len(loaded.processor.tokenizer),
            "num_parameters": loaded.num_parameters}


def paths_for(folder: Path, scenes: list[dict]) -> dict[str, str]:
    return {s["id"]: str(folder / "images" / f"{s['id']}.png") for s in scenes}


def _cell_targets(loaded, scenes: list[dict]):
    """[n_images, 9, vocab] target distributions: half colour word, half shape word for a cell
    holding an object, the word "background" for an empty one."""
    import torch

    tokenizer = loaded.processor.tokenizer
    vocab = len(tokenizer)
    word = tokenizer.convert_tokens_to_ids
    targets = torch.zeros(len(scenes), 9, vocab)
    targets[:, :, word("background")] = 1.0
    for i, scene in enumerate(scenes):
        for obj in scene["objects"]:
            cell = targets[i, 3 * obj["row"] + obj["col"]]
            cell.zero_()
            cell[word(obj["colour"])] = 0.5
            cell[word(obj["shape"])] = 0.5
    return targets


def _align_projector(loaded, scenes: list[dict], paths: dict[str, str], steps: int, lr: float) -> float:
    """PITFALLS.md: a tiny LLaVA trained with the LM loss alone ignores the image (its projector
    collapses). So first train the projector alone to put each cell's image token near the LM's
    own embeddings of the words for what is drawn there; the LM then only has to copy from its
    context. Cheap: the vision tower runs once, the projector is the only thing trained."""
    import torch

    from . import inputs

    model = loaded.model
    images = [inputs.load_image(paths[s["id"]], s["id"]) for s in scenes]
    with torch.no_grad():
        tower = loaded.family.vision_tower(model)(inputs.pixel_values(loaded, images), output_hidden_states=True)
        features = tower.hidden_states[model.config.vision_feature_layer][:, 1:]  # "default": CLS dropped
    if features.shape[1] != 9:
        raise ValueError(f"expected 9 image tokens (a 3x3 grid of cells), the model has {features.shape[1]}")
    projector = loaded.family.projector(model)
    words = model.get_input_embeddings().weight.detach()
    targets = _cell_targets(loaded, scenes)
    optimizer = torch.optim.AdamW(projector.parameters(), lr=lr)
    loss = torch.zeros(())
    for _ in range(steps):
        logits = projector(features) @ words.T
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten(0, 1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.item()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m c3l_worker.smoke", description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="folder to create (returned at once if already built)")
    parser.add_argument("--images", type=int, default=12, help="number of images to draw")
    parser.add_argument("--seed", type=int, default=0, help="seed of the drawings, the weights and the training")
    parser.add_argument("--steps", type=int, default=250, help="training steps (batch 8)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (more were slower on 2 cores)")
    parser.add_argument("--replace-stale", action="store_true", help="rebuild a finished build made with other parameters (for caches)")
    args = parser.parse_args(argv)
    # torch is imported lazily (a finished build returns without it) and reads these when it loads.
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(args.threads)
    print(build_smoke(args.out, images=args.images, seed=args.seed, steps=args.steps, replace_stale=args.replace_stale))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
