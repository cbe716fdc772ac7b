"""Per-op tests, driven by the catalogue in op_catalogue.py.

For every op of API.md's Tensor section that has a gradient:

1. exact values and gradients on small cases worked out by hand (``HAND``);
2. float64 ``gradcheck`` on every catalogue shape, and a second-order gradcheck of
   x -> autograd.grad(weighted sum of fn(x), x, create_graph=True);
3. PyTorch as the reference: forward values and input gradients (random upstream gradient)
   in float64 (rtol 1e-10) and float32 (rtol 1e-5, dtype stays float32), and second
   derivatives in float64;

plus Hypothesis property tests (random broadcastable shapes, random reduction axes), the
float dtype rules, and that a wrong backward is caught by gradcheck and gradcheck_graph.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from helpers import Cube
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes
from op_catalogue import (
    API_OPS_WITH_GRAD,
    CATALOGUE,
    DISTINCT,
    WIDE,
    call,
    call_torch,
    case_params,
    differentiable,
    sample_inputs,
    seed_for,
    tl_inputs,
    torch_inputs,
)

import tinygrad_loss as tl
from tinygrad_loss import autograd
from tinygrad_loss.errors import GradcheckError

PARAMS = case_params()
# the property tests are cheap: run more examples than the profile's default, never fewer
HYPOTHESIS = settings(max_examples=max(100, settings.default.max_examples))
F64 = {"rtol": 1e-10, "atol": 1e-12}
F32 = {"rtol": 1e-5, "atol": 1e-6}


def _rng(case, shapes, salt):
    return np.random.default_rng(seed_for(case, shapes, salt))


def _grad_array(t):
    """A gradient (Tensor, array or None) as a numpy array."""
    return None if t is None else np.asarray(t.data if isinstance(t, tl.Tensor) else t)


# ============================================================================ 1. by hand


def T(values):
    """A float64 leaf that requires grad."""
    return tl.Tensor(np.array(values, dtype=np.float64), requires_grad=True)


LN2, LN3 = math.log(2.0), math.log(3.0)
E = math.e


def _phi(x):  # standard normal CDF and density, for GELU
    return 0.5 * (1 + math.erf(x / math.sqrt(2))), math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def _gelu_tanh(x):
    k = math.sqrt(2 / math.pi)
    t = math.tanh(k * (x + 0.044715 * x**3))
    return 0.5 * x * (1 + t), 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)


_COND = np.array([True, False, True])
_X45 = np.arange(20.0).reshape(4, 5)
_S125 = math.sqrt(1.25)

# (id "op:what", fn, inputs, expected output, expected input gradients, upstream gradient or None for ones)
HAND = [
    ("add:1-d", lambda a, b: a + b, [[1, 2], [3, 4]], [4, 6], [[1, 1], [1, 1]], None),
    ("add:broadcast (2,1)+(3,)", lambda a, b: a + b, [[[1], [2]], [10, 20, 30]],
     [[11, 21, 31], [12, 22, 32]], [[[3], [3]], [2, 2, 2]], None),
    ("add:number", lambda a: 1 + a, [[1, 2]], [2, 3], [[1, 1]], None),
    ("sub:1-d", lambda a, b: a - b, [[5, 7], [1, 2]], [4, 5], [[1, 1], [-1, -1]], None),
    ("sub:reversed number", lambda a: 10 - a, [[1, 2]], [9, 8], [[-1, -1]], None),
    ("mul:1-d", lambda a, b: a * b, [[1, 2], [3, 4]], [3, 8], [[3, 4], [1, 2]], None),
    ("mul:0-d times vector", lambda a, b: a * b, [2, [3, 4]], [6, 8], [7, [2, 2]], None),
    ("mul:upstream", lambda a, b: a * b, [[1, 2], [3, 4]], [3, 8], [[6, -4], [2, -2]], [2, -1]),
    ("div:1-d", lambda a, b: a / b, [[1, 6], [2, 3]], [0.5, 2], [[0.5, 1 / 3], [-0.25, -2 / 3]], None),
    ("div:reversed number", lambda b: 1 / b, [[2, 4]], [0.5, 0.25], [[-0.25, -0.0625]], None),
    ("pow:tensor**2", lambda a: a**2, [[2, 3]], [4, 9], [[4, 6]], None),
    ("pow:tensor**-1", lambda a: a**-1, [[2, 4]], [0.5, 0.25], [[-0.25, -0.0625]], None),
    ("pow:tensor**0.5", lambda a: a**0.5, [[4, 9]], [2, 3], [[0.25, 1 / 6]], None),
    ("pow:tensor**0 (grad 0, also at 0)", lambda a: a**0, [[0, 3]], [1, 1], [[0, 0]], None),
    ("pow:0**2 (grad 0)", lambda a: a**2, [[0.0]], [0], [[0]], None),
    ("pow:number**tensor", lambda b: 2**b, [[1, 3]], [2, 8], [[2 * LN2, 8 * LN2]], None),
    ("pow:tensor**tensor", lambda a, b: a**b, [[2, 3], [3, 2]], [8, 9], [[12, 6], [8 * LN2, 9 * LN3]], None),
    ("pow:0**tensor, exponent > 0 (grad 0)", lambda a, b: a**b, [[0.0], [2.0]], [0], [[0], [0]], None),
    ("neg:1-d", lambda a: -a, [[1, -2]], [-1, 2], [[-1, -1]], None),
    ("matmul:2-d @ 2-d", lambda a, b: a @ b, [[[1, 2], [3, 4]], [[5, 6], [7, 8]]], [[19, 22], [43, 50]],
     [[[11, 15], [11, 15]], [[4, 4], [6, 6]]], None),
    ("matmul:1-d @ 2-d", lambda a, b: a @ b, [[1, 2], [[1, 2, 3], [4, 5, 6]]], [9, 12, 15],
     [[6, 15], [[1, 1, 1], [2, 2, 2]]], None),
    ("matmul:2-d @ 1-d", lambda a, b: a @ b, [[[1, 2, 3], [4, 5, 6]], [1, 0, -1]], [-2, -2],
     [[[1, 0, -1], [1, 0, -1]], [5, 7, 9]], None),
    ("matmul:1-d @ 1-d", lambda a, b: a @ b, [[1, 2, 3], [4, 5, 6]], 32, [[4, 5, 6], [1, 2, 3]], None),
    ("matmul:batched, batch broadcast", lambda a, b: a @ b,
     [np.ones((2, 1, 1, 2)), [[[1], [2]], [[3], [4]], [[5], [6]]]],
     np.broadcast_to(np.array([3.0, 7, 11]).reshape(3, 1, 1), (2, 3, 1, 1)),
     [np.full((2, 1, 1, 2), 0.0) + [9, 12], np.full((3, 2, 1), 2.0)], None),
    ("dot:1-d", lambda a, b: a.dot(b), [[1, 2, 3], [4, 5, 6]], 32, [[4, 5, 6], [1, 2, 3]], None),
    ("sum:all", lambda a: a.sum(), [[[1, 2, 3], [4, 5, 6]]], 21, [np.ones((2, 3))], None),
    ("sum:axis 0, upstream", lambda a: a.sum(0), [[[1, 2, 3], [4, 5, 6]]], [5, 7, 9], [[[1, 2, 3], [1, 2, 3]]],
     [1, 2, 3]),
    ("sum:axis=1 keepdims", lambda a: a.sum(axis=1, keepdims=True), [[[1, 2, 3], [4, 5, 6]]], [[6], [15]],
     [[[1, 1, 1], [2, 2, 2]]], [[1], [2]]),
    ("sum:dim=-1 keepdim", lambda a: a.sum(dim=-1, keepdim=True), [[[1, 2, 3], [4, 5, 6]]], [[6], [15]],
     [np.ones((2, 3))], None),
    ("mean:axis 1", lambda a: a.mean(1), [[[1, 2, 3], [4, 5, 6]]], [2, 5], [np.full((2, 3), 1 / 3)], None),
    ("mean:all", lambda a: a.mean(), [[1, 2, 3, 6]], 3, [[0.25] * 4], None),
    ("max:all, tie shares", lambda a: a.max(), [[1, 3, 3, 2]], 3, [[0, 0.5, 0.5, 0]], None),
    ("max:axis 1", lambda a: a.max(axis=1), [[[1, 5], [7, 2]]], [5, 7], [[[0, 1], [1, 0]]], None),
    ("max:three-way tie", lambda a: a.max(), [[2, 2, 2]], 2, [[1 / 3, 1 / 3, 1 / 3]], None),
    ("min:all, tie shares", lambda a: a.min(), [[2, 1, 1, 4]], 1, [[0, 0.5, 0.5, 0]], None),
    ("min:axis 0 keepdims", lambda a: a.min(0, keepdims=True), [[[1, 5], [7, 2]]], [[1, 2]], [[[1, 0], [0, 1]]], None),
    ("var:ddof 0", lambda a: a.var(), [[1, 2, 3, 4]], 1.25, [[-0.75, -0.25, 0.25, 0.75]], None),
    ("var:ddof 1", lambda a: a.var(ddof=1), [[1, 2, 3, 4]], 5 / 3, [[-1, -1 / 3, 1 / 3, 1]], None),
    ("var:axis 1", lambda a: a.var(axis=1), [[[1, 3], [2, 2]]], [1, 0], [[[-1, 1], [0, 0]]], None),
    ("std:ddof 0", lambda a: a.std(), [[1, 2, 3, 4]], _S125, [np.array([-0.75, -0.25, 0.25, 0.75]) / (2 * _S125)],
     None),
    ("std:ddof 1", lambda a: a.std(ddof=1), [[1, 3]], math.sqrt(2), [[-1 / math.sqrt(2), 1 / math.sqrt(2)]], None),
    ("logsumexp:all", lambda a: a.logsumexp(), [[0, LN3]], math.log(4), [[0.25, 0.75]], None),
    ("logsumexp:axis 1", lambda a: a.logsumexp(axis=1), [[[0, LN3], [LN2, LN2]]], [math.log(4), math.log(4)],
     [[[0.25, 0.75], [0.5, 0.5]]], None),
    ("logsumexp:large values do not overflow", lambda a: a.logsumexp(), [[1000, 1000]], 1000 + LN2, [[0.5, 0.5]], None),
    ("exp:", lambda a: a.exp(), [[0, 1]], [1, E], [[1, E]], None),
    ("log:", lambda a: a.log(), [[1, E]], [0, 1], [[1, 1 / E]], None),
    ("log1p:", lambda a: a.log1p(), [[0, E - 1]], [0, 1], [[1, 1 / E]], None),
    ("sqrt:", lambda a: a.sqrt(), [[4, 9]], [2, 3], [[0.25, 1 / 6]], None),
    ("abs:grad 0 at 0", lambda a: a.abs(), [[-2, 3, 0]], [2, 3, 0], [[-1, 1, 0]], None),
    ("sin:", lambda a: a.sin(), [[0, math.pi / 2]], [0, 1], [[1, math.cos(math.pi / 2)]], None),
    ("cos:", lambda a: a.cos(), [[0, math.pi / 2]], [1, math.cos(math.pi / 2)], [[0, -1]], None),
    ("tanh:", lambda a: a.tanh(), [[0, LN2]], [0, 0.6], [[1, 0.64]], None),
    ("sigmoid:", lambda a: a.sigmoid(), [[0, LN3]], [0.5, 0.75], [[0.25, 0.1875]], None),
    ("sigmoid:saturates without overflow", lambda a: a.sigmoid(), [[-1000, 1000]], [0, 1], [[0, 0]], None),
    ("relu:grad 0 at 0", lambda a: a.relu(), [[-1, 0, 2]], [0, 0, 2], [[0, 0, 1]], None),
    ("leaky_relu:slope 0.1, slope at 0", lambda a: a.leaky_relu(0.1), [[-2, 0, 3]], [-0.2, 0, 3], [[0.1, 0.1, 1]],
     None),
    ("leaky_relu:default slope 0.01", lambda a: a.leaky_relu(), [[-2, 3]], [-0.02, 3], [[0.01, 1]], None),
    ("gelu:exact", lambda a: a.gelu(), [[0, 1]], [0, _phi(1)[0]], [[0.5, _phi(1)[0] + _phi(1)[1]]], None),
    ("gelu:tanh", lambda a: a.gelu(approximate="tanh"), [[0, 1]], [0, _gelu_tanh(1)[0]], [[0.5, _gelu_tanh(1)[1]]],
     None),
    ("softplus:", lambda a: a.softplus(), [[0, LN3]], [LN2, math.log(4)], [[0.5, 0.75]], None),
    ("softplus:beta 2", lambda a: a.softplus(beta=2), [[0]], [LN2 / 2], [[0.5]], None),
    ("softplus:above threshold is x", lambda a: a.softplus(beta=1, threshold=1), [[2, 0]], [2, LN2], [[1, 0.5]], None),
    ("clip:min and max", lambda a: a.clip(0, 1), [[-1, 0.5, 2]], [0, 0.5, 1], [[0, 1, 0]], None),
    ("clip:bounds included", lambda a: a.clip(0, 1), [[0, 1]], [0, 1], [[1, 1]], None),
    ("clip:min only", lambda a: a.clip(min=0), [[-1, 2]], [0, 2], [[0, 1]], None),
    ("clip:max only (clamp)", lambda a: a.clamp(max=1), [[-1, 2]], [-1, 1], [[1, 0]], None),
    ("softmax:upstream", lambda a: a.softmax(-1), [[0, LN3]], [0.25, 0.75], [[0.1875, -0.1875]], [1, 0]),
    ("softmax:axis 0", lambda a: a.softmax(0), [[[0, 0], [LN3, 0]]], [[0.25, 0.5], [0.75, 0.5]], [np.zeros((2, 2))],
     None),
    ("log_softmax:upstream", lambda a: a.log_softmax(-1), [[0, LN3]], [math.log(0.25), math.log(0.75)],
     [[0.75, -0.75]], [1, 0]),
    ("reshape:-1", lambda a: a.reshape(2, -1), [[0, 1, 2, 3, 4, 5]], [[0, 1, 2], [3, 4, 5]], [[1, 2, 3, 4, 5, 6]],
     [[1, 2, 3], [4, 5, 6]]),
    ("reshape:view", lambda a: a.view(3, 2), [[[0, 1, 2], [3, 4, 5]]], [[0, 1], [2, 3], [4, 5]],
     [[[1, 2, 3], [4, 5, 6]]], [[1, 2], [3, 4], [5, 6]]),
    ("transpose:0,1", lambda a: a.transpose(0, 1), [[[1, 2, 3], [4, 5, 6]]], [[1, 4], [2, 5], [3, 6]],
     [[[1, 3, 5], [2, 4, 6]]], [[1, 2], [3, 4], [5, 6]]),
    ("permute:", lambda a: a.permute(1, 0), [[[1, 2, 3], [4, 5, 6]]], [[1, 4], [2, 5], [3, 6]],
     [[[1, 3, 5], [2, 4, 6]]], [[1, 2], [3, 4], [5, 6]]),
    ("T:2-d", lambda a: a.T, [[[1, 2, 3], [4, 5, 6]]], [[1, 4], [2, 5], [3, 6]], [[[1, 3, 5], [2, 4, 6]]],
     [[1, 2], [3, 4], [5, 6]]),
    ("T:3-d reverses all axes", lambda a: a.T[1, 0], [np.arange(8.0).reshape(2, 2, 2)], [1, 5],
     [np.array([[[0, 1], [0, 0]], [[0, 0], [0, 0]]]) + np.array([[[0, 0], [0, 0]], [[0, 1], [0, 0]]])], None),
    ("flatten:1..-1", lambda a: a.flatten(1), [np.arange(8.0).reshape(2, 2, 2)], [[0, 1, 2, 3], [4, 5, 6, 7]],
     [np.arange(8.0).reshape(2, 2, 2)], [[0, 1, 2, 3], [4, 5, 6, 7]]),
    ("squeeze:", lambda a: a.squeeze(), [[[1], [2]]], [1, 2], [[[3], [4]]], [3, 4]),
    ("unsqueeze:", lambda a: a.unsqueeze(-1), [[1, 2]], [[1], [2]], [[3, 4]], [[3], [4]]),
    ("expand:", lambda a: a.expand(2, 3), [[[1], [2]]], [[1, 1, 1], [2, 2, 2]], [[[3], [3]]], None),
    ("broadcast_to:new axis", lambda a: a.broadcast_to((2, 2, 3)), [[[1], [2]]], np.broadcast_to([[1], [2]], (2, 2, 3)),
     [[[6], [6]]], None),
    ("pad:value", lambda a: a.pad((1, 2), value=9), [[1, 2]], [9, 1, 2, 9, 9], [[2, 3]], [1, 2, 3, 4, 5]),
    ("pad:per axis", lambda a: a.pad(((1, 0), (0, 1))), [[[1, 2]]], [[0, 0, 0], [1, 2, 0]], [[[4, 5]]],
     [[1, 2, 3], [4, 5, 6]]),
    ("maximum:ties split half/half", lambda a, b: tl.maximum(a, b), [[1, 5, 3], [2, 2, 3]], [2, 5, 3],
     [[0, 1, 0.5], [1, 0, 0.5]], None),
    ("minimum:ties split half/half", lambda a, b: a.minimum(b), [[1, 5, 3], [2, 2, 3]], [1, 2, 3],
     [[1, 0, 0.5], [0, 1, 0.5]], None),
    ("where:", lambda a, b: tl.where(_COND, a, b), [[1, 2, 3], [10, 20, 30]], [1, 20, 3], [[1, 0, 1], [0, 1, 0]], None),
    ("where:broadcast", lambda a, b: tl.where(_COND, a, b), [[5], 0], [5, 0, 5], [[2], 1], None),
    ("cat:axis 0", lambda a, b: tl.cat([a, b]), [[1, 2], [3]], [1, 2, 3], [[1, 2], [3]], [1, 2, 3]),
    ("cat:axis 1 (concatenate)", lambda a, b: tl.concatenate([a, b], 1), [[[1], [2]], [[3, 4], [5, 6]]],
     [[1, 3, 4], [2, 5, 6]], [[[1], [4]], [[2, 3], [5, 6]]], [[1, 2, 3], [4, 5, 6]]),
    ("stack:axis 0", lambda a, b: tl.stack([a, b]), [[1, 2], [3, 4]], [[1, 2], [3, 4]], [[1, 2], [3, 4]],
     [[1, 2], [3, 4]]),
    ("stack:axis 1", lambda a, b: tl.stack([a, b], axis=1), [[1, 2], [3, 4]], [[1, 3], [2, 4]], [[1, 3], [2, 4]],
     [[1, 2], [3, 4]]),
    ("getitem:int", lambda a: a[1], [[10, 20, 30, 40]], 20, [[0, 1, 0, 0]], None),
    ("getitem:repeated int array accumulates", lambda a: a[np.array([0, 0, 2])], [[10, 20, 30, 40]], [10, 10, 30],
     [[2, 0, 1, 0]], None),
    ("getitem:repeated int list, upstream", lambda a: a[[3, 3, 3, 1]], [[10, 20, 30, 40]], [40, 40, 40, 20],
     [[0, 5, 0, 6]], [1, 2, 3, 5]),
    ("getitem:negative step", lambda a: a[::-1], [[10, 20, 30, 40]], [40, 30, 20, 10], [[4, 3, 2, 1]], [1, 2, 3, 4]),
    ("getitem:slice with step", lambda a: a[1::2], [[10, 20, 30, 40]], [20, 40], [[0, 1, 0, 1]], None),
    ("getitem:boolean mask", lambda a: a[np.array([True, False, True, False])], [[10, 20, 30, 40]], [10, 30],
     [[1, 0, 1, 0]], None),
    ("getitem:None and Ellipsis", lambda a: a[None, ..., 1], [[[1, 2], [3, 4]]], [[2, 4]], [[[0, 1], [0, 1]]], None),
    ("getitem:mix slice + repeated int array", lambda a: a[1:, [0, 0, 2]], [_X45[:2, :3]], [[5, 5, 7]],
     [[[0, 0, 0], [2, 0, 1]]], None),
    ("getitem:int array pairs repeated", lambda a: a[[0, 0, 1], [1, 1, 0]], [[[1, 2], [3, 4]]], [2, 2, 3],
     [[[0, 2], [1, 0]]], None),
    ("astype:float32 to float64 and back", lambda a: a.astype("float32").astype("float64") * 2, [[1.5, -2.25]],
     [3.0, -4.5], [[2, 2]], None),
    ("clone:", lambda a: a.clone() * 3, [[1, 2]], [3, 6], [[3, 3]], None),
]


@pytest.mark.parametrize("fn,inputs,expected,grads,upstream", [pytest.param(*h[1:], id=h[0]) for h in HAND])
def test_hand_checked_value_and_grad(fn, inputs, expected, grads, upstream):
    xs = [T(v) for v in inputs]
    out = fn(*xs)
    expected = np.asarray(expected, dtype=np.float64)
    assert out.shape == expected.shape
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)
    out.backward(np.ones(out.shape) if upstream is None else np.asarray(upstream, dtype=np.float64))
    for i, (x, g) in enumerate(zip(xs, grads, strict=True)):
        assert x.grad is not None, f"input {i} got no gradient"
        assert x.grad.shape == x.shape and x.grad.dtype == np.float64
        np.testing.assert_allclose(x.grad.data, np.asarray(g, dtype=np.float64), rtol=1e-12, atol=1e-12,
                                   err_msg=f"gradient of input {i}")


def test_hand_checked_float32_defaults():
    """The example from the brief: Python lists make float32 tensors; grads are float32 too."""
    a = tl.Tensor([1.0, 2.0], requires_grad=True)
    b = tl.Tensor([3.0, 4.0], requires_grad=True)
    loss = (a * b).sum()
    assert a.dtype == np.float32 and loss.dtype == np.float32
    assert loss.item() == 11.0
    loss.backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float32
    np.testing.assert_array_equal(a.grad.data, [3.0, 4.0])
    np.testing.assert_array_equal(b.grad.data, [1.0, 2.0])


def test_hand_checked_cast_gradients_come_back_in_input_dtype():
    x32 = tl.Tensor(np.array([1.5, -2.0], dtype=np.float32), requires_grad=True)
    y = x32.double()
    assert y.dtype == np.float64 and y.requires_grad
    (y * np.array([2.0, 3.0])).sum().backward()
    assert x32.grad.dtype == np.float32
    np.testing.assert_array_equal(x32.grad.data, [2.0, 3.0])

    x64 = tl.Tensor(np.array([0.1, 0.7]), requires_grad=True)
    z = x64.float()
    assert z.dtype == np.float32
    np.testing.assert_array_equal(z.data, np.array([0.1, 0.7], dtype=np.float32))
    (z * 4.0).sum().backward()
    assert x64.grad.dtype == np.float64
    np.testing.assert_array_equal(x64.grad.data, [4.0, 4.0])


def test_hand_checked_clone_is_a_copy():
    x = T([1.0, 2.0])
    y = x.clone()
    assert y.data is not x.data and not np.shares_memory(y.data, x.data)
    np.testing.assert_array_equal(y.data, x.data)
    assert y.grad_fn is not None


def test_hand_checked_grad_accumulates_for_a_tensor_used_twice():
    x = T([1.0, -2.0])
    (x * x + x).sum().backward()  # d/dx (x² + x) = 2x + 1
    np.testing.assert_allclose(x.grad.data, [3.0, -3.0], rtol=0, atol=0)


# second derivatives by hand: (fn, x, first derivative, second derivative)
HAND_SECOND = [
    ("pow:x**3", lambda x: x**3, 3.0, 27.0, 18.0),
    ("pow:2**x", lambda x: 2**x, 1.0, 2 * LN2, 2 * LN2**2),
    ("pow:x**x", lambda x: x**x, 1.0, 1.0, 2.0),  # x^x (ln x + 1); second: x^x((ln x + 1)² + 1/x)
    ("div:1/x", lambda x: 1 / x, 2.0, -0.25, 0.25),
    ("exp:", lambda x: x.exp(), 0.0, 1.0, 1.0),
    ("log:", lambda x: x.log(), 2.0, 0.5, -0.25),
    ("log1p:", lambda x: x.log1p(), 1.0, 0.5, -0.25),
    ("sqrt:", lambda x: x.sqrt(), 4.0, 0.25, -1 / 32),
    ("sin:", lambda x: x.sin(), math.pi / 2, math.cos(math.pi / 2), -1.0),
    ("cos:", lambda x: x.cos(), 0.0, 0.0, -1.0),
    ("tanh:", lambda x: x.tanh(), LN2, 0.64, -2 * 0.6 * 0.64),
    ("sigmoid:", lambda x: x.sigmoid(), LN3, 0.1875, 0.1875 * (1 - 2 * 0.75)),
    ("softplus:", lambda x: x.softplus(), 0.0, 0.5, 0.25),
    ("gelu:", lambda x: x.gelu(), 0.0, 0.5, 2 * _phi(0)[1]),
    ("abs:", lambda x: x.abs(), -2.0, -1.0, 0.0),
    ("relu:", lambda x: x.relu(), 2.0, 1.0, 0.0),
    ("mul:x*x", lambda x: x * x, 3.0, 6.0, 2.0),
    ("logsumexp:", lambda x: tl.stack([x, x * 0.0]).logsumexp(), 0.0, 0.5, 0.25),
    ("softmax:", lambda x: tl.stack([x, x * 0.0]).softmax(0)[0], 0.0, 0.25, 0.0),
    ("var:", lambda x: tl.stack([x, x * 0.0]).var(), 1.0, 0.5, 0.5),
]


@pytest.mark.parametrize("fn,x0,d1,d2", [pytest.param(*h[1:], id=h[0]) for h in HAND_SECOND])
def test_hand_checked_second_derivative(fn, x0, d1, d2):
    x = T(x0)
    (g,) = autograd.grad(fn(x), x, create_graph=True)
    np.testing.assert_allclose(g.data, d1, rtol=1e-12, atol=1e-12)
    if d2 == 0.0 and not g.requires_grad:
        return  # a piecewise-linear op: the first derivative is a constant, d2 = 0 is right
    (g2,) = autograd.grad(g, x, allow_unused=True)
    np.testing.assert_allclose(_grad_array(g2) if g2 is not None else 0.0, d2, rtol=1e-12, atol=1e-12)


def test_hand_checked_mixed_second_derivative():
    a, b = T([1.0, 2.0]), T([3.0, 4.0])
    ga, gb = autograd.grad((a * b * b).sum(), [a, b], create_graph=True)  # b², 2ab
    np.testing.assert_allclose(ga.data, [9, 16])
    np.testing.assert_allclose(gb.data, [6, 16])
    d_ga_db, = autograd.grad(ga.sum(), b, retain_graph=True)  # 2b (ga and gb share nodes: keep them)
    np.testing.assert_allclose(d_ga_db.data, [6, 8])
    d_gb_da, d_gb_db = autograd.grad(gb.sum(), [a, b])  # 2b, 2a
    np.testing.assert_allclose(d_gb_da.data, [6, 8])
    np.testing.assert_allclose(d_gb_db.data, [2, 4])


def test_every_api_op_is_catalogued_and_hand_checked():
    catalogued = {c.op for c in CATALOGUE}
    assert API_OPS_WITH_GRAD <= catalogued, sorted(API_OPS_WITH_GRAD - catalogued)
    hand = {h[0].split(":")[0] for h in HAND}
    assert API_OPS_WITH_GRAD <= hand, sorted(API_OPS_WITH_GRAD - hand)


# ============================================================================ 2. gradcheck


@pytest.mark.parametrize("case,shapes", PARAMS)
def test_gradcheck(case, shapes):
    xs = tl_inputs(sample_inputs(case, shapes, _rng(case, shapes, "gradcheck")), case)
    assert autograd.gradcheck(lambda *ts: call(case, ts), xs, eps=case.gc_eps) is True


def _first_derivative(case, xs, weights):
    """x -> d(sum(weights * fn(x)))/dx with create_graph=True (the function gradgradcheck checks)."""
    idx = differentiable(case, len(xs))

    def first(*ts):
        with tl.enable_grad():  # gradcheck evaluates finite differences under no_grad()
            out = call(case, ts)
            return autograd.grad((out * weights).sum(), [ts[i] for i in idx], create_graph=True)

    return first


@pytest.mark.parametrize("case,shapes", PARAMS)
def test_gradgradcheck(case, shapes):
    rng = _rng(case, shapes, "gradgradcheck")
    xs = tl_inputs(sample_inputs(case, shapes, rng), case)
    with tl.no_grad():
        out = call(case, xs)
    weights = tl.Tensor(rng.normal(size=out.shape).astype(out.dtype))
    first = _first_derivative(case, xs, weights)
    # the create_graph gradients are the ordinary gradients
    idx = differentiable(case, len(xs))
    plain = autograd.grad((call(case, xs) * weights).sum(), [xs[i] for i in idx])
    for g, p, i in zip(first(*xs), plain, idx, strict=True):
        assert g.shape == xs[i].shape
        np.testing.assert_allclose(g.data, p.data, rtol=1e-12, atol=1e-14)
    assert autograd.gradcheck(first, xs, eps=case.gc_eps) is True


def test_gradcheck_of_a_function_that_calls_grad():
    """gradgradcheck written the obvious way, as PyTorch's gradcheck allows (torch's own
    gradgradcheck is built like this): the checked function calls autograd.grad itself, so
    gradcheck must evaluate it with grad mode on. d/dx [sin(x) + x cos(x)] = 2cos(x) - x sin(x)."""
    x = tl.Tensor(np.array([0.3, 1.2]), requires_grad=True)
    first = lambda t: autograd.grad((t.sin() * t).sum(), t, create_graph=True)[0]
    np.testing.assert_allclose(first(x).data, np.sin(x.data) + x.data * np.cos(x.data), rtol=1e-14)
    assert autograd.gradcheck(first, [x]) is True


# ============================================================================ 3. PyTorch


def compare_with_torch(torch, fn, torch_fn, arrays, grad_idx, dtype, tol, rng, out_dtype=None):
    """Same inputs (cast to ``dtype``) into tinygrad_loss and torch: compare outputs, then
    backward with one random upstream gradient and compare every input gradient."""
    xs = [tl.Tensor(a.astype(dtype), requires_grad=True) if i in grad_idx else tl.Tensor(a)
          for i, a in enumerate(arrays)]
    ts = [torch.tensor(a.astype(dtype), requires_grad=True) if i in grad_idx else torch.tensor(a)
          for i, a in enumerate(arrays)]
    out, ref = fn(*xs), torch_fn(*ts)
    expected_dtype = np.dtype(out_dtype or dtype)
    assert ref.dtype == getattr(torch, expected_dtype.name), "the reference itself has an unexpected dtype"
    assert out.dtype == expected_dtype, f"output dtype {out.dtype}, expected {expected_dtype}"
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), **tol, err_msg="forward value")
    upstream = np.asarray(rng.normal(size=out.shape), dtype=out.dtype)
    out.backward(upstream)
    ref.backward(torch.from_numpy(upstream.copy()))
    for i in grad_idx:
        assert xs[i].grad is not None, f"input {i} got no gradient"
        assert xs[i].grad.dtype == np.dtype(dtype), f"input {i}: gradient dtype {xs[i].grad.dtype}, not {dtype}"
        assert xs[i].grad.shape == xs[i].shape
        np.testing.assert_allclose(xs[i].grad.data, ts[i].grad.numpy(), **tol, err_msg=f"gradient of input {i}")


@pytest.mark.parametrize("case,shapes", PARAMS)
def test_torch_float64(torch, case, shapes):
    rng = _rng(case, shapes, "torch64")
    arrays = sample_inputs(case, shapes, rng)
    compare_with_torch(torch, lambda *xs: call(case, xs), lambda *ts: call_torch(case, ts), arrays,
                       differentiable(case, len(arrays)), np.float64, F64, rng, case.out_dtype)


@pytest.mark.parametrize("case,shapes", PARAMS)
def test_torch_float32(torch, case, shapes):
    rng = _rng(case, shapes, "torch32")
    arrays = sample_inputs(case, shapes, rng)
    compare_with_torch(torch, lambda *xs: call(case, xs), lambda *ts: call_torch(case, ts), arrays,
                       differentiable(case, len(arrays)), np.float32, F32, rng, case.out_dtype)


@pytest.mark.parametrize("case,shapes", PARAMS)
def test_torch_second_order(torch, case, shapes):
    """Hessian-vector products through create_graph=True agree with PyTorch (float64)."""
    rng = _rng(case, shapes, "torch-2nd")
    arrays = sample_inputs(case, shapes, rng)
    idx = differentiable(case, len(arrays))
    xs, ts = tl_inputs(arrays, case), torch_inputs(torch, arrays, case)
    out, ref = call(case, xs), call_torch(case, ts)
    w = rng.normal(size=out.shape).astype(out.dtype)
    grads = autograd.grad((out * w).sum(), [xs[i] for i in idx], create_graph=True)
    tgrads = torch.autograd.grad((ref * torch.from_numpy(w.copy())).sum(), [ts[i] for i in idx], create_graph=True)
    vs = [rng.normal(size=xs[i].shape) for i in idx]
    for g, tg in zip(grads, tgrads, strict=True):
        np.testing.assert_allclose(g.data, tg.detach().numpy(), **F64, err_msg="first derivative")
    terms = [(g * v).sum() for g, v in zip(grads, vs, strict=True) if g.requires_grad]
    tterms = [(tg * torch.from_numpy(v)).sum() for tg, v in zip(tgrads, vs, strict=True) if tg.requires_grad]
    hvp = [None] * len(idx)
    if terms:
        hvp = autograd.grad(sum(terms[1:], terms[0]), [xs[i] for i in idx], allow_unused=True)
    thvp = [None] * len(idx)
    if tterms:
        thvp = torch.autograd.grad(sum(tterms[1:], tterms[0]), [ts[i] for i in idx], allow_unused=True)
    for k, i in enumerate(idx):
        mine = np.zeros(xs[i].shape) if hvp[k] is None else _grad_array(hvp[k])
        theirs = np.zeros(xs[i].shape) if thvp[k] is None else thvp[k].numpy(force=True)  # may be a ZeroTensor
        np.testing.assert_allclose(mine, theirs, **F64, err_msg=f"second derivative, input {i}")


# ============================================================================ dtype rules


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case,shapes", PARAMS)
def test_dtype_rules(case, shapes, dtype):
    """float32 stays float32 (and float64 float64) through the op, its gradient and the
    create_graph gradient; a gradient always has its input's dtype."""
    rng = _rng(case, shapes, "dtype")
    xs = tl_inputs(sample_inputs(case, shapes, rng), case, dtype)
    idx = differentiable(case, len(xs))
    out = call(case, xs)
    assert out.dtype == np.dtype(case.out_dtype or dtype)
    w = rng.normal(size=out.shape).astype(out.dtype)
    grads = autograd.grad((out * w).sum(), [xs[i] for i in idx], create_graph=True)
    for g, i in zip(grads, idx, strict=True):
        assert g.dtype == np.dtype(dtype) and g.shape == xs[i].shape
    terms = [(g * g).sum() for g in grads if g.requires_grad]
    if terms:
        for g2 in autograd.grad(sum(terms[1:], terms[0]), [xs[i] for i in idx], allow_unused=True):
            assert g2 is None or g2.dtype == np.dtype(dtype)
    call(case, xs).backward(w)
    for i in idx:
        assert xs[i].grad.dtype == np.dtype(dtype)


# ============================================================================ ties and edges vs torch


def test_ties_match_torch(torch):
    """maximum/minimum split the gradient half and half on ties; max/min reductions share it
    equally among the tied elements (torch.amax/amin)."""
    a = np.array([[1.0, 2.0, 2.0], [3.0, 3.0, 3.0]])
    b = np.array([1.0, 3.0, 2.0])
    rng = np.random.default_rng(0)
    for fn, tfn in ((tl.maximum, torch.maximum), (tl.minimum, torch.minimum)):
        compare_with_torch(torch, fn, tfn, [a, b], [0, 1], np.float64, F64, rng)
    for axis in (None, 0, 1):
        compare_with_torch(torch, lambda x, axis=axis: x.max(axis), lambda x, axis=axis: torch.amax(
            x, dim=() if axis is None else axis), [a], [0], np.float64, F64, rng)
        compare_with_torch(torch, lambda x, axis=axis: x.min(axis), lambda x, axis=axis: torch.amin(
            x, dim=() if axis is None else axis), [a], [0], np.float64, F64, rng)


def test_pow_edge_gradients_match_torch(torch):
    """0 ** b and a ** 0: PyTorch's conventions (no NaN gradients)."""
    base = np.array([0.0, 0.0, 2.0, 0.0])
    exponent = np.array([2.0, 0.0, 0.0, 0.5])
    compare_with_torch(torch, lambda a, b: a**b, lambda a, b: a**b, [base, exponent], [0, 1], np.float64, F64,
                       np.random.default_rng(1))


# extreme and boundary inputs: the numerically stable forms, and PyTorch's conventions at kinks
_BIG = np.array([-1000.0, -30.0, -1e-12, 0.0, 1e-12, 30.0, 1000.0])
EDGES = [
    ("sigmoid", lambda x: x.sigmoid(), lambda x: x.sigmoid(), [_BIG]),
    ("softplus", lambda x: x.softplus(), lambda x: F_torch().softplus(x), [_BIG]),
    ("softplus[beta=0.5]", lambda x: x.softplus(0.5), lambda x: F_torch().softplus(x, 0.5), [_BIG]),
    ("tanh", lambda x: x.tanh(), lambda x: x.tanh(), [_BIG]),
    ("gelu", lambda x: x.gelu(), lambda x: F_torch().gelu(x), [np.array([-40.0, -10.0, -1e-12, 0.0, 10.0, 40.0])]),
    ("gelu[tanh]", lambda x: x.gelu("tanh"), lambda x: F_torch().gelu(x, approximate="tanh"),
     [np.array([-40.0, -10.0, 0.0, 10.0, 40.0])]),
    ("logsumexp", lambda x: x.logsumexp(1), lambda x: x.logsumexp(1),
     [np.array([[1000.0, 1000.0, -1000.0], [-np.inf, 0.0, 1.0], [-1000.0, -1000.0, -1000.0]])]),
    ("softmax", lambda x: x.softmax(1), lambda x: x.softmax(1),
     [np.array([[1000.0, 0.0, -1000.0], [-np.inf, 0.0, 1.0], [-1000.0, -1000.0, -1000.0]])]),
    ("log_softmax", lambda x: x.log_softmax(1), lambda x: x.log_softmax(1),
     [np.array([[1000.0, 0.0, -999.0], [1e-9, 0.0, 1.0], [-1000.0, -1000.0, -1000.0]])]),
    ("log1p tiny", lambda x: x.log1p(), lambda x: x.log1p(), [np.array([1e-15, -1e-15, 1e-8])]),
    ("sqrt at 0 (inf grad)", lambda x: x.sqrt(), lambda x: x.sqrt(), [np.array([0.0, 1e-300, 4.0])]),
    ("log at 0 (inf grad)", lambda x: x.log(), lambda x: x.log(), [np.array([0.0, 1e-300, 4.0])]),
    ("var of large offsets", lambda x: x.var(0, 1), lambda x: x.var(0, correction=1),
     [np.array([1e8 + 1, 1e8 + 2, 1e8 + 4, 1e8 + 8])]),
    ("relu/abs/clip at kinks", lambda x: x.relu() + x.abs() + x.clip(-1, 1) + x.leaky_relu(0.3),
     lambda x: x.relu() + x.abs() + x.clamp(-1, 1) + F_torch().leaky_relu(x, 0.3), [np.array([-1.0, 0.0, 1.0])]),
    ("pow a**b at 0 and negative base", lambda a, b: a**b, lambda a, b: a**b,
     [np.array([0.0, 0.0, 2.0, 0.0, -2.0, -2.0]), np.array([2.0, 0.0, 0.0, 0.5, 2.0, 3.0])]),
    ("pow x**number at 0", lambda x: x**2 + x**0.5 + x**0 + x**1, lambda x: x**2 + x**0.5 + x**0 + x**1,
     [np.array([0.0, 1.0])]),
    ("div by tiny", lambda a, b: a / b, lambda a, b: a / b, [np.array([1.0, -1.0]), np.array([1e-300, -1e-200])]),
]


def F_torch():
    import torch.nn.functional

    return torch.nn.functional


@pytest.mark.parametrize("fn,tfn,arrays", [pytest.param(*e[1:], id=e[0]) for e in EDGES])
def test_edge_values_match_torch(torch, fn, tfn, arrays):
    with np.errstate(all="ignore"):
        compare_with_torch(torch, fn, tfn, arrays, list(range(len(arrays))), np.float64, F64,
                           np.random.default_rng(7))


_MULTI_INPUT = [(c, shapes) for c in CATALOGUE for shapes in c.shapes[:2]
                if len(shapes) > 1 and len(differentiable(c, len(shapes))) > 1]


@pytest.mark.parametrize("only", [0, 1])
@pytest.mark.parametrize("case,shapes", [pytest.param(c, s, id=f"{c.name}-{s}") for c, s in _MULTI_INPUT])
def test_torch_only_one_input_requires_grad(torch, case, shapes, only):
    """The ``needs_input_grad`` paths: the other inputs are constants, in both libraries."""
    rng = _rng(case, shapes, f"only{only}")
    arrays = sample_inputs(case, shapes, rng)
    wanted = differentiable(case, len(arrays))[only]
    compare_with_torch(torch, lambda *xs: call(case, xs), lambda *ts: call_torch(case, ts), arrays, [wanted],
                       np.float64, F64, rng, case.out_dtype)
    xs = [tl.Tensor(a, requires_grad=(i == wanted)) for i, a in enumerate(arrays)]
    (g,) = autograd.grad((call(case, xs) * 1.5).sum(), xs[wanted], create_graph=True)
    assert g.shape == xs[wanted].shape


@pytest.mark.parametrize("scalar", [np.float64(1.5), np.float32(1.5), 1.5], ids=["np.float64", "np.float32", "float"])
@pytest.mark.parametrize("op", ["x+s", "s+x", "x-s", "s-x", "x*s", "s*x", "x/s", "s/x", "x**s", "s**x"])
def test_float32_stays_float32_with_python_and_numpy_scalars(optional_torch, op, scalar):
    """PyTorch treats numpy scalars like Python numbers (np.float64 even subclasses float):
    ``x32 * np.float64(2)`` is float32, so that ``x / np.sqrt(d)`` keeps a model in float32."""
    fn = eval(f"lambda x, s: {op}")
    x = tl.Tensor(np.array([0.5, 2.0], dtype=np.float32), requires_grad=True)
    out = fn(x, scalar)
    if optional_torch is not None:
        assert fn(optional_torch.tensor([0.5, 2.0]), scalar).dtype == optional_torch.float32
    assert out.dtype == np.float32, f"{op} with {type(scalar).__name__} gave {out.dtype}"
    out.sum().backward()
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("int_dtype", ["int64", "int32"])
@pytest.mark.parametrize("op", ["x*i", "i*x", "x+i", "x-i", "x/i", "i-x"])
def test_float32_stays_float32_with_integer_tensors(optional_torch, op, int_dtype):
    """PyTorch: an integer tensor never promotes a float tensor (``x * torch.arange(n)`` stays
    float32)."""
    fn = eval(f"lambda x, i: {op}")
    x = tl.Tensor(np.array([0.5, 2.0, -1.0], dtype=np.float32), requires_grad=True)
    i = tl.Tensor(np.array([1, 2, 3], dtype=int_dtype))
    if optional_torch is not None:
        ref = fn(optional_torch.tensor([0.5, 2.0, -1.0]), optional_torch.tensor([1, 2, 3], dtype=getattr(optional_torch,
                                                                                                     int_dtype)))
        assert ref.dtype == optional_torch.float32
    out = fn(x, i)
    assert out.dtype == np.float32, f"{op}: float32 with {int_dtype} gave {out.dtype}"
    out.sum().backward()
    assert x.grad.dtype == np.float32


# a detached copy shares the array of the original: create_graph must still treat it as a constant
DETACHED = [
    ("mul", lambda x, y: x * y), ("div", lambda x, y: x / y), ("pow", lambda x, y: x**y),
    ("matmul", lambda x, y: x @ y), ("exp*x", lambda x, y: y.exp() * x),
    ("sigmoid*x", lambda x, y: y.sigmoid() * x * 3),
]


@pytest.mark.parametrize("fn", [pytest.param(f, id=n) for n, f in DETACHED])
def test_create_graph_treats_a_detached_copy_as_a_constant(fn):
    """d/dx f(x, c) with c = x.detach() is ∂f/∂x evaluated at c; its derivative must not see
    c move. For f = x·c: first derivative c, second derivative 0 (PyTorch gives the same)."""
    x = T([0.5, 1.5])
    y = x.detach()
    (g,) = autograd.grad(fn(x, y).sum(), x, create_graph=True)
    x_ref, y_ref = T([0.5, 1.5]), tl.Tensor(np.array([0.5, 1.5]))  # same values, separate arrays
    (g_ref,) = autograd.grad(fn(x_ref, y_ref).sum(), x_ref, create_graph=True)
    np.testing.assert_allclose(g.data, g_ref.data, rtol=1e-14)
    second = autograd.grad(g.sum(), x, allow_unused=True)[0] if g.requires_grad else None
    second_ref = autograd.grad(g_ref.sum(), x_ref, allow_unused=True)[0] if g_ref.requires_grad else None
    np.testing.assert_allclose(np.zeros(2) if second is None else second.data,
                               np.zeros(2) if second_ref is None else second_ref.data, rtol=1e-14, atol=0,
                               err_msg="second derivative moved the detached constant")


# ============================================================================ Hypothesis

_HYP_BINARY = {c.name: c for c in CATALOGUE if c.name in ("add", "sub", "mul", "div", "pow[tensor**tensor]",
                                                         "maximum", "minimum")}


def _gradcheck_fallback(fn, arrays, grad_idx):
    xs = [tl.Tensor(a, requires_grad=i in grad_idx) for i, a in enumerate(arrays)]
    assert autograd.gradcheck(fn, xs) is True


@HYPOTHESIS
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=3),
       name=st.sampled_from(sorted(_HYP_BINARY)), seed=st.integers(0, 2**32 - 1),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_hypothesis_broadcasting_binary_ops(optional_torch, shapes, name, seed, dtype):
    case = _HYP_BINARY[name]
    rng = np.random.default_rng(seed)
    arrays = sample_inputs(case, shapes.input_shapes, rng)
    fn = lambda *xs: call(case, xs)
    out = fn(*[tl.Tensor(a.astype(dtype)) for a in arrays])
    assert out.shape == shapes.result_shape and out.dtype == dtype
    if optional_torch is None:
        _gradcheck_fallback(fn, arrays, [0, 1])
    else:
        compare_with_torch(optional_torch, fn, lambda *ts: call_torch(case, ts), arrays, [0, 1], dtype,
                           F64 if dtype == np.float64 else F32, rng)


@HYPOTHESIS
@given(shapes=mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=2, max_side=3),
       seed=st.integers(0, 2**32 - 1), dtype=st.sampled_from([np.float32, np.float64]))
def test_hypothesis_matmul_shapes(optional_torch, shapes, seed, dtype):
    """1-d, 2-d and batched operands with broadcast batch dimensions."""
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(size=s) for s in shapes.input_shapes]
    fn = lambda a, b: a @ b
    out = fn(*[tl.Tensor(a.astype(dtype)) for a in arrays])
    assert out.shape == shapes.result_shape and out.dtype == dtype
    if optional_torch is None:
        _gradcheck_fallback(fn, arrays, [0, 1])
    else:
        compare_with_torch(optional_torch, fn, lambda a, b: a @ b, arrays, [0, 1], dtype,
                           F64 if dtype == np.float64 else F32, rng)


_HYP_UNARY = {c.name: c for c in CATALOGUE if c.shapes == (((),), ((5,),), ((2, 3),), ((2, 1, 3),))}


@HYPOTHESIS
@given(shape=array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4), name=st.sampled_from(sorted(_HYP_UNARY)),
       seed=st.integers(0, 2**32 - 1), dtype=st.sampled_from([np.float32, np.float64]))
def test_hypothesis_unary_ops_on_random_shapes(optional_torch, shape, name, seed, dtype):
    case = _HYP_UNARY[name]
    rng = np.random.default_rng(seed)
    arrays = sample_inputs(case, (shape,), rng)
    fn = lambda x: call(case, (x,))
    if optional_torch is None:
        _gradcheck_fallback(fn, arrays, [0])
    else:
        compare_with_torch(optional_torch, fn, lambda t: call_torch(case, (t,)), arrays, [0], dtype,
                           F64 if dtype == np.float64 else F32, rng, case.out_dtype)


@st.composite
def reductions(draw):
    shape = draw(array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=4))
    ndim = len(shape)
    axis = None
    if ndim and draw(st.booleans()):
        axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
        axes = [a - ndim if draw(st.booleans()) else a for a in axes]  # negative axes too
        axis = axes[0] if len(axes) == 1 and draw(st.booleans()) else tuple(axes)
    op = draw(st.sampled_from(["sum", "mean", "max", "min", "logsumexp", "var", "std"]))
    return shape, axis, draw(st.booleans()), op, draw(st.integers(0, 1))


_TORCH_REDUCTIONS = {
    "sum": lambda torch, x, axis, keep: x.sum(dim=axis, keepdim=keep),
    "mean": lambda torch, x, axis, keep: x.mean(dim=axis, keepdim=keep),
    "max": lambda torch, x, axis, keep: torch.amax(x, dim=() if axis is None else axis, keepdim=keep),
    "min": lambda torch, x, axis, keep: torch.amin(x, dim=() if axis is None else axis, keepdim=keep),
    "logsumexp": lambda torch, x, axis, keep: torch.logsumexp(x, dim=tuple(range(x.ndim)) if axis is None else axis,
                                                             keepdim=keep),
}


@HYPOTHESIS
@given(args=reductions(), seed=st.integers(0, 2**32 - 1), dtype=st.sampled_from([np.float32, np.float64]))
def test_hypothesis_reductions_over_random_axes(optional_torch, args, seed, dtype):
    shape, axis, keepdims, op, ddof = args
    n = math.prod(shape) // math.prod(np.empty(shape).sum(axis=axis, keepdims=True).shape)
    if op in ("var", "std"):
        ddof = min(ddof, n - 1)
        if op == "std" and n == 1:
            op = "var"  # the std of one value has no derivative (sqrt at 0)
    rng = np.random.default_rng(seed)
    x = (DISTINCT if op in ("max", "min") else WIDE)(rng, shape)
    if op in ("var", "std"):
        fn = lambda t: getattr(t, op)(axis, ddof, keepdims)
        tfn = lambda t: getattr(optional_torch, op)(t, dim=axis, correction=ddof, keepdim=keepdims)
    else:
        fn = lambda t: getattr(t, op)(axis, keepdims)
        tfn = lambda t: _TORCH_REDUCTIONS[op](optional_torch, t, axis, keepdims)
    expected_shape = np.empty(shape).sum(axis=axis, keepdims=keepdims).shape
    out = fn(tl.Tensor(x.astype(dtype)))
    assert out.shape == expected_shape and out.dtype == dtype
    if optional_torch is None:
        _gradcheck_fallback(fn, [x], [0])
    else:
        compare_with_torch(optional_torch, fn, tfn, [x], [0], dtype, F64 if dtype == np.float64 else F32, rng)


# ============================================================================ free functions


@pytest.mark.parametrize("name,args", [
    ("exp", ()), ("log", ()), ("log1p", ()), ("sqrt", ()), ("abs", ()), ("sin", ()), ("cos", ()), ("tanh", ()),
    ("sigmoid", ()), ("relu", ()), ("leaky_relu", (0.2,)), ("gelu", ()), ("softplus", (2.0,)), ("clip", (0.7, 1.2)),
    ("clamp", (0.7, None)), ("softmax", (0,)), ("log_softmax", (1,)), ("sum", (1,)), ("mean", (0, True)),
    ("max", (1,)), ("min", ((0, 1),)), ("var", (1, 1)), ("std", (0,)), ("logsumexp", (-1,)), ("reshape", ((3, 2),)),
    ("flatten", ()), ("squeeze", ()), ("unsqueeze", (1,)), ("permute", ((1, 0),)), ("transpose", (0, 1)),
    ("expand", ((4, 2, 3),)), ("broadcast_to", ((2, 2, 3),)), ("pad", (1,)), ("neg", ()), ("pow", (3,)),
    ("add", (1.5,)), ("sub", (1.5,)), ("mul", (1.5,)), ("div", (1.5,)), ("clone", ()),
])
def test_free_function_is_the_method(name, args):
    data = np.array([[0.5, 1.0, 1.5], [2.0, 0.25, 0.75]])
    a, b = T(data), T(data)
    got = getattr(tl, name)(a, *args)
    want = getattr(b, name)(*args)
    np.testing.assert_array_equal(got.data, want.data)
    g = np.arange(float(got.data.size)).reshape(got.shape)
    got.backward(g)
    want.backward(g)
    np.testing.assert_array_equal(a.grad.data, b.grad.data)


# ============================================================================ a wrong backward is caught


class BadCube(autograd.Function):
    """x³ whose backward is wrong at element 2 only."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        wrong = np.zeros_like(x)
        wrong[2] = 1.0
        return grad * (3 * x**2 + wrong)


class BadMul(autograd.Function):
    """a·b whose backward gives b the wrong gradient (b instead of a)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad * b, grad * b


def test_gradcheck_catches_a_wrong_backward_and_names_input_and_element():
    x = tl.Tensor(np.array([0.5, -1.0, 1.5, 2.0]), requires_grad=True, name="x")
    with pytest.raises(GradcheckError, match=re.escape("input 0 (x, shape (4,)) at element (2,)")):
        autograd.gradcheck(lambda t: BadCube.apply(t), [x])
    assert autograd.gradcheck(lambda t: BadCube.apply(t), [x], raise_exception=False) is False
    assert autograd.gradcheck(lambda t: Cube.apply(t), [x]) is True


def test_gradcheck_names_the_input_with_the_wrong_gradient():
    a = tl.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True, name="a")
    b = tl.Tensor(np.array([-0.5, 0.25, 4.0]), requires_grad=True, name="weights")
    with pytest.raises(GradcheckError) as info:
        autograd.gradcheck(lambda p, q: BadMul.apply(p, q), [a, b])
    message = str(info.value)
    assert "input 1 (weights, shape (3,))" in message
    assert re.search(r"element \(\d,\)", message)
    assert "input 0" not in message


def test_gradcheck_graph_blames_the_op_with_the_wrong_backward():
    x = tl.Tensor(np.array([0.5, -1.0, 1.5, 2.0]), requires_grad=True, name="x")
    loss = (BadCube.apply(x).sin() * 2.0 + x.exp()).sum()
    with pytest.raises(GradcheckError) as info:
        autograd.gradcheck_graph(loss)
    message = str(info.value)
    assert "BadCube" in message
    for innocent in ("Sin", "Mul", "Exp", "Add", "Sum"):
        assert innocent not in message, f"{innocent} was blamed: {message}"
    assert re.search(r"element \(2,\)", message)


def test_gradcheck_graph_passes_on_builtin_ops_and_a_good_function():
    rng = np.random.default_rng(3)
    x = tl.Tensor(rng.normal(size=(3, 4)), requires_grad=True, name="x")
    w = tl.Tensor(rng.normal(size=(4, 2)), requires_grad=True, name="w")
    h = (x @ w).tanh().softmax(1) * Cube.apply(x[:, :2]).sigmoid()
    loss = h.log_softmax(0).logsumexp(0).sum() + x.var(1, 1).sqrt().mean() + x.abs().max() + x.T.reshape(-1)[::3].sum()
    assert autograd.gradcheck_graph(loss) is True


# ============================================================================ sanity of the catalogue itself


def test_domains_keep_inputs_where_finite_differences_are_valid():
    for case in CATALOGUE:
        for shapes in case.shapes:
            arrays = sample_inputs(case, shapes, np.random.default_rng(0))
            assert len(arrays) == len(shapes)
            for domain, shape, a in zip(case.domains(len(shapes)), shapes, arrays, strict=True):
                assert a.shape == shape
                if domain.differentiable:
                    assert a.dtype == np.float64 and np.isfinite(a).all()
                else:
                    assert a.dtype == np.bool_
