"""The content relevance module (score) on the tiny LLaVA: exactness of the optimized scorer, the
estimators against hand-written references, padding/prompt independence, per-item errors, handler."""
import itertools

import pytest
import torch
from PIL import Image, ImageDraw

from c3l_worker.models import load_model
from c3l_worker.ops import HANDLERS
from c3l_worker.protocol.schema import SCHEMA, validate_fields
from c3l_worker.scoring import DEFAULTS, ESTIMATORS, METHODS, SPANS, WITHHOLDS, continuation, score_items
from c3l_worker.state import WorkerState

SCORES = ("logp_with_image", "logp_without_image", "i2c")
PAIRS = [
    ("what colour is the square ?", "the square is red ."),
    ("is there a circle ?", "no ."),
    ("how many shapes are there in total ?", "there are 3 circles in the top left corner of the grid ."),
]


@pytest.fixture(scope="module")
def loaded(tiny_llava_dir):
    return load_model(tiny_llava_dir)


@pytest.fixture(scope="module")
def image_paths(tmp_path_factory) -> list[str]:
    folder = tmp_path_factory.mktemp("score-images")
    paths = []
    for i, (colour, size) in enumerate([("red", (64, 64)), ("blue", (50, 40)), ("green", (80, 60))]):
        image = Image.new("RGB", size, "white")
        ImageDraw.Draw(image).rectangle((8, 8, 30, 30), fill=colour)
        paths.append(str(folder / f"img{i}.png"))
        image.save(paths[-1])
    return paths


@pytest.fixture(scope="module")
def items(image_paths) -> list[dict]:
    """Several pairs per image, images interleaved so grouping by image is exercised."""
    return [{"id": f"{i}-{j}", "image_path": path, "question": q, "answer": a}
            for j, (q, a) in enumerate(PAIRS) for i, path in enumerate(image_paths)]


def max_diff(a: list[dict], b: list[dict]) -> float:
    assert [r["id"] for r in a] == [r["id"] for r in b]
    assert [r["num_tokens"] for r in a] == [r["num_tokens"] for r in b]
    return max(abs(x[k] - y[k]) for x, y in zip(a, b) for k in SCORES)


# --- exactness -------------------------------------------------------------------------------------

@pytest.mark.parametrize("estimator,withhold,span", list(itertools.product(ESTIMATORS, WITHHOLDS, SPANS)))
def test_optimized_equals_naive(loaded, items, estimator, withhold, span):
    options = {"estimator": estimator, "withhold": withhold, "span": span}
    naive = score_items(loaded, items, method="naive", **options)
    optimized = score_items(loaded, items, method="optimized", batch_size=4, **options)
    assert all(r["error"] is None for r in naive + optimized)
    assert max_diff(naive, optimized) <= 1e-4


@pytest.mark.parametrize("withhold,span", [("drop", "answer"), ("mask", "qa"), ("blank", "qa")])
def test_batched_equals_one_at_a_time(loaded, items, withhold, span):
    batched = score_items(loaded, items, withhold=withhold, span=span, batch_size=8)
    alone = [score_items(loaded, [item], withhold=withhold, span=span)[0] for item in items]
    assert max_diff(batched, alone) <= 1e-5


def test_batch_size_does_not_change_scores(loaded, items):
    reference = score_items(loaded, items, batch_size=1)
    for batch_size in (2, 3, 100):
        assert max_diff(reference, score_items(loaded, items, batch_size=batch_size)) <= 1e-5


@pytest.fixture(scope="module")
def packed_loaded(tmp_path_factory):
    """A tiny LLaVA with 144 image tokens: the prefix is long enough that an image's pairs share a lane."""
    from c3l_worker.tiny_llava import build_tiny_llava

    return load_model(build_tiny_llava(tmp_path_factory.mktemp("models") / "tiny-llava-96", seed=1,
                                       image_size=96, patch_size=8))


def test_pairs_are_packed_on_a_long_prefix(packed_loaded, items):
    from c3l_worker.inputs import build_sequence

    seqs = [build_sequence(packed_loaded, i["id"], Image.new("RGB", (8, 8)), i["question"], i["answer"],
                           with_image=True) for i in items]
    start = seqs[0].question_positions.start
    lanes = continuation._lanes([0] * len(seqs), [len(s) - start for s in seqs], start)
    assert len(lanes) < len(seqs) and max(len(members) for _, members in lanes) > 1


@pytest.mark.parametrize("estimator,withhold,span", list(itertools.product(ESTIMATORS, WITHHOLDS, SPANS)))
def test_packed_optimized_equals_naive_and_one_at_a_time(packed_loaded, items, estimator, withhold, span):
    options = {"estimator": estimator, "withhold": withhold, "span": span}
    naive = score_items(packed_loaded, items, method="naive", **options)
    optimized = score_items(packed_loaded, items, **options)
    assert max_diff(naive, optimized) <= 1e-4
    alone = [score_items(packed_loaded, [item], **options)[0] for item in items[::4]]
    assert max_diff(alone, optimized[::4]) <= 1e-5


def test_eager_attention_takes_the_same_masks(packed_loaded, items):
    reference = score_items(packed_loaded, items, method="naive", withhold="mask", span="qa")
    eager = load_model(packed_loaded.model_dir)
    eager.model.set_attn_implementation("eager")
    assert continuation.supports_prefix_reuse(eager)
    assert max_diff(reference, score_items(eager, items, withhold="mask", span="qa")) <= 1e-4


# --- the estimators against references written here -----------------------------------------------

def plain_answer_logprobs(loaded, image_path, question, answer, with_image):
    """[n, V] log-probs of the answer tokens from one plain model forward with full logits."""
    processor, family, model = loaded.processor, loaded.family, loaded.model
    prompt = family.build_prompt(question, with_image)
    if with_image:
        prompt_ids = processor(text=prompt, images=Image.open(image_path).convert("RGB"), return_tensors="pt")
        pixel_values = prompt_ids["pixel_values"]
    else:
        prompt_ids, pixel_values = processor.tokenizer(prompt, return_tensors="pt"), None
    answer_ids = processor.tokenizer(" " + answer, add_special_tokens=False, return_tensors="pt")["input_ids"]
    ids = torch.cat([prompt_ids["input_ids"], answer_ids], dim=1)
    with torch.no_grad():
        logits = model(input_ids=ids, pixel_values=pixel_values).logits[0]
    n = answer_ids.shape[1]
    # logits at i predict token i+1: the answer's tokens are predicted by the n rows before the last one.
    return torch.log_softmax(logits[-n - 1:-1].double(), dim=-1), answer_ids[0]


def plain_token_logprobs(loaded, item) -> tuple[torch.Tensor, torch.Tensor]:
    """[n] log p(a_t) of the answer's tokens with the image and without it, by the plain forward."""
    with_image, targets = plain_answer_logprobs(loaded, item["image_path"], item["question"], item["answer"], True)
    without, _ = plain_answer_logprobs(loaded, item["image_path"], item["question"], item["answer"], False)
    positions = torch.arange(len(targets))
    return with_image[positions, targets], without[positions, targets]


def test_logratio_equals_plain_token_logprob_difference(loaded, items):
    results = score_items(loaded, items, estimator="logratio")
    for item, result in zip(items, results):
        token_with, token_without = plain_token_logprobs(loaded, item)
        assert result["num_tokens"] == len(token_with)
        assert result["logp_with_image"] == pytest.approx(token_with.mean().item(), abs=1e-5)
        assert result["logp_without_image"] == pytest.approx(token_without.mean().item(), abs=1e-5)
        assert result["i2c"] == pytest.approx((token_with - token_without).mean().item(), abs=1e-5)


def test_logratio_minlogp_is_the_mean_logratio_plus_the_lowest_token_logprob_with_the_image(loaded, items):
    results = score_items(loaded, items, estimator="logratio_minlogp")
    for item, result in zip(items, results):
        token_with, token_without = plain_token_logprobs(loaded, item)
        expected = (token_with - token_without).mean().item() + token_with.min().item()
        assert result["i2c"] == pytest.approx(expected, abs=1e-5)
        assert result["logp_with_image"] == pytest.approx(token_with.mean().item(), abs=1e-5)


def test_kl_is_nonnegative_and_equals_per_position_loop(loaded, items):
    results = score_items(loaded, items, estimator="kl")
    for item, result in zip(items, results):
        with_image, _ = plain_answer_logprobs(loaded, item["image_path"], item["question"], item["answer"], True)
        without, _ = plain_answer_logprobs(loaded, item["image_path"], item["question"], item["answer"], False)
        per_position = []
        for t in range(with_image.shape[0]):
            p, log_p, log_q = with_image[t].exp(), with_image[t], without[t]
            per_position.append(sum(float(p[v] * (log_p[v] - log_q[v])) for v in range(p.shape[0])))
        assert result["i2c"] >= 0
        assert result["i2c"] == pytest.approx(sum(per_position) / len(per_position), abs=1e-5)
    assert len({round(r["i2c"], 6) for r in results}) > 1  # not a constant


def test_scores_follow_the_image_and_only_the_with_image_pass_sees_it(loaded, image_paths):
    question, answer = PAIRS[0]
    results = score_items(loaded, [{"id": str(i), "image_path": p, "question": question, "answer": answer}
                                   for i, p in enumerate(image_paths)])
    assert len({r["logp_with_image"] for r in results}) == len(image_paths)
    assert max(r["logp_without_image"] for r in results) - min(r["logp_without_image"] for r in results) <= 1e-6


def test_mask_hides_the_image_tokens_from_attention(loaded, image_paths):
    """transformers must honour a 2-D mask with a hole: `mask` equals a sequence with the image
    tokens removed but the positions after them unchanged."""
    from c3l_worker.inputs import build_sequence

    question, answer = PAIRS[2]
    result = score_items(loaded, [{"id": "m", "image_path": image_paths[0], "question": question, "answer": answer}],
                         withhold="mask")[0]
    seq = build_sequence(loaded, "m", Image.open(image_paths[0]).convert("RGB"), question, answer, with_image=True)
    keep = [p for p in range(len(seq)) if p not in seq.image_positions]
    ids, positions = torch.tensor([[seq.ids[p] for p in keep]]), torch.tensor([keep])
    with torch.no_grad():
        logits = loaded.model(input_ids=ids, attention_mask=torch.ones_like(ids), position_ids=positions).logits[0]
    rows = [keep.index(p) - 1 for p in seq.answer_positions]
    log_probs = torch.log_softmax(logits[rows].double(), dim=-1)
    expected = log_probs[torch.arange(len(rows)), torch.tensor([seq.ids[p] for p in seq.answer_positions])].mean()
    assert result["logp_without_image"] == pytest.approx(expected.item(), abs=1e-5)


# --- padding and prompt tokens contribute nothing -------------------------------------------------

def test_padding_and_longer_neighbours_change_nothing(loaded, image_paths):
    short = {"id": "short", "image_path": image_paths[0], "question": "is there a circle ?", "answer": "no ."}
    long_text = " ".join(["the red circle is in the top left corner of the grid ."] * 8)
    longer = [{"id": f"long{i}", "image_path": image_paths[i % 2], "question": "describe the image . " * 4,
               "answer": long_text} for i in range(3)]
    for options in ({}, {"span": "qa", "withhold": "mask"}, {"estimator": "logratio", "withhold": "blank"}):
        alone = score_items(loaded, [short], **options)[0]
        beside = score_items(loaded, [*longer, short], **options)[-1]
        assert max_diff([alone], [beside]) <= 1e-5


def test_pad_token_value_changes_nothing(tiny_llava_dir, items):
    loaded = load_model(tiny_llava_dir)  # its own copy: the tokenizer is changed below
    before = score_items(loaded, items)
    loaded.processor.tokenizer.pad_token = "circle"  # an ordinary word: would change scores if attended
    after = score_items(loaded, items)
    assert max_diff(before, after) <= 1e-5


def test_only_the_scored_span_is_counted(loaded, items):
    tokenizer = loaded.processor.tokenizer
    answer_only = score_items(loaded, items, span="answer")
    qa = score_items(loaded, items, span="qa")
    for item, a, b in zip(items, answer_only, qa):
        n_answer = len(tokenizer(" " + item["answer"], add_special_tokens=False)["input_ids"])
        n_question = len(tokenizer(item["question"], add_special_tokens=False)["input_ids"])
        assert a["num_tokens"] == n_answer
        assert b["num_tokens"] == n_answer + n_question  # the " ASSISTANT:" suffix between them is not scored


# --- errors ----------------------------------------------------------------------------------------

def test_per_item_errors_name_the_item_and_the_rest_is_scored(loaded, items, tmp_path, image_paths):
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"this is not a png")
    bad = [
        {"id": "missing", "image_path": str(tmp_path / "nope.png"), "question": "is there a circle ?", "answer": "no ."},
        {"id": "garbage", "image_path": str(garbage), "question": "is there a circle ?", "answer": "no ."},
        {"id": "no-answer", "image_path": image_paths[0], "question": "is there a circle ?", "answer": "  "},
        {"id": "no-question", "image_path": image_paths[0], "question": "", "answer": "no ."},
        {"id": "too-long", "image_path": image_paths[0], "question": "circle " * 600, "answer": "no ."},
        {"id": "placeholder", "image_path": image_paths[0], "question": "what is <image> ?", "answer": "no ."},
    ]
    mixed = [items[0], *bad[:3], items[1], *bad[3:], items[2]]
    for method in ("optimized", "naive"):
        results = score_items(loaded, mixed, method=method)
        assert [r["id"] for r in results] == [i["id"] for i in mixed]
        errors = {r["id"]: r["error"] for r in results if r["error"] is not None}
        assert {k: v["code"] for k, v in errors.items()} == {
            "missing": "image_missing", "garbage": "image_unreadable", "no-answer": "empty_answer",
            "no-question": "empty_question", "too-long": "too_long", "placeholder": "invalid_text"}
        for item_id, error in errors.items():
            assert item_id in error["message"]
            failed = next(r for r in results if r["id"] == item_id)
            assert (failed["logp_with_image"], failed["logp_without_image"], failed["i2c"]) == (None, None, None)
        good = [r for r in results if r["error"] is None]
        assert max_diff(good, score_items(loaded, items[:3])) <= 1e-5


def test_all_items_failing_is_not_an_error(loaded, tmp_path):
    results = score_items(loaded, [{"id": "x", "image_path": str(tmp_path / "no.png"), "question": "q", "answer": "a"}])
    assert results[0]["error"]["code"] == "image_missing"
    assert score_items(loaded, []) == []


@pytest.mark.parametrize("option,value,allowed", [("estimator", "entropy", ESTIMATORS), ("withhold", "erase", WITHHOLDS),
                                                  ("span", "question", SPANS), ("method", "fast", METHODS)])
def test_unknown_option_is_one_error_naming_it_and_the_allowed_values(loaded, items, option, value, allowed):
    with pytest.raises(ValueError) as raised:
        score_items(loaded, items[:1], **{option: value})
    assert str(raised.value) == f"unknown {option} {value!r}; expected one of {', '.join(allowed)}"


def test_every_bad_option_is_named_at_once(loaded, items):
    with pytest.raises(ValueError) as raised:
        score_items(loaded, items[:1], estimator="entropy", span="question", batch_size=0)
    message = str(raised.value)
    assert "estimator 'entropy'" in message and "span 'question'" in message and "batch_size" in message


def test_the_wire_schema_offers_the_options_the_scorer_has():
    request = SCHEMA["messages"]["score"]["request"]
    for option, allowed in (("estimator", ESTIMATORS), ("withhold", WITHHOLDS), ("span", SPANS), ("method", METHODS)):
        assert request[option]["enum"] == list(allowed), option
        assert DEFAULTS[option] in allowed


def test_train_mode_is_restored_and_scores_use_eval_mode(tiny_llava_dir, items):
    loaded = load_model(tiny_llava_dir)
    reference = score_items(loaded, items[:2])
    loaded.model.train()
    assert max_diff(reference, score_items(loaded, items[:2])) <= 1e-6
    assert loaded.model.training


# --- the handler -----------------------------------------------------------------------------------

def test_handler_reply_validates_against_schema(loaded, items, tmp_path):
    state = WorkerState()
    state.models["tiny"] = loaded
    content = {"model_id": "tiny", "items": [*items[:3], {"id": "gone", "image_path": str(tmp_path / "x.png"),
                                                             "question": "q ?", "answer": "a"}]}
    for extra in ({}, {"estimator": "logratio", "withhold": "mask", "span": "qa", "batch_size": 2, "method": "naive"}):
        reply = HANDLERS["score"]({**content, **extra}, state)
        assert validate_fields(reply, SCHEMA["messages"]["score"]["reply"], "content") == []
        assert [r["id"] for r in reply["results"]] == ["0-0", "1-0", "2-0", "gone"]
        assert reply["results"][-1]["error"]["code"] == "image_missing"
        assert all(isinstance(r["i2c"], float) for r in reply["results"][:3])
    assert validate_fields(content, SCHEMA["messages"]["score"]["request"], "content") == []


def test_handler_defaults_match_the_api(loaded, items):
    state = WorkerState()
    state.models["tiny"] = loaded
    reply = HANDLERS["score"]({"model_id": "tiny", "items": items[:3]}, state)
    expected = score_items(loaded, items[:3], estimator="kl", withhold="drop", span="answer")
    assert max_diff(reply["results"], expected) == 0.0
