"""Dtype names as PyTorch spells them, mapped onto numpy dtypes.

``tinygrad_loss.float32 is numpy.dtype('float32')``, so ``t.dtype == tinygrad_loss.float32`` and
``t.dtype == np.float32`` both work. Strings (``'float'``, ``'torch.float64'``, ``'long'``) are
accepted wherever a dtype is.
"""

import numpy as np

from .errors import DTypeError

float16 = half = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = double = np.dtype(np.float64)
int8 = np.dtype(np.int8)
int16 = short = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = long = np.dtype(np.int64)
uint8 = np.dtype(np.uint8)
bool_ = np.dtype(np.bool_)

DEFAULT_FLOAT = float32

_BY_NAME = {
    "float16": float16, "half": float16,
    "float32": float32, "float": float32,
    "float64": float64, "double": float64,
    "int8": int8, "int16": int16, "short": int16, "int32": int32, "int": int32,
    "int64": int64, "long": int64, "uint8": uint8, "bool": bool_,
}
_ALLOWED = frozenset(_BY_NAME.values())


def as_dtype(dtype: object, where: str = "dtype") -> np.dtype:
    """Turn a dtype name, numpy dtype or Python type into one of the supported numpy dtypes."""
    if isinstance(dtype, str):
        key = dtype.removeprefix("torch.")
        if key not in _BY_NAME:
            raise DTypeError(f"{where}: unknown dtype {dtype!r}; expected one of {sorted(_BY_NAME)}")
        return _BY_NAME[key]
    if dtype is float:
        return float32
    if dtype is int:
        return int64
    if dtype is bool:
        return bool_
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise DTypeError(f"{where}: unknown dtype {dtype!r}; expected one of {sorted(_BY_NAME)}") from None
    if resolved not in _ALLOWED:
        raise DTypeError(f"{where}: dtype {resolved} is not supported; expected one of {sorted(_BY_NAME)}")
    return resolved


def is_floating(dtype: np.dtype) -> bool:
    """True for float16/32/64: the dtypes that can carry gradients."""
    return dtype.kind == "f"


class device:  # noqa: N801 - PyTorch spells it torch.device
    """Only the CPU exists here; accepted so that tutorial code with ``device=...`` runs."""

    __slots__ = ("type",)

    def __init__(self, type: "str | device" = "cpu") -> None:  # noqa: A002 - PyTorch's name
        name = type.type if isinstance(type, device) else str(type)
        if name.split(":")[0] != "cpu":
            raise ValueError(f"device: only 'cpu' is available in tinygrad_loss, got {name!r}")
        self.type = "cpu"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, (device, str)) and device(other).type == self.type

    def __hash__(self) -> int:
        return hash(self.type)

    def __repr__(self) -> str:
        return "device(type='cpu')"
