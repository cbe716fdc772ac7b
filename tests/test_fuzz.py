"""Random op graphs (hypothesis): backward agrees with finite differences, and stepping
through backward one op at a time leaves exactly the gradients ``.backward()`` leaves.

A program is a start shape, a seed for the numbers and 1-30 ops drawn from: add, sub, mul
(with a second leaf of a broadcastable shape, or with the running tensor itself), div by a safe
positive value, tanh, sigmoid, exp of clipped values, log(x² + 1), relu, sum / mean over a
random axis (keepdims or not), reshape, transpose, matmul with a new leaf when shapes allow,
getitem (slice, int, integer array with repeats) and softmax / log_softmax. Everything is
float64. The numbers come from numpy (seeded by hypothesis), not from hypothesis' float
strategies, so no value sits exactly on a kink of relu or clip where finite differences and the
analytic one-sided derivative legitimately disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_loss as tl
from tinygrad_loss import engine
from tinygrad_loss.autograd import gradcheck

try:  # the debugger's public stepper; the engine's generator is what it wraps
    from tinygrad_loss.debug import step_backward as _step_backward

    def consume_steps(root: tl.Tensor, gradient: np.ndarray) -> int:
        return sum(1 for _ in _step_backward(root, gradient))
except ImportError:  # pragma: no cover - debug.py is being written concurrently
    def consume_steps(root: tl.Tensor, gradient: np.ndarray) -> int:
        return sum(1 for _ in engine.backward_steps([root], [np.asarray(gradient, dtype=root.dtype)]))


MAX_LEAVES = 5  # x plus at most 4 more: keeps gradcheck's finite differences cheap
MAX_SIZE = 24
MAX_ABS = 1e3

OP_NAMES = ["add", "sub", "mul", "mul_self", "add_self", "div", "div_const", "tanh", "sigmoid", "exp", "log",
            "relu", "sum", "mean", "reshape", "transpose", "matmul", "getitem_slice", "getitem_int",
            "getitem_array", "softmax", "log_softmax"]


@dataclass
class Program:
    leaves: list[np.ndarray]
    ops: list[tuple[str, Any]] = field(default_factory=list)
    out_grad: np.ndarray | None = None

    def describe(self) -> str:
        shapes = [tuple(a.shape) for a in self.leaves]
        return f"leaves {shapes}; ops {[(n, a if not isinstance(a, np.ndarray) else a.tolist()) for n, a in self.ops]}"


# ------------------------------------------------------------------------ the ops


def _apply(name: str, arg: Any, cur: tl.Tensor, leaves: list[tl.Tensor]) -> tl.Tensor:
    if name == "add":
        return cur + leaves[arg]
    if name == "sub":
        index, flip = arg
        return leaves[index] - cur if flip else cur - leaves[index]
    if name == "mul":
        return cur * leaves[arg]
    if name == "mul_self":
        return cur * cur
    if name == "add_self":
        return cur + cur
    if name == "div":
        other = leaves[arg]
        return cur / (other * other + 0.5)
    if name == "div_const":
        return cur / arg
    if name == "tanh":
        return cur.tanh()
    if name == "sigmoid":
        return cur.sigmoid()
    if name == "exp":
        return cur.clip(-3.0, 3.0).exp()
    if name == "log":
        return (cur * cur + 1.0).log()
    if name == "relu":
        return cur.relu()
    if name == "sum":
        axis, keepdims = arg
        return cur.sum(axis=axis, keepdims=keepdims)
    if name == "mean":
        axis, keepdims = arg
        return cur.mean(axis=axis, keepdims=keepdims)
    if name == "reshape":
        return cur.reshape(arg)
    if name == "transpose":
        return cur.T if arg is None else cur.transpose(*arg)
    if name == "matmul":
        index, leaf_first = arg
        return leaves[index] @ cur if leaf_first else cur @ leaves[index]
    if name == "getitem_slice":
        axis, start, stop = arg
        return cur[(slice(None),) * axis + (slice(start, stop),)]
    if name == "getitem_int":
        return cur[arg]
    if name == "getitem_array":
        return cur[np.asarray(arg)]
    if name == "softmax":
        return cur.softmax(arg)
    if name == "log_softmax":
        return cur.log_softmax(arg)
    raise AssertionError(name)


def run(program: Program, leaves: list[tl.Tensor]) -> tl.Tensor:
    cur = leaves[0]
    for name, arg in program.ops:
        cur = _apply(name, arg, cur, leaves)
    return cur


# ------------------------------------------------------------------ the generator


def _broadcastable_shape(draw: Callable, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A shape that broadcasts against ``shape`` without changing the result's shape, or (rarely)
    one with an extra leading axis that makes the result bigger."""
    kept = draw(st.integers(0, len(shape)))  # drop leading axes
    out = [1 if draw(st.booleans()) else s for s in shape[len(shape) - kept:]]
    if len(shape) < 3 and draw(st.integers(0, 4)) == 0:
        out = [draw(st.integers(1, 3))] + [1] * (len(shape) - kept) + out
    return tuple(out)


def _draw_op(draw: Callable, rng: np.random.Generator, cur: np.ndarray,
             leaves: list[np.ndarray]) -> tuple[str, Any] | None:
    """One op applicable to a tensor of ``cur``'s shape (may add a leaf); None if the drawn op
    does not apply here."""
    name = draw(st.sampled_from(OP_NAMES))
    shape, ndim = cur.shape, cur.ndim

    def new_leaf(leaf_shape: tuple[int, ...]) -> int | None:
        if len(leaves) >= MAX_LEAVES:
            matching = [i for i, a in enumerate(leaves) if a.shape == leaf_shape]
            return matching[0] if matching else None
        leaves.append(rng.standard_normal(leaf_shape))
        return len(leaves) - 1

    if name in ("add", "mul", "div", "sub"):
        index = new_leaf(_broadcastable_shape(draw, shape))
        if index is None:
            return None
        return (name, (index, draw(st.booleans()))) if name == "sub" else (name, index)
    if name == "div_const":
        return name, draw(st.sampled_from([0.5, 1.5, 3.0]))
    if name in ("sum", "mean"):
        axis = None if ndim == 0 or draw(st.booleans()) else draw(st.integers(-ndim, ndim - 1))
        return name, (axis, draw(st.booleans()))
    if name == "reshape":
        size = cur.size
        options = [(-1,), (size, 1), (1, size), tuple(reversed(shape))]
        options += [(a, size // a) for a in (2, 3) if size % a == 0 and size > a]
        return name, draw(st.sampled_from(options))
    if name == "transpose":
        if ndim < 2:
            return None
        if draw(st.booleans()):
            return name, None
        a, b = draw(st.integers(0, ndim - 1)), draw(st.integers(0, ndim - 1))
        return name, (a, b)
    if name == "matmul":
        if ndim == 0 or ndim > 2:
            return None
        leaf_first = draw(st.booleans())
        m = draw(st.integers(1, 3))
        if leaf_first:  # leaf (m, k) @ cur (k, ...) or leaf (k,) @ cur (k, n)
            k = shape[0]
            leaf_shape = (k,) if ndim == 2 and draw(st.booleans()) else (m, k)
        else:
            k = shape[-1]
            leaf_shape = (k,) if draw(st.booleans()) else (k, m)
        index = new_leaf(leaf_shape)
        return None if index is None else (name, (index, leaf_first))
    if name == "getitem_slice":
        if ndim == 0:
            return None
        axis = draw(st.integers(0, ndim - 1))
        start = draw(st.integers(0, shape[axis] - 1))
        stop = draw(st.integers(start + 1, shape[axis]))
        return name, (axis, start, stop)
    if name == "getitem_int":
        return None if ndim == 0 else (name, draw(st.integers(-shape[0], shape[0] - 1)))
    if name == "getitem_array":
        if ndim == 0:
            return None
        picks = draw(st.lists(st.integers(0, shape[0] - 1), min_size=1, max_size=5))
        return name, np.array(picks)
    if name in ("softmax", "log_softmax"):
        return None if ndim == 0 else (name, draw(st.integers(-ndim, ndim - 1)))
    return name, None


@st.composite
def programs(draw: Callable, max_ops: int = 30) -> Program:
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    program = Program(leaves=[rng.standard_normal(shape)])
    cur = tl.tensor(program.leaves[0])
    for _ in range(draw(st.integers(1, max_ops))):
        leaves_before = len(program.leaves)
        op = _draw_op(draw, rng, cur.data, program.leaves)
        if op is None:
            continue
        consts = [tl.tensor(a) for a in program.leaves]
        with np.errstate(all="ignore"):
            nxt = _apply(*op, cur, consts)
        values = nxt.data
        if values.size > MAX_SIZE or not np.isfinite(values).all() or (values.size and np.abs(values).max() > MAX_ABS):
            del program.leaves[leaves_before:]  # skip an op that would blow up the numbers or the size
            continue
        program.ops.append(op)
        cur = nxt
    program.out_grad = rng.standard_normal(cur.shape)
    return program


def fresh_leaves(program: Program) -> list[tl.Tensor]:
    return [tl.tensor(a.copy(), requires_grad=True) for a in program.leaves]


FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ---------------------------------------------------------------------------- tests


@settings(FUZZ, max_examples=200)
@given(programs())
def test_random_graphs_match_finite_differences(program: Program):
    leaves = fresh_leaves(program)
    weights = tl.tensor(program.out_grad)

    def scalar(*xs: tl.Tensor) -> tl.Tensor:
        return (run(program, list(xs)) * weights).sum()

    assert gradcheck(scalar, leaves, eps=1e-6, atol=1e-5, rtol=1e-3), program.describe()


@settings(FUZZ, max_examples=200)
@given(programs())
def test_stepping_through_backward_leaves_the_same_grads_as_backward(program: Program):
    first = fresh_leaves(program)
    out = run(program, first)
    if not out.requires_grad:  # pragma: no cover - every program starts from a leaf that requires grad
        pytest.fail(program.describe())
    out.backward(program.out_grad)

    second = fresh_leaves(program)
    out2 = run(program, second)
    op_nodes = sum(1 for t in engine.graph_nodes([out2]) if t.grad_fn is not None)
    steps = consume_steps(out2, program.out_grad)
    assert steps == op_nodes, program.describe()
    for i, (a, b) in enumerate(zip(first, second, strict=True)):
        assert (a.grad is None) == (b.grad is None), (i, program.describe())
        if a.grad is not None:
            assert a.grad.shape == b.grad.shape == a.shape
            assert a.grad.dtype == b.grad.dtype == np.float64
            np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy(), err_msg=f"leaf {i}: {program.describe()}")


def test_the_generator_reaches_every_op():
    """A fixed sample of programs uses every op (so the fuzz tests cover what they claim)."""
    seen: set[str] = set()
    lengths = []

    @settings(max_examples=150, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(programs())
    def collect(program: Program) -> None:
        seen.update(name for name, _ in program.ops)
        lengths.append(len(program.ops))

    collect()
    assert seen == set(OP_NAMES), set(OP_NAMES) - seen
    assert max(lengths) >= 15
