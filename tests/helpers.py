"""Small things several test files share: a lazy torch handle and reference user Functions."""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

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


def to_f64(module: Any) -> Any:
    """Every parameter and float buffer of ``module`` as float64 (in place; returns the module).
    Integer buffers (BatchNorm's num_batches_tracked) keep their dtype."""
    for p in module.parameters():
        p.data = p.data.astype(np.float64)
    for _, b in module.named_buffers():
        if b.dtype.kind == "f":
            b.data = b.data.astype(np.float64)
    return module
