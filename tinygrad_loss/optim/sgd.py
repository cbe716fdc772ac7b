"""Stochastic gradient descent, with optional (Nesterov) momentum: PyTorch's ``torch.optim.SGD``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer

__all__ = ["SGD", "Momentum"]


class SGD(Optimizer):
    """Stochastic gradient descent, exactly PyTorch's ``torch.optim.SGD``.

    With g = ∇f(p) (+ λ·p with weight_decay λ; −∇f with maximize), each step::

        plain:     p ← p − lr·g
        momentum:  b ← μ·b + (1 − τ)·g          (b ← g on the first step: no dampening τ yet)
                   p ← p − lr·b
        nesterov:  p ← p − lr·(g + μ·b)          (look ahead along the momentum)

    μ = momentum, τ = dampening. Momentum averages recent gradients, so steps keep going
    through small bumps and are larger along directions where gradients agree.

    Example, f(w) = w² from w = 1: the gradient is 2, so one step with lr = 0.1 gives 0.8::

        >>> import numpy as np, tinygrad_loss as tl
        >>> from tinygrad_loss import optim
        >>> w = tl.tensor(np.array(1.0), requires_grad=True)
        >>> opt = optim.SGD([w], lr=0.1)
        >>> (w ** 2).backward()
        >>> opt.step()
        >>> w.item()
        0.8
    """

    _non_negative = ("lr", "momentum", "dampening", "weight_decay")

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-3,
                 momentum: float = 0, dampening: float = 0, weight_decay: float = 0,
                 nesterov: bool = False, maximize: bool = False) -> None:
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize}
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        if group.get("nesterov") and (group["momentum"] <= 0 or group["dampening"] != 0):
            self._invalid("nesterov", True, f"momentum > 0 and dampening = 0 with it (got momentum="
                          f"{group['momentum']!r}, dampening={group['dampening']!r})")

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        mu = group["momentum"]
        if mu != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(g, dtype=p.dtype)  # a copy, an array even if 0-d
            else:
                buf *= mu
                buf += (1 - group["dampening"]) * g
            g = g + mu * buf if group["nesterov"] else buf
        p -= group["lr"] * g


class Momentum(SGD):
    """SGD with momentum (heavy ball), μ = 0.9 by default::

        b ← μ·b + g          (b ← g on the first step)
        p ← p − lr·b         (nesterov: p ← p − lr·(g + μ·b))

    The same as ``SGD(params, lr, momentum=0.9)``; for plain gradient descent use :class:`SGD`.
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float, momentum: float = 0.9,
                 nesterov: bool = False, *, dampening: float = 0, weight_decay: float = 0,
                 maximize: bool = False) -> None:
        super().__init__(params, lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                         nesterov=nesterov, maximize=maximize)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        if not group["momentum"] > 0:
            self._invalid("momentum", group["momentum"], "a number > 0 (for plain gradient descent use SGD)")
