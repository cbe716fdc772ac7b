"""Adagrad: PyTorch's ``torch.optim.Adagrad``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011), exactly PyTorch's ``torch.optim.Adagrad``.

    With g = ∇f(p) (+ λ·p with weight_decay λ; −∇f with maximize) and t the step count::

        s ← s + g²                           sum of all squared gradients so far (s₀ = initial_accumulator_value)
        lrₜ = lr / (1 + (t − 1)·lr_decay)
        p ← p − lrₜ·g / (√s + ε)

    Coordinates that had large gradients get ever smaller steps; rare ones keep large steps.
    """

    _non_negative = ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0, eps: float = 1e-10,
                 maximize: bool = False) -> None:
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "maximize": maximize}
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """As :meth:`Optimizer.add_param_group`; the state (s = initial_accumulator_value) is created
        right away, as PyTorch does, so ``state_dict()`` shows it before the first step."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        for p in group["params"]:
            self.state[p] = self._init_state(p.data, group)

    def _init_state(self, param: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "sum": np.full_like(param, group["initial_accumulator_value"])}

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] += 1
        lr_t = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        s = state["sum"]
        s += g * g                                  # s ← s + g²
        p -= lr_t * g / (np.sqrt(s) + group["eps"])
