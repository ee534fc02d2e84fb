"""The builder and grader operations (protocol 1.3) through a real worker: typed replies, progress
frames before the reply, errors that leave the worker serving, and the world folder laid out as
world/layout.json says."""
import json
from pathlib import Path

import pytest
import zmq

from c3l_worker.world.layout import LAYOUT, MARKER
from c3l_worker.world.scene import Obj
from test_server import Client, assert_error, assert_ok, assert_serving, running_worker

BUILD_TIMEOUT_S = 120.0
TINY_WORLD = {"pool_images": 4, "bench_images": 4,
              "pretrain": {"train_scenes": 8, "ground_steps": 2, "align_steps": 2, "generator_steps": 2, "batch_size": 2}}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    context = zmq.Context()
    with running_worker(tmp_path_factory.mktemp("worker-logs")) as worker:
        c = Client(context, worker)
        yield c
        c.close()
    context.destroy(linger=0)


def test_grade_pairs_answers_the_graders_summary_and_writes_labels(client, tmp_path):
    objects = [Obj("square", "red", "small", 0, 0), Obj("circle", "green", "large", 1, 1)]
    truth = tmp_path / "truth.jsonl"
    truth.write_text(json.dumps({"id": "img", "objects": [o.to_json() for o in objects]}) + "\n")
    pairs = [  # grounded, hallucinated (wrong colour), grounded without a score, malformed
        {"id": "1", "image_id": "img", "question": "what colour is the circle ?", "answer": "the circle is green .", "i2c": 2.0},
        {"id": "2", "image_id": "img", "question": "what colour is the circle ?", "answer": "the circle is blue .", "i2c": 0.5},
        {"id": "3", "image_id": "img", "question": "how many shapes are there ?", "answer": "there are 2 shapes .", "i2c": None},
        {"id": "4", "image_id": "img", "question": "hello ?", "answer": "hi .", "i2c": 9.0},
    ]
    (tmp_path / "pairs.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs))
    request = {"truth_file": str(truth), "pairs_file": str(tmp_path / "pairs.jsonl"), "labels_file": str(tmp_path / "labels.jsonl")}
    msg_id = client.send("grade_pairs", request)
    summary = assert_ok(client.reply_to(msg_id), msg_id, "grade_pairs")
    assert summary == {
        "pairs": 4, "grounded_share": 0.5, "hallucinated_share": 0.25, "malformed_share": 0.25,
        "by_family": {"colour": {"pairs": 2, "grounded": 1, "hallucinated": 1, "malformed": 0},
                      "count": {"pairs": 1, "grounded": 1, "hallucinated": 0, "malformed": 0},
                      "unknown": {"pairs": 1, "grounded": 0, "hallucinated": 0, "malformed": 1}},
        "auroc_i2c": 1.0}  # the one scored grounded pair (2.0) above the hallucinated one (0.5)
    labels = [json.loads(line) for line in (tmp_path / "labels.jsonl").read_text().splitlines()]
    assert [(l["id"], l["label"]) for l in labels] == [("1", "grounded"), ("2", "hallucinated"), ("3", "grounded"), ("4", "malformed")]

    (tmp_path / "stray.jsonl").write_text(json.dumps({**pairs[0], "image_id": "elsewhere"}) + "\n")
    msg_id = client.send("grade_pairs", {"truth_file": str(truth), "pairs_file": str(tmp_path / "stray.jsonl")})
    assert "elsewhere" in assert_error(client.reply_to(msg_id), "KeyError", msg_id)["message"]
    assert_serving(client)


def test_build_world_reports_progress_then_the_marker_and_is_found_built_the_second_time(client, tmp_path):
    out = tmp_path / "world"
    msg_id = client.send("build_world", {"out_dir": str(out), "params": TINY_WORLD, "replace_stale": True})
    reply = assert_ok(client.reply_to(msg_id, BUILD_TIMEOUT_S), msg_id, "build_world")
    assert (reply["dir"], reply["already_built"]) == (str(out), False)
    assert reply["marker"] == json.loads((out / MARKER).read_text())
    assert reply["marker"]["stats"]["generator"]["steps"] == 2
    lines = client.progress.pop(msg_id)
    assert lines[0] == "4 pipeline images and 4 benchmark images drawn" and lines[-1].startswith(f"built {out}"), lines
    assert any(line.startswith("generator: ") for line in lines)
    # layout.json is the folder's one description: every path it names was built.
    named = [*(p for split in LAYOUT["splits"].values() for p in split.values()), *LAYOUT["benchmarks"].values(), *LAYOUT["models"].values()]
    assert [p for p in named if not (out / p).exists()] == []

    before = (out / MARKER).stat().st_mtime_ns
    msg_id = client.send("build_world", {"out_dir": str(out), "params": TINY_WORLD})
    assert assert_ok(client.reply_to(msg_id), msg_id, "build_world")["already_built"] is True
    assert (out / MARKER).stat().st_mtime_ns == before and msg_id not in client.progress


def test_build_errors_name_the_problem_and_the_worker_keeps_serving(client, tmp_path):
    msg_id = client.send("build_world", {"out_dir": str(tmp_path / "w"), "params": {"pretrain": {"align_step": 3}}})
    assert "pretrain.align_step" in assert_error(client.reply_to(msg_id), "ValueError", msg_id)["message"]
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "mine.txt").write_text("not a build")
    msg_id = client.send("build_smoke", {"out_dir": str(foreign)})
    assert str(foreign) in assert_error(client.reply_to(msg_id), "FileExistsError", msg_id)["message"]
    assert (foreign / "mine.txt").is_file()
    assert_serving(client)



def test_the_pipeline_entry_points_are_gone():
    """Python is reached through the worker protocol only (issue 13): no `python -m` door for the pipeline."""
    package = Path(__file__).parents[1] / "c3l_worker"
    assert not (package / "world" / "__main__.py").exists()
    assert "__main__" not in (package / "smoke.py").read_text()
