from ..protocol.tensors import tensor_from_wire, tensor_to_wire
from . import op


@op("echo")
def echo(content: dict, state) -> dict:
    """Every tensor goes wire -> torch -> wire, so a bit-exact echo proves both conversions.
    progress_lines (test-only) sends that many progress frames first, to test the progress channel."""
    lines = content.get("progress_lines", 0)
    for i in range(1, lines + 1):
        state.progress(f"echo progress {i}/{lines}")
    tensors = {name: tensor_from_wire(t) for name, t in content.get("tensors", {}).items()}
    reply = {
        "tensors": {name: tensor_to_wire(t) for name, t in tensors.items()},
        "sums": {name: float(t.double().sum()) for name, t in tensors.items()},
    }
    if "payload" in content:
        reply["payload"] = content["payload"]
    return reply
