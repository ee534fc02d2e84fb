"""The contrastive training step on the tiny LLaVA: what trains, what stays frozen, the loss forms."""
import math

import pytest
import torch
from PIL import Image, ImageDraw

from c3l_worker import inputs
from c3l_worker.ops import HANDLERS
from c3l_worker.protocol.schema import SCHEMA, validate_fields
from c3l_worker.state import WorkerState
from c3l_worker.training import NoTrainerError, TrainSettings, losses
from c3l_worker.training.batch import build_rows, forward_rows, pool_example

MODEL = "gen"
FORMS = ["infonce_hidden", "infonce_loglik", "preference", "none"]


def shape_image(path, colour: str, box=(8, 8, 40, 40)) -> str:
    image = Image.new("RGB", (48, 48), "white")
    ImageDraw.Draw(image).rectangle(box, fill=colour)
    image.save(path)
    return str(path)


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("images")
    broken = folder / "broken.png"
    broken.write_bytes(b"not a png")
    return {"red": shape_image(folder / "red.png", "red"), "blue": shape_image(folder / "blue.png", "blue"),
            "green": shape_image(folder / "green.png", "green", (0, 24, 24, 48)), "broken": str(broken),
            "missing": str(folder / "missing.png")}


def examples(images) -> list[dict]:
    return [
        {"id": "red-1", "image_path": images["red"], "context": "describe the image .",
         "positive": "what colour is the square ? the square is red .",
         "negatives": ["what colour is the square ? the square is blue .", "is there a star ? yes , a star ."]},
        {"id": "blue-1", "image_path": images["blue"], "context": "describe the image .",
         "positive": "what colour is the square ? the square is blue .",
         "negatives": ["how many circles are there ? there are 3 circles ."]},
    ]


def call(state, name: str, content: dict) -> dict:
    reply = HANDLERS[name](content, state)
    assert validate_fields(reply, SCHEMA["messages"][name]["reply"], "content") == []
    return reply


def fresh_state(model_dir) -> WorkerState:
    state = WorkerState()
    call(state, "load_model", {"model_id": MODEL, "model_dir": str(model_dir)})
    return state


def snapshot(model) -> dict:
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def setup(state, **settings) -> dict:
    return call(state, "setup_training", {"model_id": MODEL, "lr": 1e-3, "total_steps": 10,
                                          "schedule": "constant", **settings})


@pytest.mark.parametrize("form", FORMS)
def test_full_finetune_step_trains_everything_but_the_vision_tower(tiny_llava_dir, images, form):
    state = fresh_state(tiny_llava_dir)
    head = form == "infonce_hidden"
    reply = setup(state, form=form, projection_head=head)
    loaded, trainer = state.models[MODEL], state.trainers[MODEL]
    tower = {f"model.vision_tower.{n}" for n, _ in loaded.family.vision_tower(loaded.model).named_parameters()}
    assert reply["lora"] is False and reply["frozen_parameters"] == sum(
        p.numel() for p in loaded.family.vision_tower(loaded.model).parameters())
    before = snapshot(loaded.model)
    head_before = snapshot(trainer.head) if head else {}
    step = call(state, "train_step", {"model_id": MODEL, "batch": examples(images)})
    assert step["optimizer_stepped"] and step["step"] == 1 and step["errors"] == []
    assert (step["loss_cl"] > 0) == (form != "none")
    assert step["loss"] == pytest.approx(step["loss_lm"] + 0.1 * step["loss_cl"], rel=1e-5)
    after = snapshot(loaded.model)
    unchanged = [n for n in before if n not in tower and torch.equal(before[n], after[n])]
    assert unchanged == []
    assert all(torch.equal(before[n], after[n]) for n in tower) and len(tower) > 0
    assert all(not p.requires_grad for p in loaded.family.vision_tower(loaded.model).parameters())
    assert all(not torch.equal(head_before[n], p) for n, p in (trainer.head.named_parameters() if head else []))
    assert not loaded.model.training  # other ops assume eval mode


def test_lora_trains_adapters_only_and_never_wraps_the_vision_tower(tiny_llava_dir, images):
    state = fresh_state(tiny_llava_dir)
    loaded = state.models[MODEL]
    before = snapshot(loaded.model)
    reply = setup(state, form="preference", lora={"r": 4, "alpha": 8.0})
    assert reply["lora"] is True
    from peft.tuners.lora import LoraLayer

    wrapped = [n for n, m in loaded.model.named_modules() if isinstance(m, LoraLayer)]
    assert len(wrapped) == 12 and all(n.startswith("model.language_model.") for n in wrapped)
    adapters = snapshot(loaded.model)
    for _ in range(2):  # lora_B starts at 0, so lora_A only gets a gradient from the second step on
        call(state, "train_step", {"model_id": MODEL, "batch": examples(images)})
    after = snapshot(loaded.model)
    trained = {n for n, p in loaded.model.named_parameters() if p.requires_grad}
    assert trained and all("lora_" in n for n in trained)
    assert [n for n in trained if torch.equal(adapters[n], after[n])] == []
    base = {n.replace(".base_layer", ""): t for n, t in after.items() if "lora_" not in n}
    assert base.keys() == before.keys()
    assert [n for n in before if not torch.equal(before[n], base[n])] == []


def test_lora_target_modules_stay_inside_the_language_model(tiny_llava_dir):
    state = fresh_state(tiny_llava_dir)
    setup(state, form="none", lora={"r": 2, "alpha": 4.0, "target_modules": ["q_proj", "out_proj", "fc1"]})
    from peft.tuners.lora import LoraLayer

    wrapped = [n for n, m in state.models[MODEL].model.named_modules() if isinstance(m, LoraLayer)]
    assert wrapped and all(n.startswith("model.language_model.") and n.endswith("q_proj") for n in wrapped)
    with pytest.raises(ValueError, match="match no linear module"):
        setup(state, lora={"r": 2, "alpha": 4.0, "target_modules": ["fc1"]})


@pytest.mark.parametrize("form", ["infonce_hidden", "preference"])
def test_loss_goes_down_on_a_fixed_batch(tiny_llava_dir, images, form):
    state = fresh_state(tiny_llava_dir)
    setup(state, form=form)
    batch = examples(images)
    losses_seen = [call(state, "train_step", {"model_id": MODEL, "batch": batch})["loss"] for _ in range(5)]
    assert losses_seen[-1] < losses_seen[0] * 0.9, losses_seen


def test_gradient_accumulation_equals_one_step_on_the_union(tiny_llava_dir, images):
    batch = examples(images)
    accumulated = fresh_state(tiny_llava_dir)
    setup(accumulated, grad_accum_steps=2, in_batch_negatives=False)
    first = call(accumulated, "train_step", {"model_id": MODEL, "batch": batch[:1]})
    second = call(accumulated, "train_step", {"model_id": MODEL, "batch": batch[1:]})
    assert (first["optimizer_stepped"], first["grad_norm"], first["step"], first["micro_step"]) == (False, None, 0, 1)
    assert (second["optimizer_stepped"], second["step"], second["micro_step"]) == (True, 1, 2)
    whole = fresh_state(tiny_llava_dir)
    setup(whole)
    one = call(whole, "train_step", {"model_id": MODEL, "batch": batch})
    assert one["grad_norm"] == pytest.approx(second["grad_norm"], rel=1e-5)
    assert one["loss"] == pytest.approx((first["loss"] + second["loss"]) / 2, rel=1e-5)
    a, b = snapshot(accumulated.models[MODEL].model), snapshot(whole.models[MODEL].model)
    # Adam divides by |g|: float noise on near-zero gradients moves a weight by a fraction of lr.
    assert max((a[n] - b[n]).abs().max().item() for n in a) < 1e-2 * 1e-3


def test_grad_norm_is_reported_before_clipping(tiny_llava_dir, images):
    replies, momentum = [], []
    for clip in (0.0, 1e-3):
        state = fresh_state(tiny_llava_dir)
        setup(state, grad_clip=clip)
        replies.append(call(state, "train_step", {"model_id": MODEL, "batch": examples(images)}))
        # After one AdamW step exp_avg = (1 - beta1) * the gradient it was given.
        exp_avg = [s["exp_avg"] for s in state.trainers[MODEL].optimizer.state.values()]
        momentum.append(torch.nn.utils.get_total_norm(exp_avg).item() / 0.1)
    assert replies[0]["grad_norm"] == pytest.approx(replies[1]["grad_norm"], rel=1e-6) and replies[0]["grad_norm"] > 0.1
    assert momentum == pytest.approx([replies[0]["grad_norm"], 1e-3], rel=1e-4)  # clipped only with grad_clip > 0


def test_bad_examples_are_skipped_by_id_and_the_rest_trains(tiny_llava_dir, images):
    state = fresh_state(tiny_llava_dir)
    setup(state)
    good = examples(images)[0]
    batch = [
        {**good, "id": "no-image", "image_path": images["missing"]},
        {**good, "id": "bad-image", "image_path": images["broken"]},
        {**good, "id": "no-positive", "positive": "  "},
        {**good, "id": "empty-negative", "negatives": ["a red square .", ""]},
        {**good, "id": "no-context", "context": ""},
        good,
    ]
    reply = call(state, "train_step", {"model_id": MODEL, "batch": batch})
    codes = [(e["code"], e["message"].split(":")[0]) for e in reply["errors"]]
    assert codes == [("image_missing", "item no-image"), ("image_unreadable", "item bad-image"),
                     ("empty_answer", "item no-positive"), ("empty_answer", "item empty-negative"),
                     ("empty_question", "item no-context")]
    assert "negative 1" in reply["errors"][3]["message"]
    assert reply["step"] == 1 and reply["loss_cl"] > 0
    with pytest.raises(ValueError, match="every example of the batch failed.*no-image"):
        HANDLERS["train_step"]({"model_id": MODEL, "batch": batch[:2]}, state)
    assert state.trainers[MODEL].micro_step == 1  # a failed request leaves the counters alone


def test_examples_without_negatives_train_on_the_lm_loss_alone(tiny_llava_dir, images):
    state = fresh_state(tiny_llava_dir)
    setup(state, form="infonce_loglik")
    batch = [{**e, "negatives": []} for e in examples(images)]
    reply = call(state, "train_step", {"model_id": MODEL, "batch": batch})
    assert reply["loss_cl"] == 0.0 and reply["loss"] == reply["loss_lm"] and reply["errors"] == []


@pytest.mark.parametrize("form", ["none", "infonce_loglik"])
def test_weights_of_one_train_exactly_as_no_weights(tiny_llava_dir, images, form):
    batch = examples(images)
    results = []
    for weights in (None, [1.0, 1]):  # missing, a float 1 and an int 1 (as JavaScript encodes 1.0)
        state = fresh_state(tiny_llava_dir)
        setup(state, form=form)
        sent = batch if weights is None else [{**e, "weight": w} for e, w in zip(batch, weights)]
        reply = call(state, "train_step", {"model_id": MODEL, "batch": sent})
        results.append((reply, snapshot(state.models[MODEL].model)))
    (plain, plain_params), (ones, ones_params) = results
    assert [ones[k] for k in ("loss", "loss_lm", "loss_cl", "grad_norm")] == [plain[k] for k in ("loss", "loss_lm", "loss_cl", "grad_norm")]
    assert all(torch.equal(plain_params[n], ones_params[n]) for n in plain_params)


def accumulated_grads(tiny_llava_dir, batch: list[dict], form: str = "none") -> tuple[dict, dict]:
    """One micro-batch's reply and gradients, before any optimizer step (grad_accum_steps 2)."""
    state = fresh_state(tiny_llava_dir)
    setup(state, form=form, grad_accum_steps=2, in_batch_negatives=False)
    reply = call(state, "train_step", {"model_id": MODEL, "batch": batch})
    return reply, {n: p.grad.clone() for n, p in state.trainers[MODEL].trainable() if p.grad is not None}


def test_a_zero_weight_example_contributes_nothing(tiny_llava_dir, images):
    red, blue = examples(images)
    for form in ("none", "infonce_loglik"):
        alone, alone_grads = accumulated_grads(tiny_llava_dir, [red], form)
        # The loss is a sum over the count of examples (2 here): red weighted 2 stands for red alone.
        paired, paired_grads = accumulated_grads(tiny_llava_dir, [{**red, "weight": 2.0}, {**blue, "weight": 0}], form)
        assert paired["errors"] == []
        assert paired["loss_lm"] == pytest.approx(alone["loss_lm"], rel=1e-5)
        assert paired["loss_cl"] == pytest.approx(alone["loss_cl"], rel=1e-5)
        assert (alone["loss_cl"] > 0) == (form != "none")
        assert paired_grads.keys() == alone_grads.keys()
        for n, g in alone_grads.items():
            assert torch.allclose(paired_grads[n], g, rtol=1e-4, atol=1e-7), n


def test_weighted_loss_is_the_weighted_mean_over_examples(tiny_llava_dir, images):
    red, blue = examples(images)
    single = [accumulated_grads(tiny_llava_dir, [e])[0]["loss_lm"] for e in (red, blue)]
    both = accumulated_grads(tiny_llava_dir, [{**red, "weight": 0.5}, {**blue, "weight": 1.5}])[0]
    assert both["loss_lm"] == pytest.approx((0.5 * single[0] + 1.5 * single[1]) / 2, rel=1e-5)


def test_negative_or_non_finite_weights_skip_the_example(tiny_llava_dir, images):
    state = fresh_state(tiny_llava_dir)
    setup(state, form="none")
    good = examples(images)[0]
    batch = [{**good, "id": "neg", "weight": -0.5}, {**good, "id": "nan", "weight": math.nan}, good]
    reply = call(state, "train_step", {"model_id": MODEL, "batch": batch})
    assert [(e["code"], e["message"].split(":")[0]) for e in reply["errors"]] == [
        ("invalid_weight", "item neg"), ("invalid_weight", "item nan")]
    assert reply["step"] == 1 and math.isfinite(reply["loss"])


def test_context_anchor_sees_the_image_but_not_the_candidate(tiny_llava_dir, images):
    state = fresh_state(tiny_llava_dir)
    loaded = state.models[MODEL]
    red, blue = (inputs.load_image(images[c], c) for c in ("red", "blue"))
    question = "describe the image ."
    seqs = [inputs.build_sequence(loaded, "x", image, question=question, answer=answer, with_image=True)
            for image, answer in [(red, "a red square ."), (red, "is there a star ? yes , a star on the left ."),
                                  (blue, "a red square .")]]
    with torch.no_grad():
        fwd = forward_rows(loaded.model, loaded, seqs, hidden=True)
    pooled = [pool_example(fwd.hidden, seqs, [i]) for i in range(3)]
    anchors, candidates = [a for a, _ in pooled], [c[0] for _, c in pooled]
    assert torch.allclose(anchors[0], anchors[1], atol=1e-5)  # another candidate, same anchor
    assert not torch.allclose(anchors[0], anchors[2], atol=1e-3)  # another image, another anchor
    assert not torch.allclose(candidates[0], candidates[1], atol=1e-3)


@pytest.mark.parametrize("lora", [None, {"r": 4, "alpha": 8.0}])
def test_preference_reference_stays_frozen(tiny_llava_dir, images, lora):
    state = fresh_state(tiny_llava_dir)
    setup(state, form="preference", lora=lora)
    batch = examples(images)
    first, *rest = [call(state, "train_step", {"model_id": MODEL, "batch": batch})["loss_cl"] for _ in range(3)]
    assert first == pytest.approx(math.log(2), abs=1e-6)  # policy == reference before any step
    assert abs(rest[-1] - math.log(2)) > 1e-3  # the policy moved away from a reference that did not


def test_in_batch_negatives_add_other_positives_after_own_context(tiny_llava_dir, images):
    loaded = fresh_state(tiny_llava_dir).models[MODEL]
    batch = examples(images)
    rows = build_rows(loaded, batch, negatives=True, in_batch=True)
    red, blue = rows.examples
    assert len(red.rows) == 3  # blue's positive is already one of red's negatives: not added twice
    assert len(blue.rows) == 3  # its own negative + red's positive
    added = rows.sequences[blue.rows[-1]]
    assert added.item_id == "blue-1" and added.image is rows.sequences[blue.rows[0]].image
    assert answer_ids(added) == answer_ids(rows.sequences[red.rows[0]])


def answer_ids(seq) -> list[int]:
    return seq.ids[seq.answer_positions.start:seq.answer_positions.stop]


def test_losses_match_their_definitions():
    scores = torch.tensor([0.5, 0.1, -0.2], dtype=torch.float64)
    expected = -torch.log(torch.exp(scores[0] / 0.1) / torch.exp(scores / 0.1).sum())
    assert losses.infonce(scores, 0.1).item() == pytest.approx(expected.item(), rel=1e-6)
    policy, reference = torch.tensor([-3.0, -5.0, -4.0]), torch.tensor([-4.0, -4.0, -4.0])
    margins = torch.tensor([2.0, 1.0])  # (pos gain 1) - (neg gains -1, 0)
    assert losses.preference(policy, reference, 0.5).item() == pytest.approx(
        (-torch.nn.functional.logsigmoid(0.5 * margins)).mean().item(), rel=1e-6)
    anchor, candidates = torch.tensor([1.0, 0.0]), torch.tensor([[2.0, 0.0], [0.0, 3.0]])
    assert losses.infonce_hidden(anchor, candidates, 1.0).item() == pytest.approx(
        -torch.log_softmax(torch.tensor([1.0, 0.0]), 0)[0].item(), rel=1e-6)


def test_schedule_warmup_then_linear_decay(tiny_llava_dir, images):
    state = fresh_state(tiny_llava_dir)
    setup(state, form="none", schedule="linear", warmup_steps=2, total_steps=4)
    lrs = [call(state, "train_step", {"model_id": MODEL, "batch": examples(images)[:1]})["lr"] for _ in range(4)]
    assert lrs == pytest.approx([1e-3 / 3, 2e-3 / 3, 1e-3, 0.5e-3])


def test_settings_defaults_and_problems():
    settings = TrainSettings.from_request({"model_id": "m", "lr": 1e-4, "total_steps": 3, "lora": None})
    assert (settings.schedule, settings.form, settings.tau, settings.lambda_cl, settings.grad_clip,
            settings.grad_accum_steps, settings.seed, settings.lora) == ("cosine", "infonce_hidden", 0.1, 0.1, 1.0, 1, 0, None)
    assert TrainSettings.from_request(settings.to_json()) == settings
    with pytest.raises(ValueError) as err:
        TrainSettings.from_request({"lr": 0, "total_steps": 3, "form": "none", "projection_head": True,
                                    "grad_accum_steps": 0})
    assert all(k in str(err.value) for k in ("lr:", "projection_head:", "grad_accum_steps:"))


def test_train_step_needs_a_trainer_for_the_loaded_model(tiny_llava_dir, images):
    state = fresh_state(tiny_llava_dir)
    with pytest.raises(NoTrainerError, match="send setup_training first"):
        HANDLERS["train_step"]({"model_id": MODEL, "batch": examples(images)}, state)
    setup(state)
    call(state, "load_model", {"model_id": MODEL, "model_dir": str(tiny_llava_dir)})  # a reload drops the trainer
    with pytest.raises(NoTrainerError):
        HANDLERS["train_step"]({"model_id": MODEL, "batch": examples(images)}, state)


def test_setup_again_merges_earlier_adapters(tiny_llava_dir, images):
    state = fresh_state(tiny_llava_dir)
    loaded = state.models[MODEL]
    setup(state, form="none", lora={"r": 2, "alpha": 4.0})
    for _ in range(2):
        call(state, "train_step", {"model_id": MODEL, "batch": examples(images)})
    ids = loaded.processor.tokenizer("describe the image .", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        adapted = loaded.model(input_ids=ids).logits
    setup(state, form="none")  # full fine-tune from the adapted weights
    from peft.tuners.lora import LoraLayer

    assert not any(isinstance(m, LoraLayer) for m in loaded.model.modules())
    with torch.no_grad():
        merged = loaded.model(input_ids=ids).logits
    assert torch.allclose(adapted, merged, atol=1e-5)


def test_score_and_generate_use_the_trained_lora_model(tiny_llava_dir, images):
    """The trained generator must be the one that scores and writes the next round's data."""
    state = fresh_state(tiny_llava_dir)
    item = {"id": "r", "image_path": images["red"], "question": "what colour is the square ?", "answer": "red ."}
    prompt = {"id": "g", "image_path": images["red"], "prompt": "describe the image ."}
    before = call(state, "score", {"model_id": MODEL, "items": [item]})["results"][0]
    setup(state, lora={"r": 4, "alpha": 8.0}, lr=5e-2)
    for _ in range(3):
        call(state, "train_step", {"model_id": MODEL, "batch": examples(images)})
    after = call(state, "score", {"model_id": MODEL, "items": [item]})["results"][0]
    naive = call(state, "score", {"model_id": MODEL, "items": [item], "method": "naive"})["results"][0]
    assert after["error"] is None and after["logp_with_image"] != pytest.approx(before["logp_with_image"], abs=1e-4)
    assert after["i2c"] == pytest.approx(naive["i2c"], abs=1e-4)
    generated = call(state, "generate", {"model_id": MODEL, "items": [prompt], "max_new_tokens": 4})["results"][0]
    assert generated["error"] is None and generated["num_tokens"] >= 1
