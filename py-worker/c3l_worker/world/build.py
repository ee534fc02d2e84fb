"""Building the world folder: pipeline images with ground truth, benchmarks, and the two pretrained
models, where layout.json puts them. A finished folder with equal parameters is returned at once (its
marker is written last); pretraining checkpoints live beside it in <out>.work, so a killed build
resumes exactly."""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Callable

from ..built_folder import is_complete, staging, write_marker
from . import benchmarks, language, layout
from .layout import FORMAT, MARKER, Split
from .pretrain import PhaseSettings, PretrainSettings, SceneBank, instruct_mix, run_phase
from .scene import Obj, draw_scene, render, scene_rng

DEFAULTS = {"seed": 0, "pool_images": 200, "bench_images": 100,
            "pretrain": {"train_scenes": 3000, "ground_steps": 800, "align_steps": 800, "generator_steps": 800, "batch_size": 16,
                         "hallucination_share": 0.2, "instruct_pairs": 3000, "instruct_share": 0.75}}


def normalise_params(params: dict) -> dict:
    """Defaults filled in; unknown keys refused (a typo must not silently build the default world)."""
    unknown = set(params) - set(DEFAULTS)
    unknown |= {f"pretrain.{k}" for k in set(params.get("pretrain") or {}) - set(DEFAULTS["pretrain"])}
    if unknown:
        raise ValueError(f"unknown world parameters: {', '.join(sorted(unknown))}")
    merged = {**DEFAULTS, **params, "pretrain": {**DEFAULTS["pretrain"], **(params.get("pretrain") or {})}}
    return {"format": FORMAT, **merged}


def pretrain_settings(params: dict) -> PretrainSettings:
    p = params["pretrain"]
    return PretrainSettings(
        seed=params["seed"], train_scenes=p["train_scenes"], hallucination_share=p["hallucination_share"],
        instruct_pairs=p["instruct_pairs"], instruct_share=p["instruct_share"],
        ground=PhaseSettings(steps=p["ground_steps"], lr=3e-3, batch_size=64, aux_weight=1.0),
        align=PhaseSettings(steps=p["align_steps"], lr=2e-3, batch_size=p["batch_size"], aux_weight=1.0),
        generator=PhaseSettings(steps=p["generator_steps"], lr=1e-3, batch_size=p["batch_size"], aux_weight=0.5))


def write_split(files: Split, seed: int, split: str, count: int) -> list[tuple[str, list[Obj]]]:
    """images/<id>.png, the manifest ({"id","image"}, image relative to the split's root) and the truth ({"id","objects"})."""
    files.images.mkdir(parents=True, exist_ok=True)
    images = Path(os.path.relpath(files.images, files.root)).as_posix()
    scenes = []
    with open(files.manifest, "w") as manifest, open(files.truth, "w") as truth:
        for index in range(count):
            rng = scene_rng(seed, split, index)
            objects = draw_scene(rng)
            scene_id = f"{split}-{index:05d}"
            render(objects, rng).save(files.images / f"{scene_id}.png")
            manifest.write(json.dumps({"id": scene_id, "image": f"{images}/{scene_id}.png"}) + "\n")
            truth.write(json.dumps({"id": scene_id, "objects": [o.to_json() for o in objects]}) + "\n")
            scenes.append((scene_id, objects))
    return scenes


def remove_dead_staging(out: Path) -> None:
    """Staging folders (<out>.tmp-<pid>) of builds that were killed: their process is gone."""
    for stale in out.parent.glob(f"{out.name}.tmp-*"):
        pid = stale.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(stale, ignore_errors=True)


def log(line: str) -> None:
    print(f"world: {line}", file=sys.stderr, flush=True)


def build_world(out_dir, params: dict, *, replace_stale: bool = False, progress: Callable[[str], None] = log) -> Path:
    """Builds (or finds built) the world at out_dir; `progress` gets each progress line (default: stderr)."""
    out = Path(out_dir)
    params = normalise_params(params)
    if is_complete(out, MARKER, params, "world build", replace_stale):
        return out
    remove_dead_staging(out)
    work = out.with_name(out.name + ".work")  # survives a kill: pretraining resumes from it
    work.mkdir(parents=True, exist_ok=True)
    (work / "params.json").write_text(json.dumps(params))
    started = time.perf_counter()
    with staging(out, MARKER, params, "world build") as tmp:
        write_split(layout.split(tmp, "data"), params["seed"], "pool", params["pool_images"])
        bench_files = layout.split(tmp, "bench")
        bench = write_split(bench_files, params["seed"], "bench", params["bench_images"])
        progress(f"{params['pool_images']} pipeline images and {params['bench_images']} benchmark images drawn")
        write_benchmarks(tmp, bench, bench_files.images, params["seed"])
        stats = train_models(tmp, work, params, bench, bench_files.images, progress)
        write_marker(tmp, MARKER, {**params, "stats": stats, "build_seconds": round(time.perf_counter() - started, 1)})
    shutil.rmtree(work, ignore_errors=True)
    progress(f"built {out} in {time.perf_counter() - started:.0f} s")
    return out


def write_benchmarks(folder: Path, scenes: list[tuple[str, list[Obj]]], images: Path, seed: int) -> None:
    """The benchmark files of the world `folder`; their image names are files in `images`."""
    named = [(f"{scene_id}.png", objects) for scene_id, objects in scenes]
    benchmarks.write_pope(layout.benchmark(folder, "pope"), named, seed)
    questions = benchmarks.mc_questions(named, seed)
    benchmarks.write_seed(layout.benchmark(folder, "seed"), questions)
    benchmarks.write_mmbench(layout.benchmark(folder, "mmbench"), questions, images)


def train_models(folder: Path, work: Path, params: dict, bench, bench_images: Path, progress: Callable[[str], None]) -> dict:
    from ..inputs import load_image
    from ..models import load_model
    from ..tiny_llava import build_tiny_llava
    from ..training import export_model
    from .probe import accuracy, existence_probe

    settings = pretrain_settings(params)
    loaded = load_model(build_tiny_llava(work / "init", corpus=language.corpus(), seed=params["seed"]))
    bank = SceneBank(loaded, params["seed"], settings.train_scenes)
    probe_scenes = [(objects, load_image(str(bench_images / f"{sid}.png"), sid)) for sid, objects in bench]
    stats = {"num_parameters": loaded.num_parameters, "vocab_size": len(loaded.processor.tokenizer)}
    mix = [a for _, _, a in instruct_mix(bank.objects, settings.instruct_pairs, settings.seed)]
    stats["instruct_mix"] = {"pairs": len(mix), "share": settings.instruct_share,
                             "existence_yes": sum(a.startswith("yes ,") for a in mix), "existence_no": sum(a.startswith("no ,") for a in mix)}
    began = time.perf_counter()
    stats["ground"] = run_phase(loaded, bank, settings, "ground", work, progress)
    stats["ground"]["seconds"] = round(time.perf_counter() - began, 1)
    for phase in ("align", "generator"):  # each phase's model is exported under its own name
        began = time.perf_counter()
        stats[phase] = run_phase(loaded, bank, settings, phase, work, progress)
        stats[phase]["seconds"] = round(time.perf_counter() - began, 1)
        stats[phase]["probe"] = {f: accuracy(loaded, probe_scenes, f, params["seed"]) for f in ("colour", "count", "position")}
        progress(f"{phase}: direct-question accuracy with image / blind: " + ", ".join(
            f"{f} {p['with_image']:.2f}/{p['blind']:.2f}" for f, p in stats[phase]["probe"].items()))
        # Yes/no on existence, by likelihood: the world's tiny models stayed at chance here (EVIDENCE.md).
        stats[phase]["probe"]["existence"] = existence_probe(loaded, probe_scenes, params["seed"])
        progress(f"{phase}: existence yes/no accuracy {stats[phase]['probe']['existence']['accuracy']:.2f}")
        export_model(loaded, layout.model(folder, phase))
    return stats
