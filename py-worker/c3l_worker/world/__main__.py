"""python -m c3l_worker.world build --out DIR [--params JSON] [--replace-stale]
python -m c3l_worker.world grade --truth TRUTH.jsonl --pairs PAIRS.jsonl [--labels OUT.jsonl]"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m c3l_worker.world", description="c3l's embedded synthetic world")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build (or find built) the world folder: images, truth, benchmarks, models")
    build.add_argument("--out", required=True)
    build.add_argument("--params", default="{}", help="JSON: seed, pool_images, bench_images, pretrain {...}")
    build.add_argument("--threads", type=int, default=1, help="torch intra-op threads (more were slower on 2 cores)")
    build.add_argument("--replace-stale", action="store_true", help="rebuild a folder built with other parameters")
    build.add_argument("--parent-pid", type=int, default=None, help="stop when this process (the orchestrator) is gone")
    grade = sub.add_parser("grade", help="label generated pairs grounded / hallucinated / malformed against the truth")
    grade.add_argument("--truth", required=True)
    grade.add_argument("--pairs", required=True, help='JSON Lines: {"id", "image_id", "question", "answer", "i2c"}')
    grade.add_argument("--labels", default=None, help="write per-pair labels here (JSON Lines)")
    args = parser.parse_args(argv)
    if args.command == "grade":
        from .grading import grade_files

        print(json.dumps(grade_files(args.truth, args.pairs, args.labels)))
        return 0
    try:
        params = json.loads(args.params)
    except json.JSONDecodeError as exc:
        parser.error(f"--params is not JSON: {exc}")
    from .build import MARKER, normalise_params
    from ..built_folder import is_complete

    if is_complete(Path(args.out), MARKER, normalise_params(params), "world build", args.replace_stale):
        print(args.out)  # finished already: answered without importing torch (seconds)
        return 0
    if args.parent_pid:
        watch_parent(args.parent_pid)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import torch

    torch.set_num_threads(args.threads)
    from .build import build_world

    print(build_world(args.out, params, replace_stale=args.replace_stale))
    return 0


def watch_parent(parent_pid: int) -> None:
    """A builder orphaned by a killed run would train on for minutes: leave with it. Its .work
    checkpoints stay, so the next build resumes."""
    def loop():
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        print("world: the orchestrator is gone; stopping (the build resumes from its checkpoints)", file=sys.stderr, flush=True)
        os._exit(3)
    threading.Thread(target=loop, name="parent-watch", daemon=True).start()


if __name__ == "__main__":
    raise SystemExit(main())
