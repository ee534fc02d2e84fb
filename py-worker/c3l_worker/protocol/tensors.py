"""torch.Tensor <-> wire Tensor {dtype, shape, data}: raw little-endian bytes, never pickle."""
import sys

import numpy as np
import torch

_TORCH = {
    "float64": torch.float64, "float32": torch.float32, "float16": torch.float16,
    "bfloat16": torch.bfloat16, "int64": torch.int64, "int32": torch.int32,
    "int16": torch.int16, "int8": torch.int8, "uint8": torch.uint8, "bool": torch.bool,
}
_NAMES = {v: k for k, v in _TORCH.items()}
# numpy has no bfloat16: its bytes travel through int16 views.
_NUMPY = {"float64": "<f8", "float32": "<f4", "float16": "<f2", "bfloat16": "<i2", "int64": "<i8",
          "int32": "<i4", "int16": "<i2", "int8": "i1", "uint8": "u1", "bool": "?"}

assert sys.byteorder == "little", "c3l's wire tensors are little-endian; this host is not"


def tensor_to_wire(tensor: torch.Tensor) -> dict:
    dtype = _NAMES.get(tensor.dtype)
    if dtype is None:
        raise TypeError(f"tensor dtype {tensor.dtype} cannot travel; supported: {', '.join(_TORCH)}")
    flat = tensor.detach().to("cpu").contiguous()
    if dtype == "bfloat16":
        flat = flat.view(torch.int16)
    return {"dtype": dtype, "shape": list(tensor.shape), "data": flat.numpy().tobytes()}


def tensor_from_wire(wire: dict) -> torch.Tensor:
    dtype = wire["dtype"]
    # frombuffer over msgpack's bytes is read-only: copy before torch takes it.
    array = np.frombuffer(wire["data"], dtype=_NUMPY[dtype]).copy().reshape(wire["shape"])
    tensor = torch.from_numpy(array)
    return tensor.view(torch.bfloat16) if dtype == "bfloat16" else tensor
