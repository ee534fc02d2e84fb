import json

import pytest
import torch
from PIL import Image, ImageDraw

from c3l_worker.models import FAMILIES, LoadedModel, UnsupportedModelError, family_for, load_model
from c3l_worker.models.llava import LlavaFamily


def shape_image(colour: str, size=(64, 64)) -> Image.Image:
    img = Image.new("RGB", size, "white")
    ImageDraw.Draw(img).rectangle((8, 8, 40, 40), fill=colour)
    return img


@pytest.fixture(scope="module")
def loaded(tiny_llava_dir) -> LoadedModel:
    return load_model(tiny_llava_dir)


def test_load_model_returns_eval_model_with_metadata(loaded, tiny_llava_dir):
    assert isinstance(loaded.family, LlavaFamily) and loaded.family is FAMILIES["llava"]
    assert loaded.model_dir == tiny_llava_dir
    assert (loaded.device, loaded.dtype) == ("cpu", "float32")
    assert not loaded.model.training
    assert loaded.num_parameters == sum(p.numel() for p in loaded.model.parameters())
    assert loaded.model.dtype == torch.float32
    assert loaded.processor.tokenizer.padding_side == "left"


def test_load_model_bfloat16(tiny_llava_dir):
    loaded = load_model(tiny_llava_dir, dtype="bfloat16")
    assert loaded.dtype == "bfloat16"
    assert {p.dtype for p in loaded.model.parameters()} == {torch.bfloat16}


def test_vision_tower_and_projector_are_submodules(loaded):
    family, model = loaded.family, loaded.model
    tower, projector = family.vision_tower(model), family.projector(model)
    assert type(tower).__name__ == "CLIPVisionModel"
    assert type(projector).__name__ == "LlavaMultiModalProjector"
    modules = {id(m) for m in model.modules()}
    assert id(tower) in modules and id(projector) in modules


def test_build_prompt_drops_placeholder_without_image():
    family = FAMILIES["llava"]
    assert family.build_prompt("How many?", with_image=True) == "USER: <image>\nHow many? ASSISTANT:"
    assert family.build_prompt("How many?", with_image=False) == "USER: How many? ASSISTANT:"


def test_forward_with_and_without_image(loaded):
    family, model, processor = loaded.family, loaded.model, loaded.processor
    question = "what colour is the square?"
    with_image = processor(images=shape_image("red"), text=family.build_prompt(question, True), return_tensors="pt")
    without = processor(text=family.build_prompt(question, False), return_tensors="pt")
    image_id = model.config.image_token_index
    assert (without.input_ids == image_id).sum() == 0
    assert with_image.input_ids.shape[1] == without.input_ids.shape[1] + 9
    with torch.no_grad():
        a = model(**with_image).logits
        b = model(**without).logits
    assert b.shape == (1, without.input_ids.shape[1], model.config.text_config.vocab_size)
    # "<s> USER :" precedes the image: causal attention makes it identical; the question after differs.
    torch.testing.assert_close(a[:, :3], b[:, :3])
    n_text = without.input_ids.shape[1] - 3
    assert not torch.allclose(a[:, -n_text:], b[:, -n_text:], atol=1e-3)


def test_batched_greedy_generate_equals_one_by_one(loaded):
    family, model, processor = loaded.family, loaded.model, loaded.processor
    images = [shape_image("red"), shape_image("blue", size=(50, 40))]
    prompts = [
        family.build_prompt("what colour is the square?", True),
        family.build_prompt("how many circles are there in the top left corner?", True),
    ]
    with torch.no_grad():
        batch = processor(images=images, text=prompts, return_tensors="pt", padding=True)
        assert (batch.attention_mask[0] == 0).any() and batch.attention_mask[:, -1].all()  # left-padded
        out = model.generate(**batch, max_new_tokens=6, do_sample=False)
        batched = out[:, batch.input_ids.shape[1] :].tolist()
        for i in range(2):
            single = processor(images=images[i], text=prompts[i], return_tensors="pt")
            alone = model.generate(**single, max_new_tokens=6, do_sample=False)
            assert alone[0, single.input_ids.shape[1] :].tolist() == batched[i]


def test_missing_dir_is_named(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError, match=str(missing)):
        load_model(missing)


def test_dir_without_config_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=rf"{tmp_path}.*config\.json"):
        load_model(tmp_path)


def test_unsupported_model_type_names_dir_and_families(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(UnsupportedModelError, match=rf"{tmp_path}.*'bert'.*supported: llava") as err:
        family_for(tmp_path)
    with pytest.raises(UnsupportedModelError):
        load_model(tmp_path)
    assert isinstance(err.value, ValueError)


def test_unknown_dtype_is_refused(tiny_llava_dir):
    with pytest.raises(ValueError, match="float64.*float32, bfloat16, float16"):
        load_model(tiny_llava_dir, dtype="float64")


def test_the_registry_is_families_json():
    """One list of families: families.json names each family and its model_types; the registry loads models/<name>.py."""
    from c3l_worker.models import FAMILIES_FILE

    listed = json.loads(FAMILIES_FILE.read_text())["families"]
    assert sorted(FAMILIES) == sorted(listed)
    for name, family in FAMILIES.items():
        assert family.name == name
        assert family.model_types == tuple(listed[name]["model_types"])
        assert family.matches({"model_type": listed[name]["model_types"][0]})
