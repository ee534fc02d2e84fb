from ..protocol.tensors import tensor_from_wire, tensor_to_wire
from . import op


@op("echo")
def echo(content: dict, state) -> dict:
    """Every tensor goes wire -> torch -> wire, so a bit-exact echo proves both conversions."""
    tensors = {name: tensor_from_wire(t) for name, t in content.get("tensors", {}).items()}
    reply = {
        "tensors": {name: tensor_to_wire(t) for name, t in tensors.items()},
        "sums": {name: float(t.double().sum()) for name, t in tensors.items()},
    }
    if "payload" in content:
        reply["payload"] = content["payload"]
    return reply
