"""The built-in ops: numpy arrays in, numpy arrays out.

Each op is a tiny ``Function`` subclass. ``forward`` computes the value and saves what the
derivative needs; ``backward`` multiplies the incoming gradient ``grad`` (d loss / d output)
by the op's local derivative and returns one gradient per input. That is all an op knows:
broadcasting, accumulation and the order of the chain rule belong to the engine.

Backward code uses only operators, numpy ufuncs and a few numpy functions, so the very same
code also runs on Tensors under ``create_graph=True`` and records the backward pass (where a
step has no numpy spelling, a helper below dispatches to the op itself).
"""

from __future__ import annotations

import math

import numpy as np

from .engine import Function

NUMBERS = (int, float)  # Python numbers reach an op's forward as they are, never as arrays
SQRT_HALF = math.sqrt(0.5)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


class Op(Function):
    """A built-in op. Its backward returns new arrays, or the incoming gradient itself — never
    an array held elsewhere (a saved input, a view of the gradient) — so the engine may hand a
    new array straight to ``.grad`` instead of copying it first."""

    __slots__ = ()
    fresh_gradients = True


def _is_array(x: object) -> bool:
    """numpy data (an array, or the scalar numpy returns for 0-d results) rather than a Tensor."""
    return isinstance(x, (np.ndarray, np.generic))


def _reduced_shape(shape: tuple, axis: int | tuple | None) -> tuple:
    """``shape`` with the reduced axes kept as 1 (what ``keepdims=True`` gives)."""
    if axis is None:
        return (1,) * len(shape)
    axes = {a % len(shape) for a in ((axis,) if isinstance(axis, int) else axis)}
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _drop_reduced(kept: np.ndarray, axis: int | tuple | None) -> np.ndarray:
    """Undo ``keepdims=True``."""
    return kept.reshape(()) if axis is None else np.squeeze(kept, axis=axis)


# --------------------------------------------------------------------------- elementwise


class Add(Op):
    promotes_dtypes = True
    formula = "out = a + b"
    derivative = "d/da = 1, d/db = 1"

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Op):
    promotes_dtypes = True
    formula = "out = a - b"
    derivative = "d/da = 1, d/db = -1"

    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, grad):
        return grad, -grad


class Mul(Op):
    promotes_dtypes = True
    formula = "out = a * b"
    derivative = "d/da = b, d/db = a"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        # a Python number (the 2 in x * 2) is a constant: no gradient to compute for it
        grad_a = None if type(a) in NUMBERS else grad * b
        grad_b = None if type(b) in NUMBERS else grad * a
        return grad_a, grad_b


class Div(Op):
    floating = True
    promotes_dtypes = True
    formula = "out = a / b"
    derivative = "d/da = 1/b, d/db = -a/b² = -out/b"

    @staticmethod
    def forward(ctx, a, b):
        out = a / b
        ctx.save_for_backward(b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        b, out = ctx.saved_tensors
        grad_a = grad / b
        return grad_a, -grad_a * out


class Pow(Op):
    promotes_dtypes = True
    formula = "out = a ** b"
    derivative = "d/da = b·a^(b-1), d/db = out·ln(a)"

    @staticmethod
    def forward(ctx, a, b):
        out = a**b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        needs_a, needs_b = ctx.needs_input_grad
        grad_a = grad_b = None
        with np.errstate(divide="ignore", invalid="ignore"):  # np.where computes both branches
            if needs_a:
                # b·a^(b-1) with the b = 0 case set to 0, as PyTorch does (0·0^-1 would be NaN)
                grad_a = np.where(b == 0, 0.0, grad * b * a ** (b - 1))
            if needs_b:
                # a = 0 and b >= 0: the limit of out·ln(a) is 0, not NaN
                grad_b = np.where(np.logical_and(a == 0, b >= 0), 0.0, grad * out * np.log(a))
        return grad_a, grad_b


class Maximum(Op):
    """Elementwise maximum. Where a == b the gradient is split half and half (as PyTorch)."""

    promotes_dtypes = True
    formula = "out = max(a, b)"
    derivative = "d/da = 1 where a > b, 1/2 where a = b, else 0 (d/db: the rest)"
    pick, wins = np.maximum, np.greater

    @classmethod
    def forward(cls, ctx, a, b):
        out = cls.pick(a, b)
        share_of_a = cls.wins(a, b) + 0.5 * np.equal(a, b)
        ctx.save_for_backward(np.asarray(share_of_a, dtype=out.dtype))
        return out

    @staticmethod
    def backward(ctx, grad):
        (share_of_a,) = ctx.saved_tensors
        return grad * share_of_a, grad * (1 - share_of_a)


class Minimum(Maximum):
    formula = "out = min(a, b)"
    derivative = "d/da = 1 where a < b, 1/2 where a = b, else 0 (d/db: the rest)"
    pick, wins = np.minimum, np.less


class Where(Op):
    promotes_dtypes = True
    formula = "out = a where cond else b"
    derivative = "d/da = cond, d/db = not cond"

    @staticmethod
    def forward(ctx, cond, a, b):
        cond = np.asarray(cond, dtype=bool)
        ctx.save_for_backward(cond)
        return np.where(cond, a, b)

    @staticmethod
    def backward(ctx, grad):
        (cond,) = ctx.saved_tensors
        return None, np.where(cond, grad, 0), np.where(cond, 0, grad)


class Neg(Op):
    formula = "out = -x"
    derivative = "d/dx = -1"

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Exp(Op):
    floating = True
    formula = "out = exp(x)"
    derivative = "d/dx = exp(x) = out"

    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out


class Log(Op):
    floating = True
    formula = "out = ln(x)"
    derivative = "d/dx = 1/x"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / x


class Log1p(Op):
    floating = True
    formula = "out = ln(1 + x)"
    derivative = "d/dx = 1/(1 + x)"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log1p(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (1 + x)


class Sqrt(Op):
    floating = True
    formula = "out = √x"
    derivative = "d/dx = 1/(2√x) = 0.5/out"

    @staticmethod
    def forward(ctx, x):
        out = np.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * 0.5 / out


class Abs(Op):
    formula = "out = |x|"
    derivative = "d/dx = sign(x) (0 at x = 0)"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(np.sign(x))
        return np.abs(x)

    @staticmethod
    def backward(ctx, grad):
        (sign,) = ctx.saved_tensors
        return grad * sign


class Sin(Op):
    floating = True
    formula = "out = sin(x)"
    derivative = "d/dx = cos(x)"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * np.cos(x)


class Cos(Op):
    floating = True
    formula = "out = cos(x)"
    derivative = "d/dx = -sin(x)"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cos(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return -grad * np.sin(x)


class Tanh(Op):
    floating = True
    formula = "out = tanh(x)"
    derivative = "d/dx = 1 - tanh(x)² = 1 - out²"

    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (1 - out * out)


class Sigmoid(Op):
    floating = True
    formula = "out = 1 / (1 + exp(-x))"
    derivative = "d/dx = out·(1 - out)"

    @staticmethod
    def forward(ctx, x):
        out = _sigmoid(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * (1 - out)


def _sigmoid(x):
    # exp(-ln(1 + exp(-x))): never overflows, for x = -1e4 as for x = 1e4
    return np.exp(-np.logaddexp(0, -x))


def sigmoid(x):
    """Stable logistic function of an array, or of a Tensor (recorded) under create_graph."""
    return _sigmoid(x) if _is_array(x) else Sigmoid.apply(x)


class Relu(Op):
    formula = "out = max(x, 0)"
    derivative = "d/dx = 1 where x > 0, else 0"

    @staticmethod
    def forward(ctx, x):
        out = np.maximum(x, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (out > 0)


class LeakyRelu(Op):
    formula = "out = x where x > 0, else negative_slope·x"
    derivative = "d/dx = 1 where x > 0, else negative_slope"

    @staticmethod
    def forward(ctx, x, negative_slope=0.01):
        slope = np.where(x > 0, 1.0, negative_slope).astype(x.dtype)
        ctx.save_for_backward(slope)
        return x * slope

    @staticmethod
    def backward(ctx, grad):
        (slope,) = ctx.saved_tensors
        return grad * slope


class Erf(Op):
    floating = True
    formula = "out = erf(x) = 2/√π ∫₀ˣ exp(-t²) dt"
    derivative = "d/dx = 2/√π · exp(-x²)"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _erf(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (2 / math.sqrt(math.pi)) * np.exp(-x * x)


_erf_elementwise = np.frompyfunc(math.erf, 1, 1)  # numpy has no erf; math.erf is exact to 1 ulp


def _erf(x):
    return np.asarray(_erf_elementwise(x), dtype=x.dtype)


def erf(x):
    return _erf(x) if _is_array(x) else Erf.apply(x)


class Gelu(Op):
    floating = True
    formula = "out = x·Φ(x), Φ the standard normal CDF (approximate='tanh': 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))))"
    derivative = "d/dx = Φ(x) + x·φ(x)"

    @staticmethod
    def forward(ctx, x, approximate="none"):
        ctx.save_for_backward(x)
        if approximate == "tanh":
            return 0.5 * x * (1 + np.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x**3)))
        return x * 0.5 * (1 + erf(x * SQRT_HALF))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if ctx.kwargs.get("approximate", "none") == "tanh":
            t = np.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x**3))
            dt = SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
            return grad * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * dt)
        cdf = 0.5 * (1 + erf(x * SQRT_HALF))
        pdf = INV_SQRT_2PI * np.exp(-0.5 * x * x)
        return grad * (cdf + x * pdf)


class Softplus(Op):
    floating = True
    formula = "out = ln(1 + exp(beta·x)) / beta (= x where beta·x > threshold)"
    derivative = "d/dx = sigmoid(beta·x) (= 1 where beta·x > threshold)"

    @staticmethod
    def forward(ctx, x, beta=1.0, threshold=20.0):
        ctx.save_for_backward(x)
        bx = x * beta
        return np.where(bx > threshold, x, np.log1p(np.exp(np.minimum(bx, threshold))) / beta)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        beta, threshold = ctx.kwargs.get("beta", 1.0), ctx.kwargs.get("threshold", 20.0)
        bx = x * beta
        return np.where(bx > threshold, grad, grad * sigmoid(bx))


class Clip(Op):
    formula = "out = min(max(x, low), high)"
    derivative = "d/dx = 1 where low <= x <= high, else 0"

    @staticmethod
    def forward(ctx, x, low=None, high=None):
        inside = np.ones(x.shape, dtype=bool)
        if low is not None:
            inside &= x >= low
        if high is not None:
            inside &= x <= high
        ctx.save_for_backward(inside)
        return np.clip(x, low, high)

    @staticmethod
    def backward(ctx, grad):
        (inside,) = ctx.saved_tensors
        return grad * inside


class ClipBetween(Op):
    """``clip`` with tensor bounds (either may be None), as PyTorch's ``clamp``: the gradient goes
    to x where low <= x <= high (bounds included), to low where x < low < high, to high where
    x > high or high < low (then every value is high); a NaN x stays NaN and sends none anywhere."""

    promotes_dtypes = True
    formula = "out = min(max(x, low), high)"
    derivative = "d/dx = 1 where low <= x <= high; d/dlow = 1 where x < low; d/dhigh = 1 where x > high"

    @staticmethod
    def forward(ctx, x, low, high):
        with np.errstate(invalid="ignore"):
            out = x if low is None else np.maximum(x, low)  # maximum and minimum keep a NaN
            out = out if high is None else np.minimum(out, high)
            to_x = (True if low is None else x >= low) & (True if high is None else x <= high)
            to_low = None if low is None else (x < low) & (True if high is None else low < high)
            to_high = None if high is None else (x > high) | (False if low is None else high < low)
        ctx.save_for_backward(to_x, to_low, to_high)
        return out

    @staticmethod
    def backward(ctx, grad):
        to_x, to_low, to_high = ctx.saved_tensors
        return grad * to_x, None if to_low is None else grad * to_low, None if to_high is None else grad * to_high


class Cast(Op):
    formula = "out = x converted to another dtype"
    derivative = "d/dx = 1 (the gradient is converted back)"

    @staticmethod
    def forward(ctx, x, dtype=None):
        ctx.input_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(ctx.input_dtype)


class Clone(Op):
    formula = "out = x (a copy)"
    derivative = "d/dx = 1"

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad


# ---------------------------------------------------------------------------- reductions


class Sum(Op):
    formula = "out = Σ x over axis"
    derivative = "d/dx = 1 for every summed element (the gradient is copied back along axis)"

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.input_shape = x.shape
        ctx.kept_shape = _reduced_shape(x.shape, axis)
        integers = np.int64 if x.dtype.kind in "iub" else None  # PyTorch sums any integers as int64
        # np.add.reduce is x.sum() without numpy's Python-level wrapper around it
        if axis is None and not keepdims:  # a 0-d array rather than the numpy scalar x.sum() gives
            return np.add.reduce(x, axis=None, dtype=integers, keepdims=True).reshape(())
        return np.add.reduce(x, axis=axis, dtype=integers, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        return expand(grad.reshape(ctx.kept_shape), ctx.input_shape)


class Mean(Op):
    floating = True
    formula = "out = (1/n) Σ x over axis"
    derivative = "d/dx = 1/n for every averaged element"

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.input_shape = x.shape
        ctx.kept_shape = _reduced_shape(x.shape, axis)
        out = x.mean(axis=axis, keepdims=keepdims)
        ctx.count = x.size // max(out.size, 1)
        return out

    @staticmethod
    def backward(ctx, grad):
        return expand(grad.reshape(ctx.kept_shape) / ctx.count, ctx.input_shape)


class Max(Op):
    """Reduction to the largest value; ties share the gradient equally (PyTorch's amax)."""

    formula = "out = max x over axis"
    derivative = "d/dx = 1/k at the k positions holding the maximum, else 0"
    reduce = staticmethod(np.max)

    @classmethod
    def forward(cls, ctx, x, axis=None, keepdims=False):
        out = cls.reduce(x, axis=axis, keepdims=True)
        is_extreme = x == out
        share = is_extreme / is_extreme.sum(axis=axis, keepdims=True)
        ctx.save_for_backward(share.astype(x.dtype, copy=False))
        ctx.kept_shape = out.shape
        return out if keepdims else _drop_reduced(out, axis)

    @staticmethod
    def backward(ctx, grad):
        (share,) = ctx.saved_tensors
        return grad.reshape(ctx.kept_shape) * share


class Min(Max):
    formula = "out = min x over axis"
    derivative = "d/dx = 1/k at the k positions holding the minimum, else 0"
    reduce = staticmethod(np.min)


class Var(Op):
    floating = True
    formula = "out = Σ (x - mean)² / (n - ddof)"
    derivative = "d/dx = 2(x - mean) / (n - ddof)"

    @staticmethod
    def forward(ctx, x, axis=None, ddof=0, keepdims=False):
        ctx.save_for_backward(x)
        ctx.kept_shape = _reduced_shape(x.shape, axis)
        ctx.divisor = x.size // max(math.prod(ctx.kept_shape), 1) - ddof
        return np.var(x, axis=axis, ddof=ddof, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return _var_backward(ctx, x, grad)


def _var_backward(ctx, x, grad):
    """grad · 2(x - mean)/(n - ddof); n = ddof gives inf (NaN for constant values), as PyTorch."""
    centered = x - x.mean(axis=ctx.kwargs.get("axis"), keepdims=True)
    return grad.reshape(ctx.kept_shape) * centered * (2.0 / ctx.divisor if ctx.divisor else math.inf)


class Std(Op):
    """√var, with PyTorch's gradient: 0 where the result is 0 (constant values), where √'s own
    derivative 1/(2·0) would make it 0·inf = NaN."""

    floating = True
    formula = "out = √(Σ (x - mean)² / (n - ddof))"
    derivative = "d/dx = (x - mean) / ((n - ddof)·out), 0 where out = 0"

    @staticmethod
    def forward(ctx, x, axis=None, ddof=0, keepdims=False):
        out = np.sqrt(Var.forward(ctx, x, axis=axis, ddof=ddof, keepdims=keepdims))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):  # np.where computes both branches
            grad_var = np.where(out == 0, 0.0, grad / (2 * out))
        return _var_backward(ctx, x, grad_var)


class LogSumExp(Op):
    floating = True
    formula = "out = ln Σ exp(x) = m + ln Σ exp(x - m), m = max x (so nothing overflows)"
    derivative = "d/dx = exp(x - out) = softmax(x)"

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.kept_shape = _reduced_shape(x.shape, axis)
        if x.size == 0:  # a sum of no exponentials is 0, and its log is -inf (as PyTorch)
            out = np.full(ctx.kept_shape, -np.inf, dtype=x.dtype)
            out = out if keepdims else _drop_reduced(out, axis)
            ctx.save_for_backward(x, out)
            return out
        m = np.max(x, axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)  # all -inf: exp(x - 0) = 0, no NaN
        out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
        out = out if keepdims else _drop_reduced(out, axis)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        return grad.reshape(ctx.kept_shape) * np.exp(x - out.reshape(ctx.kept_shape))


class Softmax(Op):
    floating = True
    formula = "out_i = exp(x_i - max x) / Σ_j exp(x_j - max x)"
    derivative = "d/dx = out · (grad - Σ grad·out)"

    @staticmethod
    def forward(ctx, x, axis=-1):
        if x.size == 0:
            out = x.copy()
            ctx.save_for_backward(out)
            return out
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        out = e / np.sum(e, axis=axis, keepdims=True)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        axis = ctx.kwargs.get("axis", -1)
        return out * (grad - (grad * out).sum(axis=axis, keepdims=True))


class LogSoftmax(Op):
    floating = True
    formula = "out_i = x_i - logsumexp(x)"
    derivative = "d/dx = grad - softmax(x) · Σ grad"

    @staticmethod
    def forward(ctx, x, axis=-1):
        if x.size == 0:
            out = x.copy()
            ctx.save_for_backward(out)
            return out
        shifted = x - np.max(x, axis=axis, keepdims=True)
        out = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        axis = ctx.kwargs.get("axis", -1)
        return grad - np.exp(out) * grad.sum(axis=axis, keepdims=True)


# ------------------------------------------------------------------------------- shapes


class Reshape(Op):
    formula = "out = x with a new shape (same elements, same order)"
    derivative = "d/dx = 1 (the gradient is reshaped back)"

    @staticmethod
    def forward(ctx, x, shape=()):
        ctx.input_shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.input_shape)


class Permute(Op):
    formula = "out = x with its axes reordered"
    derivative = "d/dx = 1 (the gradient's axes are put back)"

    @staticmethod
    def forward(ctx, x, axes=None):
        ctx.inverse = tuple(np.argsort(axes)) if axes is not None else None
        return np.transpose(x, axes)

    @staticmethod
    def backward(ctx, grad):
        return np.transpose(grad, ctx.inverse)


class Expand(Op):
    formula = "out = x repeated along broadcast axes"
    derivative = "d/dx = 1 per copy (the engine sums the copies back)"

    @staticmethod
    def forward(ctx, x, shape=()):
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad


def expand(grad, shape):
    """``grad`` repeated along its size-1 axes up to ``shape``: the backward of a reduction."""
    if not _is_array(grad):
        return Expand.apply(grad, shape=shape)
    out = np.empty(shape, dtype=grad.dtype)
    out[...] = grad  # a fresh array (not a read-only broadcast view) that later steps may own
    return out


class Getitem(Op):
    formula = "out = x[index]"
    derivative = "d/dx = 1 at the picked positions (repeated picks add up), 0 elsewhere"

    @staticmethod
    def forward(ctx, x, index=()):
        ctx.input_shape = x.shape
        return x[index]

    @staticmethod
    def backward(ctx, grad):
        return index_add(grad, ctx.kwargs["index"], ctx.input_shape)


def _is_basic_index(index: object) -> bool:
    """Ints, slices, None and Ellipsis only: each position is picked at most once."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, slice, np.integer)) for p in parts)


class IndexAdd(Op):
    """Scatter-add: the backward of indexing (and indexing is its backward)."""

    formula = "out = zeros(shape); out[index] += x"
    derivative = "d/dx = 1 at each index"

    @staticmethod
    def forward(ctx, x, index=(), shape=()):
        return _scatter_add(x, index, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.kwargs["index"]]


def _scatter_add(x, index, shape):
    out = np.zeros(shape, dtype=x.dtype)
    if _is_basic_index(index):
        out[index] = x
    else:
        np.add.at(out, index, x)
    return out


def index_add(grad, index, shape):
    """zeros(shape) with ``grad`` added at ``index``; recorded as IndexAdd on a Tensor."""
    if _is_array(grad):
        return _scatter_add(grad, index, shape)
    return IndexAdd.apply(grad, index=index, shape=shape)


class Pad(Op):
    formula = "out = x surrounded by a constant"
    derivative = "d/dx = 1 inside, the padding gets nothing"

    @staticmethod
    def forward(ctx, x, pad_width=(), value=0.0):
        ctx.inside = tuple(slice(before, before + size) for (before, _), size in zip(pad_width, x.shape))
        return np.pad(x, pad_width, constant_values=value)

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.inside]


class Cat(Op):
    formula = "out = the inputs joined along axis"
    derivative = "d/dx_k = 1 on x_k's own slice of the output"

    @staticmethod
    def forward(ctx, *xs, axis=0):
        out = np.concatenate(xs, axis=axis)
        bounds = np.cumsum([0] + [x.shape[axis] for x in xs])
        lead = (slice(None),) * (axis % out.ndim)
        ctx.slices = [lead + (slice(lo, hi),) for lo, hi in zip(bounds[:-1], bounds[1:])]
        return out

    @staticmethod
    def backward(ctx, grad):
        return tuple(grad[s] for s in ctx.slices)


class Stack(Op):
    formula = "out = the inputs stacked along a new axis"
    derivative = "d/dx_k = 1 on x_k's own slice of the output"

    @staticmethod
    def forward(ctx, *xs, axis=0):
        out = np.stack(xs, axis=axis)
        lead = (slice(None),) * (axis % out.ndim)
        ctx.slices = [lead + (k,) for k in range(len(xs))]
        return out

    @staticmethod
    def backward(ctx, grad):
        return tuple(grad[s] for s in ctx.slices)


class MatMul(Op):
    promotes_dtypes = True
    formula = "out = a @ b"
    derivative = "d/da = grad @ bᵀ, d/db = aᵀ @ grad"

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        needs_a, needs_b = ctx.needs_input_grad
        if a.ndim == 1 and b.ndim == 1:  # a dot product
            return (grad * b if needs_a else None), (grad * a if needs_b else None)
        # a vector acts as a one-row (a) or one-column (b) matrix whose axis matmul dropped
        a_was_vector, b_was_vector = a.ndim == 1, b.ndim == 1
        if a_was_vector:
            a, grad = a.reshape(1, -1), grad.reshape(grad.shape[:-1] + (1,) + grad.shape[-1:])
        if b_was_vector:
            b, grad = b.reshape(-1, 1), grad.reshape(grad.shape + (1,))
        grad_a = grad @ b.swapaxes(-1, -2) if needs_a else None
        grad_b = a.swapaxes(-1, -2) @ grad if needs_b else None
        if a_was_vector and needs_a:
            grad_a = grad_a[..., 0, :]
        if b_was_vector and needs_b:
            grad_b = grad_b[..., 0]
        return grad_a, grad_b


# ------------------------------------------------------------------ images (N, C, H, W)


def _windows_view(x: np.ndarray, kernel: tuple, stride: tuple) -> np.ndarray:
    """Every kernel-sized patch of x (N, C, H, W) as a view (N, C, OH, OW, KH, KW): no copy."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw) = kernel, stride
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    s = x.strides
    return np.lib.stride_tricks.as_strided(x, (n, c, oh, ow, kh, kw), (s[0], s[1], s[2] * sh, s[3] * sw, s[2], s[3]),
                                           writeable=False)


def _add_windows(patches: np.ndarray, shape: tuple, kernel: tuple, stride: tuple) -> np.ndarray:
    """The adjoint of ``_windows_view`` (col2im): add each patch back where it came from.
    One vectorised slice-add per kernel offset, no loop over pixels.

    The image is built batch-last in memory, (C, H, W, N), and returned as an (N, C, H, W)
    view: each slice-add's inner loop then runs over the whole batch, not over a few pixels."""
    n, c, h, w = shape
    _, _, oh, ow, kh, kw = patches.shape
    sh, sw = stride
    by_offset = np.transpose(patches, (1, 4, 5, 2, 3, 0))  # (C, KH, KW, OH, OW, N)
    if (sh, sw) == (kh, kw) and (oh * kh, ow * kw) == (h, w):
        # the windows tile the image (pooling): putting them back is a transpose, no additions
        image = np.transpose(by_offset, (0, 3, 1, 4, 2, 5)).reshape(c, h, w, n)
    else:
        # filled up front rather than np.zeros: a big np.zeros comes as lazily zeroed pages, and
        # faulting them in through the strided `+=` below was 3-4x slower (64x16x28x28)
        image = np.full((c, h, w, n), 0, dtype=patches.dtype)
        for i in range(kh):
            for j in range(kw):
                image[:, i:i + sh * oh:sh, j:j + sw * ow:sw] += by_offset[:, i, j]
    return np.transpose(image, (3, 0, 1, 2))


class Windows(Op):
    """Sliding windows (im2col as a view): the building block of convolution and pooling."""

    formula = "out[n, c, i, j, p, q] = x[n, c, i·stride + p, j·stride + q]"
    derivative = "d/dx = every window's gradient added back onto the pixels it covers"

    @staticmethod
    def forward(ctx, x, kernel=(1, 1), stride=(1, 1)):
        ctx.input_shape = x.shape
        return _windows_view(x, kernel, stride)

    @staticmethod
    def backward(ctx, grad):
        return add_windows(grad, ctx.input_shape, ctx.kwargs["kernel"], ctx.kwargs["stride"])


class AddWindows(Op):
    formula = "out = zeros(shape); every window added back at its place (col2im)"
    derivative = "d/d(windows) = the windows of the gradient"

    @staticmethod
    def forward(ctx, patches, shape=(), kernel=(1, 1), stride=(1, 1)):
        return _add_windows(patches, shape, kernel, stride)

    @staticmethod
    def backward(ctx, grad):
        return windows(grad, ctx.kwargs["kernel"], ctx.kwargs["stride"])


def windows(x, kernel, stride):
    return _windows_view(x, kernel, stride) if _is_array(x) else Windows.apply(x, kernel=kernel, stride=stride)


def add_windows(patches, shape, kernel, stride):
    if _is_array(patches):
        return _add_windows(patches, shape, kernel, stride)
    return AddWindows.apply(patches, shape=shape, kernel=kernel, stride=stride)


class Linear(Op):
    """A fully connected layer in one node (rather than transpose, matmul and add)."""

    promotes_dtypes = True  # integer inputs take the weight's float dtype
    formula = "out = x @ wᵀ + b"
    derivative = "d/dx = grad @ w, d/dw = gradᵀ @ x, d/db = Σ grad over the batch"

    @staticmethod
    def forward(ctx, x, w, b=None):
        ctx.save_for_backward(x, w)
        out = np.matmul(x, w.T)
        if b is not None:
            out += b  # in place: out is a fresh array
        return out

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        needs = ctx.needs_input_grad
        rows = grad.reshape(-1, w.shape[0])  # every batch axis as one
        grad_x = grad @ w if needs[0] else None
        grad_w = rows.T @ x.reshape(-1, w.shape[1]) if needs[1] else None
        grad_b = rows.sum(axis=0) if len(needs) > 2 and needs[2] else None
        return (grad_x, grad_w) if len(needs) == 2 else (grad_x, grad_w, grad_b)
