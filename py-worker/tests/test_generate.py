from dataclasses import replace

import pytest
import torch
from PIL import Image, ImageDraw

from c3l_worker.generation import GenerationSettings, generate_texts
from c3l_worker.inputs import build_sequence
from c3l_worker.models import load_model
from c3l_worker.ops import HANDLERS
from c3l_worker.protocol.schema import SCHEMA, validate_fields
from c3l_worker.qa_parser import parse_qa
from c3l_worker.state import UnknownModelError, WorkerState

GREEDY = GenerationSettings(max_new_tokens=12)


@pytest.fixture(scope="module")
def loaded(tiny_llava_dir):
    return load_model(tiny_llava_dir)


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("images")
    paths = {}
    for name, colour, size in [("red", "red", (64, 64)), ("blue", "blue", (40, 90)), ("green", "green", (100, 50))]:
        img = Image.new("RGB", size, "white")
        ImageDraw.Draw(img).ellipse((5, 5, 35, 35), fill=colour)
        paths[name] = str(folder / f"{name}.png")
        img.save(paths[name])
    paths["corrupt"] = str(folder / "corrupt.png")
    with open(paths["corrupt"], "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n this is not an image")
    paths["missing"] = str(folder / "missing.png")
    return paths


@pytest.fixture(scope="module")
def items(images) -> list[dict]:
    """Prompts of different lengths, with and without an image, so the batch is really left-padded."""
    return [
        {"id": "a", "image_path": images["red"], "prompt": "what colour is the circle ?"},
        {"id": "b", "image_path": None, "prompt": "how many"},
        {"id": "c", "image_path": images["blue"],
         "prompt": "describe the image . there are some shapes on a plain background ."},
        {"id": "d", "image_path": None, "prompt": "which shape is on the left of the right one ?"},
    ]


def _lengths(loaded, items):
    from c3l_worker.inputs import load_image

    return [len(build_sequence(loaded, it["id"], load_image(it["image_path"], it["id"]) if it["image_path"] else None,
                               it["prompt"], with_image=it["image_path"] is not None, need_answer=False))
            for it in items]


@pytest.fixture(scope="module")
def one_by_one(loaded, items):
    return generate_texts(loaded, items, replace(GREEDY, batch_size=1))


def test_batched_greedy_equals_one_by_one_token_for_token(loaded, items, one_by_one):
    assert len(set(_lengths(loaded, items))) == len(items)  # every row is padded differently
    batched = generate_texts(loaded, items, replace(GREEDY, batch_size=4))
    assert [c.item_id for c in batched] == ["a", "b", "c", "d"]
    for single, together in zip(one_by_one, batched):
        assert together.token_ids == single.token_ids
        assert (together.text, together.num_tokens, together.finish_reason) == (
            single.text, single.num_tokens, single.finish_reason)
        assert together.error is None and together.text
    # A batch that does not divide the items (chunks of 3 + 1) gives the same greedy texts.
    assert [c.token_ids for c in generate_texts(loaded, items, replace(GREEDY, batch_size=3))] == [
        c.token_ids for c in one_by_one]


def test_one_by_one_equals_plain_transformers_generate(loaded, items, one_by_one):
    """The prompt wrapping and decoding match the processor's own input and a plain generate call."""
    item = items[0]
    prompt = loaded.family.build_prompt(item["prompt"], with_image=True)
    inputs = loaded.processor(text=prompt, images=Image.open(item["image_path"]).convert("RGB"), return_tensors="pt")
    with torch.inference_mode():
        out = loaded.model.generate(**inputs, max_new_tokens=GREEDY.max_new_tokens, do_sample=False)
    expected = out[0, inputs["input_ids"].shape[1]:].tolist()
    assert one_by_one[0].token_ids == expected
    assert one_by_one[0].text == loaded.processor.tokenizer.decode(expected, skip_special_tokens=True)


def test_seeded_sampling_reproducible_and_seed_dependent(loaded, items):
    sample = GenerationSettings(max_new_tokens=16, do_sample=True, temperature=1.0, top_p=1.0, seed=7, batch_size=4)
    rng_before = torch.random.get_rng_state()
    first = [c.token_ids for c in generate_texts(loaded, items, sample)]
    assert torch.equal(torch.random.get_rng_state(), rng_before)  # the caller's RNG is left alone
    assert [c.token_ids for c in generate_texts(loaded, items, sample)] == first
    other = [c.token_ids for c in generate_texts(loaded, items, replace(sample, seed=8))]
    assert other != first
    # Greedy would repeat itself; near-uniform sampling over ~100 words must not.
    greedy = [c.token_ids for c in generate_texts(loaded, items, replace(GREEDY, max_new_tokens=16, batch_size=4))]
    assert first != greedy


def test_identical_items_in_different_batches_get_different_samples(loaded, items):
    """Each batch is seeded with seed + batch index, so repeats of one prompt are not copies."""
    twice = [items[1], {**items[1], "id": "b2"}]
    out = generate_texts(loaded, twice, GenerationSettings(max_new_tokens=16, do_sample=True, seed=3, batch_size=1))
    assert out[0].token_ids != out[1].token_ids


def test_max_new_tokens_gives_length(loaded, items, one_by_one):
    out = generate_texts(loaded, items, replace(GREEDY, max_new_tokens=5, batch_size=4))
    for short, full in zip(out, one_by_one):
        assert (short.num_tokens, short.finish_reason, len(short.token_ids)) == (5, "length", 5)
        assert short.token_ids == full.token_ids[:5]


def test_stop_string_cuts_text(loaded, items, one_by_one):
    reference = one_by_one[2].text  # the random model repeats a few words; cut at the second word
    words = reference.split(" ")
    stop = " " + words[1]
    cut = reference.find(stop)
    assert 0 < cut
    out = generate_texts(loaded, items, replace(GREEDY, stop=(stop, "never-produced"), batch_size=4))
    hit = out[2]
    assert hit.text == reference[:cut] and hit.finish_reason == "stop_string"
    assert hit.num_tokens < GREEDY.max_new_tokens
    assert hit.token_ids == one_by_one[2].token_ids[:hit.num_tokens]  # decoding stopped right there
    assert stop in loaded.processor.tokenizer.decode(hit.token_ids, skip_special_tokens=True)
    for got, ref in zip(out, one_by_one):  # other rows: cut where (and only if) the stop occurs
        if stop in ref.text:
            assert got.text == ref.text[:ref.text.find(stop)] and got.finish_reason == "stop_string"
        else:
            assert (got.text, got.finish_reason) == (ref.text, "length")


def test_eos_ends_one_row_while_others_continue(tiny_llava_dir, items, one_by_one):
    """An lm_head row for eos slightly above token X's: eos comes exactly where X would have."""
    model = load_model(tiny_llava_dir)  # a private copy: its weights are changed below
    eos = model.processor.tokenizer.eos_token_id
    refs = [c.token_ids for c in one_by_one]
    # X: a token some rows produce and others do not.
    x = next(t for t in refs[0] + refs[2] if any(t not in r for r in refs) and t != eos)
    with torch.no_grad():
        model.model.lm_head.weight[eos] = model.model.lm_head.weight[x] * 1.001
    out = generate_texts(model, items, replace(GREEDY, batch_size=4))
    reasons = set()
    for got, ref in zip(out, refs):
        if x in ref:
            n = ref.index(x)
            assert got.token_ids == ref[:n] + [eos] and got.num_tokens == n + 1  # eos counted
            assert got.finish_reason == "eos"
            assert got.text == model.processor.tokenizer.decode(ref[:n], skip_special_tokens=True)
        else:
            assert got.token_ids == ref and got.finish_reason == "length"
        reasons.add(got.finish_reason)
    assert reasons == {"eos", "length"}


def test_bad_items_get_errors_and_the_rest_still_runs(loaded, items, images, one_by_one):
    bad = [
        {"id": "gone", "image_path": images["missing"], "prompt": "what is it ?"},
        {"id": "garbled", "image_path": images["corrupt"], "prompt": "what is it ?"},
        {"id": "huge", "image_path": None, "prompt": "circle " * 600},
        {"id": "blank", "image_path": None, "prompt": "   "},
    ]
    mixed = [items[0], bad[0], items[1], bad[1], items[2], bad[2], items[3], bad[3]]
    out = generate_texts(loaded, mixed, replace(GREEDY, batch_size=3))
    by_id = {c.item_id: c for c in out}
    assert [c.item_id for c in out] == [it["id"] for it in mixed]
    for item_id, code in [("gone", "image_missing"), ("garbled", "image_unreadable"), ("huge", "too_long"),
                          ("blank", "empty_question")]:
        c = by_id[item_id]
        assert (c.text, c.num_tokens, c.finish_reason, c.token_ids) == (None, 0, "error", None)
        assert c.error.code == code and item_id in c.error.to_wire()["message"]
    for ref in one_by_one:  # greedy rows do not depend on their batch-mates
        assert by_id[ref.item_id].token_ids == ref.token_ids


def test_a_batch_of_only_bad_items(loaded, images):
    out = generate_texts(loaded, [{"id": "x", "image_path": images["missing"], "prompt": "hi"}], GREEDY)
    assert [(c.item_id, c.finish_reason) for c in out] == [("x", "error")]


def test_training_mode_is_restored(tiny_llava_dir, items):
    model = load_model(tiny_llava_dir)
    model.model.train()
    generate_texts(model, items[:1], replace(GREEDY, max_new_tokens=2))
    assert model.model.training


@pytest.mark.parametrize("bad, message", [
    ({"max_new_tokens": 0}, "max_new_tokens"),
    ({"batch_size": 0}, "batch_size"),
    ({"do_sample": True, "temperature": 0.0}, "temperature"),
    ({"do_sample": True, "top_p": 0.0}, "top_p"),
    ({"stop": [""]}, "stop"),
])
def test_request_level_errors_raise(bad, message):
    with pytest.raises(ValueError, match=message):
        GenerationSettings.from_request({"model_id": "m", "items": [], **bad})


def test_duplicate_ids_raise(loaded, items):
    with pytest.raises(ValueError, match="unique.*a"):
        generate_texts(loaded, [items[0], items[0]], GREEDY)


def test_handler_reply_validates_against_schema(loaded, items, images, one_by_one):
    state = WorkerState(models={"tiny": loaded})
    content = {
        "model_id": "tiny",
        "items": [*items, {"id": "gone", "image_path": images["missing"], "prompt": "what is it ?"}],
        "max_new_tokens": 12,
        "batch_size": 2,
        "stop": ["zzz-never"],
    }
    assert validate_fields(content, SCHEMA["messages"]["generate"]["request"], "content") == []
    reply = HANDLERS["generate"](content, state)
    assert validate_fields(reply, SCHEMA["messages"]["generate"]["reply"], "content") == []
    results = reply["results"]
    assert [r["id"] for r in results] == ["a", "b", "c", "d", "gone"]
    assert [r["text"] for r in results[:4]] == [c.text for c in one_by_one]
    for r in results[:4]:
        assert r["error"] is None and r["finish_reason"] == "length" and r["num_tokens"] == 12
        pairs, parse_error = parse_qa(r["text"], truncated=True)
        assert (r["qa_pairs"], r["parse_error"]) == (pairs, parse_error)
        assert r["parse_error"] is not None  # random words hold no pairs, and saying so is required
    gone = results[4]
    assert gone["text"] is None and gone["qa_pairs"] == [] and gone["finish_reason"] == "error"
    assert gone["error"]["code"] == "image_missing" and "gone" in gone["error"]["message"]
    assert reply["seconds"] >= 0
    with pytest.raises(UnknownModelError):
        HANDLERS["generate"]({**content, "model_id": "nope"}, state)
