"""The world's base generation for the scoring benchmarks: the generator writes k pairs for each
pipeline image (seeded sampling, as the pipeline's generate stage) and the grader labels them."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass
class WorldGeneration:
    loaded: object  # the world's generator (a LoadedModel)
    pairs: list[dict]  # {"id", "image_id", "question", "answer", "image_path"}
    labels: list[dict]  # the grader's {"label", "family", ...} per pair, in order
    summary: dict  # the grade of the generation (shares, per family)


def load_generator(world: Path):
    from c3l_worker.models import load_model

    return load_model(str(world / "models" / "generator"))


def generate_and_grade(world: Path, loaded, *, images: int, k: int, temperature: float, seed: int,
                       max_new_tokens: int = 72, batch_size: int = 32) -> WorldGeneration:
    from c3l_worker.generation import GenerationSettings, generate_texts
    from c3l_worker.qa_parser import parse_qa
    from c3l_worker.world.grading import grade_pairs
    from c3l_worker.world.language import GENERATION_PROMPT
    from c3l_worker.world.scene import Obj

    data = world / "data"
    manifest = [json.loads(line) for line in (data / "manifest.jsonl").read_text().splitlines()][:images]
    truth = {t["id"]: [Obj.from_json(o) for o in t["objects"]] for t in map(json.loads, (data / "truth.jsonl").read_text().splitlines())}
    items = [{"id": m["id"], "image_path": str(data / m["image"]), "prompt": GENERATION_PROMPT.format(k=k)} for m in manifest]
    paths = {item["id"]: item["image_path"] for item in items}
    settings = GenerationSettings.from_request({"max_new_tokens": max_new_tokens, "do_sample": True, "temperature": temperature,
                                                "top_p": 1.0, "stop": [], "seed": seed, "batch_size": batch_size})
    pairs = []
    for completion in generate_texts(loaded, items, settings):
        parsed, _ = parse_qa(completion.text, truncated=completion.finish_reason == "length")
        pairs += [{"id": f"{completion.item_id}#{j}", "image_id": completion.item_id, "image_path": paths[completion.item_id], **p}
                  for j, p in enumerate(parsed)]
    summary, labels = grade_pairs(truth, [{key: p[key] for key in ("id", "image_id", "question", "answer")} for p in pairs])
    return WorldGeneration(loaded, pairs, labels, summary)
