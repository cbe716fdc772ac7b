"""Activations and the loss catalogue, with PyTorch's names, arguments and defaults; the layer
functions (linear, conv2d, pooling, ...) of ``layers_functional`` are here too, as in PyTorch.

Every loss's docstring has the same four parts — Formula, When to use, Gradient, Example —
which ``tinygrad-loss losses NAME`` prints. ``reduction`` is ``'mean'`` (average over
elements), ``'sum'`` or ``'none'`` (one loss per element or sample) throughout.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import loss_ops
from ..errors import DTypeError, IndexOutOfRangeError, ShapeError
from ..tensor import Tensor, as_tensor, where
from .layers_functional import avg_pool2d, batch_norm, conv2d, dropout, embedding, layer_norm, linear, max_pool2d

__all__ = [
    "linear", "conv2d", "max_pool2d", "avg_pool2d", "dropout", "batch_norm", "layer_norm", "embedding",
    "relu", "leaky_relu", "gelu", "sigmoid", "tanh", "softplus", "softmax", "log_softmax", "logsigmoid",
    "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "cross_entropy", "nll_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "poisson_nll_loss",
    "gaussian_nll_loss", "hinge_embedding_loss", "margin_ranking_loss", "soft_margin_loss",
    "multi_margin_loss", "multilabel_soft_margin_loss", "cosine_embedding_loss", "triplet_margin_loss",
    "pairwise_distance", "rmse_loss", "hinge_loss", "log_cosh_loss", "sigmoid_focal_loss", "dice_loss",
    "contrastive_loss", "cost_sensitive_cross_entropy",
]

# ------------------------------------------------------------------------- activations


def relu(x: Any) -> Tensor:
    return as_tensor(x).relu()


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Tensor:
    return as_tensor(x).leaky_relu(negative_slope)


def gelu(x: Any, approximate: str = "none") -> Tensor:
    return as_tensor(x).gelu(approximate)


def sigmoid(x: Any) -> Tensor:
    return as_tensor(x).sigmoid()


def tanh(x: Any) -> Tensor:
    return as_tensor(x).tanh()


def softplus(x: Any, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return as_tensor(x).softplus(beta, threshold)


def softmax(x: Any, dim: int = -1) -> Tensor:
    return as_tensor(x).softmax(dim)


def log_softmax(x: Any, dim: int = -1) -> Tensor:
    return as_tensor(x).log_softmax(dim)


def logsigmoid(x: Any) -> Tensor:
    """ln σ(x), stable for any x: -(max(-x, 0) + ln(1 + exp(-|x|)))."""
    return loss_ops.LogSigmoid.apply(as_tensor(x))


def _softplus_exact(x: Tensor) -> Tensor:
    """ln(1 + exp(x)) without a threshold: = -ln σ(-x), exact and finite for any x."""
    return -logsigmoid(-x)


# ----------------------------------------------------------------------- input checks

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str, where_: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{where_}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _given(value: Any, name: str, where_: str) -> Any:
    """``value`` itself, unless it is None: numpy would quietly turn None into a NaN tensor."""
    if value is None:
        raise DTypeError(f"{where_}: {name} must be a tensor or an array of numbers, got None")
    return value


def _float_tensor(x: Any, name: str, where_: str) -> Tensor:
    t = as_tensor(_given(x, name, where_))
    if t.dtype.kind != "f":
        raise DTypeError(f"{where_}: {name} must be a floating point tensor, got dtype {t.dtype}")
    return t


def _pair(input: Any, target: Any, where_: str, float_target: bool = False,
          names: tuple[str, str] = ("input", "target")) -> tuple[Tensor, Tensor]:
    """input and a target whose shape broadcasts to input's (as PyTorch allows); with
    ``float_target`` the target must already be floating point (probabilities, not labels).
    ``names`` are the two arguments' names, for error messages."""
    x = _float_tensor(input, names[0], where_)
    if float_target:
        y = _float_tensor(target, names[1], where_)
    else:
        _given(target, names[1], where_)
        y = as_tensor(target, x.dtype) if not isinstance(target, Tensor) or target.dtype.kind != "f" else target
    try:
        shape = np.broadcast_shapes(x.shape, y.shape)
    except ValueError:
        raise ShapeError(f"{where_}: target shape {y.shape} does not fit input shape {x.shape}; "
                         "they must be equal (or broadcastable)") from None
    if shape != x.shape:
        raise ShapeError(f"{where_}: target shape {y.shape} would broadcast input {x.shape} to {shape}; "
                         "give a target with the input's shape")
    return x, y


def _class_target(target: Any, classes: int, ignore_index: int | None, where_: str) -> np.ndarray:
    """Class indices as an int64 array, each in [0, classes) or equal to ignore_index."""
    t = target.data if isinstance(target, Tensor) else np.asarray(_given(target, "target", where_))
    if t.dtype.kind not in "iu":
        raise DTypeError(f"{where_}: class-index targets must be integers (int64), got dtype {t.dtype}; "
                         "for class probabilities pass a float target of the input's shape")
    t = t.astype(np.int64, copy=False)
    valid = t != ignore_index if ignore_index is not None else np.ones(t.shape, bool)
    bad = valid & ((t < 0) | (t >= classes))
    if bad.any():
        raise IndexOutOfRangeError(f"{where_}: target holds class index {int(t[bad][0])}, outside [0, {classes})"
                                   + (f" (ignore_index is {ignore_index})" if ignore_index is not None else ""))
    return t


def _class_weight(weight: Any, classes: int, where_: str) -> np.ndarray | None:
    if weight is None:
        return None
    w = np.asarray(weight.data if isinstance(weight, Tensor) else weight)
    if w.shape != (classes,):
        raise ShapeError(f"{where_}: weight must have one entry per class, shape ({classes},), got {w.shape}")
    return w


def _classes_last(input: Tensor, target_shape: tuple, where_: str) -> tuple[Tensor, tuple]:
    """(N, C, d1, ...) or (C,) logits as (M, C) rows, and the shape of one loss per row."""
    if input.ndim == 0:
        raise ShapeError(f"{where_}: input needs a class axis, got a 0-d tensor")
    if input.ndim == 1:
        if target_shape != ():
            raise ShapeError(f"{where_}: unbatched input {input.shape} needs a 0-d target, got {target_shape}")
        return input.reshape(1, -1), ()
    expected = input.shape[:1] + input.shape[2:]
    if target_shape != expected:
        raise ShapeError(f"{where_}: input {input.shape} (N, C, ...) needs a target of shape {expected}, "
                         f"got {target_shape}")
    rows = input if input.ndim == 2 else input.permute(0, *range(2, input.ndim), 1).reshape(-1, input.shape[1])
    return rows, expected


# ------------------------------------------------------------------ regression losses


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean squared error.

    Formula: loss_i = (x_i - y_i)²
    When to use: regression with roughly Gaussian noise. Big errors dominate (an error twice as
        large costs four times as much), so one outlier can pull the whole fit.
    Gradient: d loss_i / d x_i = 2(x_i - y_i) — proportional to the error, so it vanishes
        smoothly as the fit improves ('mean' also divides by the number of elements).

    Example:
        >>> from tinygrad_loss import tensor
        >>> mse_loss(tensor([1.0, 2.0]), tensor([0.0, 4.0])).item()
        2.5
    """
    _check_reduction(reduction, "mse_loss")
    x, y = _pair(input, target, "mse_loss")
    d = x - y
    return _reduce(d * d, reduction)


def l1_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Mean absolute error.

    Formula: loss_i = |x_i - y_i|
    When to use: regression with outliers, or when you want the median rather than the mean:
        every error is charged linearly.
    Gradient: d loss_i / d x_i = sign(x_i - y_i) — the same size however large the error
        (0 exactly at x = y).

    Example:
        >>> from tinygrad_loss import tensor
        >>> l1_loss(tensor([1.0, 2.0]), tensor([0.0, 4.0])).item()
        1.5
    """
    _check_reduction(reduction, "l1_loss")
    x, y = _pair(input, target, "l1_loss")
    return _reduce((x - y).abs(), reduction)


def huber_loss(input: Any, target: Any, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """Huber loss: quadratic near the target, linear far away.

    Formula: loss_i = ½(x_i - y_i)² if |x_i - y_i| < delta, else delta·(|x_i - y_i| - ½·delta)
    When to use: regression that should be as smooth as MSE for small errors but as robust
        to outliers as L1 for large ones.
    Gradient: d loss_i / d x_i = (x_i - y_i) inside the delta band, delta·sign(x_i - y_i) outside.

    Example:
        >>> from tinygrad_loss import tensor
        >>> huber_loss(tensor([0.5, 3.0]), tensor([0.0, 0.0]), reduction="none").tolist()
        [0.125, 2.5]
    """
    _check_reduction(reduction, "huber_loss")
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    x, y = _pair(input, target, "huber_loss")
    d = x - y
    abs_d = d.abs()
    return _reduce(where(abs_d < delta, 0.5 * d * d, delta * (abs_d - 0.5 * delta)), reduction)


def smooth_l1_loss(input: Any, target: Any, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Smooth L1 loss (Huber divided by beta).

    Formula: loss_i = ½(x_i - y_i)²/beta if |x_i - y_i| < beta, else |x_i - y_i| - ½·beta
    When to use: like Huber (box regression in detectors uses it); beta = 0 is plain L1.
    Gradient: d loss_i / d x_i = (x_i - y_i)/beta inside the beta band, sign(x_i - y_i) outside.

    Example:
        >>> from tinygrad_loss import tensor
        >>> smooth_l1_loss(tensor([0.5, 3.0]), tensor([0.0, 0.0]), reduction="none").tolist()
        [0.125, 2.5]
    """
    _check_reduction(reduction, "smooth_l1_loss")
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    x, y = _pair(input, target, "smooth_l1_loss")
    d = x - y
    abs_d = d.abs()
    if beta == 0:
        return _reduce(abs_d, reduction)
    return _reduce(where(abs_d < beta, 0.5 * d * d / beta, abs_d - 0.5 * beta), reduction)


def rmse_loss(input: Any, target: Any, reduction: str = "mean", eps: float = 0.0) -> Tensor:
    """Root mean squared error: the square root of the MSE, in the units of the target.

    Formula: loss = √(mean_i (x_i - y_i)² + eps)   ('sum': √(Σ_i (x_i - y_i)² + eps);
        'none': √((x_i - y_i)² + eps) per element)
    When to use: to report or optimise the error in the target's own units; it ranks models
        exactly as MSE does but its gradient is rescaled by the current error.
    Gradient: d loss / d x_i = (x_i - y_i) / (N·loss) — the MSE gradient divided by 2·RMSE
        (pass eps > 0 to keep it finite at a perfect fit, where RMSE = 0).

    Example:
        >>> from tinygrad_loss import tensor
        >>> round(rmse_loss(tensor([3.0, 0.0]), tensor([0.0, 4.0])).item(), 6)  # √((9 + 16)/2)
        3.535534
    """
    _check_reduction(reduction, "rmse_loss")
    x, y = _pair(input, target, "rmse_loss")
    d = x - y
    squared = _reduce(d * d, reduction)
    return (squared + eps).sqrt() if eps else squared.sqrt()


def log_cosh_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Log-cosh loss: ≈ ½d² for small errors, ≈ |d| - ln 2 for large ones.

    Formula: loss_i = ln cosh(x_i - y_i), computed as |d| + ln(1 + exp(-2|d|)) - ln 2 so that
        cosh never overflows
    When to use: a smooth (twice differentiable everywhere) alternative to Huber for robust
        regression.
    Gradient: d loss_i / d x_i = tanh(x_i - y_i) — like MSE's near 0, bounded by ±1 like L1's.

    Example:
        >>> from tinygrad_loss import tensor
        >>> round(log_cosh_loss(tensor([1.0]), tensor([0.0])).item(), 6)
        0.433781
    """
    _check_reduction(reduction, "log_cosh_loss")
    x, y = _pair(input, target, "log_cosh_loss")
    abs_d = (x - y).abs()
    return _reduce(abs_d + _softplus_exact(-2 * abs_d) - math.log(2.0), reduction)


def poisson_nll_loss(input: Any, target: Any, log_input: bool = True, full: bool = False,
                     eps: float = 1e-8, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of a Poisson distribution (counts).

    Formula: log_input=True: loss_i = exp(x_i) - y_i·x_i (x is the log of the rate);
        log_input=False: loss_i = x_i - y_i·ln(x_i + eps). full=True adds Stirling's
        y·ln y - y + ½ln(2πy) for y > 1.
    When to use: predicting counts (events per hour, photons per pixel).
    Gradient: d loss_i / d x_i = exp(x_i) - y_i (log_input) or 1 - y_i/(x_i + eps).

    Example:
        >>> from tinygrad_loss import tensor
        >>> round(poisson_nll_loss(tensor([0.0]), tensor([2.0])).item(), 6)
        1.0
    """
    _check_reduction(reduction, "poisson_nll_loss")
    x, y = _pair(input, target, "poisson_nll_loss")
    loss = x.exp() - y * x if log_input else x - y * (x + eps).log()
    if full:
        y_safe = where(y > 1, y, 1.0)
        stirling = y_safe * y_safe.log() - y_safe + 0.5 * (2 * math.pi * y_safe).log()
        loss = loss + where(y > 1, stirling, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input: Any, target: Any, var: Any, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of a Gaussian whose mean and variance the model predicts.

    Formula: loss_i = ½(ln max(var_i, eps) + (x_i - y_i)²/max(var_i, eps)) (+ ½ln 2π if full)
    When to use: regression that also predicts its own uncertainty (heteroscedastic noise).
    Gradient: d loss_i / d x_i = (x_i - y_i)/var_i; d loss_i / d var_i = ½(1/var_i - (x_i - y_i)²/var_i²).
        The clamp at eps changes the value only: the gradient passes through it (as in PyTorch).

    Example:
        >>> from tinygrad_loss import tensor
        >>> round(gaussian_nll_loss(tensor([1.0]), tensor([0.0]), tensor([1.0])).item(), 6)
        0.5
    """
    _check_reduction(reduction, "gaussian_nll_loss")
    x, y = _pair(input, target, "gaussian_nll_loss")
    v = as_tensor(var, x.dtype) if isinstance(var, (int, float)) else _float_tensor(var, "var", "gaussian_nll_loss")
    if v.shape != x.shape and v.ndim:
        if v.shape == x.shape[:-1]:
            v = v.reshape(x.shape[:-1] + (1,))  # one variance shared by the last axis
        elif v.ndim != x.ndim or sum(a != b for a, b in zip(v.shape, x.shape)) != 1 or any(
                a != b and a != 1 for a, b in zip(v.shape, x.shape)):
            raise ShapeError(f"gaussian_nll_loss: var shape {v.shape} does not fit input shape {x.shape}; give one "
                             "variance per element, or a size-1 axis where one variance is shared")
    if (v.data < 0).any():
        raise ValueError("gaussian_nll_loss: var has negative entries")
    v = v + Tensor._make(np.maximum(v.data, eps) - v.data, False, None)  # clamp the value, not the gradient
    loss = 0.5 * (v.log() + (x - y) ** 2 / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


# -------------------------------------------------------------- classification losses


def cross_entropy(input: Any, target: Any, weight: Any = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between logits and a class (or a class distribution).

    Formula: loss_i = -w[y_i]·ln softmax(x_i)[y_i] = w[y_i]·(logsumexp(x_i) - x_i[y_i]);
        with label_smoothing ε the target is (1 - ε)·onehot(y_i) + ε/C. Probability targets:
        loss_i = -Σ_c w_c·p_ic·ln softmax(x_i)_c. 'mean' divides by Σ_i w[y_i].
    When to use: single-label classification (one class per sample) from raw scores (logits);
        never put a softmax in front of it.
    Gradient: d loss_i / d x_i = w[y_i]·(softmax(x_i) - onehot(y_i)) — push the true class's
        probability up and every other down, in proportion to how wrong they are.

    input is (N, C), (C,) or (N, C, d1, ...); target holds int64 class indices of shape
    (N,), () or (N, d1, ...) (``ignore_index`` entries are skipped), or float class
    probabilities of input's shape.

    Example:
        >>> from tinygrad_loss import tensor
        >>> round(cross_entropy(tensor([[2.0, 0.0, 0.0]]), tensor([0])).item(), 6)  # ln(1 + 2e⁻²)
        0.239545
    """
    _check_reduction(reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    x = _float_tensor(input, "input", "cross_entropy")
    _given(target, "target", "cross_entropy")
    classes = x.shape[1] if x.ndim > 1 else x.shape[0] if x.ndim else 0
    weight_array = _class_weight(weight, classes, "cross_entropy")
    target_dtype = target.dtype if isinstance(target, Tensor) else np.asarray(target).dtype
    if target_dtype.kind == "f":
        if ignore_index != -100:
            raise ValueError("cross_entropy: ignore_index only applies to class-index targets, not probabilities")
        return _cross_entropy_probabilities(x, as_tensor(target), weight_array, reduction, label_smoothing)
    rows, loss_shape = _classes_last(x, np.shape(target.data if isinstance(target, Tensor) else target),
                                     "cross_entropy")
    y = _class_target(target, classes, ignore_index, "cross_entropy").reshape(-1)
    loss = loss_ops.CrossEntropy.apply(rows, y, weight=weight_array, ignore_index=ignore_index,
                                       label_smoothing=float(label_smoothing), reduction=reduction)
    return loss.reshape(loss_shape) if reduction == "none" else loss


def _cross_entropy_probabilities(x: Tensor, p: Tensor, weight: np.ndarray | None, reduction: str,
                                 label_smoothing: float) -> Tensor:
    if p.shape != x.shape:
        raise ShapeError(f"cross_entropy: probability targets must have the input's shape {x.shape}, got {p.shape}")
    axis = 1 if x.ndim > 1 else 0
    classes = x.shape[axis]
    if label_smoothing:
        p = p * (1 - label_smoothing) + label_smoothing / classes
    terms = x.log_softmax(axis) * p
    if weight is not None:
        terms = terms * weight.reshape((-1,) + (1,) * (x.ndim - axis - 1)).astype(x.dtype)
    loss = -terms.sum(axis)
    if reduction == "mean":
        return loss.sum() / max(x.data.size // classes, 1)
    return _reduce(loss, reduction)


def nll_loss(input: Any, target: Any, weight: Any = None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of the target class, given log-probabilities.

    Formula: loss_i = -w[y_i]·x_i[y_i]   ('mean' divides by Σ_i w[y_i])
    When to use: after a log_softmax you computed yourself; cross_entropy = log_softmax + nll_loss.
    Gradient: d loss_i / d x_i = -w[y_i]·onehot(y_i): only the true class's entry gets a gradient.

    Example:
        >>> from tinygrad_loss import tensor
        >>> nll_loss(tensor([[-0.5, -1.5]]), tensor([1])).item()
        1.5
    """
    _check_reduction(reduction, "nll_loss")
    x = _float_tensor(input, "input", "nll_loss")
    _given(target, "target", "nll_loss")
    classes = x.shape[1] if x.ndim > 1 else x.shape[0] if x.ndim else 0
    weight_array = _class_weight(weight, classes, "nll_loss")
    rows, loss_shape = _classes_last(x, np.shape(target.data if isinstance(target, Tensor) else target), "nll_loss")
    y = _class_target(target, classes, ignore_index, "nll_loss").reshape(-1)
    keep = y != ignore_index
    safe = np.where(keep, y, 0)
    w = (weight_array[safe] if weight_array is not None else np.ones(len(y))) * keep
    w = w.astype(x.dtype)
    loss = -rows[np.arange(len(y)), safe] * w
    if reduction == "none":
        return loss.reshape(loss_shape)
    if reduction == "sum":
        return loss.sum()
    if not keep.any():
        # every target ignored: the mean is 0/0 = NaN, as in PyTorch, but the ignored samples send
        # no gradient (dividing by the zero total weight would make it 0·∞ = NaN): 0·loss + NaN
        return loss.sum() * 0.0 + math.nan
    return loss.sum() / w.sum()


def binary_cross_entropy(input: Any, target: Any, weight: Any = None, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy between probabilities and 0/1 (or soft) targets.

    Formula: loss_i = -w_i·[y_i·ln p_i + (1 - y_i)·ln(1 - p_i)], each log clamped at -100
    When to use: when your model already outputs probabilities (after a sigmoid). Prefer
        binary_cross_entropy_with_logits: it is exact where a sigmoid would round to 0 or 1.
    Gradient: d loss_i / d p_i = w_i·(p_i - y_i) / (p_i·(1 - p_i)) (denominator at least 1e-12,
        so p = 0 or 1 gives a large but finite gradient).

    Example:
        >>> from tinygrad_loss import tensor
        >>> round(binary_cross_entropy(tensor([0.8]), tensor([1.0])).item(), 6)
        0.223144
    """
    _check_reduction(reduction, "binary_cross_entropy")
    p, y = _pair(input, target, "binary_cross_entropy", float_target=True)
    if not ((p.data >= 0) & (p.data <= 1)).all():  # NaN fails both comparisons
        raise ValueError("binary_cross_entropy: input must hold probabilities in [0, 1]; "
                         "for raw scores use binary_cross_entropy_with_logits")
    w = 1.0 if weight is None else _broadcast_weight(weight, p, "binary_cross_entropy")
    return _reduce(loss_ops.BinaryCrossEntropy.apply(p, y, w), reduction)


def _broadcast_weight(weight: Any, like: Tensor, where_: str) -> Any:
    """A weight that broadcasts to ``like``'s shape, as a Tensor or an array of ``like``'s dtype."""
    w = weight if isinstance(weight, Tensor) else np.asarray(weight, dtype=like.dtype)
    try:
        if np.broadcast_shapes(w.shape, like.shape) != like.shape:
            raise ValueError
    except ValueError:
        raise ShapeError(f"{where_}: weight of shape {w.shape} does not broadcast to input shape "
                         f"{like.shape}") from None
    return w


def binary_cross_entropy_with_logits(input: Any, target: Any, weight: Any = None, reduction: str = "mean",
                                     pos_weight: Any = None) -> Tensor:
    """Binary cross-entropy on logits: a sigmoid and BCE in one stable formula.

    Formula: loss_i = -w_i·[pw·y_i·ln σ(x_i) + (1 - y_i)·ln σ(-x_i)]
        = w_i·[(1 - y_i)·x_i + (1 + (pw - 1)·y_i)·softplus(-x_i)], with
        softplus(-x) = max(-x, 0) + ln(1 + exp(-|x|)) (never overflows)
    When to use: binary or multi-label classification from raw scores; pos_weight > 1 trades
        precision for recall on the positive class (e.g. negatives/positives).
    Gradient: d loss_i / d x_i = w_i·[(1 + (pw - 1)·y_i)·σ(x_i) - pw·y_i]
        = w_i·(σ(x_i) - y_i) without pos_weight.

    Example:
        >>> from tinygrad_loss import tensor
        >>> round(binary_cross_entropy_with_logits(tensor([0.0]), tensor([1.0])).item(), 6)
        0.693147
    """
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    x, y = _pair(input, target, "binary_cross_entropy_with_logits", float_target=True)
    softplus_neg_x = -logsigmoid(x)
    if pos_weight is None:
        loss = (1 - y) * x + softplus_neg_x
    else:
        pw = _broadcast_weight(pos_weight, x, "binary_cross_entropy_with_logits")
        loss = (1 - y) * x + (1 + (pw - 1) * y) * softplus_neg_x
    if weight is not None:
        loss = loss * _broadcast_weight(weight, x, "binary_cross_entropy_with_logits")
    return _reduce(loss, reduction)


def kl_div(input: Any, target: Any, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence KL(target ‖ model), with the model given as log-probabilities.

    Formula: loss_i = y_i·(ln y_i - x_i) (0 where y_i = 0); log_target=True: exp(y_i)·(y_i - x_i).
        reduction='batchmean' (sum / batch size) is the true KL; 'mean' averages over elements.
    When to use: distillation and matching distributions (x = log_softmax of the model).
    Gradient: d loss_i / d x_i = -y_i (or -exp(y_i) with log_target).

    Example:
        >>> from tinygrad_loss import tensor
        >>> round(kl_div(tensor([[-0.5, -1.0]]), tensor([[0.5, 0.5]]), reduction="sum").item(), 6)
        0.056853
    """
    if reduction not in _REDUCTIONS + ("batchmean",):
        raise ValueError(f"kl_div: reduction must be one of {_REDUCTIONS + ('batchmean',)}, got {reduction!r}")
    x, y = _pair(input, target, "kl_div", float_target=True)
    if log_target:
        loss = y.exp() * (y - x)
    else:
        positive = y > 0
        loss = where(positive, y * where(positive, y, 1.0).log(), 0.0) - y * x
    if reduction == "batchmean":
        return loss.sum() / (x.shape[0] if x.ndim else 1)
    return _reduce(loss, reduction)


def _sign_target(target: Any, shape: tuple, dtype: np.dtype, where_: str) -> Tensor:
    y = as_tensor(_given(target, "target", where_), dtype)
    if y.shape != shape:
        try:
            if np.broadcast_shapes(y.shape, shape) != shape:
                raise ValueError
        except ValueError:
            raise ShapeError(f"{where_}: target shape {y.shape} does not fit input shape {shape}") from None
    if not np.isin(y.data, (-1, 1)).all():
        raise ValueError(f"{where_}: target must hold only -1 and +1, got values {np.unique(y.data)[:5]}")
    return y


def hinge_embedding_loss(input: Any, target: Any, margin: float = 1.0, reduction: str = "mean") -> Tensor:
    """Hinge embedding loss (input is usually a distance).

    Formula: loss_i = x_i if y_i = 1; max(0, margin - x_i) if y_i = -1
    When to use: learning embeddings or similarity from pairs labelled similar (+1) or
        dissimilar (-1), with x the pair's distance.
    Gradient: d loss_i / d x_i = 1 for y = 1; -1 for y = -1 while x < margin, else 0.

    Example:
        >>> from tinygrad_loss import tensor
        >>> hinge_embedding_loss(tensor([0.3, 0.3]), tensor([1.0, -1.0]), reduction="none").tolist()
        [0.30000001192092896, 0.699999988079071]
    """
    _check_reduction(reduction, "hinge_embedding_loss")
    x = _float_tensor(input, "input", "hinge_embedding_loss")
    y = _sign_target(target, x.shape, x.dtype, "hinge_embedding_loss")
    loss = where(y != -1, x, 0.0) + where(y != 1, (margin - x).clip(min=0.0), 0.0)
    return _reduce(loss, reduction)


def margin_ranking_loss(input1: Any, input2: Any, target: Any, margin: float = 0.0,
                        reduction: str = "mean") -> Tensor:
    """Margin ranking loss: is x1 ranked above x2 (y = 1) or below (y = -1), by a margin?

    Formula: loss_i = max(0, -y_i·(x1_i - x2_i) + margin)
    When to use: learning to rank, pairwise preferences.
    Gradient: d loss_i / d x1_i = -y_i while the pair violates the margin, else 0 (x2: +y_i).

    Example:
        >>> from tinygrad_loss import tensor
        >>> margin_ranking_loss(tensor([1.0]), tensor([2.0]), tensor([1.0]), margin=0.5).item()
        1.5
    """
    _check_reduction(reduction, "margin_ranking_loss")
    x1, x2 = _pair(input1, input2, "margin_ranking_loss", names=("input1", "input2"))
    y = _sign_target(target, x1.shape, x1.dtype, "margin_ranking_loss")
    return _reduce((-y * (x1 - x2) + margin).clip(min=0.0), reduction)


def soft_margin_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Soft margin loss: logistic loss for ±1 labels.

    Formula: loss_i = ln(1 + exp(-y_i·x_i)), computed without overflow
    When to use: binary classification with -1/+1 labels (a smooth hinge).
    Gradient: d loss_i / d x_i = -y_i·σ(-y_i·x_i).

    Example:
        >>> from tinygrad_loss import tensor
        >>> round(soft_margin_loss(tensor([0.0]), tensor([1.0])).item(), 6)
        0.693147
    """
    _check_reduction(reduction, "soft_margin_loss")
    x = _float_tensor(input, "input", "soft_margin_loss")
    y = _sign_target(target, x.shape, x.dtype, "soft_margin_loss")
    return _reduce(_softplus_exact(-y * x), reduction)


def multi_margin_loss(input: Any, target: Any, p: int = 1, margin: float = 1.0, weight: Any = None,
                      reduction: str = "mean") -> Tensor:
    """Multi-class hinge loss (a multi-class SVM).

    Formula: loss_i = Σ_{j ≠ y_i} w[y_i]·max(0, margin - x_i[y_i] + x_i[j])^p / C
    When to use: multi-class classification where a margin between the true class and the
        others matters more than calibrated probabilities.
    Gradient: each violating class j gets +w·p·violation^(p-1)/C, the true class minus their sum;
        classes beyond the margin get 0.

    Example:
        >>> from tinygrad_loss import tensor
        >>> multi_margin_loss(tensor([[0.1, 0.2, 0.4, 0.8]]), tensor([3])).item()
        0.32499998807907104
    """
    _check_reduction(reduction, "multi_margin_loss")
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: only p = 1 and p = 2 are supported, got {p}")
    x = _float_tensor(input, "input", "multi_margin_loss")
    unbatched = x.ndim == 1
    rows = x.reshape(1, -1) if unbatched else x
    if rows.ndim != 2:
        raise ShapeError(f"multi_margin_loss: input must be (N, C) or (C,), got {x.shape}")
    n, classes = rows.shape
    y = _class_target(target, classes, None, "multi_margin_loss").reshape(-1)
    if y.shape != (n,):
        raise ShapeError(f"multi_margin_loss: target must have shape ({n},), got {np.shape(target)}")
    true_score = rows[np.arange(n), y].reshape(n, 1)
    violation = (margin - true_score + rows).clip(min=0.0)
    if p == 2:
        violation = violation * violation
    others = np.ones((n, classes), dtype=x.dtype)
    others[np.arange(n), y] = 0
    w = _class_weight(weight, classes, "multi_margin_loss")
    if w is not None:
        others = others * w[y].reshape(n, 1).astype(x.dtype)
    loss = (violation * others).sum(1) / classes
    return _reduce(loss.reshape(()) if unbatched else loss, reduction)


def multilabel_soft_margin_loss(input: Any, target: Any, weight: Any = None, reduction: str = "mean") -> Tensor:
    """Multi-label logistic loss, averaged over the classes.

    Formula: loss_i = -(1/C)·Σ_c w_c·[y_ic·ln σ(x_ic) + (1 - y_ic)·ln σ(-x_ic)]
    When to use: several independent yes/no labels per sample (tags, attributes).
    Gradient: d loss_i / d x_ic = w_c·(σ(x_ic) - y_ic)/C.

    Example:
        >>> from tinygrad_loss import tensor
        >>> round(multilabel_soft_margin_loss(tensor([[0.0, 0.0]]), tensor([[1.0, 0.0]])).item(), 6)
        0.693147
    """
    _check_reduction(reduction, "multilabel_soft_margin_loss")
    x, y = _pair(input, target, "multilabel_soft_margin_loss")
    loss = -(y * logsigmoid(x) + (1 - y) * logsigmoid(-x))
    if weight is not None:
        loss = loss * _broadcast_weight(weight, x, "multilabel_soft_margin_loss")
    loss = loss.sum(-1) / x.shape[-1]
    return _reduce(loss, reduction)


def cosine_embedding_loss(input1: Any, input2: Any, target: Any, margin: float = 0.0,
                          reduction: str = "mean") -> Tensor:
    """Cosine embedding loss: make similar pairs point the same way, push dissimilar apart.

    Formula: cos_i = x1_i·x2_i / (‖x1_i‖·‖x2_i‖); loss_i = 1 - cos_i if y_i = 1,
        max(0, cos_i - margin) if y_i = -1 (norms get 1e-12 added under the root, as in PyTorch)
    When to use: learning embeddings where direction, not length, carries the meaning.
    Gradient: moves x1 along the part of x2 orthogonal to x1 (and vice versa), scaled by 1/‖x1‖.

    Example:
        >>> from tinygrad_loss import tensor
        >>> cosine_embedding_loss(tensor([[1.0, 0.0]]), tensor([[0.0, 1.0]]), tensor([1.0])).item()
        1.0
    """
    _check_reduction(reduction, "cosine_embedding_loss")
    x1, x2 = _pair(input1, input2, "cosine_embedding_loss", names=("input1", "input2"))
    eps = 1e-12
    dot = (x1 * x2).sum(-1)
    cos = dot / (((x1 * x1).sum(-1) + eps) * ((x2 * x2).sum(-1) + eps)).sqrt()
    y = _sign_target(target, cos.shape, x1.dtype, "cosine_embedding_loss")
    loss = where(y == 1, 1 - cos, 0.0) + where(y == -1, (cos - margin).clip(min=0.0), 0.0)
    return _reduce(loss, reduction)


def pairwise_distance(x1: Any, x2: Any, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """‖x1 - x2 + eps‖_p along the last axis (PyTorch's definition, eps included)."""
    d = (as_tensor(x1) - as_tensor(x2) + eps).abs()
    if p == 2:
        return (d * d).sum(-1, keepdims=keepdim).sqrt()
    if p == 1:
        return d.sum(-1, keepdims=keepdim)
    return (d**p).sum(-1, keepdims=keepdim) ** (1.0 / p)


def triplet_margin_loss(anchor: Any, positive: Any, negative: Any, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, reduction: str = "mean") -> Tensor:
    """Triplet margin loss: the anchor should be closer to the positive than to the negative.

    Formula: loss_i = max(0, d(a_i, p_i) - d(a_i, n_i) + margin), d the p-norm distance
        ‖a - b + eps‖_p; swap=True uses min(d(a, n), d(p, n)) as the negative distance
    When to use: metric learning (face recognition, retrieval) from (anchor, positive, negative).
    Gradient: while the margin is violated, pulls the anchor towards the positive and pushes
        it from the negative along the unit vectors between them; otherwise 0.

    Example:
        >>> from tinygrad_loss import tensor
        >>> round(triplet_margin_loss(tensor([[0.0, 0.0]]), tensor([[1.0, 0.0]]), tensor([[0.0, 3.0]])).item(), 4)
        0.0
    """
    _check_reduction(reduction, "triplet_margin_loss")
    a = _float_tensor(anchor, "anchor", "triplet_margin_loss")
    pos = _float_tensor(positive, "positive", "triplet_margin_loss")
    neg = _float_tensor(negative, "negative", "triplet_margin_loss")
    if not (a.shape == pos.shape == neg.shape):
        raise ShapeError(f"triplet_margin_loss: anchor, positive and negative must share a shape, got "
                         f"{a.shape}, {pos.shape} and {neg.shape}")
    d_pos = pairwise_distance(a, pos, p, eps)
    d_neg = pairwise_distance(a, neg, p, eps)
    if swap:
        d_neg = d_neg.minimum(pairwise_distance(pos, neg, p, eps))
    return _reduce((d_pos - d_neg + margin).clip(min=0.0), reduction)


# ------------------------------------------------------------- beyond PyTorch's catalogue


def hinge_loss(input: Any, target: Any, margin: float = 1.0, squared: bool = False, reduction: str = "mean") -> Tensor:
    """Binary hinge loss (the linear SVM's loss).

    Formula: loss_i = max(0, margin - y_i·x_i) (squared=True: its square), labels y in {-1, +1}
        (labels in {0, 1} are mapped to -1/+1)
    When to use: binary classification where only the decision and a safety margin matter;
        points beyond the margin cost nothing and send no gradient.
    Gradient: d loss_i / d x_i = -y_i while y_i·x_i < margin, else 0
        (squared: -2·y_i·(margin - y_i·x_i)).

    Example:
        >>> from tinygrad_loss import tensor
        >>> hinge_loss(tensor([0.5, 2.0, -1.0]), tensor([1, 1, 1]), reduction="none").tolist()
        [0.5, 0.0, 2.0]
    """
    _check_reduction(reduction, "hinge_loss")
    x = _float_tensor(input, "input", "hinge_loss")
    labels = np.asarray(target.data if isinstance(target, Tensor) else _given(target, "target", "hinge_loss"))
    values = set(np.unique(labels).tolist())
    if values <= {0, 1} and 0 in values:
        labels = 2 * labels - 1
    elif not values <= {-1, 1}:
        raise ValueError(f"hinge_loss: target must hold labels in {{-1, +1}} or {{0, 1}}, got {sorted(values)[:5]}")
    y = _sign_target(labels.astype(x.dtype), x.shape, x.dtype, "hinge_loss")
    loss = (margin - y * x).clip(min=0.0)
    return _reduce(loss * loss if squared else loss, reduction)


def sigmoid_focal_loss(inputs: Any, targets: Any, alpha: float = 0.25, gamma: float = 2.0,
                       reduction: str = "none") -> Tensor:
    """Focal loss for dense detection (Lin et al. 2017), torchvision's definition.

    Formula: p = σ(x); p_t = p·y + (1 - p)·(1 - y); loss_i = α_t·(1 - p_t)^γ·BCE_with_logits(x_i, y_i),
        α_t = α·y + (1 - α)·(1 - y) (alpha < 0 disables it); targets y in [0, 1]. Computed as
        ce·exp(γ·ln(1 - p_t)) with ln(1 - p_t) = ln(y·σ(-x) + (1 - y)·σ(x)) from log-sigmoids, so
        saturated logits (±1e4) give finite values and gradients for every γ ≥ 0.
        Default reduction 'none' like torchvision.
    When to use: heavily imbalanced binary or multi-label problems: (1 - p_t)^γ shrinks the loss
        of easy, well-classified examples so the rare hard ones dominate.
    Gradient: d loss_i / d x_i = α_t·[(1 - p_t)^γ·(σ(x_i) - y_i) + γ·ce_i·(1 - p_t)^(γ-1)·(1 - 2y_i)·σ(x_i)σ(-x_i)],
        ce_i = BCE_with_logits(x_i, y_i): BCE's σ(x) - y scaled down by (1 - p_t)^γ, plus a term from
        differentiating that factor.

    Example:
        >>> from tinygrad_loss import tensor
        >>> round(sigmoid_focal_loss(tensor([0.0]), tensor([1.0])).item(), 6)
        0.043322
    """
    _check_reduction(reduction, "sigmoid_focal_loss")
    x, y = _pair(inputs, targets, "sigmoid_focal_loss", names=("inputs", "targets"))
    if not ((y.data >= 0) & (y.data <= 1)).all():  # NaN fails both comparisons
        raise ValueError(f"sigmoid_focal_loss: targets must lie in [0, 1] (0/1 labels or probabilities), got "
                         f"values from {y.data.min()} to {y.data.max()}")
    loss = loss_ops.SigmoidFocal.apply(x, y, gamma=float(gamma))
    if alpha >= 0:
        loss = (alpha * y + (1 - alpha) * (1 - y)) * loss
    return _reduce(loss, reduction)


def dice_loss(input: Any, target: Any, smooth: float = 1.0, reduction: str = "mean") -> Tensor:
    """Dice loss for segmentation: 1 - the (smoothed) overlap of prediction and target.

    Formula: per sample, over all non-batch axes: loss_n = 1 - (2·Σ p·t + smooth) / (Σ p + Σ t + smooth)
    When to use: segmentation with small foreground regions, where per-pixel cross-entropy is
        dominated by the background; input holds probabilities (after a sigmoid/softmax).
    Gradient: d loss_n / d p = -(2t·(Σp + Σt + s) - (2Σpt + s)) / (Σp + Σt + s)²

    Example:
        >>> from tinygrad_loss import tensor
        >>> round(dice_loss(tensor([[1.0, 0.0]]), tensor([[1.0, 0.0]])).item(), 6)
        0.0
    """
    _check_reduction(reduction, "dice_loss")
    p, t = _pair(input, target, "dice_loss")
    axes = tuple(range(1, p.ndim)) if p.ndim > 1 else None
    intersection = (p * t).sum(axes)
    total = p.sum(axes) + t.sum(axes)
    return _reduce(1 - (2 * intersection + smooth) / (total + smooth), reduction)


def contrastive_loss(x1: Any, x2: Any, label: Any, margin: float = 1.0, reduction: str = "mean") -> Tensor:
    """Contrastive loss (Hadsell, Chopra and LeCun 2006), the margin form.

    Formula: d_i = ‖x1_i - x2_i‖₂ (over the last axis); loss_i = label_i·d_i² + (1 - label_i)·max(0, margin - d_i)²
        (label 1 = similar pair, 0 = dissimilar)
    When to use: learning an embedding from pairs: similar pairs are pulled together,
        dissimilar ones pushed until they are at least ``margin`` apart.
    Gradient: d loss_i / d x1_i = 2·label_i·(x1_i - x2_i) - 2·(1 - label_i)·max(0, margin - d_i)·(x1_i - x2_i)/d_i
        (0 for identical points).

    Example:
        >>> from tinygrad_loss import tensor
        >>> contrastive_loss(tensor([[0.0, 0.0]]), tensor([[0.3, 0.4]]), tensor([0.0])).item()
        0.25
    """
    _check_reduction(reduction, "contrastive_loss")
    a, b = _pair(x1, x2, "contrastive_loss", names=("x1", "x2"))
    diff = a - b
    squared = (diff * diff).sum(-1)
    _given(label, "label", "contrastive_loss")
    y = as_tensor(label, a.dtype) if not isinstance(label, Tensor) or label.dtype.kind != "f" else label
    if y.shape != squared.shape:
        raise ShapeError(f"contrastive_loss: label must have shape {squared.shape} (one per pair), got {y.shape}")
    if not np.isin(y.data, (0, 1)).all():
        raise ValueError("contrastive_loss: label must hold 1 (similar) or 0 (dissimilar)")
    nonzero = squared.data > 0
    # √ has an infinite slope at 0: take it only where d > 0 (identical points send no gradient)
    d = where(nonzero, where(nonzero, squared, 1.0).sqrt(), 0.0)
    push = (margin - d).clip(min=0.0)
    return _reduce(y * squared + (1 - y) * push * push, reduction)


def cost_sensitive_cross_entropy(logits: Any, target: Any, cost_matrix: Any, reduction: str = "mean") -> Tensor:
    """Expected misclassification cost under the model's predicted distribution.

    Formula: loss_i = Σ_j softmax(x_i)_j · C[y_i, j] — row = true class, column = predicted
        class (put 0 on the diagonal; a missed disease can cost 10, a false alarm 1)
    When to use: classification where different mistakes have different prices (medicine,
        fraud); minimising it moves decisions towards the cheaper mistakes.
    Gradient: d loss_i / d x_ij = softmax(x_i)_j · (C[y_i, j] - loss_i).

    Example:
        >>> from tinygrad_loss import tensor
        >>> round(cost_sensitive_cross_entropy(tensor([[0.0, 0.0]]), tensor([1]), [[0.0, 1.0], [10.0, 0.0]]).item(), 6)
        5.0
    """
    _check_reduction(reduction, "cost_sensitive_cross_entropy")
    x = _float_tensor(logits, "logits", "cost_sensitive_cross_entropy")
    if x.ndim != 2:
        raise ShapeError(f"cost_sensitive_cross_entropy: logits must be (N, C), got {x.shape}")
    n, classes = x.shape
    _given(cost_matrix, "cost_matrix", "cost_sensitive_cross_entropy")
    try:
        costs = np.asarray(cost_matrix.data if isinstance(cost_matrix, Tensor) else cost_matrix, dtype=x.dtype)
    except (TypeError, ValueError):
        raise DTypeError(f"cost_sensitive_cross_entropy: cost_matrix must be a ({classes}, {classes}) matrix of "
                         f"numbers, got {cost_matrix!r}") from None
    if costs.shape != (classes, classes):
        raise ShapeError(f"cost_sensitive_cross_entropy: cost_matrix must be ({classes}, {classes}) "
                         f"(true class × predicted class), got {costs.shape}")
    y = _class_target(target, classes, None, "cost_sensitive_cross_entropy")
    if y.shape != (n,):
        raise ShapeError(f"cost_sensitive_cross_entropy: target must have shape ({n},), got {y.shape}")
    return _reduce((x.softmax(1) * costs[y]).sum(1), reduction)
