"""Layer functions (the maths behind nn.Linear, nn.Conv2d, ...), built from Tensor ops and a few
fused ops (ops.Linear, conv_ops.Conv2d, conv_ops.MaxPool2d: one graph node per layer, for speed),
so their gradients come from the ops' own backward and create_graph works through them."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import conv_ops, ops
from ..errors import DTypeError, IndexOutOfRangeError, ShapeError
from ..factories import generator
from ..tensor import Tensor, as_tensor


def _int_pair(value: int | tuple, name: str, where: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or any(int(v) != v for v in pair):
        raise ValueError(f"{where}: {name} must be an int or a pair of ints, got {value!r}")
    return int(pair[0]), int(pair[1])


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None, *, where: str = "linear") -> Tensor:
    """x @ weightᵀ + bias, with weight of shape (out_features, in_features) as in PyTorch.
    ``where`` names the caller in error messages (nn.Linear passes its repr)."""
    expected = f"expected a Tensor of shape (*, {weight.shape[1]})"
    if not isinstance(x, (Tensor, np.ndarray)):
        raise TypeError(f"{where}: {expected}, got a {type(x).__name__}; convert it first, e.g. tl.tensor(x)")
    if x.ndim == 0:
        raise ShapeError(f"{where}: {expected}, got a 0-d tensor (shape ())")
    if x.shape[-1] != weight.shape[1]:
        raise ShapeError(f"linear: input has {x.shape[-1]} features (shape {x.shape}) but the layer expects "
                         f"{weight.shape[1]} (weight shape {weight.shape})")
    return ops.Linear.apply(x, weight) if bias is None else ops.Linear.apply(x, weight, bias)


def _image(x: Tensor, where: str) -> Tensor:
    if x.ndim != 4:
        raise ShapeError(f"{where}: expects a batch of images (N, C, H, W), got shape {x.shape}")
    return x


def _padded(x: Tensor, padding: tuple[int, int]) -> Tensor:
    if padding == (0, 0):
        return x
    ph, pw = padding
    return x.pad(((0, 0), (0, 0), (ph, ph), (pw, pw)))


def _pool_args(kernel_size: Any, stride: Any, padding: Any, where: str) -> tuple[tuple, tuple, tuple]:
    kernel = _int_pair(kernel_size, "kernel_size", where)
    stride = kernel if stride is None else _int_pair(stride, "stride", where)
    padding = _int_pair(padding, "padding", where)
    if min(kernel) <= 0 or min(stride) <= 0:
        raise ValueError(f"{where}: kernel_size and stride must be positive, got {kernel} and {stride}")
    if min(padding) < 0 or padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{where}: padding must be between 0 and half the kernel size {kernel}, got {padding}")
    return kernel, stride, padding


def _check_kernel_fits(x: Tensor, kernel: tuple, padding: tuple, where: str) -> None:
    padded = (x.shape[2] + 2 * padding[0], x.shape[3] + 2 * padding[1])
    if padded[0] < kernel[0] or padded[1] < kernel[1]:
        raise ShapeError(f"{where}: kernel {kernel} is larger than the (padded) image {padded}")


def _windows(x: Tensor, kernel: tuple, stride: tuple, padding: tuple, where: str) -> Tensor:
    _check_kernel_fits(_image(x, where), kernel, padding, where)
    return ops.Windows.apply(_padded(x, padding), kernel=kernel, stride=stride)


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int | tuple = 1,
           padding: int | tuple = 0) -> Tensor:
    """2-d convolution (cross-correlation, as PyTorch): every patch times the kernels, as one
    matrix product (im2col on a strided view, then BLAS), in one graph node (conv_ops.Conv2d)."""
    out_channels, in_channels, kh, kw = weight.shape
    if _image(x, "conv2d").shape[1] != in_channels:
        raise ShapeError(f"conv2d: input has {x.shape[1]} channels (shape {x.shape}) but the weight "
                         f"{weight.shape} expects {in_channels}")
    stride, padding = _int_pair(stride, "stride", "conv2d"), _int_pair(padding, "padding", "conv2d")
    if min(stride) <= 0 or min(padding) < 0:
        raise ValueError(f"conv2d: stride must be positive and padding non-negative, got stride {stride} "
                         f"and padding {padding}")
    _check_kernel_fits(x, (kh, kw), padding, "conv2d")
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return conv_ops.Conv2d.apply(*inputs, stride=stride, padding=padding)


def max_pool2d(x: Tensor, kernel_size: int | tuple, stride: int | tuple | None = None,
               padding: int | tuple = 0) -> Tensor:
    """Largest value in each window (the gradient goes to that one position), in one graph node
    (conv_ops.MaxPool2d)."""
    kernel, stride, padding = _pool_args(kernel_size, stride, padding, "max_pool2d")
    _check_kernel_fits(_image(x, "max_pool2d"), kernel, padding, "max_pool2d")
    return conv_ops.MaxPool2d.apply(x, kernel=kernel, stride=stride, padding=padding)


def avg_pool2d(x: Tensor, kernel_size: int | tuple, stride: int | tuple | None = None,
               padding: int | tuple = 0) -> Tensor:
    """Mean of each window (zero padding counts, as PyTorch's count_include_pad=True)."""
    kernel, stride, padding = _pool_args(kernel_size, stride, padding, "avg_pool2d")
    return _windows(x, kernel, stride, padding, "avg_pool2d").mean(axis=(4, 5))


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each entry with probability p and scale the rest by 1/(1 - p) (identity when not training)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    keep = generator().random(x.shape) >= p
    return x * (keep / (1.0 - p)).astype(x.dtype)


def batch_norm(x: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel (axis 1) by the batch's mean and variance (training) or the
    running statistics (eval); running statistics are updated in training, as PyTorch does
    (the running variance with the unbiased batch variance)."""
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    if training:
        count = x.data.size // x.shape[1]
        if count < 2:
            raise ValueError(f"batch_norm: need more than one value per channel in training, got input shape {x.shape}")
        mean = x.mean(axis=axes, keepdims=True)
        var = x.var(axis=axes, keepdims=True)
        if running_mean is not None:
            m = momentum
            running_mean.data[...] = (1 - m) * running_mean.data + m * mean.data.reshape(-1)
            running_var.data[...] = (1 - m) * running_var.data + m * var.data.reshape(-1) * count / (count - 1)
    else:
        mean, var = running_mean.reshape(shape), running_var.reshape(shape)
    out = (x - mean) / (var + eps).sqrt()
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def layer_norm(x: Tensor, normalized_shape: tuple, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise over the last len(normalized_shape) axes of each sample."""
    normalized_shape = tuple(normalized_shape)
    if x.shape[x.ndim - len(normalized_shape):] != normalized_shape:
        raise ShapeError(f"layer_norm: input shape {x.shape} does not end with normalized_shape {normalized_shape}")
    axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    out = (x - x.mean(axis=axes, keepdims=True)) / (x.var(axis=axes, keepdims=True) + eps).sqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def embedding(indices: Any, weight: Tensor) -> Tensor:
    """Rows of ``weight`` picked by integer ``indices`` (their gradients add up per row)."""
    index = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
    if index.dtype.kind not in "iu":
        raise DTypeError(f"embedding: indices must be integers, got dtype {index.dtype}")
    if index.size and (index.min() < 0 or index.max() >= weight.shape[0]):
        bad = int(index.max() if index.max() >= weight.shape[0] else index.min())
        raise IndexOutOfRangeError(f"embedding: index {bad} is outside [0, {weight.shape[0]})")
    return as_tensor(weight)[index]
