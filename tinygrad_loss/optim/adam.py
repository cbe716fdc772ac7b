"""Adam and AdamW: PyTorch's ``torch.optim.Adam`` and ``torch.optim.AdamW``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, _is_number, lerp_

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), exactly PyTorch's ``torch.optim.Adam``.

    With g = ∇f(p) (+ λ·p: weight_decay is L2 added to the gradient; −∇f with maximize) and
    t the step count (1, 2, ...)::

        m ← β₁·m + (1 − β₁)·g                   first moment: a running mean of g
        v ← β₂·v + (1 − β₂)·g²                  second moment: a running mean of g²
        m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)    bias corrections (m, v start at 0)
        p ← p − lr·m̂ / (√v̂ + ε)

    amsgrad: v̂ uses v_max ← max(v_max, v) instead of v, so the step size never grows back.
    Each coordinate gets its own step size lr/√v̂: about lr per step whatever the gradient's
    scale.
    """

    _non_negative = ("lr", "eps", "weight_decay")

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0,
                 amsgrad: bool = False, maximize: bool = False) -> None:
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize}
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        betas = group.get("betas", (0.9, 0.999))
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
            self._invalid("betas", betas, "a pair (β₁, β₂) of numbers in [0, 1), e.g. (0.9, 0.999)")
        for i, beta in enumerate(betas):
            if not (_is_number(beta) and 0 <= beta < 1):
                self._invalid(f"betas[{i}]", beta, "a number in [0, 1), e.g. betas=(0.9, 0.999)")

    def _init_state(self, param: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        state = {"step": 0, "exp_avg": np.zeros_like(param), "exp_avg_sq": np.zeros_like(param)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = np.zeros_like(param)
        return state

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        beta1, beta2 = group["betas"]
        state["step"] += 1
        t = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        scratch = self._scratch(p)
        lerp_(m, g, 1 - beta1, scratch)             # m ← β₁·m + (1 − β₁)·g
        v *= beta2
        np.multiply(g, g, out=scratch)
        scratch *= 1 - beta2
        v += scratch                                # v ← β₂·v + (1 − β₂)·g²
        if group["amsgrad"]:
            v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        step_size = group["lr"] / (1 - beta1 ** t)  # lr / (1 − β₁ᵗ)
        denom = np.sqrt(v, out=scratch)
        denom /= (1 - beta2 ** t) ** 0.5
        denom += group["eps"]                       # √v̂ + ε
        update = np.divide(m, denom, out=denom)
        update *= step_size
        p -= update                                 # p ← p − lr·m̂ / (√v̂ + ε)


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter, 2019): Adam with *decoupled* weight decay, PyTorch's
    ``torch.optim.AdamW``.

    Instead of adding λ·p to the gradient (which Adam would then rescale by 1/√v̂), each
    step first shrinks the parameter directly, then does Adam's update with the plain g::

        p ← p·(1 − lr·λ)
        m ← β₁·m + (1 − β₁)·g,   v ← β₂·v + (1 − β₂)·g²
        p ← p − lr·m̂ / (√v̂ + ε)

    λ = weight_decay, 0.01 by default.
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 amsgrad: bool = False, maximize: bool = False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize)

    def _weight_decay(self, param: np.ndarray, g: np.ndarray, group: dict[str, Any]) -> np.ndarray:
        """Decoupled weight decay: p ← p·(1 − lr·λ); the gradient is left alone."""
        if group["weight_decay"] != 0:
            param *= 1 - group["lr"] * group["weight_decay"]
        return g
