"""RMSprop: PyTorch's ``torch.optim.RMSprop``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, lerp_

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop (Hinton, 2012), exactly PyTorch's ``torch.optim.RMSprop``.

    With g = ∇f(p) (+ λ·p with weight_decay λ; −∇f with maximize)::

        v ← α·v + (1 − α)·g²                 running mean of g²
        centered:  ḡ ← α·ḡ + (1 − α)·g,  d = √(v − ḡ²) + ε     (√ of a variance estimate)
        otherwise: d = √v + ε
        momentum μ > 0:  b ← μ·b + g/d,  p ← p − lr·b
        otherwise:       p ← p − lr·g/d

    Dividing by √v gives each coordinate a step size that adapts to its gradient's scale.
    """

    _non_negative = ("lr", "alpha", "eps", "weight_decay", "momentum")

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 maximize: bool = False) -> None:
        defaults = {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                    "momentum": momentum, "centered": centered, "maximize": maximize}
        super().__init__(params, defaults)

    def _init_state(self, param: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        state = {"step": 0, "square_avg": np.zeros_like(param)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = np.zeros_like(param)
        if group["centered"]:
            state["grad_avg"] = np.zeros_like(param)
        return state

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        alpha = group["alpha"]
        state["step"] += 1
        v = state["square_avg"]
        v *= alpha
        v += (1 - alpha) * g * g                    # v ← α·v + (1 − α)·g²
        if group["centered"]:
            g_avg = lerp_(state["grad_avg"], g, 1 - alpha)  # ḡ ← α·ḡ + (1 − α)·g
            d = np.sqrt(v - g_avg * g_avg) + group["eps"]
        else:
            d = np.sqrt(v) + group["eps"]
        if group["momentum"] > 0:
            b = state["momentum_buffer"]
            b *= group["momentum"]
            b += g / d                              # b ← μ·b + g/d
            p -= group["lr"] * b
        else:
            p -= group["lr"] * g / d
