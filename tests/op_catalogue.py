"""The op catalogue: one list, ``CATALOGUE``, that drives every per-op check in test_ops.py.

In the spirit of tinygrad's ``helper_test_op`` and MyGrad's ``backprop_test_factory``: each
``OpCase`` names an op of the public API, how to call it in tinygrad_loss and in PyTorch,
the input shapes to try (including broadcasting pairs and 0-d tensors), the input domain
(where the op is smooth, so that finite differences are valid) and keyword arguments.

For every (case, shapes) pair test_ops.py runs: float64 ``gradcheck``; a second-order
gradcheck through ``create_graph=True``; forward values and input gradients against PyTorch
in float64 (rtol 1e-10) and float32 (rtol 1e-5); and the dtype rules.

This module does not import torch: torch functions are looked up lazily when first called,
so the catalogue (and every check that does not need PyTorch) works without it.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# ----------------------------------------------------------------------------- lazy torch
from helpers import torch  # lazy: importing this file never needs torch
from helpers import torch_functional as F

import tinygrad_loss as tl

# ----------------------------------------------------------------------------- domains


@dataclass(frozen=True)
class Domain:
    """Where an input's values are drawn from. ``differentiable=False`` marks inputs that
    are not differentiated (boolean conditions)."""

    name: str
    sample: Callable[[np.random.Generator, tuple], np.ndarray]
    differentiable: bool = True

    def __call__(self, rng: np.random.Generator, shape: tuple) -> np.ndarray:
        values = np.asarray(self.sample(rng, tuple(shape)))
        return values if not self.differentiable else values.astype(np.float64)

    def __repr__(self) -> str:
        return self.name


def uniform(lo: float, hi: float) -> Domain:
    return Domain(f"U({lo},{hi})", lambda rng, shape: rng.uniform(lo, hi, shape))


def away_from(points: Sequence[float], margin: float = 0.1, lo: float = -2.0, hi: float = 2.0) -> Domain:
    """Uniform on [lo, hi] but at least ``margin`` from every kink in ``points``."""

    def sample(rng: np.random.Generator, shape: tuple) -> np.ndarray:
        values = rng.uniform(lo, hi, shape)
        while True:
            bad = np.zeros(shape, dtype=bool)
            for p in points:
                bad |= np.abs(values - p) < margin
            if not bad.any():
                return values
            values = np.where(bad, rng.uniform(lo, hi, shape), values)

    return Domain(f"away_from{tuple(points)}", sample)


def _nonzero(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.5, 2.0, shape)


def _distinct(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    """All values at least 0.06 apart (no ties, so max/min are smooth at the sample)."""
    n = math.prod(shape)
    grid = 0.1 * (rng.permutation(n) - n // 2) + rng.uniform(-0.02, 0.02, n)
    return grid.reshape(shape)


def _grid(offset: float) -> Callable:
    """Multiples of 0.2 (+ offset, ± 0.02): a grid(0) value and a grid(0.1) value are at least
    0.06 apart, so maximum(a, b)/minimum(a, b) have no ties whatever the broadcasting."""

    def sample(rng: np.random.Generator, shape: tuple) -> np.ndarray:
        return 0.2 * rng.integers(-8, 9, shape) + offset + rng.uniform(-0.02, 0.02, shape)

    return sample


REAL = uniform(-2.0, 2.0)
WIDE = uniform(-4.0, 4.0)
POSITIVE = uniform(0.5, 2.0)
ABOVE_MINUS_ONE = uniform(-0.5, 2.0)
NONZERO = Domain("nonzero", _nonzero)
DISTINCT = Domain("distinct", _distinct)
GRID_A = Domain("grid+0", _grid(0.0))
GRID_B = Domain("grid+0.1", _grid(0.1))
GRID_C = Domain("grid+0.05", _grid(0.05))
AWAY_FROM_0 = away_from([0.0])
BOOL = Domain("bool", lambda rng, shape: rng.random(shape) < 0.5, differentiable=False)

# ----------------------------------------------------------------------------- OpCase


@dataclass(frozen=True, eq=False)
class OpCase:
    """One op (or one way of calling it) and everything needed to check it.

    fn / torch_fn: ``fn(*tensors, **kwargs)`` in tinygrad_loss / PyTorch (same positional
    inputs, same kwargs). shapes: several input-shape tuples, one shape per input.
    domain: one Domain for every input, or a tuple with one per input.
    out_dtype: the output dtype when the op fixes it (casts); None: the inputs' float dtype.
    gc_eps: finite-difference step (a large step is exact for linear ops whose output is
    float32 and would otherwise be ruined by float32 rounding).
    """

    op: str
    name: str
    fn: Callable
    torch_fn: Callable
    shapes: tuple
    domain: Domain | tuple = REAL
    kwargs: dict = field(default_factory=dict)
    out_dtype: str | None = None
    gc_eps: float = 1e-6

    def domains(self, n: int) -> tuple:
        return self.domain if isinstance(self.domain, tuple) else (self.domain,) * n

    def __repr__(self) -> str:
        return self.name


CATALOGUE: list[OpCase] = []


def add_case(op: str, fn: Callable, torch_fn: Callable, shapes: Sequence, domain: Any = REAL,
             name: str | None = None, **kwargs: Any) -> None:
    """Register a case. Extra keyword arguments are passed to both fn and torch_fn, except
    ``out_dtype`` and ``gc_eps``, which are OpCase fields."""
    fields = {k: kwargs.pop(k) for k in ("out_dtype", "gc_eps") if k in kwargs}
    if name is None:
        name = op + ("[" + ",".join(f"{k}={v}" for k, v in kwargs.items()) + "]" if kwargs else "")
    assert all(c.name != name for c in CATALOGUE), f"duplicate case name {name}"
    CATALOGUE.append(OpCase(op, name, fn, torch_fn, tuple(tuple(tuple(s) for s in ss) for ss in shapes),
                            domain, kwargs, **fields))


def _unary(*shapes: tuple) -> tuple:
    return tuple((s,) for s in shapes)


UNARY = _unary((), (5,), (2, 3), (2, 1, 3))
SMALL_UNARY = _unary((), (2, 3))
BINARY = (((3,), (3,)), ((3, 1), (1, 4)), ((4,), (2, 3, 4)), ((), (2, 3)), ((2, 3), ()), ((), ()),
          ((2, 1, 3), (4, 1)))

# ----------------------------------------------------------------------------- elementwise, binary

add_case("add", lambda a, b: a + b, lambda a, b: a + b, BINARY)
add_case("sub", lambda a, b: a - b, lambda a, b: a - b, BINARY)
add_case("mul", lambda a, b: a * b, lambda a, b: a * b, BINARY)
add_case("div", lambda a, b: a / b, lambda a, b: a / b, BINARY, (REAL, NONZERO))
add_case("pow", lambda a, b: a**b, lambda a, b: a**b, BINARY, (POSITIVE, REAL), name="pow[tensor**tensor]")
add_case("maximum", lambda a, b: tl.maximum(a, b), lambda a, b: torch.maximum(a, b), BINARY, (GRID_A, GRID_B))
add_case("minimum", lambda a, b: tl.minimum(a, b), lambda a, b: torch.minimum(a, b), BINARY, (GRID_A, GRID_B))
add_case("maximum", lambda a, b: a.maximum(b), lambda a, b: torch.maximum(a, b), BINARY[:2], (GRID_B, GRID_A),
         name="maximum[method]")
add_case("minimum", lambda a, b: a.minimum(b), lambda a, b: torch.minimum(a, b), BINARY[:2], (GRID_B, GRID_A),
         name="minimum[method]")
add_case("maximum", lambda a, b: a.max(b), lambda a, b: torch.max(a, b), BINARY[1:2], (GRID_A, GRID_B),
         name="max[elementwise]")
add_case("add", lambda a, b: a.add(b), lambda a, b: a.add(b), BINARY[1:2], name="add[method]")
add_case("mul", lambda a, b: tl.mul(a, b), lambda a, b: torch.mul(a, b), BINARY[1:2], name="mul[free]")
add_case("mul", lambda x: x * x, lambda x: x * x, UNARY, name="mul[x*x]")
add_case("mul", lambda x: x.square(), lambda x: x.square(), SMALL_UNARY, name="square")

# with Python numbers and numpy arrays, on either side
add_case("add", lambda x: 1.5 + x, lambda x: 1.5 + x, SMALL_UNARY, name="add[number+x]")
add_case("sub", lambda x: 1.5 - x, lambda x: 1.5 - x, SMALL_UNARY, name="sub[number-x]")
add_case("sub", lambda x: x - 0.5, lambda x: x - 0.5, SMALL_UNARY, name="sub[x-number]")
add_case("mul", lambda x: 2.5 * x, lambda x: 2.5 * x, SMALL_UNARY, name="mul[number*x]")
add_case("div", lambda x: 2.0 / x, lambda x: 2.0 / x, SMALL_UNARY, NONZERO, name="div[number/x]")
add_case("div", lambda x: x / 4.0, lambda x: x / 4.0, SMALL_UNARY, name="div[x/number]")
add_case("add", lambda x: np.full(x.shape, 1.5, x.dtype) + x, lambda x: torch.full(x.shape, 1.5, dtype=x.dtype) + x,
         SMALL_UNARY, name="add[ndarray+x]")
add_case("sub", lambda x: np.linspace(-1, 1, x.data.size).reshape(x.shape).astype(x.dtype) - x,
         lambda x: torch.linspace(-1, 1, x.numel(), dtype=x.dtype).reshape(x.shape) - x,
         SMALL_UNARY, name="sub[ndarray-x]")
add_case("mul", lambda x: x * np.full(x.shape, -3.0, x.dtype), lambda x: x * torch.full(x.shape, -3.0, dtype=x.dtype),
         SMALL_UNARY, name="mul[x*ndarray]")
add_case("div", lambda x: np.full(x.shape, 3.0, x.dtype) / x, lambda x: torch.full(x.shape, 3.0, dtype=x.dtype) / x,
         SMALL_UNARY, NONZERO, name="div[ndarray/x]")

# powers: tensor ** number, number ** tensor (tensor ** tensor is above)
for p, domain in ((2, REAL), (3, REAL), (-2, NONZERO), (0.5, POSITIVE), (1.5, POSITIVE), (-0.5, POSITIVE), (0, REAL)):
    add_case("pow", lambda x, p: x**p, lambda x, p: x**p, UNARY, domain, name=f"pow[tensor**{p}]", p=p)
add_case("pow", lambda x: x.pow(2), lambda x: x.pow(2), SMALL_UNARY, name="pow[method]")
add_case("pow", lambda x: tl.pow(x, 3), lambda x: torch.pow(x, 3), SMALL_UNARY, name="pow[free]")
for base in (2.0, 0.5):
    add_case("pow", lambda x, base: base**x, lambda x, base: base**x, UNARY, name=f"pow[{base}**tensor]", base=base)

add_case("neg", lambda x: -x, lambda x: -x, UNARY)

# ----------------------------------------------------------------------------- matmul, dot

MATMUL = (((3,), (3,)), ((3,), (3, 4)), ((3, 4), (4,)), ((2, 3), (3, 4)), ((2, 1, 3, 4), (5, 4, 2)),
          ((2, 3, 4), (4,)), ((4,), (2, 4, 3)), ((2, 2, 3), (2, 3, 2)))
add_case("matmul", lambda a, b: a @ b, lambda a, b: a @ b, MATMUL)
add_case("matmul", lambda a, b: a.matmul(b), lambda a, b: torch.matmul(a, b), MATMUL[3:4], name="matmul[method]")
add_case("matmul", lambda a, b: tl.matmul(a, b), lambda a, b: torch.matmul(a, b), MATMUL[1:2], name="matmul[free]")
add_case("matmul", lambda b: np.linspace(-1, 1, 6).reshape(2, 3).astype(b.dtype) @ b,
         lambda b: torch.linspace(-1, 1, 6, dtype=b.dtype).reshape(2, 3) @ b, _unary((3,), (3, 2)),
         name="matmul[ndarray@x]")
add_case("matmul", lambda a: a @ a.T, lambda a: a @ a.T, _unary((3, 2)), name="matmul[a@a.T]")
add_case("dot", lambda a, b: a.dot(b), lambda a, b: torch.dot(a, b), (((3,), (3,)), ((1,), (1,))))
add_case("dot", lambda a, b: tl.dot(a, b), lambda a, b: torch.dot(a, b), (((4,), (4,)),), name="dot[free]")

# ----------------------------------------------------------------------------- reductions


def _all_dims(x: Any, axis: Any) -> Any:
    return tuple(range(x.ndim)) if axis is None else axis


REDUCTIONS = [  # (shape, axis, keepdims)
    ((3, 4), None, False), ((3, 4), None, True), ((3, 4), 0, False), ((3, 4), -1, True),
    ((2, 3, 4), (0, 2), False), ((2, 3, 4), (2, 0), True), ((2, 3, 4), -2, False), ((2, 3, 4), (-1, 1), True),
    ((), None, False), ((5,), 0, True),
]

_TORCH_REDUCE = {
    "sum": lambda x, axis, keepdims: x.sum(dim=axis, keepdim=keepdims),
    "mean": lambda x, axis, keepdims: x.mean(dim=axis, keepdim=keepdims),
    "max": lambda x, axis, keepdims: torch.amax(x, dim=_all_dims(x, axis), keepdim=keepdims),
    "min": lambda x, axis, keepdims: torch.amin(x, dim=_all_dims(x, axis), keepdim=keepdims),
    "logsumexp": lambda x, axis, keepdims: torch.logsumexp(x, dim=_all_dims(x, axis), keepdim=keepdims),
}
for _op, _domain in (("sum", REAL), ("mean", REAL), ("max", DISTINCT), ("min", DISTINCT), ("logsumexp", WIDE)):
    for _shape, _axis, _keep in REDUCTIONS:
        add_case(_op, lambda x, axis, keepdims, _op=_op: getattr(x, _op)(axis, keepdims), _TORCH_REDUCE[_op],
                 [(_shape,)], _domain, name=f"{_op}[{_shape},axis={_axis},keepdims={_keep}]",
                 axis=_axis, keepdims=_keep)
    # PyTorch's spelling dim=/keepdim= and the free function
    add_case(_op, lambda x, axis, keepdims, _op=_op: getattr(x, _op)(dim=axis, keepdim=keepdims),
             _TORCH_REDUCE[_op], [((2, 3, 4),)], _domain, name=f"{_op}[dim=,keepdim=]", axis=(0, -1), keepdims=True)
    add_case(_op, lambda x, axis, keepdims, _op=_op: getattr(tl, _op)(x, axis, keepdims),
             _TORCH_REDUCE[_op], [((3, 4),)], _domain, name=f"{_op}[free]", axis=1, keepdims=False)

VAR_REDUCTIONS = [r for r in REDUCTIONS if r[0] != ()] + [((4, 1), 1, False)]  # n = 1 only with ddof=0
for _op in ("var", "std"):
    _ref = lambda *args, _op=_op, **kwargs: getattr(torch, _op)(*args, **kwargs)
    for _ddof in (0, 1):
        for _shape, _axis, _keep in VAR_REDUCTIONS:
            n = math.prod(_shape) // math.prod(np.empty(_shape).sum(axis=_axis, keepdims=True).shape)
            if n - _ddof <= 0 or (_op == "std" and n == 1):  # std of one value: sqrt at 0, no derivative
                continue
            add_case(_op, lambda x, axis, ddof, keepdims, _op=_op: getattr(x, _op)(axis, ddof, keepdims),
                     lambda x, axis, ddof, keepdims, _ref=_ref: _ref(x, dim=axis, correction=ddof, keepdim=keepdims),
                     [(_shape,)], name=f"{_op}[{_shape},axis={_axis},ddof={_ddof},keepdims={_keep}]",
                     axis=_axis, ddof=_ddof, keepdims=_keep)
    add_case(_op, lambda x, _op=_op: getattr(x, _op)(), lambda x, _ref=_ref: _ref(x, correction=0),
             [((3, 4),)], name=f"{_op}[defaults: ddof=0]")
    add_case(_op, lambda x, _op=_op: getattr(x, _op)(dim=1, keepdim=True, correction=1),
             lambda x, _ref=_ref: _ref(x, dim=1, keepdim=True, correction=1), [((3, 4),)],
             name=f"{_op}[dim=,keepdim=,correction=]")
    add_case(_op, lambda x, _op=_op: getattr(tl, _op)(x, 0), lambda x, _ref=_ref: _ref(x, dim=0, correction=0),
             [((3, 4),)], name=f"{_op}[free]")

# ----------------------------------------------------------------------------- elementwise, unary

for _op, _torch_op, _domain in (
    ("exp", "exp", REAL), ("log", "log", POSITIVE), ("log1p", "log1p", ABOVE_MINUS_ONE),
    ("sqrt", "sqrt", POSITIVE), ("abs", "abs", NONZERO), ("sin", "sin", WIDE), ("cos", "cos", WIDE),
    ("tanh", "tanh", WIDE), ("sigmoid", "sigmoid", WIDE), ("relu", "relu", AWAY_FROM_0), ("erf", "erf", REAL),
):
    add_case(_op, lambda x, _op=_op: getattr(x, _op)(), lambda x, _t=_torch_op: getattr(torch, _t)(x), UNARY, _domain)
    add_case(_op, lambda x, _op=_op: getattr(tl, _op)(x), lambda x, _t=_torch_op: getattr(torch, _t)(x),
             SMALL_UNARY[1:], _domain, name=f"{_op}[free]")
add_case("abs", lambda x: abs(x), lambda x: abs(x), SMALL_UNARY, NONZERO, name="abs[builtin]")

add_case("leaky_relu", lambda x: x.leaky_relu(), lambda x: F.leaky_relu(x), UNARY, AWAY_FROM_0)
add_case("leaky_relu", lambda x, negative_slope: x.leaky_relu(negative_slope),
         lambda x, negative_slope: F.leaky_relu(x, negative_slope), UNARY, AWAY_FROM_0, negative_slope=0.2)
for _approximate in ("none", "tanh"):
    add_case("gelu", lambda x, approximate: x.gelu(approximate=approximate),
             lambda x, approximate: F.gelu(x, approximate=approximate), UNARY, uniform(-3, 3), approximate=_approximate)
add_case("gelu", lambda x: x.gelu(), lambda x: F.gelu(x), SMALL_UNARY, uniform(-3, 3), name="gelu[default]")
add_case("softplus", lambda x: x.softplus(), lambda x: F.softplus(x), UNARY, WIDE)
add_case("softplus", lambda x, beta: x.softplus(beta), lambda x, beta: F.softplus(x, beta), UNARY, WIDE, beta=0.5)
# beta·x crosses the threshold inside the domain: the op switches to the identity there
add_case("softplus", lambda x, beta, threshold: x.softplus(beta=beta, threshold=threshold),
         lambda x, beta, threshold: F.softplus(x, beta=beta, threshold=threshold), UNARY,
         away_from([0.5], 0.1), beta=2.0, threshold=1.0)

_CLIP = away_from([-0.5, 0.5], 0.1)
add_case("clip", lambda x: x.clip(-0.5, 0.5), lambda x: torch.clamp(x, -0.5, 0.5), UNARY, _CLIP, name="clip[min,max]")
add_case("clip", lambda x: x.clip(min=-0.5), lambda x: torch.clamp(x, min=-0.5), UNARY, _CLIP, name="clip[min]")
add_case("clip", lambda x: x.clip(max=0.5), lambda x: torch.clamp(x, max=0.5), UNARY, _CLIP, name="clip[max]")
add_case("clip", lambda x: x.clamp(-0.5, 0.5), lambda x: x.clamp(-0.5, 0.5), SMALL_UNARY, _CLIP, name="clamp[min,max]")
add_case("clip", lambda x: x.clamp(max=0.5), lambda x: x.clamp(max=0.5), SMALL_UNARY, _CLIP, name="clamp[max]")
add_case("clip", lambda x, lo, hi: x.clip(lo, hi), lambda x, lo, hi: torch.clamp(x, lo, hi),
         (((2, 3), (3,), (2, 1)), ((), (), ())), (GRID_A, GRID_B, GRID_C), name="clip[tensor min,max]")
add_case("clip", lambda x, lo: x.clamp(min=lo), lambda x, lo: torch.clamp(x, min=lo), (((2, 3), (3,)),),
         (GRID_A, GRID_B), name="clamp[tensor min]")
add_case("clip", lambda x: tl.clip(x, -0.5, None), lambda x: torch.clamp(x, min=-0.5), SMALL_UNARY[1:], _CLIP,
         name="clip[free]")

for _op, _ref in (("softmax", "softmax"), ("log_softmax", "log_softmax")):
    for _shape, _axis in (((5,), -1), ((3, 1), 1), ((3, 4), 0), ((3, 4), 1), ((3, 4), -1), ((2, 3, 4), 1),
                          ((2, 3, 4), -3)):
        add_case(_op, lambda x, axis, _op=_op: getattr(x, _op)(axis), lambda x, axis,
                 _ref=_ref: getattr(torch, _ref)(x, axis),
                 [(_shape,)], WIDE, name=f"{_op}[{_shape},axis={_axis}]", axis=_axis)
    add_case(_op, lambda x, _op=_op: getattr(x, _op)(dim=0), lambda x, _ref=_ref: getattr(torch, _ref)(x, dim=0),
             [((3, 4),)], WIDE, name=f"{_op}[dim=]")
    add_case(_op, lambda x, _op=_op: getattr(x, _op)(), lambda x, _ref=_ref: getattr(torch, _ref)(x, -1),
             [((3, 4),)], WIDE, name=f"{_op}[default axis=-1]")

# ----------------------------------------------------------------------------- shapes

add_case("reshape", lambda x, shape: x.reshape(shape), lambda x, shape: x.reshape(shape), _unary((2, 3)), shape=(3, 2))
add_case("reshape", lambda x, shape: x.reshape(shape), lambda x, shape: x.reshape(shape), _unary((2, 3, 4)),
         shape=(4, -1))
add_case("reshape", lambda x, shape: x.reshape(shape), lambda x, shape: x.reshape(shape), _unary(()), shape=(1, 1))
add_case("reshape", lambda x, shape: x.reshape(shape), lambda x, shape: x.reshape(shape), _unary((1,)), shape=())
add_case("reshape", lambda x: x.reshape(2, 1, -1), lambda x: x.reshape(2, 1, -1), _unary((6,)), name="reshape[*sizes]")
add_case("reshape", lambda x: x.view(-1), lambda x: x.view(-1), _unary((2, 3)), name="view[-1]")
add_case("reshape", lambda x: x.view(3, 2), lambda x: x.view(3, 2), _unary((2, 3)), name="view[3,2]")
add_case("reshape", lambda x: tl.reshape(x, (3, 2)), lambda x: torch.reshape(x, (3, 2)), _unary((6,)),
         name="reshape[free]")

for _shape, _d0, _d1 in (((2, 3), 0, 1), ((2, 3, 4), 0, 2), ((2, 3, 4), -1, -3), ((2, 3, 4), 1, 1), ((2, 3), 1, 0)):
    add_case("transpose", lambda x, dim0, dim1: x.transpose(dim0, dim1), lambda x, dim0, dim1: x.transpose(dim0, dim1),
             [(_shape,)], name=f"transpose[{_shape},{_d0},{_d1}]", dim0=_d0, dim1=_d1)
add_case("transpose", lambda x: x.transpose(), lambda x: x.transpose(-2, -1), _unary((2, 3, 4)),
         name="transpose[default -2,-1]")
add_case("transpose", lambda x: tl.transpose(x, 0, 1), lambda x: torch.transpose(x, 0, 1), _unary((2, 3)),
         name="transpose[free]")

add_case("permute", lambda x: x.permute(2, 0, 1), lambda x: x.permute(2, 0, 1), _unary((2, 3, 4)),
         name="permute[2,0,1]")
add_case("permute", lambda x: x.permute((1, 2, 0)), lambda x: x.permute((1, 2, 0)), _unary((2, 3, 4)),
         name="permute[tuple]")
add_case("permute", lambda x: x.permute(-1, 0, 1), lambda x: x.permute(-1, 0, 1), _unary((2, 3, 4)),
         name="permute[negative]")
add_case("permute", lambda x: x.permute(1, 0), lambda x: x.permute(1, 0), _unary((3, 2)), name="permute[1,0]")
add_case("T", lambda x: x.T, lambda x: x.permute(tuple(reversed(range(x.ndim)))), _unary((), (3,), (2, 3), (2, 3, 4)))

for _shape, _se in (((2, 3, 4), ()), ((2, 3, 4), (1,)), ((2, 3, 4), (0, 1)), ((2, 3, 4), (1, -1)),
                    ((2, 3, 4, 1), (1, 2)), ((), ()), ((5,), ())):
    add_case("flatten", lambda x, se: x.flatten(*se), lambda x, se: x.flatten(*se), [(_shape,)],
             name=f"flatten[{_shape},{_se}]", se=_se)
add_case("flatten", lambda x: x.flatten(start_dim=1, end_dim=2), lambda x: x.flatten(start_dim=1, end_dim=2),
         _unary((2, 3, 4)), name="flatten[start_dim=,end_dim=]")

for _dim in (None, 0, -1, (0, 2), 1):
    add_case("squeeze", lambda x, dim: x.squeeze() if dim is None else x.squeeze(dim),
             lambda x, dim: x.squeeze() if dim is None else x.squeeze(dim), _unary((1, 3, 1)), dim=_dim)
add_case("squeeze", lambda x: x.squeeze(), lambda x: x.squeeze(), _unary((1,), (2, 1, 3)), name="squeeze[other shapes]")
for _shape, _dim in (((2, 3), 0), ((2, 3), -1), ((2, 3), 1), ((), 0), ((3,), -2)):
    add_case("unsqueeze", lambda x, dim: x.unsqueeze(dim), lambda x, dim: x.unsqueeze(dim), [(_shape,)],
             name=f"unsqueeze[{_shape},{_dim}]", dim=_dim)

for _shape, _sizes in (((3, 1), (3, 4)), ((3, 1), (2, 3, 4)), ((3, 1), (-1, 4)), ((1,), (5,)), ((), (2, 3)),
                       ((2, 1, 3), (2, 4, 3))):
    add_case("expand", lambda x, sizes: x.expand(*sizes), lambda x, sizes: x.expand(*sizes), [(_shape,)],
             name=f"expand[{_shape}->{_sizes}]", sizes=_sizes)
add_case("expand", lambda x: x.expand((2, 3)), lambda x: x.expand((2, 3)), _unary((3,)), name="expand[tuple]")
for _shape, _to in (((3, 1), (2, 3, 4)), ((4,), (3, 4)), ((), (2, 2))):
    add_case("broadcast_to", lambda x, shape: x.broadcast_to(shape), lambda x, shape: torch.broadcast_to(x, shape),
             [(_shape,)], name=f"broadcast_to[{_shape}->{_to}]", shape=_to)
add_case("broadcast_to", lambda x: tl.broadcast_to(x, (2, 3)), lambda x: torch.broadcast_to(x, (2, 3)), _unary((3,)),
         name="broadcast_to[free]")


def torch_pad(x: Any, pad_width: Any, value: float = 0.0) -> Any:
    """numpy's pad_width (int, (before, after) or one pair per axis) -> F.pad's flat list,
    last axis first."""
    widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (x.ndim, 2))
    return F.pad(x, [int(w) for pair in widths[::-1] for w in pair], value=value)


for _shape, _pw, _value in (((3,), (1, 2), 0.0), ((2, 3), ((1, 0), (2, 1)), 0.5), ((2, 3), 1, 0.0),
                            ((2, 3, 2), ((0, 1), (1, 1), (2, 0)), -1.0), ((2, 3), ((0, 0), (0, 2)), 3.0)):
    add_case("pad", lambda x, pad_width, value: x.pad(pad_width, value), torch_pad, [(_shape,)],
             name=f"pad[{_shape},{_pw},value={_value}]", pad_width=_pw, value=_value)
add_case("pad", lambda x: x.pad(((1, 1), (0, 1))), lambda x: torch_pad(x, ((1, 1), (0, 1))), _unary((2, 3)),
         name="pad[default value]")

# ----------------------------------------------------------------------------- where, cat, stack

WHERE = (((3,), (3,), (3,)), ((2, 3), (2, 1), (3,)), ((3, 1), (1, 4), ()), ((), (2, 2), (2, 2)))
add_case("where", lambda c, a, b: tl.where(c, a, b), lambda c, a, b: torch.where(c, a, b), WHERE, (BOOL, REAL, REAL))
add_case("where", lambda c, a: tl.where(c, a, 0.0), lambda c, a: torch.where(c, a, 0.0), (((2, 3), (2, 3)),),
         (BOOL, REAL), name="where[b=number]")
add_case("where", lambda a: tl.where(a > 0, a, -a * 2.0), lambda a: torch.where(a > 0, a, -a * 2.0), _unary((2, 3)),
         NONZERO, name="where[cond from a comparison]")

add_case("cat", lambda *xs, axis: tl.cat(list(xs), axis), lambda *xs, axis: torch.cat(xs, axis),
         (((2, 3), (1, 3)), ((2, 3), (2, 3), (4, 3))), name="cat[axis=0]", axis=0)
add_case("cat", lambda *xs, axis: tl.cat(xs, axis), lambda *xs, axis: torch.cat(xs, axis),
         (((2, 3), (2, 2), (2, 1)),), name="cat[axis=1]", axis=1)
add_case("cat", lambda *xs, axis: tl.cat(list(xs), axis), lambda *xs, axis: torch.cat(xs, axis),
         (((2, 3, 1), (2, 3, 2)), ((3,), (2,))), name="cat[axis=-1]", axis=-1)
add_case("cat", lambda a, b: tl.cat([a, b], dim=1), lambda a, b: torch.cat([a, b], dim=1), (((2, 1), (2, 3)),),
         name="cat[dim=]")
add_case("cat", lambda a, b: tl.concatenate([a, b]), lambda a, b: torch.cat([a, b]), (((2,), (3,)),),
         name="concatenate")
add_case("cat", lambda a: tl.cat([a, a * 2.0], 0), lambda a: torch.cat([a, a * 2.0], 0), _unary((2, 2)),
         name="cat[same tensor twice]")
for _axis in (0, 1, -1, 2):
    add_case("stack", lambda *xs, axis: tl.stack(list(xs), axis), lambda *xs, axis: torch.stack(xs, axis),
             (((2, 3), (2, 3), (2, 3)),), name=f"stack[axis={_axis}]", axis=_axis)
add_case("stack", lambda a, b: tl.stack([a, b]), lambda a, b: torch.stack([a, b]), (((), ()), ((3,), (3,))),
         name="stack[default axis]")
add_case("stack", lambda a, b: tl.stack((a, b), dim=-2), lambda a, b: torch.stack((a, b), dim=-2), (((2, 3), (2, 3)),),
         name="stack[dim=]")

# ----------------------------------------------------------------------------- __getitem__

_MASK_45 = np.array([[True, False, True, True, False], [False, False, False, False, False],
                     [True, True, True, True, True], [False, True, False, False, True]])
_ROWS_4 = np.array([True, False, True, True])
_ROWS_3 = np.array([True, False, True])


def _t(a: np.ndarray) -> Any:
    return torch.as_tensor(a)


_GETITEM = [  # (name, shape, tinygrad index function, torch index function)
    ("int", (4, 5), lambda x: x[1], lambda x: x[1]),
    ("negative int", (4, 5), lambda x: x[-1], lambda x: x[-1]),
    ("two ints -> 0-d", (4, 5), lambda x: x[1, -2], lambda x: x[1, -2]),
    ("int of 1-d -> 0-d", (5,), lambda x: x[3], lambda x: x[3]),
    ("slice", (4, 5), lambda x: x[1:3], lambda x: x[1:3]),
    ("slices", (4, 5), lambda x: x[1:, :-1], lambda x: x[1:, :-1]),
    ("step", (4, 5), lambda x: x[::2, 1::2], lambda x: x[::2, 1::2]),
    ("negative step", (4, 5), lambda x: x[::-1], lambda x: x.flip(0)),
    ("negative step with bounds", (4, 5), lambda x: x[3:0:-2], lambda x: x[[3, 1]]),
    ("negative step inner", (4, 5), lambda x: x[:, ::-2], lambda x: x[:, [4, 2, 0]]),
    ("None", (4, 5), lambda x: x[None], lambda x: x[None]),
    ("None inside", (4, 5), lambda x: x[:, None, 1:3], lambda x: x[:, None, 1:3]),
    ("Ellipsis", (3, 4, 2), lambda x: x[..., 1], lambda x: x[..., 1]),
    ("Ellipsis first axis", (3, 4, 2), lambda x: x[0, ...], lambda x: x[0, ...]),
    ("Ellipsis and None", (3, 4, 2), lambda x: x[..., None, 0], lambda x: x[..., None, 0]),
    ("boolean mask", (4, 5), lambda x: x[_MASK_45], lambda x: x[_t(_MASK_45)]),
    ("boolean mask rows", (4, 5), lambda x: x[_ROWS_4], lambda x: x[_t(_ROWS_4)]),
    ("boolean Tensor mask", (4, 5), lambda x: x[x > 0], lambda x: x[x > 0]),
    ("int array repeated", (4, 5), lambda x: x[np.array([0, 2, 0, 0])], lambda x: x[_t(np.array([0, 2, 0, 0]))]),
    ("int list repeated", (4, 5), lambda x: x[[1, 1, 3]], lambda x: x[[1, 1, 3]]),
    ("int Tensor repeated", (4, 5), lambda x: x[tl.tensor([2, 0, 2])], lambda x: x[_t(np.array([2, 0, 2]))]),
    ("negative int array", (4, 5), lambda x: x[np.array([-1, 0, -1])], lambda x: x[_t(np.array([-1, 0, -1]))]),
    ("int array pairs repeated", (4, 5), lambda x: x[np.array([0, 0, 2]), np.array([1, 1, 4])],
     lambda x: x[_t(np.array([0, 0, 2])), _t(np.array([1, 1, 4]))]),
    ("2-d int array", (4, 5), lambda x: x[np.array([[0, 1], [1, 0]])], lambda x: x[_t(np.array([[0, 1], [1, 0]]))]),
    ("mix slice + int array", (4, 5), lambda x: x[1:, np.array([0, 0, 2])], lambda x: x[1:, _t(np.array([0, 0, 2]))]),
    ("mix int array + slice", (4, 5), lambda x: x[np.array([2, 0, 2]), 1:3], lambda x: x[_t(np.array([2, 0, 2])), 1:3]),
    ("mix int + int array + slice", (3, 4, 2), lambda x: x[0, np.array([3, 3]), :],
     lambda x: x[0, _t(np.array([3, 3])), :]),
    ("mix mask + Ellipsis + int", (3, 4, 2), lambda x: x[_ROWS_3, ..., 1], lambda x: x[_t(_ROWS_3), ..., 1]),
    ("mix None + slice + int array", (3, 4, 2), lambda x: x[None, 1:, np.array([1, 1, 0])],
     lambda x: x[None, 1:, _t(np.array([1, 1, 0]))]),
]
for _name, _shape, _fn, _ref in _GETITEM:
    add_case("getitem", _fn, _ref, [(_shape,)], NONZERO, name=f"getitem[{_name}]")

# ----------------------------------------------------------------------------- casts, clone

# a float32 output is exact to ~6e-8, so finite differences of this linear op use a big step
add_case("astype", lambda x: x.astype("float32"), lambda x: x.to(torch.float32), SMALL_UNARY, out_dtype="float32",
         gc_eps=1e-2, name="astype[float32]")
add_case("astype", lambda x: x.astype(tl.float64), lambda x: x.to(torch.float64), SMALL_UNARY, out_dtype="float64",
         name="astype[float64]")
add_case("astype", lambda x: x.float(), lambda x: x.float(), SMALL_UNARY, out_dtype="float32", gc_eps=1e-2,
         name="float()")
add_case("astype", lambda x: x.double(), lambda x: x.double(), SMALL_UNARY, out_dtype="float64", name="double()")
add_case("astype", lambda x: x.float().double() * 2.0, lambda x: x.float().double() * 2.0, SMALL_UNARY,
         out_dtype="float64", gc_eps=1e-2, name="float().double()")
add_case("astype", lambda x: x.to("float64"), lambda x: x.to(torch.float64), SMALL_UNARY, out_dtype="float64",
         name="to(dtype)")
add_case("clone", lambda x: x.clone(), lambda x: x.clone(), UNARY)
add_case("clone", lambda x: tl.clone(x) * 1.0, lambda x: torch.clone(x) * 1.0, SMALL_UNARY[1:], name="clone[free]")

# ----------------------------------------------------------------------------- helpers

#: every op of API.md's Tensor section that has a gradient; test_ops checks each is catalogued
API_OPS_WITH_GRAD = frozenset(
    "add sub mul div pow neg matmul dot sum mean max min var std logsumexp exp log log1p sqrt abs sin cos "
    "tanh sigmoid relu leaky_relu gelu softplus clip softmax log_softmax reshape transpose permute T flatten "
    "squeeze unsqueeze expand broadcast_to pad maximum minimum where cat stack getitem astype clone".split()
)


def case_params() -> list:
    """(case, shapes) pairs with readable ids, for ``pytest.mark.parametrize``."""
    import pytest

    return [pytest.param(case, shapes, id=f"{case.name}-{'&'.join(str(s) for s in shapes)}")
            for case in CATALOGUE for shapes in case.shapes]


def seed_for(case: OpCase, shapes: tuple, salt: str = "") -> int:
    return zlib.crc32(f"{case.name}|{shapes}|{salt}".encode())


def sample_inputs(case: OpCase, shapes: tuple, rng: np.random.Generator) -> list[np.ndarray]:
    """float64 (or bool) arrays drawn from the case's domains."""
    return [domain(rng, shape) for domain, shape in zip(case.domains(len(shapes)), shapes, strict=True)]


def differentiable(case: OpCase, n: int) -> list[int]:
    return [i for i, d in enumerate(case.domains(n)) if d.differentiable]


def tl_inputs(arrays: Sequence[np.ndarray], case: OpCase, dtype: Any = np.float64) -> list:
    """tinygrad_loss leaves: float inputs in ``dtype`` requiring grad, booleans as constants."""
    grad_idx = differentiable(case, len(arrays))
    return [tl.Tensor(a.astype(dtype), requires_grad=True) if i in grad_idx else tl.Tensor(a)
            for i, a in enumerate(arrays)]


def torch_inputs(torch_module: Any, arrays: Sequence[np.ndarray], case: OpCase, dtype: Any = np.float64) -> list:
    grad_idx = differentiable(case, len(arrays))
    return [torch_module.tensor(a.astype(dtype), requires_grad=True) if i in grad_idx else torch_module.tensor(a)
            for i, a in enumerate(arrays)]


def call(case: OpCase, inputs: Sequence[Any]) -> Any:
    return case.fn(*inputs, **case.kwargs)


def call_torch(case: OpCase, inputs: Sequence[Any]) -> Any:
    return case.torch_fn(*inputs, **case.kwargs)


def cases_for(op: str) -> list[OpCase]:
    return [c for c in CATALOGUE if c.op == op]
