import json
import time

import pytest
import torch
from PIL import Image, ImageDraw
from safetensors.torch import load_file
from transformers import AutoModelForImageTextToText, AutoProcessor

from c3l_worker.tiny_llava import MARKER, build_tiny_llava, main

PROMPT = "USER: <image>\nWhat colour is the circle? ASSISTANT:"


def red_circle(size=(64, 80)) -> Image.Image:
    img = Image.new("RGB", size, "white")
    ImageDraw.Draw(img).ellipse((10, 10, 50, 60), fill="red")
    return img


@pytest.fixture(scope="module")
def reloaded(tiny_llava_dir):
    processor = AutoProcessor.from_pretrained(tiny_llava_dir, backend="pil", local_files_only=True)
    model = AutoModelForImageTextToText.from_pretrained(tiny_llava_dir, local_files_only=True).eval()
    return processor, model


def test_reloads_offline_with_auto_classes(tiny_llava_dir, reloaded):
    processor, model = reloaded
    assert type(model).__name__ == "LlavaForConditionalGeneration"
    assert type(processor).__name__ == "LlavaProcessor"
    assert type(processor.image_processor).__name__ == "CLIPImageProcessorPil"
    tok = processor.tokenizer
    assert model.config.image_token_index == tok.convert_tokens_to_ids("<image>")
    assert model.config.vision_feature_layer == -1
    assert model.config.vision_feature_select_strategy == "default"
    assert model.config.text_config.vocab_size == len(tok)
    assert (tok.unk_token, tok.pad_token, tok.bos_token, tok.eos_token) == ("<unk>", "<pad>", "<s>", "</s>")
    n = sum(p.numel() for p in model.parameters())
    assert 1_000_000 <= n <= 2_000_000
    marker = json.loads((tiny_llava_dir / MARKER).read_text())
    assert marker["num_parameters"] == n and marker["seed"] == 0


def test_tokenizer_is_word_level_and_decodes_readably(reloaded):
    tok = reloaded[0].tokenizer
    ids = tok("What colour is the circle?").input_ids
    assert tok.convert_ids_to_tokens(ids) == ["<s>", "what", "colour", "is", "the", "circle", "?"]
    assert tok.decode(ids, skip_special_tokens=True) == "what colour is the circle?"
    assert tok("<image>", add_special_tokens=False).input_ids == [tok.convert_tokens_to_ids("<image>")]
    assert tok("12 zebras", add_special_tokens=False).input_ids == [
        tok.convert_tokens_to_ids("1"),
        tok.convert_tokens_to_ids("2"),
        tok.unk_token_id,
    ]
    assert tok.decode(tok(PROMPT).input_ids, skip_special_tokens=True) == "user: what colour is the circle? assistant:"
    assert tok.model_max_length >= 512


def test_forward_with_image_expands_placeholder(reloaded):
    processor, model = reloaded
    inputs = processor(images=red_circle(), text=PROMPT, return_tensors="pt")
    text_only = processor.tokenizer(PROMPT, return_tensors="pt")
    image_id = model.config.image_token_index
    # 48/16 = 3x3 patches; CLS is added by CLIP and dropped by the "default" strategy.
    assert (inputs.input_ids == image_id).sum().item() == 9
    assert inputs.pixel_values.shape == (1, 3, 48, 48)
    with torch.no_grad():
        logits = model(**inputs).logits
    seq = text_only.input_ids.shape[1] - 1 + 9
    assert logits.shape == (1, seq, model.config.text_config.vocab_size)
    assert torch.isfinite(logits).all()


def test_same_seed_same_weights_other_seed_differs(tiny_llava_dir, tmp_path):
    same = load_file(build_tiny_llava(tmp_path / "seed0", seed=0) / "model.safetensors")
    other = load_file(build_tiny_llava(tmp_path / "seed1", seed=1) / "model.safetensors")
    ref = load_file(tiny_llava_dir / "model.safetensors")
    assert same.keys() == ref.keys() == other.keys()
    assert all(torch.equal(same[k], ref[k]) for k in ref)
    # Norms and biases start at ones/zeros whatever the seed; every random matrix must differ.
    matrices = [k for k in ref if ref[k].ndim >= 2]
    assert any("vision_tower" in k for k in matrices) and any("multi_modal_projector" in k for k in matrices)
    assert [k for k in matrices if torch.equal(other[k], ref[k])] == []
    assert not list(tmp_path.glob("*.tmp-*")), "temporary build folders left behind"


def test_rebuild_is_idempotent_and_fast(tiny_llava_dir):
    marker = tiny_llava_dir / MARKER
    weights = tiny_llava_dir / "model.safetensors"
    before = (marker.stat().st_mtime_ns, weights.stat().st_mtime_ns)
    start = time.perf_counter()
    assert build_tiny_llava(tiny_llava_dir, seed=0) == tiny_llava_dir
    assert time.perf_counter() - start < 0.5
    assert (marker.stat().st_mtime_ns, weights.stat().st_mtime_ns) == before


def test_existing_folder_with_other_params_is_refused(tiny_llava_dir):
    with pytest.raises(FileExistsError, match="seed: found 0, wanted 1"):
        build_tiny_llava(tiny_llava_dir, seed=1)


def test_unfinished_folder_is_refused(tmp_path):
    out = tmp_path / "half"
    out.mkdir()
    (out / "config.json").write_text("{}")
    with pytest.raises(FileExistsError, match=str(out)):
        build_tiny_llava(out)


def test_cli_prints_path(tiny_llava_dir, capsys):
    assert main(["--out", str(tiny_llava_dir), "--seed", "0"]) == 0
    assert capsys.readouterr().out.strip() == str(tiny_llava_dir)
