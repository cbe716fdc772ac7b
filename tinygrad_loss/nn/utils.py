"""``nn.utils.clip_grad_norm_``."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ..tensor import Tensor


def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float, norm_type: float = 2.0) -> Tensor:
    """Scale all gradients together so that their joint norm is at most ``max_norm``
    (factor max_norm / (norm + 1e-6), as PyTorch). Returns the norm before clipping."""
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return Tensor(0.0)
    dtype = np.result_type(*(g.dtype for g in grads))
    if norm_type == math.inf:
        # an empty gradient adds nothing, as for every finite norm_type (PyTorch raises here instead)
        total = max((float(np.abs(g.data).max()) for g in grads if g.data.size), default=0.0)
    else:
        total = float(sum(float((np.abs(g.data) ** norm_type).sum()) for g in grads) ** (1.0 / norm_type))
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for g in grads:
            g.data *= scale
    return Tensor(np.array(total, dtype=dtype))
