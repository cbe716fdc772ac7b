"""Constructors: zeros, ones, full, arange, linspace, randn, ... (PyTorch's names and defaults).

Each takes ``dtype=`` (float32 by default, as in PyTorch; ``arange`` of whole numbers gives
int64 like ``torch.arange``) and ``requires_grad=``. Random tensors come from one generator,
reset by ``manual_seed``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import dtypes
from .dtypes import as_dtype
from .errors import ShapeError
from .tensor import Tensor, _shape_arg, _to_array

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the generator behind randn, rand, randint, dropout and weight initialisation."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def generator() -> np.random.Generator:
    """The generator ``manual_seed`` resets (for code that draws its own random numbers)."""
    return _generator


def _size(size: tuple, where: str) -> tuple:
    shape = _shape_arg(size, where)
    if any(s < 0 for s in shape):
        raise ShapeError(f"{where}: sizes must be non-negative, got {shape if len(shape) > 1 else shape[0]}")
    return shape


def _finish(array: np.ndarray, requires_grad: bool, device: Any, name: str | None) -> Tensor:
    if device is not None:
        dtypes.device(device)
    t = Tensor._make(array, False, None)
    if name is not None:
        t.name = name
    return t.requires_grad_(True) if requires_grad else t


def _float_dtype(dtype: Any, where: str) -> np.dtype:
    return dtypes.DEFAULT_FLOAT if dtype is None else as_dtype(dtype, where)


def zeros(
    *size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None, name: str | None = None
) -> Tensor:
    return _finish(np.zeros(_size(size, "zeros"), _float_dtype(dtype, "zeros")), requires_grad, device, name)


def ones(
    *size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None, name: str | None = None
) -> Tensor:
    return _finish(np.ones(_size(size, "ones"), _float_dtype(dtype, "ones")), requires_grad, device, name)


def empty(
    *size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None, name: str | None = None
) -> Tensor:
    return zeros(*size, dtype=dtype, requires_grad=requires_grad, device=device, name=name)


def full(
    size: Any,
    fill_value: Any,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
    name: str | None = None,
) -> Tensor:
    """A tensor of ``size`` (``()`` for a 0-d tensor) filled with ``fill_value``."""
    if dtype is None:
        dtype = _to_array(fill_value, None, "full").dtype
    return _finish(np.full(_size((size,), "full"), fill_value, as_dtype(dtype, "full")), requires_grad, device, name)


def zeros_like(
    t: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None, name: str | None = None
) -> Tensor:
    dtype = as_dtype(dtype) if dtype else _dtype_of(t)
    return _finish(np.zeros(np.shape(t), dtype), requires_grad, device, name)


def ones_like(
    t: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None, name: str | None = None
) -> Tensor:
    return _finish(np.ones(np.shape(t), as_dtype(dtype) if dtype else _dtype_of(t)), requires_grad, device, name)


def full_like(
    t: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None, name: str | None = None
) -> Tensor:
    dtype = as_dtype(dtype) if dtype else _dtype_of(t)
    return _finish(np.full(np.shape(t), fill_value, dtype), requires_grad, device, name)


def _dtype_of(t: Any) -> np.dtype:
    return t.dtype if hasattr(t, "dtype") else _to_array(t, None, "like").dtype


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
    name: str | None = None,
) -> Tensor:
    """[start, end) in steps; int64 when every argument is a whole number, else float32."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be non-zero")
    if dtype is None:
        whole = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = dtypes.int64 if whole else dtypes.DEFAULT_FLOAT
    return _finish(np.arange(start, end, step).astype(as_dtype(dtype, "arange")), requires_grad, device, name)


def _steps(steps: Any, where: str) -> int:
    if int(steps) != steps or steps < 0:
        raise ValueError(f"{where}: steps must be a non-negative integer, got {steps!r}")
    return int(steps)


def linspace(
    start: float,
    end: float,
    steps: int,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
    name: str | None = None,
) -> Tensor:
    """``steps`` evenly spaced values from start to end, both included."""
    values = np.linspace(start, end, _steps(steps, "linspace")).astype(_float_dtype(dtype, "linspace"))
    return _finish(values, requires_grad, device, name)


def logspace(
    start: float,
    end: float,
    steps: int,
    base: float = 10.0,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
    name: str | None = None,
) -> Tensor:
    """``base ** linspace(start, end, steps)``."""
    values = np.logspace(start, end, _steps(steps, "logspace"), base=base).astype(_float_dtype(dtype, "logspace"))
    return _finish(values, requires_grad, device, name)


def eye(
    n: int,
    m: int | None = None,
    dtype: Any = None,
    requires_grad: bool = False,
    device: Any = None,
    name: str | None = None,
) -> Tensor:
    _size((n,) if m is None else (n, m), "eye")
    return _finish(np.eye(n, m, dtype=_float_dtype(dtype, "eye")), requires_grad, device, name)


def randn(
    *size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None, name: str | None = None
) -> Tensor:
    """Standard normal samples."""
    dtype = _float_dtype(dtype, "randn")
    array = _generator.standard_normal(_size(size, "randn")).astype(dtype)
    return _finish(array, requires_grad, device, name)


def rand(
    *size: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None, name: str | None = None
) -> Tensor:
    """Uniform samples from [0, 1)."""
    dtype = _float_dtype(dtype, "rand")
    array = _generator.random(_size(size, "rand")).astype(dtype)
    return _finish(array, requires_grad, device, name)


def randint(
    low: int, high: int | None = None, size: Any = (), dtype: Any = None, device: Any = None, name: str | None = None
) -> Tensor:
    """Integers from [low, high) (``randint(high, size)`` starts at 0), int64 by default."""
    if high is None:
        low, high = 0, low
    if low >= high:
        raise ValueError(f"randint: low ({low}) must be less than high ({high})")
    dtype = dtypes.int64 if dtype is None else as_dtype(dtype, "randint")
    return _finish(_generator.integers(low, high, _size((size,), "randint")).astype(dtype), False, device, name)


def randn_like(t: Any, dtype: Any = None, requires_grad: bool = False, name: str | None = None) -> Tensor:
    return randn(np.shape(t), dtype=dtype or _dtype_of(t), requires_grad=requires_grad, name=name)


def rand_like(t: Any, dtype: Any = None, requires_grad: bool = False, name: str | None = None) -> Tensor:
    return rand(np.shape(t), dtype=dtype or _dtype_of(t), requires_grad=requires_grad, name=name)
