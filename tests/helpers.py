"""Small things several test files share: a lazy torch handle and reference user Functions."""

from __future__ import annotations

import importlib
from typing import Any

from tinygrad_loss.autograd import Function


class LazyModule:
    """``torch.xxx`` resolved on first use, so importing a test helper never needs torch."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)


torch = LazyModule("torch")
torch_functional = LazyModule("torch.nn.functional")


class Cube(Function):
    """x³ with its correct derivative 3x²."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x**2


class WrongCube(Cube):
    """x³ with a deliberately wrong derivative (2x² instead of 3x²)."""

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 2 * x**2
