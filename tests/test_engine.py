"""Behaviour of the autograd engine: backward, accumulation, freeing, higher-order gradients,
switches, hooks, deep graphs, determinism, anomaly detection, gradcheck and user Functions.

PyTorch (when installed) is only a reference for expected numbers; every test also checks
hand-computed values so that it means something without it.
"""

import inspect
import math
import os
import time
import warnings

import numpy as np
import pytest
from helpers import Cube, WrongCube

import tinygrad_loss as tl
from tinygrad_loss import autograd, engine
from tinygrad_loss.autograd import Function
from tinygrad_loss.engine import TeachingWarning
from tinygrad_loss.errors import AnomalyError, GradcheckError, GraphError

THIS_FILE = os.path.basename(__file__)


def f64(data, requires_grad=True, name=None):
    return tl.tensor(np.asarray(data, dtype=np.float64), requires_grad=requires_grad, name=name)


def next_line() -> int:
    """The line number of the caller's next line (where the op under test is written)."""
    return inspect.currentframe().f_back.f_lineno + 1


@pytest.fixture
def fresh_warnings():
    """TeachingWarnings are shown once per process: forget which were shown, restore after."""
    saved = set(engine._warned)
    engine._warned.clear()
    yield
    engine._warned.clear()
    engine._warned.update(saved)


def teaching(records):
    return [w for w in records if issubclass(w.category, TeachingWarning)]


# --------------------------------------------------------------------------- backward basics


def test_backward_simple_values():
    x = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    assert loss.item() == pytest.approx(14.0)
    np.testing.assert_allclose(x.grad.data, [2.0, 4.0, 6.0])
    assert x.grad.dtype == np.float32
    assert x.grad.requires_grad is False


def test_gradients_accumulate_across_backward_calls_and_warn_once(fresh_warnings):
    x = f64([1.0, -2.0, 3.0])
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        (x * x).sum().backward()
        assert teaching(records) == []  # first backward: nothing to warn about
        np.testing.assert_allclose(x.grad.data, [2.0, -4.0, 6.0])
        (x * x).sum().backward()
        np.testing.assert_allclose(x.grad.data, [4.0, -8.0, 12.0])
        (3 * x).sum().backward()
        np.testing.assert_allclose(x.grad.data, [7.0, -5.0, 15.0])
    warned = teaching(records)
    assert len(warned) == 1, [str(w.message) for w in warned]
    assert "accumulate" in str(warned[0].message)


def test_accumulation_warning_with_pytest_warns(fresh_warnings):
    w = f64([0.5, 1.5])
    (w * 2).sum().backward()
    with pytest.warns(TeachingWarning, match="accumulate"):
        (w * 2).sum().backward()
    np.testing.assert_allclose(w.grad.data, [4.0, 4.0])
    w.grad = None  # the documented reset
    (w * 5).sum().backward()
    np.testing.assert_allclose(w.grad.data, [5.0, 5.0])


def test_accumulated_grad_does_not_alias_the_first_grad_object():
    x = f64([1.0, 2.0])
    (x * 2).sum().backward()
    first = x.grad
    first_values = first.data.copy()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.data, [5.0, 5.0])
    np.testing.assert_allclose(first_values, [2.0, 2.0])


def test_non_leaf_grad_is_none_and_warns_once_with_hint(fresh_warnings):
    x = f64([1.0, 2.0])
    h = x * 3
    (h * h).sum().backward()
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        assert h.grad is None
        assert h.grad is None
    warned = teaching(records)
    assert len(warned) == 1
    message = str(warned[0].message)
    assert "retain_grad" in message and "keep_grads" in message
    assert os.path.basename(warned[0].filename) == THIS_FILE  # points at the user's line
    np.testing.assert_allclose(x.grad.data, [18.0, 36.0])


def test_leaf_grad_reading_does_not_warn(fresh_warnings):
    x = f64([1.0])
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        assert x.grad is None  # a leaf before backward: no trap, no warning
    assert teaching(records) == []


def test_retain_grad_keeps_non_leaf_gradient(fresh_warnings):
    x = f64([1.0, 2.0])
    h = x * 3
    h.retain_grad()
    loss = (h * h).sum()
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        loss.backward()
        np.testing.assert_allclose(h.grad.data, [6.0, 12.0])  # d(h²)/dh = 2h
    assert teaching(records) == []
    np.testing.assert_allclose(x.grad.data, [18.0, 36.0])  # 2h · 3
    assert h.is_leaf is False


def test_retained_non_leaf_grad_accumulates_like_pytorch():
    # PyTorch: a retained non-leaf .grad accumulates over backward calls exactly like a leaf's
    x = f64([1.0, 2.0])
    h = x * 3
    h.retain_grad()
    loss = (h * h).sum()
    loss.backward(retain_graph=True)
    np.testing.assert_allclose(h.grad.data, [6.0, 12.0])
    loss.backward()
    np.testing.assert_allclose(x.grad.data, [36.0, 72.0])
    np.testing.assert_allclose(h.grad.data, [12.0, 24.0])


def _small_graph():
    # x = 2, y = 3; a = x*y = 6; b = a + x = 8; c = b*b = 64; loss = c + y = 67
    x = f64(2.0, name="x")
    y = f64(3.0, name="y")
    a = x * y
    b = a + x
    c = b * b
    loss = c + y
    return x, y, a, b, c, loss


def _check_small_graph_grads(x, y, a, b, c, loss):
    # chain rule by hand: dl/dc = 1, dl/db = 2b = 16, dl/da = 16,
    # dl/dx = dl/da·y + dl/db = 48 + 16 = 64, dl/dy = dl/da·x + 1 = 32 + 1 = 33
    assert loss.item() == 67.0
    assert loss.grad.item() == 1.0
    assert c.grad.item() == 1.0
    assert b.grad.item() == 16.0
    assert a.grad.item() == 16.0
    assert x.grad.item() == 64.0
    assert y.grad.item() == 33.0


def test_keep_grads_context_manager_keeps_every_node_grad():
    x, y, a, b, c, loss = _small_graph()
    with autograd.keep_grads():
        assert engine.mode.keep_grads is True
        loss.backward()
    assert engine.mode.keep_grads is False
    _check_small_graph_grads(x, y, a, b, c, loss)
    # outside the context the default (PyTorch's) behaviour is back
    x2, y2, a2, b2, c2, loss2 = _small_graph()
    loss2.backward()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert a2.grad is None and b2.grad is None
    assert x2.grad.item() == 64.0


def test_keep_grads_is_exported_at_top_level():
    assert tl.keep_grads is autograd.keep_grads


def test_set_keep_grads_switch():
    try:
        autograd.set_keep_grads(True)
        x, y, a, b, c, loss = _small_graph()
        loss.backward()
        _check_small_graph_grads(x, y, a, b, c, loss)
    finally:
        autograd.set_keep_grads(False)
    assert engine.mode.keep_grads is False
    x, y, a, b, c, loss = _small_graph()
    loss.backward()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert b.grad is None
    assert y.grad.item() == 33.0


# --------------------------------------------------------------------------- freeing the graph


def test_second_backward_through_freed_graph_raises():
    x = f64([1.0, 2.0])
    loss = (x.exp() * x).sum()
    loss.backward()
    with pytest.raises(GraphError, match="retain_graph") as info:
        loss.backward()
    assert isinstance(info.value, RuntimeError)
    # the first result is untouched by the failed second call
    np.testing.assert_allclose(x.grad.data, np.exp([1.0, 2.0]) * (1 + np.array([1.0, 2.0])))


def test_retain_graph_allows_second_backward_and_accumulates():
    x = f64([1.0, 2.0])
    loss = (x.exp() * x).sum()
    loss.backward(retain_graph=True)
    once = x.grad.data.copy()
    np.testing.assert_allclose(once, np.exp([1.0, 2.0]) * (1 + np.array([1.0, 2.0])))
    loss.backward()
    np.testing.assert_allclose(x.grad.data, 2 * once)
    with pytest.raises(GraphError, match="retain_graph"):
        loss.backward()  # the second call did not retain


def test_saved_tensors_freed_after_backward():
    x = f64([1.0, 2.0])
    w = f64([3.0, 4.0])
    prod = x * w
    loss = prod.sum()
    assert len(prod.grad_fn.saved_tensors) == 2
    assert prod.grad_fn.saved_tensors[0] is x.data
    loss.backward()
    assert prod.grad_fn.saved_tensors is engine._FREED
    assert loss.grad_fn.saved_tensors is engine._FREED
    with pytest.raises(GraphError, match="retain_graph"):
        _ = prod.grad_fn.saved_tensors[0]
    with pytest.raises(GraphError, match="retain_graph"):
        a, b = prod.grad_fn.saved_tensors


def test_saved_tensors_kept_with_retain_graph():
    x = f64([1.0, 2.0])
    w = f64([3.0, 4.0])
    prod = x * w
    loss = prod.sum()
    loss.backward(retain_graph=True)
    saved = prod.grad_fn.saved_tensors
    assert saved is not engine._FREED
    np.testing.assert_array_equal(saved[0], [1.0, 2.0])
    np.testing.assert_array_equal(saved[1], [3.0, 4.0])


def test_node_keyword_arguments_are_kept_read_only():
    x = f64([[1.0, 2.0], [3.0, 4.0]])
    plain, summed = x * 2.0, x.sum(axis=0)
    assert dict(plain.grad_fn.kwargs) == {}  # no keywords: one shared empty mapping, not a dict per node
    assert plain.grad_fn.kwargs is (x + 1.0).grad_fn.kwargs
    assert summed.grad_fn.kwargs["axis"] == 0
    with pytest.raises(TypeError):
        plain.grad_fn.kwargs["axis"] = 1  # shared: nobody may write into it


def test_autograd_grad_does_not_touch_leaf_grad():
    x = f64([1.0, 2.0])
    (gx,) = autograd.grad((x**2).sum(), x)
    np.testing.assert_allclose(gx.data, [2.0, 4.0])
    assert x.grad is None


# --------------------------------------------------------------------------- higher order


@pytest.mark.parametrize(
    "fn, d1, d2",
    [
        (lambda x: x**3, lambda v: 3 * v**2, lambda v: 6 * v),
        (tl.sin, np.cos, lambda v: -np.sin(v)),
        (tl.exp, np.exp, np.exp),
        (tl.tanh, lambda v: 1 - np.tanh(v) ** 2, lambda v: -2 * np.tanh(v) * (1 - np.tanh(v) ** 2)),
        (lambda x: x.sigmoid(), lambda v: _sig(v) * (1 - _sig(v)),
         lambda v: _sig(v) * (1 - _sig(v)) * (1 - 2 * _sig(v))),
        (lambda x: x.log(), lambda v: 1 / v, lambda v: -1 / v**2),
    ],
    ids=["cube", "sin", "exp", "tanh", "sigmoid", "log"],
)
def test_second_derivative_create_graph(fn, d1, d2):
    values = np.array([0.3, 0.7, 1.9])
    x = f64(values)
    y = fn(x).sum()
    (g,) = autograd.grad(y, x, create_graph=True)
    assert g.requires_grad and g.grad_fn is not None
    np.testing.assert_allclose(g.data, d1(values), rtol=1e-12)
    (g2,) = autograd.grad(g.sum(), x)
    np.testing.assert_allclose(g2.data, d2(values), rtol=1e-10)


def _sig(v):
    return 1 / (1 + np.exp(-v))


def test_second_derivative_via_backward_create_graph():
    x = f64(1.5)
    y = x**3
    y.backward(create_graph=True)
    g = x.grad
    assert g.item() == pytest.approx(3 * 1.5**2)
    assert g.requires_grad
    x.grad = None
    g.backward()
    assert x.grad.item() == pytest.approx(6 * 1.5)


def test_third_derivative_of_x4():
    x = f64(1.3)
    y = x**4
    (g1,) = autograd.grad(y, x, create_graph=True)
    (g2,) = autograd.grad(g1, x, create_graph=True)
    (g3,) = autograd.grad(g2, x)
    assert g1.item() == pytest.approx(4 * 1.3**3, rel=1e-12)
    assert g2.item() == pytest.approx(12 * 1.3**2, rel=1e-12)
    assert g3.item() == pytest.approx(24 * 1.3, rel=1e-12)


def test_mixed_partials_of_product():
    x = f64(1.7)
    y = f64(-0.4)
    f = x**2 * y + (x * y).sin()
    gx, gy = autograd.grad(f, [x, y], create_graph=True)
    xv, yv = 1.7, -0.4
    assert gx.item() == pytest.approx(2 * xv * yv + yv * math.cos(xv * yv), rel=1e-12)
    assert gy.item() == pytest.approx(xv**2 + xv * math.cos(xv * yv), rel=1e-12)
    dxx, dxy = autograd.grad(gx, [x, y], retain_graph=True)
    dyx, dyy = autograd.grad(gy, [x, y])
    # d²f/dxdy = 2x + cos(xy) - xy·sin(xy), symmetric
    expected_xy = 2 * xv + math.cos(xv * yv) - xv * yv * math.sin(xv * yv)
    assert dxy.item() == pytest.approx(expected_xy, rel=1e-10)
    assert dyx.item() == pytest.approx(expected_xy, rel=1e-10)
    assert dxx.item() == pytest.approx(2 * yv - yv**2 * math.sin(xv * yv), rel=1e-10)
    assert dyy.item() == pytest.approx(-(xv**2) * math.sin(xv * yv), rel=1e-10)


def test_hessian_vector_product_analytic():
    rng = np.random.default_rng(0)
    xv, yv, v = rng.normal(size=(3, 5))
    x, y = f64(xv), f64(yv)
    f = (x**2 * y).sum()
    (g,) = autograd.grad(f, x, create_graph=True)
    np.testing.assert_allclose(g.data, 2 * xv * yv, rtol=1e-12)
    (hv,) = autograd.grad((g * tl.tensor(v)).sum(), x, retain_graph=True)
    np.testing.assert_allclose(hv.data, 2 * yv * v, rtol=1e-12)  # H = diag(2y)
    (mixed,) = autograd.grad((g * tl.tensor(v)).sum(), y)
    np.testing.assert_allclose(mixed.data, 2 * xv * v, rtol=1e-12)  # d/dy (g·v)

    torch = pytest.importorskip("torch", reason="PyTorch not installed")
    ty = torch.tensor(yv)
    _, expected = torch.autograd.functional.hvp(lambda t: (t**2 * ty).sum(), torch.tensor(xv), torch.tensor(v))
    np.testing.assert_allclose(hv.data, expected.numpy(), rtol=1e-12)


def _mlp_loss(lib, inputs, w1, w2, target):
    hidden = lib.tanh(inputs @ w1)
    out = hidden @ w2
    return ((out - target) ** 2).mean()


def test_hessian_vector_product_mlp_against_torch():
    torch = pytest.importorskip("torch", reason="PyTorch not installed")
    rng = np.random.default_rng(1)
    xs, w1v, w2v, tv, v = (rng.normal(size=s) for s in [(5, 3), (3, 4), (4,), (5,), (3, 4)])
    w1, w2 = f64(w1v), f64(w2v)
    loss = _mlp_loss(tl, tl.tensor(xs), w1, w2, tl.tensor(tv))
    (g,) = autograd.grad(loss, w1, create_graph=True)
    (hv,) = autograd.grad((g * tl.tensor(v)).sum(), w1)

    tw2 = torch.tensor(w2v)
    fn = lambda w: _mlp_loss(torch, torch.tensor(xs), w, tw2, torch.tensor(tv))
    value, expected = torch.autograd.functional.hvp(fn, torch.tensor(w1v), torch.tensor(v))
    assert loss.item() == pytest.approx(value.item(), rel=1e-12)
    np.testing.assert_allclose(hv.data, expected.numpy(), rtol=1e-10, atol=1e-12)

    # the first derivative as well, via torch.autograd.grad(create_graph=True)
    tw1 = torch.tensor(w1v, requires_grad=True)
    (tg,) = torch.autograd.grad(fn(tw1), tw1, create_graph=True)
    np.testing.assert_allclose(g.data, tg.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["cube", "sin", "exp", "tanh", "product"])
def test_second_derivatives_against_torch(name):
    torch = pytest.importorskip("torch", reason="PyTorch not installed")
    values, other = np.array([0.3, -1.2, 2.0]), np.array([1.1, 0.5, -0.7])
    fns = {
        "cube": lambda lib, a, b: a**3,
        "sin": lambda lib, a, b: lib.sin(a),
        "exp": lambda lib, a, b: lib.exp(a),
        "tanh": lambda lib, a, b: lib.tanh(a),
        "product": lambda lib, a, b: a * b * a,
    }
    fn = fns[name]
    x, y = f64(values), f64(other)
    gx, gy = autograd.grad(fn(tl, x, y).sum(), [x, y], create_graph=True, allow_unused=True)
    tx = torch.tensor(values, requires_grad=True)
    ty = torch.tensor(other, requires_grad=True)
    tgx, tgy = torch.autograd.grad(fn(torch, tx, ty).sum(), [tx, ty], create_graph=True, allow_unused=True)
    np.testing.assert_allclose(gx.data, tgx.detach().numpy(), rtol=1e-10)
    (g2,) = autograd.grad(gx.sum(), x, retain_graph=True)
    (tg2,) = torch.autograd.grad(tgx.sum(), tx)
    np.testing.assert_allclose(g2.data, tg2.numpy(), rtol=1e-10)
    if name == "product":
        (gxy,) = autograd.grad(gy.sum(), x)
        np.testing.assert_allclose(gxy.data, 2 * values, rtol=1e-12)


# Every built-in op under create_graph=True: (ours, torch's). Each output is weighted and
# summed; the Hessian-vector product is checked against finite differences of the gradient and,
# when PyTorch is installed, against torch.autograd.grad(create_graph=True).
_W = np.random.default_rng(7).normal(size=(4, 2))


def _torch_f():
    import torch

    return torch, torch.nn.functional


CREATE_GRAPH_OPS = {
    "add_sub_neg": (lambda t: (-t - t * t + 1) ** 2, lambda t: (-t - t * t + 1) ** 2),
    "mul_div": (lambda t: t * t / (t * t + 1), lambda t: t * t / (t * t + 1)),
    "pow_tensor_exponent": (lambda t: (t * t + 1) ** t, lambda t: (t * t + 1) ** t),
    "exp_log": (lambda t: (t.exp() + 1).log(), lambda t: (t.exp() + 1).log()),
    "log1p_sqrt": (lambda t: (t * t).log1p() + (t * t + 1).sqrt(), lambda t: (t * t).log1p() + (t * t + 1).sqrt()),
    "sin_cos_tanh": (lambda t: t.sin() * t.cos() + t.tanh(), lambda t: t.sin() * t.cos() + t.tanh()),
    "sigmoid": (lambda t: t.sigmoid(), lambda t: t.sigmoid()),
    "relu_abs": (lambda t: t.relu() ** 3 + t.abs() ** 3, lambda t: t.relu() ** 3 + t.abs() ** 3),
    "leaky_relu": (lambda t: t.leaky_relu(0.1) ** 2, lambda t: _torch_f()[1].leaky_relu(t, 0.1) ** 2),
    "gelu": (lambda t: t.gelu(), lambda t: _torch_f()[1].gelu(t)),
    "gelu_tanh": (lambda t: t.gelu("tanh"), lambda t: _torch_f()[1].gelu(t, approximate="tanh")),
    "softplus": (lambda t: t.softplus(), lambda t: _torch_f()[1].softplus(t)),
    "erf": (lambda t: t.erf(), lambda t: _torch_f()[0].erf(t)),
    "clip": (lambda t: t.clip(-0.5, 0.5) ** 3, lambda t: t.clamp(-0.5, 0.5) ** 3),
    "maximum_minimum": (lambda t: tl.maximum(t, t * t) ** 2 + tl.minimum(t, -t * t) ** 2,
                        lambda t: _torch_f()[0].maximum(t, t * t) ** 2 + _torch_f()[0].minimum(t, -t * t) ** 2),
    "where": (lambda t: tl.where(t > 0, t**3, t.exp()), lambda t: _torch_f()[0].where(t > 0, t**3, t.exp())),
    "sum_mean": (lambda t: (t * t).sum(1) ** 2 + (t**3).mean(0).sum(),
                 lambda t: (t * t).sum(1) ** 2 + (t**3).mean(0).sum()),
    "max": (lambda t: (t * t).max(1), lambda t: (t * t).amax(1)),
    "var_std": (lambda t: t.var(1) + t.std(0).sum(), lambda t: t.var(1, correction=0) + t.std(0, correction=0).sum()),
    "logsumexp": (lambda t: t.logsumexp(1), lambda t: t.logsumexp(1)),
    "softmax": (lambda t: t.softmax(1), lambda t: t.softmax(1)),
    "log_softmax": (lambda t: t.log_softmax(0), lambda t: t.log_softmax(0)),
    "matmul": (lambda t: (t @ tl.tensor(_W)) ** 2, lambda t: (t @ _torch_f()[0].tensor(_W)) ** 2),
    "transpose_matmul": (lambda t: t.T @ t, lambda t: t.T @ t),
    "reshape_expand": (lambda t: t.reshape(4, 3).unsqueeze(0).expand(2, 4, 3) ** 3,
                       lambda t: t.reshape(4, 3).unsqueeze(0).expand(2, 4, 3) ** 3),
    "getitem_repeated": (lambda t: t[[0, 0, 2]] ** 3 + t[1:, ::2].sum() ** 2,
                         lambda t: t[[0, 0, 2]] ** 3 + t[1:, ::2].sum() ** 2),
    "cat_stack": (lambda t: tl.cat([t, t * t], 1) ** 2 + tl.stack([t, t**3]).sum(),
                  lambda t: _torch_f()[0].cat([t, t * t], 1) ** 2 + _torch_f()[0].stack([t, t**3]).sum()),
    "pad": (lambda t: t.pad(1) ** 3, lambda t: _torch_f()[1].pad(t, (1, 1, 1, 1)) ** 3),
    "cast": (lambda t: (t.float() ** 3).double(), lambda t: (t.float() ** 3).double()),
}


@pytest.mark.parametrize("name", sorted(CREATE_GRAPH_OPS))
def test_create_graph_works_for_built_in_ops(name):
    ours, theirs = CREATE_GRAPH_OPS[name]
    rng = np.random.default_rng(3)
    xv, v = rng.normal(size=(2, 3, 4))
    weights = rng.normal(size=ours(tl.tensor(xv)).shape)

    def gradient(values, create_graph=False):
        x = f64(values)
        (g,) = autograd.grad((ours(x) * tl.tensor(weights)).sum(), x, create_graph=create_graph)
        return x, g

    x, g = gradient(xv, create_graph=True)
    assert g.requires_grad and g.grad_fn is not None
    (hv,) = autograd.grad((g * tl.tensor(v)).sum(), x)
    eps, rtol = (1e-3, 1e-2) if name == "cast" else (1e-6, 1e-5)  # "cast" computes in float32
    numeric = (gradient(xv + eps * v)[1].data - gradient(xv - eps * v)[1].data) / (2 * eps)
    np.testing.assert_allclose(hv.data, numeric, rtol=rtol, atol=1e-6)

    torch = pytest.importorskip("torch", reason="PyTorch not installed")
    tx = torch.tensor(xv, requires_grad=True)
    (tg,) = torch.autograd.grad((theirs(tx) * torch.tensor(weights)).sum(), tx, create_graph=True)
    (thv,) = torch.autograd.grad((tg * torch.tensor(v)).sum(), tx)
    tol = 1e-5 if name == "cast" else 1e-9
    np.testing.assert_allclose(g.data, tg.detach().numpy(), rtol=tol, atol=1e-12)
    np.testing.assert_allclose(hv.data, thv.numpy(), rtol=tol, atol=1e-12)


# --------------------------------------------------------------------------- switches


def test_no_grad_records_nothing():
    x = f64([1.0, 2.0])
    assert tl.is_grad_enabled()
    with tl.no_grad():
        assert not tl.is_grad_enabled()
        y = x * 2 + 1
    assert tl.is_grad_enabled()
    assert y.requires_grad is False and y.grad_fn is None and y.is_leaf
    np.testing.assert_allclose(y.data, [3.0, 5.0])
    with pytest.raises(GraphError):
        y.sum().backward()


def test_no_grad_enable_grad_nested():
    x = f64([1.0, 2.0])
    with autograd.no_grad():
        a = x * 2
        with autograd.enable_grad():
            assert tl.is_grad_enabled()
            b = x * 3
            with tl.no_grad():
                c = x * 4
            d = x * 5
        e = x * 6
    assert [t.requires_grad for t in (a, b, c, d, e)] == [False, True, False, True, False]
    (b + d).sum().backward()
    np.testing.assert_allclose(x.grad.data, [8.0, 8.0])


def test_no_grad_restores_mode_after_exception():
    with pytest.raises(ZeroDivisionError):
        with tl.no_grad():
            _ = 1 / 0
    assert tl.is_grad_enabled()


def test_no_grad_and_enable_grad_as_decorators():
    @tl.no_grad()
    def evaluate(t):
        """Docstring survives."""
        assert not tl.is_grad_enabled()
        return t * 2

    @tl.enable_grad()
    def train_step(t):
        return t * 3

    x = f64([1.0])
    y = evaluate(x)
    assert y.requires_grad is False and y.grad_fn is None
    assert evaluate.__name__ == "evaluate" and evaluate.__doc__ == "Docstring survives."
    assert tl.is_grad_enabled()
    with tl.no_grad():
        z = train_step(x)
        assert not tl.is_grad_enabled()
    assert z.requires_grad is True and repr(z.grad_fn) == "<MulBackward>"
    z.sum().backward()
    assert x.grad.item() == 3.0


def test_no_grad_as_bare_decorator_like_pytorch():
    # PyTorch >= 2.0 accepts both `@torch.no_grad()` and `@torch.no_grad`
    def double(t):
        assert not tl.is_grad_enabled()
        return t * 2

    decorated = tl.no_grad(double)
    y = decorated(f64([1.0, 2.0]))
    assert y.requires_grad is False and y.grad_fn is None
    np.testing.assert_allclose(y.data, [2.0, 4.0])
    assert tl.is_grad_enabled()


def test_detach_cuts_the_graph_and_shares_data():
    x = f64([1.0, 2.0, 3.0])
    d = x.detach()
    assert d.requires_grad is False and d.grad_fn is None and d.is_leaf
    assert np.shares_memory(d.data, x.data)
    y = (x * d).sum()  # d is a constant: dy/dx = d
    y.backward()
    np.testing.assert_allclose(x.grad.data, [1.0, 2.0, 3.0])
    h = (x * 2).detach()
    assert h.grad_fn is None and not h.requires_grad
    np.testing.assert_allclose(h.data, [2.0, 4.0, 6.0])


def test_requires_grad_():
    x = tl.tensor([1.0, 2.0])
    assert x.requires_grad is False
    assert x.requires_grad_() is x
    assert x.requires_grad is True
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, [2.0, 4.0])
    x.requires_grad_(False)
    assert (x * 2).requires_grad is False
    with pytest.raises(tl.errors.DTypeError, match="int64"):
        tl.tensor([1, 2]).requires_grad_()
    y = tl.tensor([1.0], requires_grad=True) * 2
    with pytest.raises(GraphError, match="leaf"):
        y.requires_grad_(False)


def test_register_hook_on_leaf_sees_and_replaces_grad():
    x = f64([1.0, 2.0])
    seen = []

    def hook(g):
        seen.append(g.data.copy())
        return g * 10

    handle = x.register_hook(hook)
    (x * x).sum().backward()
    np.testing.assert_allclose(seen[0], [2.0, 4.0])
    assert isinstance(x.grad, tl.Tensor)
    np.testing.assert_allclose(x.grad.data, [20.0, 40.0])
    handle.remove()
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.data, [2.0, 4.0])
    assert len(seen) == 1


def test_register_hook_on_non_leaf_changes_upstream_grad():
    x = f64([1.0, 2.0])
    h = x * 3
    seen = []
    h.register_hook(lambda g: seen.append(g.data.copy()))  # returns None: grad unchanged
    handle = h.register_hook(lambda g: g * 0.5)
    (h * h).sum().backward()
    np.testing.assert_allclose(seen[0], [6.0, 12.0])  # 2h
    np.testing.assert_allclose(x.grad.data, [9.0, 18.0])  # 0.5 · 2h · 3
    handle.remove()
    x.grad = None
    h2 = x * 3
    (h2 * h2).sum().backward()
    np.testing.assert_allclose(x.grad.data, [18.0, 36.0])


def test_hook_runs_once_with_the_total_gradient():
    x = f64([1.0, 2.0])
    h = x * 2
    calls = []
    h.register_hook(lambda g: calls.append(g.data.copy()))
    (h * 3 + h.exp()).sum().backward()  # h used twice: one call, with the summed gradient
    assert len(calls) == 1
    np.testing.assert_allclose(calls[0], 3 + np.exp([2.0, 4.0]), rtol=1e-12)
    np.testing.assert_allclose(x.grad.data, 2 * (3 + np.exp([2.0, 4.0])), rtol=1e-12)


def test_hook_matches_torch():
    torch = pytest.importorskip("torch", reason="PyTorch not installed")
    values = np.array([0.5, -1.0, 2.0])
    x = f64(values)
    h = x.tanh()
    h.register_hook(lambda g: g * 2 + 1)
    (h * x).sum().backward()
    tx = torch.tensor(values, requires_grad=True)
    th = tx.tanh()
    th.register_hook(lambda g: g * 2 + 1)
    (th * tx).sum().backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-12)


def test_register_hook_needs_requires_grad():
    with pytest.raises(GraphError, match="require grad"):
        tl.tensor([1.0]).register_hook(lambda g: g)


# --------------------------------------------------------------------------- deep graphs


def test_long_chain_multiply_is_iterative():
    start = time.perf_counter()
    x = f64(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.0001
    y.backward()
    elapsed = time.perf_counter() - start
    assert y.item() == pytest.approx(1.0001**100_000, rel=1e-9)
    assert x.grad.item() == pytest.approx(1.0001**100_000, rel=1e-9)
    assert elapsed < 10


def test_long_chain_add_on_vector():
    x = tl.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 1
    (y * 2).sum().backward()
    assert y.data.tolist() == [100_001.0]
    assert x.grad.data.tolist() == [2.0]


def test_long_chain_under_low_recursion_limit():
    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)
    try:
        x = f64(0.5)
        y = x
        for _ in range(5_000):
            y = y + x * 0.0
        y.backward()
    finally:
        sys.setrecursionlimit(limit)
    assert x.grad.item() == 1.0


# --------------------------------------------------------------------------- determinism


def _build_graph():
    x = f64([[0.5, -1.0], [2.0, 0.25]], name="x")
    w = f64([[1.0, 2.0], [-0.5, 0.3]], name="w")
    b = f64([0.1, -0.2], name="b")
    h = (x @ w + b).tanh()
    h.name = "h"
    z = tl.cat([h, h * h], axis=1).exp().sum(axis=1)
    loss = (z.log() + h.sum(axis=1)).mean()
    return loss, (x, w, b)


def _signature(nodes):
    first = nodes[0]._seq
    return [(None if n.grad_fn is None else n.grad_fn.name, n.shape, n.name, first - n._seq) for n in nodes]


def test_graph_node_order_is_deterministic():
    loss1, leaves1 = _build_graph()
    loss2, leaves2 = _build_graph()
    nodes1 = engine.graph_nodes([loss1])
    nodes2 = engine.graph_nodes([loss2])
    assert _signature(nodes1) == _signature(nodes2)
    assert nodes1[0] is loss1
    names = [n.grad_fn.name for n in nodes1 if n.grad_fn is not None]
    assert names[0] == "Mean" and "MatMul" in names and "Cat" in names
    # a valid topological order: every node comes before its inputs
    position = {id(n): i for i, n in enumerate(nodes1)}
    for n in nodes1:
        if n.grad_fn is not None:
            for p in n.grad_fn.inputs:
                if isinstance(p, tl.Tensor) and p.requires_grad:
                    assert position[id(p)] > position[id(n)]
    # the leaves are all reached
    assert {id(t) for t in leaves1} <= set(position)


def test_backward_order_is_deterministic_and_results_identical():
    orders = []
    grads = []
    for _ in range(2):
        loss, leaves = _build_graph()
        order = []
        for n in engine.graph_nodes([loss]):
            label = n.name or (n.grad_fn.name if n.grad_fn is not None else "leaf")
            n.register_hook(lambda g, label=label: order.append(label))
        loss.backward()
        orders.append(order)
        grads.append([t.grad.data.copy() for t in leaves])
    assert orders[0] == orders[1]
    assert orders[0][0] == "Mean"
    assert len(orders[0]) == len(set(map(id, engine.graph_nodes([_build_graph()[0]]))))
    for a, b in zip(*grads, strict=True):
        np.testing.assert_array_equal(a, b)


def test_parents_kept_in_argument_order():
    a = f64([1.0], name="a")
    b = f64([2.0], name="b")
    c = f64([3.0], name="c")
    y = a - b
    assert y.grad_fn.inputs[0] is a and y.grad_fn.inputs[1] is b
    y2 = b - a
    assert y2.grad_fn.inputs[0] is b and y2.grad_fn.inputs[1] is a
    r = 2.0 - a
    assert r.grad_fn.inputs[0] == 2.0 and r.grad_fn.inputs[1] is a
    s = tl.stack([c, a, b])
    assert [id(t) for t in s.grad_fn.inputs] == [id(c), id(a), id(b)]
    cond = tl.tensor([True])
    w = tl.where(cond, b, a)
    assert w.grad_fn.inputs[0] is cond and w.grad_fn.inputs[1] is b and w.grad_fn.inputs[2] is a
    m = a * a
    assert m.grad_fn.inputs == (a, a)
    (y + y2 + r + s.sum() + w + m).sum().backward()
    # a: +1 (y) -1 (y2) -1 (r) +1 (stack) +0 (where) +2a (m) = 2
    assert a.grad.item() == pytest.approx(2.0)
    assert b.grad.item() == pytest.approx(-1 + 1 + 1 + 1)
    assert c.grad.item() == pytest.approx(1.0)


# --------------------------------------------------------------------------- micrograd


def test_micrograd_sanity_check():
    x = tl.tensor(-4.0, requires_grad=True, dtype=tl.float64)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    assert x.ndim == 0 and y.ndim == 0
    assert y.item() == -20.0
    assert x.grad.item() == 46.0

    torch = pytest.importorskip("torch", reason="PyTorch not installed")
    tx = torch.tensor([-4.0], dtype=torch.float64, requires_grad=True)
    tz = 2 * tx + 2 + tx
    tq = tz.relu() + tz * tx
    th = (tz * tz).relu()
    ty = th + tq + tq * tx
    ty.backward()
    assert y.item() == ty.item()
    assert x.grad.item() == tx.grad.item()


def _micrograd_more_ops(a, b):
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    return g


@pytest.mark.parametrize("dtype, rel", [(tl.float64, 1e-12), (tl.float32, 1e-5)])
def test_micrograd_more_ops(dtype, rel):
    a = tl.tensor(-4.0, requires_grad=True, dtype=dtype)
    b = tl.tensor(2.0, requires_grad=True, dtype=dtype)
    g = _micrograd_more_ops(a, b)
    g.backward()
    assert g.dtype == dtype and a.grad.dtype == dtype
    assert g.item() == pytest.approx(24.70408163265306, rel=rel)
    assert a.grad.item() == pytest.approx(138.83381924198252, rel=rel)
    assert b.grad.item() == pytest.approx(645.5772594752186, rel=rel)


def test_micrograd_more_ops_matches_torch_float64():
    torch = pytest.importorskip("torch", reason="PyTorch not installed")
    a = tl.tensor(-4.0, requires_grad=True, dtype="double")
    b = tl.tensor(2.0, requires_grad=True, dtype="double")
    g = _micrograd_more_ops(a, b)
    g.backward()
    ta = torch.tensor(-4.0, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    tg = _micrograd_more_ops(ta, tb)
    tg.backward()
    assert g.item() == pytest.approx(tg.item(), rel=1e-12)
    assert a.grad.item() == pytest.approx(ta.grad.item(), rel=1e-12)
    assert b.grad.item() == pytest.approx(tb.grad.item(), rel=1e-12)


def test_in_place_add_on_non_leaf_records_a_new_node():
    a = f64(-4.0)
    b = f64(2.0)
    c = a + b
    before = c
    before_data = c.data
    c += c + 1
    assert c is not before  # rebound to a new node
    assert before.item() == -2.0 and before.data is before_data  # the old node is unchanged
    assert c.item() == -3.0
    assert repr(c.grad_fn) == "<AddBackward>"
    assert c.grad_fn.inputs[0] is before
    c.backward()
    assert a.grad.item() == 2.0 and b.grad.item() == 2.0


# --------------------------------------------------------------------------- detect_anomaly


def test_detect_anomaly_forward_log_of_negative():
    x = f64([1.0, -1.0])
    with tl.detect_anomaly(), np.errstate(all="ignore"):
        line = next_line()
        with pytest.raises(AnomalyError, match="Log") as info:
            x.log()
    message = str(info.value)
    assert "forward" in message
    # the user's file and the line of the `x.log()` call
    assert f"{THIS_FILE}:{line + 1}" in message, message
    assert isinstance(info.value, RuntimeError)


def test_detect_anomaly_forward_zero_over_zero():
    x = f64([0.0, 1.0])
    with autograd.detect_anomaly(), np.errstate(all="ignore"):
        line = next_line()
        with pytest.raises(AnomalyError, match="Div") as info:
            x / x
    assert f"{THIS_FILE}:{line + 1}" in str(info.value)


def test_no_anomaly_check_without_context():
    x = f64([1.0, -1.0])
    with np.errstate(all="ignore"):
        y = x.log()
        z = f64([0.0]) / 0.0
    assert np.isnan(y.data[1]) and y.data[0] == 0.0
    assert np.isnan(z.data[0])


def test_detect_anomaly_forward_overflow_to_inf():
    x = f64([1.0, 1000.0])
    with tl.detect_anomaly(), np.errstate(all="ignore"):
        line = next_line()
        with pytest.raises(AnomalyError, match=r"Exp.*NaN/Inf|NaN/Inf.*Exp") as info:
            (x * 2).exp()
    assert f"{THIS_FILE}:{line + 1}" in str(info.value)
    assert "Mul " not in str(info.value)  # the multiplication was fine


def test_detect_anomaly_backward_sqrt_at_zero():
    x = f64([0.0, 4.0])
    with tl.detect_anomaly(), np.errstate(all="ignore"):
        line = next_line()
        y = x.sqrt()
        loss = y.sum()
        assert loss.item() == 2.0  # forward is fine
        with pytest.raises(AnomalyError, match="Sqrt") as info:
            loss.backward()
    message = str(info.value)
    assert "SqrtBackward" in message
    assert f"{THIS_FILE}:{line}" in message, message


def test_sqrt_at_zero_without_detect_anomaly_gives_inf():
    x = f64([0.0, 4.0])
    with np.errstate(all="ignore"):
        x.sqrt().sum().backward()
    assert np.isinf(x.grad.data[0])
    assert x.grad.data[1] == pytest.approx(0.25)


class NaNBackward(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        return grad * np.nan


def test_detect_anomaly_custom_function_backward_nan():
    x = f64([1.0, 2.0])
    with tl.detect_anomaly():
        line = next_line()
        y = NaNBackward.apply(x).exp()
        with pytest.raises(AnomalyError, match="NaNBackward") as info:
            y.sum().backward()
    assert f"{THIS_FILE}:{line}" in str(info.value)
    assert "Exp" not in str(info.value).split("NaNBackward")[0]
    # without detect_anomaly: no error, NaN gradient
    x2 = f64([1.0, 2.0])
    NaNBackward.apply(x2).sum().backward()
    assert np.isnan(x2.grad.data).all()


def test_detect_anomaly_no_false_alarm():
    x = f64([0.5, 2.0])
    with tl.detect_anomaly():
        loss = (x.log() * x.sqrt()).sum()
        loss.backward()
    expected = np.sqrt([0.5, 2.0]) / np.array([0.5, 2.0]) + np.log([0.5, 2.0]) * 0.5 / np.sqrt([0.5, 2.0])
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-12)
    assert engine.mode.anomaly is False


# --------------------------------------------------------------------------- gradcheck


def test_gradcheck_passes_on_correct_functions():
    x = f64([[0.3, -0.7], [1.2, 0.4]])
    w = f64([[0.5, 1.5], [-0.2, 0.9]])
    assert autograd.gradcheck(lambda a, b: (a @ b).tanh() * a.exp(), [x, w]) is True
    assert autograd.gradcheck(lambda a: a.softmax(axis=1).log().sum(axis=0), [x]) is True
    assert autograd.gradcheck(Cube.apply, [x]) is True
    assert autograd.gradcheck(lambda a: (a**2).mean(), (x,)) is True


def test_gradcheck_fails_on_wrong_backward_naming_input_element_and_values():
    x = f64([0.5, -1.0, 2.0])
    y = f64([1.0, 1.0, 1.0])
    with pytest.raises(GradcheckError) as info:
        autograd.gradcheck(lambda a, b: WrongCube.apply(b) * a, [x, y])
    message = str(info.value)
    assert "input 1" in message
    # worst element: |3x² - 2x²|·a = x²·a is largest where a·1 = 2.0 -> element (2,)
    assert "element (2,)" in message
    # analytic 2·1²·2 = 4 (wrong), numeric 3·1²·2 = 6
    assert "analytic 4" in message, message
    assert "numeric 6" in message or "numeric 5.99999" in message, message
    assert isinstance(info.value, RuntimeError)
    assert autograd.gradcheck(lambda a, b: WrongCube.apply(b) * a, [x, y], raise_exception=False) is False


def test_gradcheck_graph_blames_only_the_wrong_op():
    x = f64([0.3, -0.8, 1.1], name="x")
    w = f64([0.7, 0.2, -0.5], name="w")
    h = (x * w).exp()
    bad = WrongCube.apply(h)
    loss = (bad.tanh() + h.sin()).sum()
    with pytest.raises(GradcheckError) as info:
        autograd.gradcheck_graph(loss)
    message = str(info.value)
    failures = message.split("\n")[1:]
    assert len(failures) == 1, message
    assert "WrongCube" in failures[0]
    for innocent in ("Mul(", "Exp(", "Tanh(", "Sin(", "Add(", "Sum("):
        assert innocent not in message, message


def test_gradcheck_graph_passes_on_built_in_ops():
    x = f64([[0.3, -0.8], [1.1, 0.2]], name="x")
    w = f64([[0.7, 0.2], [-0.5, 0.4]], name="w")
    loss = ((x @ w).sigmoid().log_softmax(axis=1) * x).sum() + Cube.apply(w).mean()
    assert autograd.gradcheck_graph(loss) is True


# --------------------------------------------------------------------------- user Functions


class ScaledMul(Function):
    """out = scale · a · b, with a non-tensor argument in the middle."""

    calls = []

    @staticmethod
    def forward(ctx, a, scale, b):
        assert isinstance(a, np.ndarray) and isinstance(b, np.ndarray)  # plain numpy in forward
        ctx.save_for_backward(a, b)
        ctx.scale = scale
        return scale * a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        ScaledMul.calls.append(needs)
        grad_a = grad * ctx.scale * b if needs[0] else None
        grad_b = grad * ctx.scale * a if needs[2] else None
        return grad_a, None, grad_b


def test_user_function_in_a_bigger_graph():
    ScaledMul.calls.clear()
    xv, wv = np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.25, -0.75])
    x, w = f64(xv), f64(wv)
    t = x.tanh()
    out = ScaledMul.apply(t, 3.0, w)
    assert repr(out.grad_fn) == "<ScaledMulBackward>"
    assert out.grad_fn.inputs[1] == 3.0
    loss = (out + x).sum()
    loss.backward()
    assert ScaledMul.calls == [(True, False, True)]
    np.testing.assert_allclose(out.data, 3.0 * np.tanh(xv) * wv, rtol=1e-12)
    np.testing.assert_allclose(x.grad.data, 3.0 * wv * (1 - np.tanh(xv) ** 2) + 1, rtol=1e-12)
    np.testing.assert_allclose(w.grad.data, 3.0 * np.tanh(xv), rtol=1e-12)


def test_user_function_needs_input_grad_with_constant_input():
    ScaledMul.calls.clear()
    x = f64([1.0, 2.0])
    const = tl.tensor(np.array([5.0, 7.0]))
    ScaledMul.apply(x, 2.0, const).sum().backward()
    assert ScaledMul.calls == [(True, False, False)]
    np.testing.assert_allclose(x.grad.data, [10.0, 14.0])
    assert const.grad is None


def test_user_function_matches_torch():
    torch = pytest.importorskip("torch", reason="PyTorch not installed")
    xv, wv = np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.25, -0.75])
    x, w = f64(xv), f64(wv)
    (ScaledMul.apply(x.sigmoid(), 0.5, w) ** 2).mean().backward()
    tx = torch.tensor(xv, requires_grad=True)
    tw = torch.tensor(wv, requires_grad=True)
    ((0.5 * tx.sigmoid() * tw) ** 2).mean().backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(w.grad.data, tw.grad.numpy(), rtol=1e-12)


def test_user_function_no_graph_when_not_needed():
    out = ScaledMul.apply(tl.tensor([1.0, 2.0]), 2.0, tl.tensor([3.0, 4.0]))
    assert out.grad_fn is None and not out.requires_grad
    np.testing.assert_allclose(out.data, [6.0, 16.0])
    x = f64([1.0])
    with tl.no_grad():
        assert ScaledMul.apply(x, 2.0, x).grad_fn is None


def test_user_function_gradcheck():
    x, w = f64([0.3, -0.6]), f64([1.2, 0.8])
    assert autograd.gradcheck(lambda a, b: ScaledMul.apply(a, -1.5, b), [x, w]) is True


class TooFewGrads(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad  # should be (grad, grad)


def test_backward_returning_wrong_number_of_gradients():
    a, b = f64([1.0]), f64([2.0])
    with pytest.raises(GraphError, match=r"TooFewGrads.*returned 1 gradient.*2 input") as info:
        TooFewGrads.apply(a, b).sum().backward()
    assert isinstance(info.value, RuntimeError)


# ----------------------------------------------------------------- in-place changes after an op ran

IN_PLACE_CASES = {
    # name: (build(lib, leaf) -> (loss, tensor to change), how to change it, PyTorch refuses too)
    "mul input, -=": (lambda lib, mk: ((mk([1.0, 2.0]) * (w := mk([3.0, 4.0]))).sum(), w), "isub", True),
    "add input (saves nothing), +=": (lambda lib, mk: ((mk([1.0, 2.0]) + (b := mk([3.0, 4.0]))).sum(), b),
                                      "iadd", False),
    "exp output, +=": (lambda lib, mk: ((y := mk([0.5, 1.0]).exp()).sum(), y), "iadd", True),
    "matmul input, fill_": (lambda lib, mk: ((mk([[1.0, 2.0]]) @ (w := mk([[3.0], [4.0]]))).sum(), w), "fill", True),
    "div denominator, copy_": (lambda lib, mk: ((mk([1.0, 2.0]) / (d := mk([3.0, 4.0]))).sum(), d), "copy", True),
    "relu output, [...] =": (lambda lib, mk: ((r := mk([-1.0, 2.0]).relu()).sum(), r), "setitem", True),
    "a constant operand of mul, *=": (lambda lib, mk: ((mk([1.0, 2.0]) * (c := mk([3.0, 4.0], False))).sum(), c),
                                      "imul", True),
}


def _change(lib, t, how):
    with lib.no_grad():
        if how == "isub":
            t -= 1
        elif how == "iadd":
            t += 1
        elif how == "imul":
            t *= 2
        elif how == "fill":
            t.fill_(0.5)
        elif how == "copy":
            t.copy_(lib.ones_like(t))
        elif how == "setitem":
            t[0] = 7.0


@pytest.mark.parametrize("case", IN_PLACE_CASES)
def test_backward_refuses_values_changed_in_place_after_the_op(case):
    build, how, refused = IN_PLACE_CASES[case]
    loss, changed = build(tl, lambda v, rg=True: f64(v, requires_grad=rg))
    _change(tl, changed, how)
    if refused:
        with pytest.raises(GraphError, match="changed in place afterwards"):
            loss.backward()
    else:
        loss.backward()  # the op never saved the changed tensor: its gradient is still right


@pytest.mark.parametrize("case", IN_PLACE_CASES)
def test_in_place_refusals_match_torch(torch, case):
    build, how, refused = IN_PLACE_CASES[case]
    loss, changed = build(torch, lambda v, rg=True: torch.tensor(v, dtype=torch.float64, requires_grad=rg))
    _change(torch, changed, how)
    if refused:
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            loss.backward()
    else:
        loss.backward()


def test_in_place_change_message_names_the_op_the_input_and_its_shape():
    x, w = f64([1.0, 2.0]), f64([[3.0], [4.0]], name="w")
    loss = (x @ w).sum()
    with tl.no_grad():
        w -= 0.1
    with pytest.raises(GraphError) as caught:
        loss.backward()
    message = str(caught.value)
    assert message.startswith("MatMul: backward needs its input 1 'w' (shape (2, 1), float64)")
    assert "Call backward() before changing it" in message


def test_changes_before_the_op_and_after_backward_are_fine():
    w, x = f64([1.0, 2.0]), f64([3.0, 4.0])
    with tl.no_grad():
        w -= 1  # before the op: the op sees (and saves) the new numbers
    loss = (w * x).sum()
    loss.backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0])
    with tl.no_grad():
        w -= 1  # after backward: the manual SGD step, the usual thing to do


def test_optimizer_step_between_two_backwards_through_one_graph_is_refused(torch):
    """The classic GAN mistake: step one network, then backward through a graph that used its
    old weights to reach something upstream (here the input, which requires grad)."""
    layer = tl.nn.Linear(2, 1)
    optimizer = tl.optim.SGD(layer.parameters(), lr=0.1)
    loss = layer(tl.tensor([[1.0, 2.0]], requires_grad=True)).sum()
    loss.backward(retain_graph=True)
    optimizer.step()  # changes the weight the Linear node saved to send a gradient to its input
    with pytest.raises(GraphError, match="Linear: backward needs its input 1"):
        loss.backward()
    torch_layer = torch.nn.Linear(2, 1)
    torch_optimizer = torch.optim.SGD(torch_layer.parameters(), lr=0.1)
    torch_loss = torch_layer(torch.tensor([[1.0, 2.0]], requires_grad=True)).sum()
    torch_loss.backward(retain_graph=True)
    torch_optimizer.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        torch_loss.backward()


def test_init_and_load_state_dict_count_as_in_place_changes():
    layer = tl.nn.Linear(2, 1)
    x = tl.ones((1, 2))
    loss = layer(x).sum()
    tl.nn.init.zeros_(layer.weight)
    with pytest.raises(GraphError, match="changed in place"):
        loss.backward(retain_graph=True)
    fresh = tl.nn.Linear(2, 1)
    loss = fresh(x).sum()
    fresh.load_state_dict(layer.state_dict())
    with pytest.raises(GraphError, match="changed in place"):
        loss.backward()
