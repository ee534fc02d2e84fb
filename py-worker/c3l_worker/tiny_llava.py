"""Build a tiny random-init LLaVA-1.5 checkpoint offline (tests, smoke runs, CI).

    python -m c3l_worker.tiny_llava --out runs/tiny-llava [--seed 0]

The folder reloads with `AutoProcessor.from_pretrained(dir, backend="pil")` and
`AutoModelForImageTextToText.from_pretrained(dir)` without the HF hub.
"""

from __future__ import annotations

import argparse
import hashlib
import os
from pathlib import Path

from .built_folder import is_complete, staging, write_marker

MARKER = "c3l_tiny.json"  # written last: its presence means the folder is complete
SPECIAL_TOKENS = ["<unk>", "<pad>", "<s>", "</s>", "<image>"]
UNK, PAD, BOS, EOS, IMAGE = SPECIAL_TOKENS
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
CHAT_TEMPLATE = (
    "{% for m in messages %}"
    "{% if m['role'] == 'user' %}USER: "
    "{% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}<image>\n{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}"
    "{% endfor %} {% else %}ASSISTANT: "
    "{% for c in m['content'] %}{% if c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}</s>"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)

SHAPES = ["circle", "square", "triangle", "star", "cross", "ring"]
COLOURS = ["red", "green", "blue", "yellow", "purple", "orange", "black", "white", "grey"]
POSITIONS = ["left", "right", "top", "bottom", "middle", "centre", "center", "corner"]


def default_corpus() -> list[str]:
    """Question/answer template text about shapes, colours, counts and positions."""
    lines = [
        "USER: what is in the image ? ASSISTANT: a picture of shapes .",
        "is there a shape in the image ? yes . no . there is no shape .",
        "the answer is yes . the answer is no . i do not know .",
        "which shape is on the left of the right one ? above below next to the",
        "describe the image . there are some shapes on a plain background .",
        "how many shapes are there in total ? count them , one by one !",
        " ".join(str(d) for d in range(10)) + " zero one two three four five six seven eight nine ten",
    ]
    for s in SHAPES:
        lines.append(f"how many {s}s are there ? there are 3 {s}s . is there a {s} ? yes , a {s} .")
        lines.append(f"where is the {s} ? the {s} is in the top left corner of the grid .")
        for c in COLOURS:
            lines.append(f"what colour is the {s} ? the {s} is {c} . what color is it ? {c} .")
            lines.append(f"is the {c} {s} at the bottom right ? no , it is at the top .")
    for p in POSITIONS:
        lines.append(f"what shape is at the {p} ? the shape at the {p} is a circle .")
        lines.append(f"which row and column ? row 1 , column 2 , on the {p} side .")
    return lines


def _corpus_digest(corpus: list[str]) -> str:
    return hashlib.sha256("\n".join(corpus).encode()).hexdigest()[:16]


def _build_tokenizer(corpus: list[str], model_max_length: int):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(unk_token=UNK))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    # Whitespace splits \w+ from punctuation runs; the other two split those runs further.
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Whitespace(),
            pre_tokenizers.Punctuation(behavior="isolated"),
            pre_tokenizers.Digits(individual_digits=True),
        ]
    )
    # Joins words with spaces and glues punctuation back ("circle ?" -> "circle?").
    tok.decoder = decoders.Sequence(
        [decoders.WordPiece(prefix="##", cleanup=True), decoders.Replace(" :", ":"), decoders.Replace(" ;", ";")]
    )
    trainer = trainers.WordLevelTrainer(special_tokens=SPECIAL_TOKENS, min_frequency=1)
    # The prompt-format words are always in the vocabulary, whatever the corpus.
    tok.train_from_iterator(list(corpus) + ["USER: ASSISTANT:"] + default_corpus()[-1:], trainer=trainer)
    bos_id = tok.token_to_id(BOS)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, bos_id)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token=UNK,
        pad_token=PAD,
        bos_token=BOS,
        eos_token=EOS,
        extra_special_tokens=[IMAGE],
        model_max_length=model_max_length,
        padding_side="left",  # batched greedy generate needs left padding
    )


def _build_processor(tokenizer, image_size: int, patch_size: int):
    from transformers import LlavaProcessor
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    image_processor = CLIPImageProcessorPil(
        do_resize=True,
        size={"shortest_edge": image_size},
        do_center_crop=True,
        crop_size={"height": image_size, "width": image_size},
        do_normalize=True,
        image_mean=CLIP_MEAN,
        image_std=CLIP_STD,
        do_convert_rgb=True,
    )
    # CLIP prepends a CLS token; the "default" strategy drops it again, so the count is patches.
    return LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=patch_size,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=CHAT_TEMPLATE,
    )


def _build_model(tokenizer, params: dict):
    import torch
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration

    vision = CLIPVisionConfig(
        image_size=params["image_size"],
        patch_size=params["patch_size"],
        hidden_size=params["vision_hidden"],
        intermediate_size=params["vision_hidden"] * 4,
        num_hidden_layers=params["vision_layers"],
        num_attention_heads=params["vision_heads"],
        projection_dim=params["vision_hidden"],
    )
    text = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=params["text_hidden"],
        intermediate_size=params["text_hidden"] * 2,
        num_hidden_layers=params["text_layers"],
        num_attention_heads=params["text_heads"],
        num_key_value_heads=params["text_heads"],
        max_position_embeddings=params["model_max_length"],
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    config = LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=tokenizer.convert_tokens_to_ids(IMAGE),
        vision_feature_layer=-1,  # -2 (the LLaVA default) would leave one of two layers unused
        vision_feature_select_strategy="default",
        projector_hidden_act="gelu",
        image_seq_length=(params["image_size"] // params["patch_size"]) ** 2,
    )
    # fork_rng: seed the build without disturbing the caller's random state.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(params["seed"])
        model = LlavaForConditionalGeneration(config)
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model.eval()


def build_tiny_llava(
    out_dir: str | os.PathLike,
    *,
    corpus: list[str] | None = None,
    seed: int = 0,
    image_size: int = 48,
    patch_size: int = 16,
    vision_hidden: int = 96,
    vision_layers: int = 2,
    vision_heads: int = 4,
    text_hidden: int = 192,
    text_layers: int = 3,
    text_heads: int = 4,
    model_max_length: int = 512,
) -> Path:
    """Build (or find already built) a tiny LLaVA at `out_dir`; returns its path."""
    out = Path(out_dir)
    corpus = list(corpus) if corpus is not None else default_corpus()
    params = {
        "format": 1,  # bump when the build changes output for the same parameters
        "seed": seed,
        "image_size": image_size,
        "patch_size": patch_size,
        "vision_hidden": vision_hidden,
        "vision_layers": vision_layers,
        "vision_heads": vision_heads,
        "text_hidden": text_hidden,
        "text_layers": text_layers,
        "text_heads": text_heads,
        "model_max_length": model_max_length,
        "corpus_sha256": _corpus_digest(corpus),
    }
    if is_complete(out, MARKER, params, "tiny LLaVA"):
        return out
    if image_size % patch_size:
        raise ValueError(f"image_size {image_size} is not a multiple of patch_size {patch_size}")
    if vision_layers < 1:
        raise ValueError(f"vision_layers must be >= 1, got {vision_layers}")

    with staging(out, MARKER, params, "tiny LLaVA") as tmp:
        tokenizer = _build_tokenizer(corpus, model_max_length)
        processor = _build_processor(tokenizer, image_size, patch_size)
        model = _build_model(tokenizer, params)
        model.save_pretrained(tmp)
        processor.save_pretrained(tmp)
        num_parameters = sum(p.numel() for p in model.parameters())
        write_marker(tmp, MARKER, {**params, "num_parameters": num_parameters, "vocab_size": len(tokenizer)})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m c3l_worker.tiny_llava", description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="folder to create (skipped if already built)")
    parser.add_argument("--seed", type=int, default=0, help="weight-init seed")
    args = parser.parse_args(argv)
    print(build_tiny_llava(args.out, seed=args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
