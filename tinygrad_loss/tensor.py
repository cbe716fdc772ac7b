"""``Tensor``: a numpy array that remembers how it was made.

Every method with a gradient is one line calling an op of ``ops.py``; the graph and the chain
rule live in ``engine.py``. A 0-d tensor is micrograd's scalar ``Value``::

    >>> a = Tensor(-4.0, requires_grad=True)
    >>> b = Tensor(2.0, requires_grad=True)
    >>> c = a * b + b ** 3
    >>> c.backward()
    >>> a.grad, b.grad
    (Tensor(2.), Tensor(8.))
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from . import dtypes, engine, ops
from .dtypes import as_dtype, is_floating
from .engine import mode, warn_once
from .errors import DTypeError, GraphError, IndexOutOfRangeError, ShapeError

_new = object.__new__
_next_seq = itertools.count().__next__


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _to_array(data: Any, dtype: Any, where: str) -> np.ndarray:
    """Tensor()'s dtype rules: Python floats -> float32, ints -> int64, arrays keep theirs."""
    wanted = None if dtype is None else as_dtype(dtype, where)
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, (np.ndarray, np.generic)):
        array = np.array(data, dtype=wanted)
    else:
        try:
            array = np.array(data, dtype=wanted)
        except ValueError as error:
            raise ShapeError(f"{where}: cannot make a tensor of {type(data).__name__} data: {error}") from None
        if wanted is None and array.dtype == np.float64:
            array = array.astype(dtypes.DEFAULT_FLOAT)
    if array.dtype.kind not in "fiub":
        raise DTypeError(f"{where}: cannot hold data of dtype {array.dtype}; expected numbers or booleans")
    return array


def _check_device(device: Any, where: str) -> None:
    if device is not None:
        dtypes.device(device)


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    ``Tensor(data, requires_grad=False, dtype=None, name=None)``: Python floats (and lists of
    them) become float32, Python ints int64; numpy arrays keep their dtype. Only floating
    point tensors can require gradients. ``name`` is shown in graphs and error messages.
    """

    __slots__ = ("data", "_grad", "requires_grad", "grad_fn", "name", "_seq", "_retains_grad",
                 "_hooks", "_edited_at", "__weakref__")  # _edited_at: set by engine.mark_edited only
    __array_priority__ = 1000  # `ndarray <op> Tensor` is handled by Tensor

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None,
                 name: str | None = None, device: Any = None) -> None:
        _check_device(device, "Tensor")
        self.data = _to_array(data, dtype, "Tensor")
        self._grad = None
        self.requires_grad = False
        self.grad_fn = None
        self.name = name
        self._seq = _next_seq()
        self._retains_grad = False
        self._hooks = None
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _make(data: np.ndarray, requires_grad: bool, grad_fn: Any) -> Tensor:
        """The fast constructor the engine uses: no checks, no copy."""
        t = _new(Tensor)
        t.data = data
        t._grad = None
        t.requires_grad = requires_grad
        t.grad_fn = grad_fn
        t.name = None
        t._seq = _next_seq()
        t._retains_grad = False
        t._hooks = None
        return t

    # ------------------------------------------------------------------ attributes

    @property
    def grad(self) -> Tensor | None:
        """d(whatever you called backward on)/d(this tensor), accumulated over backward calls."""
        if self._grad is None and self.grad_fn is not None and not self._retains_grad:
            warn_once("non-leaf grad", "reading .grad of a non-leaf tensor: it is None because "
                      "intermediate gradients are freed, as in PyTorch. Call .retain_grad() on it "
                      "before backward(), or run backward inside `with autograd.keep_grads():`.")
        return self._grad

    @grad.setter
    def grad(self, value: Any) -> None:
        if value is not None:
            value = value if isinstance(value, Tensor) else Tensor(value, dtype=self.dtype)
            if value.shape != self.shape:
                raise ShapeError(f"grad: assigned a gradient of shape {value.shape} to a tensor of shape {self.shape}")
        self._grad = value

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def device(self) -> dtypes.device:
        return dtypes.device("cpu")

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def T(self) -> Tensor:  # noqa: N802 - numpy's and PyTorch's name
        """All axes reversed."""
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self) -> Tensor:  # noqa: N802
        """The last two axes swapped (a batch of transposed matrices)."""
        return self.transpose(-2, -1)

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        return self.shape if dim is None else self.shape[dim]

    def numel(self) -> int:
        return self.data.size

    def dim(self) -> int:
        return self.data.ndim

    def item(self) -> float | int | bool:
        if self.data.size != 1:
            raise ShapeError(f"item: only a one-element tensor converts to a Python number; this one has shape "
                             f"{self.shape}")
        return self.data.item()

    def numpy(self) -> np.ndarray:
        return self.data

    def tolist(self) -> Any:
        return self.data.tolist()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self) -> Iterator[Tensor]:
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ShapeError(f"bool: the truth value of a tensor of shape {self.shape} is ambiguous; "
                             "use .any() or .all()")
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError(f"only a one-element integer tensor can be used as an index, not {self.dtype} {self.shape}")
        return int(self.item())

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", precision=4, prefix="Tensor(", threshold=100)
        extras = []
        if self.dtype not in (dtypes.float32, dtypes.int64, dtypes.bool_):
            extras.append(f"dtype={self.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        if self.name:
            extras.append(f"name={self.name!r}")
        return "Tensor(" + ", ".join([body] + extras) + ")"

    def __format__(self, spec: str) -> str:
        if self.data.size == 1:
            return format(self.item(), spec)
        return format(repr(self), spec)

    # ------------------------------------------------------------------ autograd

    def backward(self, gradient: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False) -> None:
        """Compute d(self)/d(leaf) for every leaf that requires grad; add it to ``leaf.grad``.

        ``gradient`` is d(loss)/d(self); it defaults to 1 for a one-element tensor. The graph's
        saved values are freed afterwards unless ``retain_graph=True``; with
        ``create_graph=True`` the backward pass is recorded too (for second derivatives).
        """
        if not self.requires_grad:
            raise GraphError("backward: this tensor does not require grad and has no grad_fn, so "
                             "there is nothing to differentiate. Create the inputs with "
                             "requires_grad=True (and not under no_grad()).")
        root_grad = _root_gradient(self, gradient, "backward")
        retain = create_graph if retain_graph is None else retain_graph
        engine.run_backward([self], [root_grad], retain, create_graph)

    def detach(self) -> Tensor:
        """The same data (shared, not copied), cut off from the graph."""
        # a new view, not the same array object: create_graph maps saved arrays to tensors by identity
        return Tensor._make(self.data.view(), False, None)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and not is_floating(self.dtype):
            raise DTypeError(f"requires_grad: only floating point tensors can require gradients, "
                             f"this one is {self.dtype}; convert it first, e.g. .float()")
        if not requires_grad and self.grad_fn is not None:
            raise GraphError("requires_grad_: you can only change requires_grad of leaf tensors; use .detach()")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's ``.grad`` after backward (leaves always keep it)."""
        if not self.requires_grad:
            raise GraphError("retain_grad: cannot retain the gradient of a tensor that does not require grad")
        self._retains_grad = True

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> _HookHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor replaces it."""
        if not self.requires_grad:
            raise GraphError("register_hook: cannot register a hook on a tensor that does not require grad")
        if self._hooks is None:
            self._hooks = {}
        handle = _HookHandle(self._hooks)
        self._hooks[handle.id] = hook
        return handle

    # ------------------------------------------------------------------ arithmetic

    def __add__(self, other: Any) -> Tensor:
        return ops.Add.apply(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return ops.Add.apply(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return ops.Pow.apply(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return ops.Pow.apply(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return matmul(other, self)

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return ops.Abs.apply(self)

    add, sub, mul, div, pow, neg = __add__, __sub__, __mul__, __truediv__, __pow__, __neg__
    subtract, multiply, divide, true_divide, negative = sub, mul, div, div, neg

    # comparisons give boolean tensors and no gradient
    def __lt__(self, other: Any) -> Tensor:
        return _compare(np.less, self, other)

    def __le__(self, other: Any) -> Tensor:
        return _compare(np.less_equal, self, other)

    def __gt__(self, other: Any) -> Tensor:
        return _compare(np.greater, self, other)

    def __ge__(self, other: Any) -> Tensor:
        return _compare(np.greater_equal, self, other)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _compare(np.equal, self, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _compare(np.not_equal, self, other)

    def __and__(self, other: Any) -> Tensor:
        return Tensor._make(np.asarray(self.data & _data(other)), False, None)

    def __or__(self, other: Any) -> Tensor:
        return Tensor._make(np.asarray(self.data | _data(other)), False, None)

    def __invert__(self) -> Tensor:
        return Tensor._make(~self.data, False, None)

    def any(self) -> Tensor:
        return Tensor._make(np.asarray(self.data.any()), False, None)

    def all(self) -> Tensor:
        return Tensor._make(np.asarray(self.data.all()), False, None)

    # ------------------------------------------------------------------ in place

    def _in_place(self, other: Any, out_of_place: Callable, ufunc: np.ufunc) -> Tensor:
        """``x op= y``: update the numbers when no graph is involved; otherwise record a new
        node and let Python rebind the name (as micrograd's Value does)."""
        in_graph = mode.grad_enabled and (self.requires_grad or getattr(other, "requires_grad", False))
        if in_graph:
            if self.requires_grad and self.grad_fn is None:
                raise GraphError(_LEAF_IN_PLACE)
            return out_of_place(self, other)
        try:
            ufunc(self.data, _data(other), out=self.data, casting="same_kind")
        except (TypeError, ValueError) as error:  # numpy's casting errors are TypeErrors
            kind = DTypeError if isinstance(error, TypeError) else ShapeError
            raise kind(f"in-place {ufunc.__name__} of a {self.dtype} tensor of shape {self.shape} "
                       f"with {engine._describe(other)}: {error}") from None
        engine.mark_edited(self)
        return self

    def __iadd__(self, other: Any) -> Tensor:
        return self._in_place(other, Tensor.__add__, np.add)

    def __isub__(self, other: Any) -> Tensor:
        return self._in_place(other, Tensor.__sub__, np.subtract)

    def __imul__(self, other: Any) -> Tensor:
        return self._in_place(other, Tensor.__mul__, np.multiply)

    def __itruediv__(self, other: Any) -> Tensor:
        return self._in_place(other, Tensor.__truediv__, np.true_divide)

    def _check_writable(self, what: str) -> None:
        if mode.grad_enabled and self.requires_grad:
            raise GraphError(_LEAF_IN_PLACE if self.grad_fn is None else
                             f"{what}: cannot change a tensor that is part of a graph in place; "
                             "compute a new tensor instead (or do it under no_grad())")

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_(self, value: Any) -> Tensor:
        self._check_writable("fill_")
        self.data[...] = _data(value)
        engine.mark_edited(self)
        return self

    def copy_(self, source: Any) -> Tensor:
        self._check_writable("copy_")
        try:
            np.copyto(self.data, _data(source), casting="same_kind")
        except (TypeError, ValueError) as error:
            raise ShapeError(f"copy_: cannot copy {engine._describe(source)} into a tensor of shape "
                             f"{self.shape} and dtype {self.dtype}: {error}") from None
        engine.mark_edited(self)
        return self

    def __setitem__(self, index: Any, value: Any) -> None:
        self._check_writable("__setitem__")
        index = _index(index)
        target = self.data
        split = _selects_first(index)
        if split is not None:
            target, index = target[split[0]], split[1]
        try:
            target[index] = _data(value)
        except ValueError as error:
            raise ShapeError(f"__setitem__: cannot put {engine._describe(value)} into the selected part of a "
                             f"tensor of shape {self.shape}: {error}") from None
        engine.mark_edited(self)

    # ------------------------------------------------------------------ indexing

    def __getitem__(self, index: Any) -> Tensor:
        index = _index(index)
        split = _selects_first(index)
        if split is not None:  # PyTorch's order: the integer selects first, then the array indexing
            return ops.Getitem.apply(ops.Getitem.apply(self, index=split[0]), index=split[1])
        return ops.Getitem.apply(self, index=index)

    # ------------------------------------------------------------------ reductions

    def sum(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool | None = None) -> Tensor:
        if axis is not None or dim is not None or keepdims or keepdim is not None:  # not a plain total
            axis, keepdims = _axis_args(axis, keepdims, dim, keepdim, self.ndim)
            return ops.Sum.apply(self, axis=axis, keepdims=keepdims)
        return ops.Sum.apply(self)  # forward's defaults: over every axis (keyword arguments cost time)

    def mean(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool | None = None) -> Tensor:
        if axis is not None or dim is not None or keepdims or keepdim is not None:  # not a plain total
            axis, keepdims = _axis_args(axis, keepdims, dim, keepdim, self.ndim)
            return ops.Mean.apply(self, axis=axis, keepdims=keepdims)
        return ops.Mean.apply(self)  # forward's defaults: over every axis (keyword arguments cost time)

    def max(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool | None = None) -> Tensor:
        """Largest value over ``axis`` (a tensor, like PyTorch's ``amax``); ties share the gradient.
        ``x.max(other_tensor)`` is the elementwise maximum, as in PyTorch."""
        if isinstance(axis, Tensor):
            return self.maximum(axis)
        axis, keepdims = _axis_args(axis, keepdims, dim, keepdim, self.ndim)
        return ops.Max.apply(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool | None = None) -> Tensor:
        """Smallest value over ``axis`` (like PyTorch's ``amin``); ties share the gradient."""
        if isinstance(axis, Tensor):
            return self.minimum(axis)
        axis, keepdims = _axis_args(axis, keepdims, dim, keepdim, self.ndim)
        return ops.Min.apply(self, axis=axis, keepdims=keepdims)

    def var(self, axis: Any = None, ddof: int = 0, keepdims: bool = False, *, dim: Any = None,
            keepdim: bool | None = None, correction: int | None = None, unbiased: bool | None = None) -> Tensor:
        """Variance Σ(x - mean)²/(n - ddof). ``ddof=0`` by default (numpy's); PyTorch's
        ``correction=``/``unbiased=`` are accepted too."""
        return self._spread(ops.Var, axis, ddof, keepdims, dim, keepdim, correction, unbiased)

    def std(self, axis: Any = None, ddof: int = 0, keepdims: bool = False, *, dim: Any = None,
            keepdim: bool | None = None, correction: int | None = None, unbiased: bool | None = None) -> Tensor:
        """Standard deviation √var (same arguments as ``var``); where it is 0 (constant values) its
        gradient is 0, as PyTorch's, rather than √'s 1/(2·0)."""
        return self._spread(ops.Std, axis, ddof, keepdims, dim, keepdim, correction, unbiased)

    def _spread(self, op: type, axis: Any, ddof: int, keepdims: bool, dim: Any, keepdim: bool | None,
                correction: int | None, unbiased: bool | None) -> Tensor:
        axis, keepdims = _axis_args(axis, keepdims, dim, keepdim, self.ndim)
        ddof = correction if correction is not None else (int(unbiased) if unbiased is not None else ddof)
        return op.apply(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def logsumexp(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
                  keepdim: bool | None = None) -> Tensor:
        """ln Σ exp(x), computed as m + ln Σ exp(x - m) so that it never overflows."""
        axis, keepdims = _axis_args(axis, keepdims, dim, keepdim, self.ndim)
        return ops.LogSumExp.apply(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None,
               keepdim: bool | None = None) -> Tensor:
        axis, keepdims = _axis_args(axis, keepdims, dim, keepdim, self.ndim)
        if axis is not None:
            axis = _dim(axis, self.ndim, self.shape, "argmax")
        _check_not_empty(self, axis, "argmax")
        return Tensor._make(np.asarray(np.argmax(self.data, axis=axis, keepdims=keepdims)), False, None)

    def argmin(self, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None,
               keepdim: bool | None = None) -> Tensor:
        axis, keepdims = _axis_args(axis, keepdims, dim, keepdim, self.ndim)
        if axis is not None:
            axis = _dim(axis, self.ndim, self.shape, "argmin")
        _check_not_empty(self, axis, "argmin")
        return Tensor._make(np.asarray(np.argmin(self.data, axis=axis, keepdims=keepdims)), False, None)

    # ------------------------------------------------------------------ elementwise

    def exp(self) -> Tensor:
        return ops.Exp.apply(self)

    def log(self) -> Tensor:
        return ops.Log.apply(self)

    def log1p(self) -> Tensor:
        return ops.Log1p.apply(self)

    def sqrt(self) -> Tensor:
        return ops.Sqrt.apply(self)

    def abs(self) -> Tensor:
        return ops.Abs.apply(self)

    def sin(self) -> Tensor:
        return ops.Sin.apply(self)

    def cos(self) -> Tensor:
        return ops.Cos.apply(self)

    def tanh(self) -> Tensor:
        return ops.Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        return ops.Sigmoid.apply(self)

    def relu(self) -> Tensor:
        return ops.Relu.apply(self)

    def leaky_relu(self, negative_slope: float = 0.01) -> Tensor:
        return ops.LeakyRelu.apply(self, negative_slope=_number(negative_slope, "negative_slope", "leaky_relu"))

    def gelu(self, approximate: str = "none") -> Tensor:
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        return ops.Gelu.apply(self, approximate=approximate)

    def softplus(self, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
        return ops.Softplus.apply(self, beta=_number(beta, "beta", "softplus"),
                                  threshold=_number(threshold, "threshold", "softplus"))

    def erf(self) -> Tensor:
        return ops.Erf.apply(self)

    def square(self) -> Tensor:
        return ops.Mul.apply(self, self)

    def clip(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002 - PyTorch's names
        """Limit every value to [min, max]; the gradient is 1 inside (bounds included), 0 outside."""
        if min is None and max is None:
            raise ValueError("clip: at least one of min and max must be given")
        if isinstance(min, Tensor) or isinstance(max, Tensor):
            return ops.ClipBetween.apply(self, min, max)
        low, high = _bound(min), _bound(max)
        x = self
        if self.dtype.kind in "iub" and (isinstance(low, float) or isinstance(high, float)):
            x = self.float()  # integers clipped to a float bound: float32, as PyTorch (numpy: float64)
        return ops.Clip.apply(x, low=low, high=high)

    clamp = clip

    def softmax(self, axis: int = -1, *, dim: int | None = None) -> Tensor:
        return ops.Softmax.apply(self, axis=axis if dim is None else dim)

    def log_softmax(self, axis: int = -1, *, dim: int | None = None) -> Tensor:
        return ops.LogSoftmax.apply(self, axis=axis if dim is None else dim)

    def maximum(self, other: Any) -> Tensor:
        return ops.Maximum.apply(self, other)

    def minimum(self, other: Any) -> Tensor:
        return ops.Minimum.apply(self, other)

    def matmul(self, other: Any) -> Tensor:
        return matmul(self, other)

    def dot(self, other: Any) -> Tensor:
        if self.ndim != 1 or np.ndim(_data(other)) != 1:
            raise ShapeError(f"dot: expects two 1-d tensors, got shapes {self.shape} and {np.shape(_data(other))}; "
                             "use matmul for matrices")
        return matmul(self, other)

    # ------------------------------------------------------------------ dtype and copies

    def astype(self, dtype: Any) -> Tensor:
        """A copy converted to ``dtype``; the gradient flows back converted to the original."""
        dtype = as_dtype(dtype, "astype")
        if dtype == self.dtype:
            return self
        if self.requires_grad and not is_floating(dtype):
            return self.detach().astype(dtype)
        return ops.Cast.apply(self, dtype=dtype)

    def to(self, *args: Any, dtype: Any = None, device: Any = None, **_: Any) -> Tensor:
        """``.to(dtype)``, ``.to('cpu')`` or ``.to(device, dtype)``."""
        for arg in args:
            if isinstance(arg, dtypes.device) or (isinstance(arg, str) and arg.split(":")[0] in ("cpu", "cuda", "mps")):
                device = arg
            else:
                dtype = arg
        _check_device(device, "to")
        return self if dtype is None else self.astype(dtype)

    def float(self) -> Tensor:
        return self.astype(dtypes.float32)

    def double(self) -> Tensor:
        return self.astype(dtypes.float64)

    def long(self) -> Tensor:
        return self.astype(dtypes.int64)

    def int(self) -> Tensor:
        return self.astype(dtypes.int32)

    def bool(self) -> Tensor:
        return self.astype(dtypes.bool_)

    def type_as(self, other: Tensor) -> Tensor:
        return self.astype(other.dtype)

    def cpu(self) -> Tensor:
        return self

    def contiguous(self) -> Tensor:
        return self

    def clone(self) -> Tensor:
        return ops.Clone.apply(self)

    # ------------------------------------------------------------------ shapes

    def reshape(self, *shape: Any) -> Tensor:
        shape = _shape_arg(shape, "reshape")
        if shape == self.shape:
            return self
        if any(s < -1 for s in shape):
            raise ShapeError(f"reshape: invalid size {min(shape)} in {shape} for a tensor of shape {self.shape}; "
                             "sizes are non-negative, or -1 for 'whatever fits'")
        return ops.Reshape.apply(self, shape=shape)

    view = reshape

    def flatten(self, start: int = 0, end: int = -1, *, start_dim: int | None = None,
                end_dim: int | None = None) -> Tensor:
        start = start if start_dim is None else start_dim
        end = end if end_dim is None else end_dim
        if self.ndim == 0:
            return self.reshape(1)
        start, end = _dim(start, self.ndim, self.shape, "flatten"), _dim(end, self.ndim, self.shape, "flatten")
        if start > end:
            raise ShapeError(f"flatten: start dim {start} comes after end dim {end} (shape {self.shape})")
        return self.reshape(self.shape[:start] + (-1,) + self.shape[end + 1:])

    def squeeze(self, dim: int | tuple | None = None) -> Tensor:
        if dim is None:
            return self.reshape(tuple(s for s in self.shape if s != 1))
        dims = {_dim(d, self.ndim, self.shape, "squeeze") for d in ((dim,) if isinstance(dim, int) else dim)}
        return self.reshape(tuple(s for i, s in enumerate(self.shape) if not (i in dims and s == 1)))

    def unsqueeze(self, dim: int) -> Tensor:
        dim = _dim(dim, self.ndim + 1, self.shape, "unsqueeze")
        return self.reshape(self.shape[:dim] + (1,) + self.shape[dim:])

    def permute(self, *dims: Any) -> Tensor:
        dims = _shape_arg(dims, "permute")
        if len(dims) == self.ndim:
            dims = tuple(_dim(d, self.ndim, self.shape, "permute") for d in dims)
        if sorted(dims) != list(range(self.ndim)):
            raise ShapeError(f"permute: {dims} is not an ordering of the {self.ndim} axes of a tensor of shape "
                             f"{self.shape}")
        return ops.Permute.apply(self, axes=dims)

    def transpose(self, dim0: int = -2, dim1: int = -1) -> Tensor:
        """Swap two axes (PyTorch's meaning; ``.T`` reverses all of them, ``permute`` reorders)."""
        dim0, dim1 = _dim(dim0, self.ndim, self.shape, "transpose"), _dim(dim1, self.ndim, self.shape, "transpose")
        if self.ndim < 2:
            return self
        order = list(range(self.ndim))
        order[dim0], order[dim1] = order[dim1], order[dim0]
        return self.permute(*order)

    swapaxes = transpose

    def t(self) -> Tensor:
        return self.transpose(0, 1) if self.ndim == 2 else self

    def expand(self, *sizes: Any) -> Tensor:
        """Repeat size-1 axes (and add leading ones) without copying; -1 keeps a size."""
        sizes = _shape_arg(sizes, "expand")
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise ShapeError(f"expand: cannot expand shape {self.shape} to fewer dimensions {sizes}")
        if -1 in sizes[:lead]:
            raise ShapeError(f"expand: -1 keeps an existing size, but {sizes} puts it in a new leading "
                             f"dimension of shape {self.shape}")
        shape = tuple(self.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
        return self.broadcast_to(shape)

    def broadcast_to(self, shape: Any) -> Tensor:
        shape = _shape_arg((shape,), "broadcast_to")
        if shape == self.shape:
            return self
        try:
            np.broadcast_shapes(self.shape, shape)
        except ValueError:
            raise ShapeError(f"broadcast_to: cannot broadcast shape {self.shape} to {shape}") from None
        return ops.Expand.apply(self, shape=shape)

    def pad(self, pad_width: Any, value: float = 0.0) -> Tensor:
        """Constant padding with numpy's ``pad_width``: an int, (before, after), or one pair per axis."""
        try:
            widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (self.ndim, 2))
        except (TypeError, ValueError):
            raise ShapeError(f"pad: pad_width {pad_width!r} does not fit a tensor of shape {self.shape}; give an int, "
                             f"a (before, after) pair, or one pair per axis ({self.ndim} pairs)") from None
        return ops.Pad.apply(self, pad_width=tuple(map(tuple, widths.tolist())), value=value)

    # ------------------------------------------------------------------ numpy interop

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """``np.exp(t)`` and friends record ops; other ufuncs (comparisons, sign) give arrays.

        This is what lets every op's backward, written with numpy, run on Tensors as well.
        """
        op = _UFUNC_OPS.get(ufunc)
        if op is not None and method == "__call__" and not kwargs:
            return op(*inputs)
        if "out" in kwargs:
            kwargs["out"] = tuple(_data(o) for o in kwargs["out"])
        return getattr(ufunc, method)(*(_data(x) for x in inputs), **kwargs)

    def __array_function__(self, func: Callable, types: tuple, args: tuple, kwargs: dict) -> Any:
        handler = _ARRAY_FUNCTIONS.get(func)
        if handler is not None:
            return handler(*args, **kwargs)
        unwrap = lambda x: [_data(i) for i in x] if isinstance(x, (list, tuple)) else _data(x)  # noqa: E731
        return func(*(unwrap(a) for a in args), **{k: unwrap(v) for k, v in kwargs.items()})


Variable = Tensor

_LEAF_IN_PLACE = ("a leaf Variable that requires grad is being used in an in-place operation. "
                  "Update parameters inside `with no_grad():` (e.g. `with no_grad(): w -= lr * w.grad`).")


class _HookHandle:
    _ids = itertools.count()

    def __init__(self, hooks: dict) -> None:
        self.hooks = hooks
        self.id = next(self._ids)

    def remove(self) -> None:
        self.hooks.pop(self.id, None)


def _root_gradient(t: Tensor, gradient: Any, where: str) -> Any:
    if gradient is None:
        if t.data.size != 1:
            raise GraphError(f"{where}: the tensor has shape {t.shape}; a gradient can be created "
                             "implicitly only for a one-element tensor. Pass one of the same shape, "
                             "or reduce first (loss.sum() or loss.mean()).")
        one = np.empty(t.data.shape, t.data.dtype)
        one.fill(1)
        return one
    if isinstance(gradient, Tensor) and gradient.requires_grad:
        g = gradient
    else:
        g = np.asarray(_data(gradient), dtype=t.dtype)
    if g.shape != t.shape:
        raise ShapeError(f"{where}: gradient has shape {tuple(g.shape)} but the tensor has shape {t.shape}")
    return g


def _axis_args(axis: Any, keepdims: bool, dim: Any, keepdim: bool | None, ndim: int) -> tuple:
    """(axis, keepdims) from numpy's or PyTorch's spelling; a 0-d tensor accepts axis 0 or -1
    (as PyTorch does) and reduces over nothing."""
    if dim is not None:
        axis = dim
    if keepdim is not None:
        keepdims = keepdim
    if isinstance(axis, list):
        axis = tuple(axis)
    if ndim == 0 and axis is not None and all(a in (0, -1) for a in (axis if isinstance(axis, tuple) else (axis,))):
        axis = None
    return axis, bool(keepdims)


def _dim(d: Any, ndim: int, shape: tuple, where: str) -> int:
    """A dimension in [-ndim, ndim) as a non-negative index (a 0-d tensor accepts 0 and -1)."""
    size = max(ndim, 1)
    if not isinstance(d, (int, np.integer)) or not -size <= d < size:
        raise IndexOutOfRangeError(f"{where}: dimension {d} is out of range [{-size}, {size - 1}] "
                                   f"for a tensor of shape {shape}")
    return int(d) % size


def _number(value: Any, name: str, where: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise DTypeError(f"{where}: {name} must be a number, got {value!r}") from None


def _check_not_empty(t: Tensor, axis: Any, where: str) -> None:
    if t.data.size == 0 and (axis is None or t.shape[axis] == 0):
        raise ShapeError(f"{where}: the tensor of shape {t.shape} is empty; there is no largest or smallest entry")


def _shape_arg(shape: tuple, where: str) -> tuple:
    """reshape(2, 3), reshape((2, 3)) and reshape([2, 3]) all mean (2, 3)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, np.ndarray)):
        shape = shape[0]
    try:
        return tuple(operator.index(s) for s in shape)  # 2.5 is refused, not truncated to 2
    except TypeError:
        raise ShapeError(f"{where}: expected a shape made of integers, got {shape!r}") from None


def _index(index: Any) -> Any:
    """Tensors inside an index become their arrays (boolean masks, integer index tensors)."""
    if isinstance(index, tuple):
        return tuple(_data(i) for i in index)
    return _data(index)


def _compare(ufunc: np.ufunc, a: Any, b: Any) -> Tensor:
    """A comparison (no gradient), made in PyTorch's result dtype of the two operands: float32
    [0.1] > a 0-d float64 0.1 is False, as in PyTorch (numpy would compare in float64)."""
    operands = [_number_or_data(a), _number_or_data(b)]
    if engine._numpy_may_differ(operands):
        engine._promote(operands, False)
    return Tensor._make(np.asarray(ufunc(*operands)), False, None)


def _number_or_data(x: Any) -> Any:
    """A numpy scalar as the Python number PyTorch reads it as; a Tensor as its array."""
    return x.item() if isinstance(x, np.generic) else _data(x)


def _is_select(i: Any) -> bool:
    """An integer in an index (a Python or numpy int, or a 0-d integer array)."""
    if isinstance(i, (bool, np.bool_)):
        return False
    return isinstance(i, (int, np.integer)) or (type(i) is np.ndarray and i.ndim == 0 and i.dtype.kind in "iu")


def _is_array_index(i: Any) -> bool:
    """An index numpy and PyTorch read as advanced: a list, an array, or a True/False (a 0-d mask)."""
    if isinstance(i, (bool, np.bool_)):
        return True
    return isinstance(i, list) or (type(i) is np.ndarray and (i.ndim > 0 or i.dtype == bool))


def _selects_first(index: Any) -> tuple[tuple, tuple] | None:
    """PyTorch reads an integer in an index as a plain select done first; numpy counts it as one
    more array index, so ``x[1, :, [0, 2]]`` has shape (3, 2) in PyTorch and (2, 3) in numpy.
    When an index holds both, split it into the selects and the rest, applied one after the other."""
    if not (isinstance(index, tuple) and any(map(_is_select, index)) and any(map(_is_array_index, index))):
        return None
    selects, rest = [], []
    for i in index:
        if _is_select(i):
            selects.append(int(i))  # an int, not a 0-d array: numpy would copy rather than view
        elif i is None or isinstance(i, slice):  # applied with the selects; the axis is kept whole after
            selects.append(i)
            rest.append(slice(None))
        elif i is Ellipsis:
            selects.append(i)
            rest.append(i)
        else:  # an array index: one axis, or as many as a boolean mask has
            array = np.asarray(i)
            selects.extend([slice(None)] * (array.ndim if array.dtype == bool else 1))
            rest.append(i)
    return tuple(selects), tuple(rest)


def _bound(value: Any) -> Any:
    """A clip bound as a Python number (a numpy scalar would impose its own dtype on the result)."""
    return value.item() if isinstance(value, np.generic) else value


def _tensors(tensors: Sequence[Any], where: str) -> list:
    if isinstance(tensors, Tensor) or not len(tensors):
        raise ShapeError(f"{where}: expects a non-empty list of tensors")
    return list(tensors)


# -------------------------------------------------------------------- free functions


def as_tensor(x: Any, dtype: Any = None) -> Tensor:
    """``x`` itself if it is a Tensor, else a new (constant) Tensor of it."""
    if isinstance(x, Tensor) and (dtype is None or as_dtype(dtype) == x.dtype):
        return x
    return Tensor(x, dtype=dtype)


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None, name: str | None = None,
           device: Any = None) -> Tensor:
    """Same as ``Tensor(...)`` (PyTorch spells it ``torch.tensor``)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name, device=device)


def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product with numpy's rules: 1-d, 2-d and batched (broadcast) operands."""
    shape_a, shape_b = np.shape(_data(a)), np.shape(_data(b))
    if not shape_a or not shape_b:
        raise ShapeError(f"matmul: both operands need at least one dimension, got shapes {shape_a} and {shape_b}")
    inner_b = shape_b[-2] if len(shape_b) > 1 else shape_b[0]
    if shape_a[-1] != inner_b:
        which = "second-to-last" if len(shape_b) > 1 else "only"
        raise ShapeError(f"matmul: cannot multiply shapes {shape_a} and {shape_b}: the last axis of the "
                         f"first ({shape_a[-1]}) must equal the {which} axis of the second ({inner_b})")
    return ops.MatMul.apply(a, b)


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """Pick from ``a`` where ``condition`` holds, else from ``b`` (the gradient follows the pick)."""
    if not isinstance(a, (Tensor, np.ndarray)) and not isinstance(b, (Tensor, np.ndarray)):
        # two numbers: float32 (or int64), as PyTorch, not numpy's float64 (numpy scalars read as numbers)
        a, b = Tensor(_number_or_data(a)), Tensor(_number_or_data(b))
    return ops.Where.apply(condition, a, b)


def maximum(a: Any, b: Any) -> Tensor:
    return ops.Maximum.apply(a, b)


def minimum(a: Any, b: Any) -> Tensor:
    return ops.Minimum.apply(a, b)


def cat(tensors: Sequence[Any], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join tensors along an existing axis."""
    return ops.Cat.apply(*_tensors(tensors, "cat"), axis=axis if dim is None else dim)


concatenate = concat = cat


def stack(tensors: Sequence[Any], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join tensors of one shape along a new axis."""
    return ops.Stack.apply(*_tensors(tensors, "stack"), axis=axis if dim is None else dim)


_UFUNC_OPS: dict = {
    np.add: ops.Add.apply, np.subtract: ops.Sub.apply, np.multiply: ops.Mul.apply,
    np.true_divide: ops.Div.apply, np.power: ops.Pow.apply, np.negative: ops.Neg.apply,
    np.exp: ops.Exp.apply, np.log: ops.Log.apply, np.log1p: ops.Log1p.apply,
    np.sqrt: ops.Sqrt.apply, np.absolute: ops.Abs.apply, np.sin: ops.Sin.apply,
    np.cos: ops.Cos.apply, np.tanh: ops.Tanh.apply, np.maximum: maximum, np.minimum: minimum,
    np.matmul: matmul, np.square: lambda x: ops.Mul.apply(x, x),
}

_ARRAY_FUNCTIONS: dict = {
    np.where: where,
    np.concatenate: lambda seq, axis=0: cat(seq, axis),
    np.stack: lambda seq, axis=0: stack(seq, axis),
    np.broadcast_to: lambda x, shape: as_tensor(x).broadcast_to(shape),
    np.reshape: lambda x, shape: as_tensor(x).reshape(shape),
    np.transpose: lambda x, axes=None: as_tensor(x).permute(*(reversed(range(np.ndim(x))) if axes is None else axes)),
    np.swapaxes: lambda x, a, b: as_tensor(x).transpose(a, b),
    np.expand_dims: lambda x, axis: as_tensor(x).unsqueeze(axis),
    np.squeeze: lambda x, axis=None: as_tensor(x).squeeze(axis),
    np.sum: lambda x, axis=None, keepdims=False: as_tensor(x).sum(axis, keepdims),
    np.mean: lambda x, axis=None, keepdims=False: as_tensor(x).mean(axis, keepdims),
    np.max: lambda x, axis=None, keepdims=False: as_tensor(x).max(axis, keepdims),
    np.min: lambda x, axis=None, keepdims=False: as_tensor(x).min(axis, keepdims),
    np.clip: lambda x, a_min=None, a_max=None: as_tensor(x).clip(a_min, a_max),
    np.dot: lambda a, b: matmul(a, b),
}
