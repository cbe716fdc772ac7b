"""Weight initialisation as PyTorch does it (in place, on the generator ``manual_seed`` sets)."""

from __future__ import annotations

import math
from typing import Any

from ..engine import mark_edited
from ..factories import generator
from ..tensor import Tensor


def _write(t: Tensor, values: Any) -> Tensor:
    """Put ``values`` into ``t``'s numbers in place (outside any graph, as PyTorch's init does)."""
    t.data[...] = values
    mark_edited(t)
    return t


def uniform_(t: Tensor, low: float = 0.0, high: float = 1.0) -> Tensor:
    return _write(t, generator().uniform(low, high, t.shape))


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    return _write(t, generator().normal(mean, std, t.shape))


def zeros_(t: Tensor) -> Tensor:
    return _write(t, 0)


def ones_(t: Tensor) -> Tensor:
    return _write(t, 1)


def fan_in(t: Tensor) -> int:
    """Inputs feeding one output unit: in_features, or in_channels·kernel height·kernel width."""
    return int(math.prod(t.shape[1:])) if t.ndim > 1 else t.shape[0]


def kaiming_uniform_(t: Tensor, a: float = 0.0) -> Tensor:
    """U(-b, b) with b = gain·√(3/fan_in), gain = √(2/(1 + a²)) (leaky ReLU with slope a)."""
    bound = math.sqrt(2.0 / (1 + a * a)) * math.sqrt(3.0 / fan_in(t))
    return uniform_(t, -bound, bound)


def xavier_uniform_(t: Tensor, gain: float = 1.0) -> Tensor:
    fan_out = t.shape[0] * (int(math.prod(t.shape[2:])) if t.ndim > 2 else 1)
    bound = gain * math.sqrt(6.0 / (fan_in(t) + fan_out))
    return uniform_(t, -bound, bound)
