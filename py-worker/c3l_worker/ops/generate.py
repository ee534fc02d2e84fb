import time

from ..qa_parser import parse_qa
from . import op


@op("generate")
def generate(content: dict, state) -> dict:
    """Decodes every item (see generation.py) and parses each text into question/answer pairs."""
    from ..generation import GenerationSettings, generate_texts  # lazy: imports transformers

    started = time.perf_counter()
    loaded = state.model(content["model_id"])
    settings = GenerationSettings.from_request(content)
    completions = generate_texts(loaded, content["items"], settings)
    return {"results": [_result(c) for c in completions], "seconds": time.perf_counter() - started}


def _result(c) -> dict:
    if c.error is not None:
        pairs, parse_error = [], None  # the error says why; there is no text to parse
    else:
        # At the token limit the last answer is presumably cut short: parse_qa drops and reports it.
        pairs, parse_error = parse_qa(c.text, truncated=c.finish_reason == "length")
    return {
        "id": c.item_id,
        "text": c.text,
        "num_tokens": c.num_tokens,
        "finish_reason": c.finish_reason,
        "qa_pairs": pairs,
        "parse_error": parse_error,
        "error": c.error.to_wire() if c.error is not None else None,
    }
