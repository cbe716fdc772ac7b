"""Layers of ``tinygrad_loss.nn`` against PyTorch, gradcheck, initialisation, clipping and errors.

For every layer the equivalent ``torch.nn`` module is built, our weights are COPIED into it
(``torch.tensor(p.data)``), the same input goes through both and a random upstream gradient
is backpropagated: outputs, the input gradient and every parameter gradient must agree
(float64: rtol 1e-10, atol 1e-12; float32: rtol 1e-5). Tests that need PyTorch take the
``torch`` fixture of conftest.py, which skips them cleanly when PyTorch is not installed;
the gradcheck, hand-computed and error tests run without it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import to_f64
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_loss as tl
from tinygrad_loss import autograd, nn
from tinygrad_loss.errors import IndexOutOfRangeError, ShapeError
from tinygrad_loss.nn import layers_functional as LF  # noqa: N812 - the library's own alias

F64_TOL = {"rtol": 1e-10, "atol": 1e-12}
F32_TOL = {"rtol": 1e-5, "atol": 1e-6}


# --------------------------------------------------------------------------- helpers


def randomise(module: nn.Module, rng: np.random.Generator) -> nn.Module:
    """Random values in every parameter (so that e.g. BatchNorm's gamma/beta are not 1/0)."""
    for p in module.parameters():
        p.data[...] = rng.uniform(0.5, 1.5, p.shape) * rng.choice([-1.0, 1.0], p.shape)
    return module


def copy_into_torch(torch, ours: nn.Module, theirs):
    """Copy our parameters and buffers into the torch module (by name)."""
    targets = dict(theirs.state_dict(keep_vars=True))
    ours_state = ours.state_dict()
    assert ours_state, "nothing to copy"
    with torch.no_grad():
        for name, value in ours_state.items():
            assert name in targets, f"torch has no {name!r}"
            assert tuple(targets[name].shape) == value.shape, name
            targets[name].copy_(torch.tensor(value.data))
    return theirs


def assert_same_as_torch(torch, ours: nn.Module, theirs, x: np.ndarray, rng: np.random.Generator,
                         tol=F64_TOL, input_grad: bool = True):
    """Same input through both modules; compare outputs, then the gradients of the input and of
    every parameter after backpropagating one random upstream gradient."""
    xt = tl.tensor(x, requires_grad=input_grad)
    tx = torch.tensor(x, requires_grad=input_grad)
    out, ref = ours(xt), theirs(tx)
    assert out.dtype == x.dtype, f"output dtype {out.dtype}, input dtype {x.dtype}"
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), **tol)
    upstream = rng.standard_normal(out.shape).astype(x.dtype)
    out.backward(upstream)
    ref.backward(torch.tensor(upstream))
    if input_grad:
        assert xt.grad is not None and xt.grad.dtype == x.dtype
        np.testing.assert_allclose(xt.grad.data, tx.grad.numpy(), **tol, err_msg="input gradient")
    torch_params = dict(theirs.named_parameters())
    ours_params = dict(ours.named_parameters())
    assert set(ours_params) == set(torch_params)
    for name, p in ours_params.items():
        assert p.grad is not None, f"no gradient for {name}"
        np.testing.assert_allclose(p.grad.data, torch_params[name].grad.numpy(), **tol, err_msg=name)
    return out, ref


def relu_ties(rng: np.random.Generator, shape, dtype=np.float64) -> np.ndarray:
    """Small integers after ReLU: many exact zeros and many exact ties in every window."""
    return np.maximum(rng.integers(-3, 3, shape), 0).astype(dtype)


# --------------------------------------------------------------------------- Linear


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(4,), (5, 4), (2, 3, 4)])
def test_linear_matches_torch_float64(torch, bias, shape):
    rng = np.random.default_rng(1)
    ours = to_f64(nn.Linear(4, 3, bias=bias))
    theirs = copy_into_torch(torch, ours, torch.nn.Linear(4, 3, bias=bias).double())
    out, _ = assert_same_as_torch(torch, ours, theirs, rng.standard_normal(shape), rng)
    assert out.shape == shape[:-1] + (3,)
    assert (ours.bias is None) == (not bias)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch_float32(torch, bias):
    rng = np.random.default_rng(2)
    ours = nn.Linear(6, 5, bias=bias)
    assert ours.weight.dtype == np.float32
    theirs = copy_into_torch(torch, ours, torch.nn.Linear(6, 5, bias=bias))
    assert_same_as_torch(torch, ours, theirs, rng.standard_normal((7, 6)).astype(np.float32), rng, F32_TOL)
    assert ours.weight.grad.dtype == np.float32


def test_linear_hand_values():
    lin = nn.Linear(2, 1)
    lin.weight.data[...] = [[2.0, -1.0]]
    lin.bias.data[...] = [0.5]
    x = tl.tensor([[1.0, 3.0], [4.0, 1.0]], requires_grad=True)
    y = lin(x)
    np.testing.assert_allclose(y.data, [[-0.5], [7.5]])
    y.sum().backward()
    np.testing.assert_allclose(lin.weight.grad.data, [[5.0, 4.0]])
    np.testing.assert_allclose(lin.bias.grad.data, [2.0])
    np.testing.assert_allclose(x.grad.data, [[2.0, -1.0], [2.0, -1.0]])


# --------------------------------------------------------------------------- Conv2d

CONV_CASES = [
    # in, out, kernel, stride, padding, bias, (H, W)
    (2, 3, 1, 1, 0, True, (5, 5)),
    (2, 3, 3, 1, 0, True, (6, 5)),
    (3, 4, 3, 1, 1, False, (5, 6)),
    (3, 2, 3, 2, 1, True, (7, 7)),
    (2, 3, 3, 2, 0, True, (8, 6)),
    (2, 3, (3, 2), 1, 0, True, (5, 5)),
    (2, 3, (3, 2), (2, 1), (1, 2), True, (7, 6)),
    (1, 2, 3, (2, 1), 1, False, (6, 5)),
    (3, 3, (3, 2), 2, (1, 2), False, (6, 7)),
]


@pytest.mark.parametrize("cin,cout,kernel,stride,padding,bias,hw", CONV_CASES)
def test_conv2d_matches_torch_float64(torch, cin, cout, kernel, stride, padding, bias, hw):
    rng = np.random.default_rng(3)
    ours = to_f64(nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=bias))
    theirs = copy_into_torch(torch, ours, torch.nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding,
                                                         bias=bias).double())
    assert_same_as_torch(torch, ours, theirs, rng.standard_normal((2, cin) + hw), rng)


@pytest.mark.parametrize("cin,cout,kernel,stride,padding,bias,hw", CONV_CASES[::3])
def test_conv2d_matches_torch_float32(torch, cin, cout, kernel, stride, padding, bias, hw):
    rng = np.random.default_rng(4)
    ours = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=bias)
    theirs = copy_into_torch(torch, ours, torch.nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding,
                                                         bias=bias))
    assert_same_as_torch(torch, ours, theirs, rng.standard_normal((2, cin) + hw).astype(np.float32), rng, F32_TOL)
    assert ours.weight.grad.dtype == np.float32


@given(cin=st.integers(1, 3), cout=st.integers(1, 3), kh=st.integers(1, 3), kw=st.integers(1, 3),
       sh=st.integers(1, 3), sw=st.integers(1, 3), ph=st.integers(0, 2), pw=st.integers(0, 2),
       h=st.integers(3, 7), w=st.integers(3, 7), seed=st.integers(0, 2**16))
def test_conv2d_random_configurations_match_torch(torch, cin, cout, kh, kw, sh, sw, ph, pw, h, w, seed):
    rng = np.random.default_rng(seed)
    ours = to_f64(nn.Conv2d(cin, cout, (kh, kw), stride=(sh, sw), padding=(ph, pw)))
    theirs = copy_into_torch(torch, ours, torch.nn.Conv2d(cin, cout, (kh, kw), stride=(sh, sw),
                                                         padding=(ph, pw)).double())
    assert_same_as_torch(torch, ours, theirs, rng.standard_normal((2, cin, h, w)), rng)


def test_conv2d_hand_values():
    """A 1x1 image channel convolved with a 2x2 kernel of ones sums each window."""
    conv = to_f64(nn.Conv2d(1, 1, 2, bias=False))
    conv.weight.data[...] = 1.0
    x = tl.tensor(np.arange(9.0).reshape(1, 1, 3, 3), requires_grad=True)
    y = conv(x)
    np.testing.assert_array_equal(y.data, [[[[8.0, 12.0], [20.0, 24.0]]]])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    np.testing.assert_array_equal(conv.weight.grad.data[0, 0], [[8.0, 12.0], [20.0, 24.0]])


# --------------------------------------------------------------------------- pooling

POOL_CASES = [
    # kernel, stride, padding, (H, W)
    (2, None, 0, (6, 6)),
    (2, 1, 0, (5, 6)),
    (3, None, 0, (7, 8)),
    (3, 2, 1, (7, 7)),
    (3, 1, 1, (5, 5)),
    (2, 2, 1, (5, 6)),
    ((3, 2), (2, 1), (1, 1), (6, 5)),
    (2, (2, 1), 0, (6, 5)),
]


@pytest.mark.parametrize("kernel,stride,padding,hw", POOL_CASES)
def test_maxpool2d_ties_after_relu_match_torch(torch, kernel, stride, padding, hw):
    """Many exact ties (ReLU zeros, repeated integers): the gradient goes to the FIRST maximum of
    each window, as PyTorch does."""
    rng = np.random.default_rng(5)
    x = relu_ties(rng, (2, 3) + hw)
    assert (x == 0).mean() > 0.3
    assert_same_as_torch(torch, nn.MaxPool2d(kernel, stride, padding), torch.nn.MaxPool2d(kernel, stride, padding),
                         x, rng)


@pytest.mark.parametrize("kernel,stride,padding,hw", POOL_CASES[::2])
def test_maxpool2d_random_values_match_torch(torch, kernel, stride, padding, hw):
    rng = np.random.default_rng(6)
    for dtype, tol in [(np.float64, F64_TOL), (np.float32, F32_TOL)]:
        assert_same_as_torch(torch, nn.MaxPool2d(kernel, stride, padding),
                             torch.nn.MaxPool2d(kernel, stride, padding),
                             rng.standard_normal((2, 2) + hw).astype(dtype), rng, tol)


def test_maxpool2d_ties_float32_through_relu_module(torch):
    """The classic CNN path: float32 ReLU output (ties at zero) into MaxPool2d."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32) - 0.8  # mostly negative: all-zero windows
    ours = nn.Sequential(nn.ReLU(), nn.MaxPool2d(2))
    theirs = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.MaxPool2d(2))
    assert_same_as_torch(torch, ours, theirs, x, rng, F32_TOL)


def test_maxpool2d_gradient_goes_to_first_max_hand():
    x = tl.tensor(np.array([[[[0.0, 0.0, 1.0, 1.0],
                              [0.0, 0.0, 0.0, 1.0]]]]), requires_grad=True)
    y = nn.MaxPool2d(2)(x)
    np.testing.assert_array_equal(y.data, [[[[0.0, 1.0]]]])
    y.backward(np.array([[[[3.0, 5.0]]]]))
    np.testing.assert_array_equal(x.grad.data, [[[[3.0, 0.0, 5.0, 0.0],
                                                  [0.0, 0.0, 0.0, 0.0]]]])


def test_maxpool2d_padding_is_never_the_maximum(torch):
    """All-negative inputs with padding: the padded border must not win (PyTorch pads with -inf)."""
    rng = np.random.default_rng(8)
    x = -rng.uniform(1.0, 2.0, (1, 2, 5, 5))
    out, _ = assert_same_as_torch(torch, nn.MaxPool2d(3, 2, 1), torch.nn.MaxPool2d(3, 2, 1), x, rng)
    assert (out.data < 0).all()


@pytest.mark.parametrize("kernel,stride,padding,hw", POOL_CASES)
def test_avgpool2d_matches_torch(torch, kernel, stride, padding, hw):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 3) + hw)
    assert_same_as_torch(torch, nn.AvgPool2d(kernel, stride, padding), torch.nn.AvgPool2d(kernel, stride, padding),
                         x, rng)
    assert_same_as_torch(torch, nn.AvgPool2d(kernel, stride, padding), torch.nn.AvgPool2d(kernel, stride, padding),
                         x.astype(np.float32), rng, F32_TOL)


def test_avgpool2d_counts_padding_hand():
    """count_include_pad=True (PyTorch's default): the zeros of the padding count in the mean."""
    x = tl.tensor(np.ones((1, 1, 3, 3)), requires_grad=True)
    y = nn.AvgPool2d(3, stride=1, padding=1)(x)
    np.testing.assert_allclose(y.data[0, 0], np.array([[4, 6, 4], [6, 9, 6], [4, 6, 4]]) / 9, rtol=1e-15)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data[0, 0], np.array([[4, 6, 4], [6, 9, 6], [4, 6, 4]]) / 9, rtol=1e-15)


# --------------------------------------------------------------------------- Flatten


@pytest.mark.parametrize("start,end", [(1, -1), (0, -1), (1, 2), (2, 3), (-3, -2), (0, 0)])
def test_flatten_matches_torch(torch, start, end):
    rng = np.random.default_rng(10)
    out, ref = assert_same_as_torch(torch, nn.Flatten(start, end), torch.nn.Flatten(start, end),
                                    rng.standard_normal((2, 3, 4, 5)), rng)
    assert out.shape == tuple(ref.shape)


def test_flatten_start_after_end_is_an_error(torch):
    with pytest.raises(RuntimeError, match="start_dim cannot come after end_dim"):
        torch.nn.Flatten(2, 1)(torch.zeros(2, 3, 4))
    with pytest.raises((ValueError, IndexError, RuntimeError), match="start|end"):
        nn.Flatten(2, 1)(tl.zeros(2, 3, 4))


def test_flatten_default_keeps_batch():
    assert nn.Flatten()(tl.zeros(4, 3, 2, 2)).shape == (4, 12)


# --------------------------------------------------------------------------- Dropout


def test_dropout_eval_is_identity():
    d = nn.Dropout(0.5).eval()
    x = tl.tensor(np.random.default_rng(11).standard_normal((20, 30)), requires_grad=True)
    y = d(x)
    np.testing.assert_array_equal(y.data, x.data)
    y.backward(np.full(x.shape, 2.0))
    np.testing.assert_array_equal(x.grad.data, np.full(x.shape, 2.0))


def test_dropout_p0_is_identity_in_training():
    d = nn.Dropout(0.0)
    assert d.training
    x = tl.tensor(np.random.default_rng(12).standard_normal((50, 40)), requires_grad=True)
    y = d(x)
    np.testing.assert_array_equal(y.data, x.data)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.ones(x.shape))


def test_dropout_p1_gives_zeros(torch):
    x = tl.tensor(np.random.default_rng(13).standard_normal((10, 10)), requires_grad=True)
    y = nn.Dropout(1.0)(x)
    np.testing.assert_array_equal(y.data, np.zeros((10, 10)))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros((10, 10)))
    ref = torch.nn.Dropout(1.0)(torch.tensor(x.data))
    np.testing.assert_array_equal(y.data, ref.numpy())


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_keeps_fraction_and_scales(p):
    tl.manual_seed(1234)
    rng = np.random.default_rng(14)
    x_np = rng.uniform(0.5, 1.5, (200, 500))  # never zero: zeros in the output are dropped entries
    x = tl.tensor(x_np, requires_grad=True)
    y = nn.Dropout(p)(x)
    kept = y.data != 0
    n = kept.size
    assert abs(kept.mean() - (1 - p)) < 5 * math.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(y.data[kept], x_np[kept] / (1 - p), rtol=1e-14)
    upstream = rng.standard_normal(x.shape)
    y.backward(upstream)
    # the same mask, the same scale, in backward
    np.testing.assert_allclose(x.grad.data, np.where(kept, upstream / (1 - p), 0.0), rtol=1e-14, atol=0)


def test_dropout_scaling_like_torch(torch):
    """PyTorch's kept values are x / (1 - p) too (inverted dropout); compare the distinct ratios."""
    p = 0.25
    x = np.full((100, 100), 3.0)
    tl.manual_seed(0)
    torch.manual_seed(0)
    ours = nn.Dropout(p)(tl.tensor(x)).data
    ref = torch.nn.Dropout(p)(torch.tensor(x)).numpy()
    np.testing.assert_allclose(np.unique(ours), np.unique(ref), rtol=1e-14)
    assert abs((ours != 0).mean() - (ref != 0).mean()) < 0.03


def test_dropout_seeded_runs_match():
    x = tl.tensor(np.ones((64, 64)))
    d = nn.Dropout(0.5)
    tl.manual_seed(7)
    a = d(x).data
    tl.manual_seed(7)
    b = d(x).data
    np.testing.assert_array_equal(a, b)
    c = d(x).data  # the generator moved on: a new mask
    assert (a != c).any()
    tl.manual_seed(8)
    assert (d(x).data != a).any()


def test_dropout_follows_train_eval_switch():
    x = tl.tensor(np.ones((40, 40)))
    d = nn.Dropout(0.5)
    tl.manual_seed(0)
    assert (d(x).data == 0).any()
    d.eval()
    np.testing.assert_array_equal(d(x).data, x.data)
    d.train()
    assert (d(x).data == 0).any()


def test_dropout_keeps_float32():
    y = nn.Dropout(0.5)(tl.ones(10, 10))
    assert y.dtype == np.float32
    assert set(np.unique(y.data)) <= {0.0, 2.0}


# --------------------------------------------------------------------------- BatchNorm


@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (8, 3)), ("BatchNorm1d", (4, 3, 5)),
                                       ("BatchNorm2d", (4, 3, 5, 6))])
@pytest.mark.parametrize("momentum", [0.1, 0.3])
def test_batchnorm_training_running_stats_and_eval_match_torch(torch, cls, shape, momentum):
    rng = np.random.default_rng(15)
    ours = randomise(to_f64(getattr(nn, cls)(3, momentum=momentum)), rng)
    theirs = copy_into_torch(torch, ours, getattr(torch.nn, cls)(3, momentum=momentum).double())
    for step in range(3):
        x = rng.standard_normal(shape) * (step + 1) + step  # the batch statistics change every step
        assert_same_as_torch(torch, ours, theirs, x, rng)
        for p in ours.parameters():
            p.grad = None
        theirs.zero_grad()
        np.testing.assert_allclose(ours.running_mean.data, theirs.running_mean.numpy(), **F64_TOL)
        np.testing.assert_allclose(ours.running_var.data, theirs.running_var.numpy(), **F64_TOL)
    assert not np.allclose(ours.running_mean.data, 0.0)
    ours.eval()
    theirs.eval()
    stats = ours.running_mean.data.copy(), ours.running_var.data.copy()
    x = rng.standard_normal(shape) + 5.0
    out, _ = assert_same_as_torch(torch, ours, theirs, x, rng)
    np.testing.assert_array_equal(ours.running_mean.data, stats[0])  # eval never updates them
    np.testing.assert_array_equal(ours.running_var.data, stats[1])
    # eval uses the running statistics, not the batch's: the output is not normalised
    axes = (0,) + tuple(range(2, len(shape)))
    assert np.abs(out.data.mean(axis=axes)).max() > 0.5


def test_batchnorm_running_stats_hand():
    """running = (1 - m)·running + m·batch, the variance unbiased (n - 1), as PyTorch."""
    bn = to_f64(nn.BatchNorm1d(1, momentum=0.5))
    bn(tl.tensor(np.array([[1.0], [3.0]])))
    np.testing.assert_allclose(bn.running_mean.data, [0.5 * 0 + 0.5 * 2.0])
    np.testing.assert_allclose(bn.running_var.data, [0.5 * 1 + 0.5 * 2.0])  # unbiased var of {1, 3} is 2
    y = bn(tl.tensor(np.array([[1.0], [3.0]])))
    np.testing.assert_allclose(y.data[:, 0], np.array([-1.0, 1.0]) / np.sqrt(1 + 1e-5), rtol=1e-12)


def test_batchnorm_without_affine_and_without_running_stats_match_torch(torch):
    rng = np.random.default_rng(16)
    x = rng.standard_normal((5, 4, 3, 3))
    ours = nn.BatchNorm2d(4, affine=False, track_running_stats=False)
    assert list(ours.parameters()) == [] and ours.running_mean is None
    theirs = torch.nn.BatchNorm2d(4, affine=False, track_running_stats=False).double()
    assert_same_as_torch(torch, ours, theirs, x, rng)
    ours.eval()
    theirs.eval()
    assert_same_as_torch(torch, ours, theirs, x, rng)  # still batch statistics


def test_batchnorm2d_float32_matches_torch(torch):
    rng = np.random.default_rng(17)
    ours = randomise(nn.BatchNorm2d(3), rng)
    theirs = copy_into_torch(torch, ours, torch.nn.BatchNorm2d(3))
    x = (rng.standard_normal((4, 3, 5, 5)) * 2 + 1).astype(np.float32)
    assert_same_as_torch(torch, ours, theirs, x, rng, {"rtol": 1e-5, "atol": 1e-5})
    np.testing.assert_allclose(ours.running_var.data, theirs.running_var.numpy(), rtol=1e-5)


@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (4, 3, 5)),
                                       ("BatchNorm2d", (4, 3, 2, 3))])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_num_batches_tracked_and_cumulative_average_match_torch(torch, cls, shape, momentum):
    """num_batches_tracked: a 0-d int64 buffer counting training forwards; momentum=None makes the
    running statistics the cumulative average of the batch statistics (factor 1/num_batches_tracked)."""
    rng = np.random.default_rng(18)
    ours = randomise(to_f64(getattr(nn, cls)(3, momentum=momentum)), rng)
    theirs = copy_into_torch(torch, ours, getattr(torch.nn, cls)(3, momentum=momentum).double())
    assert list(ours.state_dict()) == list(theirs.state_dict()) == [
        "weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert ours.num_batches_tracked.shape == () and ours.num_batches_tracked.dtype == np.int64
    assert int(ours.num_batches_tracked.data) == 0
    for step in range(4):
        x = rng.standard_normal(shape) * (step + 1) + 2 * step
        np.testing.assert_allclose(ours(tl.tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), **F64_TOL)
        assert int(ours.num_batches_tracked.data) == int(theirs.num_batches_tracked) == step + 1
        np.testing.assert_allclose(ours.running_mean.data, theirs.running_mean.numpy(), **F64_TOL)
        np.testing.assert_allclose(ours.running_var.data, theirs.running_var.numpy(), **F64_TOL)
    ours.eval()
    theirs.eval()
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(ours(tl.tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), **F64_TOL)
    assert int(ours.num_batches_tracked.data) == int(theirs.num_batches_tracked) == 4  # eval does not count


def test_batchnorm_cumulative_average_hand():
    """momentum=None: running ← running + (batch − running) / n, i.e. the plain mean over the batches."""
    bn = to_f64(nn.BatchNorm1d(1, momentum=None))
    bn(tl.tensor(np.array([[1.0], [3.0]])))  # mean 2, unbiased var 2
    np.testing.assert_array_equal(bn.running_mean.data, [2.0])  # factor 1/1: the first batch replaces the init
    np.testing.assert_array_equal(bn.running_var.data, [2.0])
    bn(tl.tensor(np.array([[5.0], [9.0]])))  # mean 7, unbiased var 8
    np.testing.assert_array_equal(bn.running_mean.data, [(2.0 + 7.0) / 2])
    np.testing.assert_array_equal(bn.running_var.data, [(2.0 + 8.0) / 2])
    assert int(bn.num_batches_tracked.data) == 2


def test_batchnorm_without_running_stats_has_no_counter(torch):
    ours = nn.BatchNorm1d(3, momentum=None, track_running_stats=False)
    theirs = torch.nn.BatchNorm1d(3, momentum=None, track_running_stats=False)
    assert ours.num_batches_tracked is None and theirs.num_batches_tracked is None
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight", "bias"]
    ours(tl.randn(4, 3))
    assert ours.num_batches_tracked is None


def test_batchnorm_failed_forward_does_not_count():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="more than one value per channel"):
        bn(tl.randn(1, 3))
    assert int(bn.num_batches_tracked.data) == 0


@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (5, 3)), ("BatchNorm2d", (4, 3, 2, 2))])
def test_batchnorm_state_dict_loads_both_ways_with_torch(torch, cls, shape):
    """A trained PyTorch BatchNorm's state dict loads strictly into ours, and ours into PyTorch's."""
    rng = np.random.default_rng(19)
    theirs = getattr(torch.nn, cls)(3).double()
    for _ in range(3):
        theirs(torch.tensor(rng.standard_normal(shape) * 2 + 1))
    ours = to_f64(getattr(nn, cls)(3))
    assert ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()}) == ([], [])
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[key].data, value.numpy(), err_msg=key)
    assert ours.num_batches_tracked.dtype == np.int64 and int(ours.num_batches_tracked.data) == 3

    for _ in range(2):
        ours(tl.tensor(rng.standard_normal(shape) - 1))
    fresh = getattr(torch.nn, cls)(3).double()
    result = fresh.load_state_dict({k: torch.from_numpy(np.asarray(v.data)) for k, v in ours.state_dict().items()})
    assert (result.missing_keys, result.unexpected_keys) == ([], [])
    assert fresh.num_batches_tracked.dtype == torch.int64 and int(fresh.num_batches_tracked) == 5
    ours.eval()
    fresh.eval()
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(ours(tl.tensor(x)).data, fresh(torch.tensor(x)).detach().numpy(), **F64_TOL)


# --------------------------------------------------------------------------- LayerNorm


@pytest.mark.parametrize("normalized,shape", [(5, (4, 5)), (5, (2, 3, 5)), ((3, 4), (2, 3, 4)),
                                              ((3, 4), (2, 2, 3, 4))])
@pytest.mark.parametrize("affine", [True, False])
def test_layernorm_matches_torch(torch, normalized, shape, affine):
    rng = np.random.default_rng(18)
    ours = nn.LayerNorm(normalized, elementwise_affine=affine)
    theirs = torch.nn.LayerNorm(normalized, elementwise_affine=affine).double()
    if affine:
        randomise(to_f64(ours), rng)
        copy_into_torch(torch, ours, theirs)
    else:
        assert list(ours.parameters()) == []
    x = rng.standard_normal(shape) * 3 + 2
    assert_same_as_torch(torch, ours, theirs, x, rng)


def test_layernorm_float32_matches_torch(torch):
    rng = np.random.default_rng(19)
    ours = randomise(nn.LayerNorm((3, 4)), rng)
    theirs = copy_into_torch(torch, ours, torch.nn.LayerNorm((3, 4)))
    assert_same_as_torch(torch, ours, theirs, rng.standard_normal((5, 3, 4)).astype(np.float32), rng,
                         {"rtol": 1e-5, "atol": 1e-5})


# --------------------------------------------------------------------------- Embedding


@pytest.mark.parametrize("as_tensor", [False, True])
def test_embedding_matches_torch_and_accumulates(torch, as_tensor):
    rng = np.random.default_rng(20)
    ours = to_f64(nn.Embedding(6, 4))
    theirs = copy_into_torch(torch, ours, torch.nn.Embedding(6, 4).double())
    idx = np.array([[0, 2, 2, 5], [2, 0, 1, 2]])
    out = ours(tl.tensor(idx) if as_tensor else idx)
    ref = theirs(torch.tensor(idx))
    np.testing.assert_allclose(out.data, ref.detach().numpy(), **F64_TOL)
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    ref.backward(torch.tensor(upstream))
    np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(), **F64_TOL)
    # by hand: row i collects the upstream gradient of every position holding i (row 2: four times)
    for i in range(6):
        np.testing.assert_allclose(ours.weight.grad.data[i], upstream[idx == i].sum(axis=0), rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(ours.weight.grad.data[[3, 4]], 0.0)


def test_embedding_ones_upstream_counts_occurrences():
    emb = nn.Embedding(4, 2)
    emb(np.array([1, 1, 1, 3])).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.data[:, 0], [0, 3, 0, 1])


# --------------------------------------------------------------------------- activations

ACTIVATIONS = [
    ("ReLU", (), ()),
    ("Sigmoid", (), ()),
    ("Tanh", (), ()),
    ("GELU", (), ()),
    ("GELU", ("tanh",), ("tanh",)),
    ("LeakyReLU", (), ()),
    ("LeakyReLU", (0.2,), (0.2,)),
    ("Softmax", (0,), (0,)),
    ("Softmax", (1,), (1,)),
    ("Softmax", (-1,), (-1,)),
    ("LogSoftmax", (0,), (0,)),
    ("LogSoftmax", (1,), (1,)),
    ("LogSoftmax", (-1,), (-1,)),
]


def activation_input(rng, dtype=np.float64):
    x = rng.standard_normal((3, 4, 5)) * 3
    x.flat[::7] = 0.0  # exact zeros: ReLU's and LeakyReLU's kink (PyTorch's choice at 0)
    return x.astype(dtype)


@pytest.mark.parametrize("name,args,torch_args", ACTIVATIONS)
def test_activation_matches_torch(torch, name, args, torch_args):
    rng = np.random.default_rng(21)
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*torch_args)
    assert list(ours.parameters()) == []
    assert_same_as_torch(torch, ours, theirs, activation_input(rng), rng)
    assert_same_as_torch(torch, ours, theirs, activation_input(rng, np.float32), rng, F32_TOL)


def test_activation_hand_values():
    x = tl.tensor(np.array([-2.0, 0.0, 3.0]))
    np.testing.assert_array_equal(nn.ReLU()(x).data, [0.0, 0.0, 3.0])
    np.testing.assert_allclose(nn.LeakyReLU(0.1)(x).data, [-0.2, 0.0, 3.0], rtol=1e-15)
    np.testing.assert_allclose(nn.Sigmoid()(x).data, 1 / (1 + np.exp([2.0, 0.0, -3.0])), rtol=1e-15)
    np.testing.assert_allclose(nn.Softmax(0)(x).data.sum(), 1.0, rtol=1e-15)
    np.testing.assert_allclose(np.exp(nn.LogSoftmax(0)(x).data), nn.Softmax(0)(x).data, rtol=1e-14)


# --------------------------------------------------------------------------- gradcheck


def small(rng, *shape):
    return tl.tensor(rng.standard_normal(shape), requires_grad=True)


def params_of(module):
    return [p for p in module.parameters()]


def module_gradcheck(module, x):
    """gradcheck of x, *params -> module(x): the parameters are the module's own tensors, which
    gradcheck perturbs in place."""
    params = params_of(module)
    assert all(p.dtype == np.float64 for p in params)
    assert autograd.gradcheck(lambda x, *ps: module(x), [x, *params])


@pytest.mark.parametrize("bias", [True, False])
def test_gradcheck_linear(bias):
    rng = np.random.default_rng(22)
    module_gradcheck(to_f64(nn.Linear(3, 2, bias=bias)), small(rng, 4, 3))


@pytest.mark.parametrize("kernel,stride,padding", [(3, 1, 1), ((3, 2), (2, 1), (1, 0)), (1, 2, 0)])
def test_gradcheck_conv2d(kernel, stride, padding):
    rng = np.random.default_rng(23)
    module_gradcheck(to_f64(nn.Conv2d(2, 3, kernel, stride=stride, padding=padding)), small(rng, 1, 2, 5, 5))


@pytest.mark.parametrize("kernel,stride,padding", [(2, None, 0), (3, 2, 1), ((3, 2), 1, (1, 1))])
def test_gradcheck_pools(kernel, stride, padding):
    rng = np.random.default_rng(24)
    x = small(rng, 1, 2, 5, 5)  # distinct values: no ties, so max is differentiable
    assert autograd.gradcheck(nn.MaxPool2d(kernel, stride, padding), [x])
    assert autograd.gradcheck(nn.AvgPool2d(kernel, stride, padding), [x])


@pytest.mark.parametrize("cls,shape", [("BatchNorm1d", (5, 3)), ("BatchNorm1d", (3, 3, 2)),
                                       ("BatchNorm2d", (2, 3, 2, 2))])
def test_gradcheck_batchnorm(cls, shape):
    rng = np.random.default_rng(25)
    bn = randomise(to_f64(getattr(nn, cls)(3)), rng)
    module_gradcheck(bn, small(rng, *shape))
    bn.eval()
    module_gradcheck(bn, small(rng, *shape))


@pytest.mark.parametrize("normalized,shape", [(4, (3, 4)), ((2, 3), (2, 2, 3))])
def test_gradcheck_layernorm(normalized, shape):
    rng = np.random.default_rng(26)
    module_gradcheck(randomise(to_f64(nn.LayerNorm(normalized)), rng), small(rng, *shape))


def test_gradcheck_embedding():
    emb = to_f64(nn.Embedding(4, 3))
    idx = np.array([[0, 3, 3], [1, 0, 3]])
    assert autograd.gradcheck(lambda w: emb(idx), [emb.weight])


def test_gradcheck_flatten_and_dropout():
    rng = np.random.default_rng(27)
    x = small(rng, 2, 3, 2)
    assert autograd.gradcheck(nn.Flatten(), [x])
    d = nn.Dropout(0.4)

    def seeded_dropout(x):
        tl.manual_seed(3)  # the same mask on every call
        return d(x)

    assert autograd.gradcheck(seeded_dropout, [x])


@pytest.mark.parametrize("name,args,torch_args", ACTIVATIONS)
def test_gradcheck_activations(name, args, torch_args):
    rng = np.random.default_rng(28)
    x = rng.standard_normal((2, 3, 2))
    x[np.abs(x) < 0.1] += 0.3  # away from the kinks of ReLU / LeakyReLU
    assert autograd.gradcheck(getattr(nn, name)(*args), [tl.tensor(x, requires_grad=True)])


# --------------------------------------------------------------------------- second order


def second_order_check(layer, x, params, rng):
    """gradcheck of (x, params) -> d/d(x, params) Σ u·tanh(layer(x)), computed with create_graph=True."""
    u = rng.standard_normal(layer(x).shape)
    inputs = [x, *params]

    def first_grads(*ts):
        with tl.enable_grad():  # gradcheck evaluates its finite differences under no_grad()
            loss = (layer(ts[0]).tanh() * u).sum()
            return autograd.grad(loss, list(ts), create_graph=True)

    grads = first_grads(*inputs)
    assert all(g.requires_grad for g in grads), "create_graph=True must give differentiable gradients"
    assert autograd.gradcheck(first_grads, inputs)


def test_second_order_linear():
    rng = np.random.default_rng(29)
    lin = to_f64(nn.Linear(3, 2))
    second_order_check(lin, small(rng, 4, 3), params_of(lin), rng)


def test_second_order_conv2d():
    rng = np.random.default_rng(30)
    conv = to_f64(nn.Conv2d(2, 2, (3, 2), stride=(2, 1), padding=1))
    second_order_check(conv, small(rng, 1, 2, 4, 4), params_of(conv), rng)


def test_second_order_avgpool2d():
    rng = np.random.default_rng(31)
    second_order_check(nn.AvgPool2d(3, 2, 1), small(rng, 1, 2, 5, 5), [], rng)


def test_second_order_matches_torch_conv2d(torch):
    """Hessian-vector product through Conv2d and AvgPool2d against PyTorch."""
    rng = np.random.default_rng(32)
    conv = to_f64(nn.Conv2d(2, 3, 3, padding=1))
    tconv = copy_into_torch(torch, conv, torch.nn.Conv2d(2, 3, 3, padding=1).double())
    x_np = rng.standard_normal((1, 2, 6, 6))
    x, tx = tl.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    u = rng.standard_normal((1, 3, 3, 3))
    v = rng.standard_normal(x_np.shape)
    (gx,) = autograd.grad((nn.AvgPool2d(2)(conv(x)).tanh() * u).sum(), [x], create_graph=True)
    (tgx,) = torch.autograd.grad((torch.nn.AvgPool2d(2)(tconv(tx)).tanh() * torch.tensor(u)).sum(), [tx],
                                 create_graph=True)
    np.testing.assert_allclose(gx.data, tgx.detach().numpy(), **F64_TOL)
    hv, hw = autograd.grad((gx * v).sum(), [x, conv.weight])
    thv, thw = torch.autograd.grad((tgx * torch.tensor(v)).sum(), [tx, tconv.weight])
    np.testing.assert_allclose(hv.data, thv.numpy(), **F64_TOL)
    np.testing.assert_allclose(hw.data, thw.numpy(), **F64_TOL)


# --------------------------------------------------------------------------- initialisation


@pytest.mark.parametrize("make,fan_in", [(lambda: nn.Linear(800, 600), 800),
                                         (lambda: nn.Conv2d(32, 300, 3), 32 * 9),
                                         (lambda: nn.Conv2d(16, 200, (3, 2)), 16 * 6)])
def test_default_init_is_kaiming_uniform_a_sqrt5(make, fan_in):
    tl.manual_seed(0)
    layer = make()
    bound = 1 / math.sqrt(fan_in)
    for p in (layer.weight, layer.bias):
        assert p.dtype == np.float32
        w = p.data.astype(np.float64)
        assert np.abs(w).max() <= bound * (1 + 1e-6)
        assert np.abs(w).max() > 0.9 * bound, "the range U(-1/√fan_in, 1/√fan_in) should be filled"
    w = layer.weight.data.astype(np.float64)
    assert abs(w.mean()) < 0.01 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)  # a uniform's standard deviation


def test_default_init_bound_like_torch(torch):
    torch.manual_seed(0)
    tl.manual_seed(0)
    for ours, theirs in [(nn.Linear(500, 400), torch.nn.Linear(500, 400)),
                         (nn.Conv2d(8, 64, 3), torch.nn.Conv2d(8, 64, 3))]:
        for name in ("weight", "bias"):
            a = np.abs(getattr(ours, name).data).max()
            b = float(getattr(theirs, name).detach().abs().max())
            assert a == pytest.approx(b, rel=0.05), name


def test_init_is_seeded():
    tl.manual_seed(5)
    a = nn.Conv2d(2, 3, 3)
    tl.manual_seed(5)
    b = nn.Conv2d(2, 3, 3)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    assert not np.array_equal(a.weight.data, nn.Conv2d(2, 3, 3).weight.data)


def test_norm_layers_init():
    bn, ln = nn.BatchNorm2d(3), nn.LayerNorm((2, 3))
    np.testing.assert_array_equal(bn.weight.data, np.ones(3))
    np.testing.assert_array_equal(bn.bias.data, np.zeros(3))
    np.testing.assert_array_equal(bn.running_mean.data, np.zeros(3))
    np.testing.assert_array_equal(bn.running_var.data, np.ones(3))
    np.testing.assert_array_equal(ln.weight.data, np.ones((2, 3)))
    np.testing.assert_array_equal(ln.bias.data, np.zeros((2, 3)))


def test_linear_dtype_argument():
    lin = nn.Linear(3, 2, dtype=tl.float64)
    assert lin.weight.dtype == np.float64 and lin.bias.dtype == np.float64


# --------------------------------------------------------------------------- clip_grad_norm_


def grads_pair(torch, rng, shapes=((3, 4), (5,), (2, 2, 2)), scale=1.0):
    ours, theirs = [], []
    for shape in shapes:
        data, grad = rng.standard_normal(shape), rng.standard_normal(shape) * scale
        p = tl.tensor(data, requires_grad=True)
        p.grad = tl.tensor(grad)
        t = torch.tensor(data, requires_grad=True)
        t.grad = torch.tensor(grad)
        ours.append(p)
        theirs.append(t)
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_torch(torch, norm_type, max_norm):
    rng = np.random.default_rng(33)
    ours, theirs = grads_pair(torch, rng)
    before = [p.grad.data.copy() for p in ours]
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    ref = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    for p, t, b in zip(ours, theirs, before, strict=True):
        np.testing.assert_allclose(p.grad.data, t.grad.numpy(), **F64_TOL)
        if max_norm > float(ref):
            np.testing.assert_array_equal(p.grad.data, b)  # unchanged when already small enough
        else:
            assert not np.allclose(p.grad.data, b)
    # the returned norm: float64 for float64 gradients, as PyTorch (not rounded to float32)
    np.testing.assert_allclose(float(total.data), float(ref), **F64_TOL)
    assert total.dtype == np.float64


def test_clip_grad_norm_clips_to_max_norm():
    rng = np.random.default_rng(34)
    params = [tl.tensor(rng.standard_normal(10), requires_grad=True) for _ in range(3)]
    for p in params:
        p.grad = tl.tensor(rng.standard_normal(10) * 10)
    expected = math.sqrt(sum(float((p.grad.data ** 2).sum()) for p in params))
    total = nn.utils.clip_grad_norm_(params, 1.0)
    after = math.sqrt(sum(float((p.grad.data ** 2).sum()) for p in params))
    assert after == pytest.approx(1.0 / (1.0 + 1e-6 / expected), rel=1e-12)  # max_norm / (norm + 1e-6) · norm
    assert float(total.data) == pytest.approx(expected, rel=1e-12)


def test_clip_grad_norm_single_tensor_and_missing_grads(torch):
    rng = np.random.default_rng(35)
    p = tl.tensor(rng.standard_normal(6), requires_grad=True)
    p.grad = tl.tensor(np.array([3.0, 4.0, 0, 0, 0, 0]))
    no_grad = tl.tensor(np.ones(2), requires_grad=True)
    total = nn.utils.clip_grad_norm_(p, 1.0)
    assert float(total.data) == pytest.approx(5.0, rel=1e-12)
    np.testing.assert_allclose(p.grad.data[:2], np.array([3.0, 4.0]) / (5.0 + 1e-6), rtol=1e-12)
    assert float(nn.utils.clip_grad_norm_([no_grad], 1.0).data) == 0.0
    assert no_grad.grad is None


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0])
def test_clip_grad_norm_empty_gradients_match_torch(torch, norm_type):
    ours, theirs = grads_pair(torch, np.random.default_rng(37), shapes=((0, 3), (0,)))
    total = nn.utils.clip_grad_norm_(ours, 1.0, norm_type=norm_type)
    ref = torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type=norm_type)
    assert float(total.data) == float(ref) == 0.0
    assert total.dtype == np.float64 and ref.dtype == torch.float64


def test_clip_grad_norm_inf_with_empty_gradients(torch):
    """PyTorch cannot take the inf norm of an empty gradient (RuntimeError); here an empty gradient
    adds nothing, as it does for every finite norm_type (the norm of an empty vector is 0)."""
    ours, theirs = grads_pair(torch, np.random.default_rng(38), shapes=((0, 3), (0,)))
    with pytest.raises(RuntimeError, match="empty"):
        torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type=math.inf)
    total = nn.utils.clip_grad_norm_(ours, 1.0, norm_type=math.inf)
    assert float(total.data) == 0.0 and total.dtype == np.float64
    assert [p.grad.shape for p in ours] == [(0, 3), (0,)]
    # next to non-empty gradients: the same as PyTorch on the non-empty ones alone
    ours, theirs = grads_pair(torch, np.random.default_rng(39), shapes=((0, 3), (4,), (2, 3)), scale=5.0)
    largest = max(float(np.abs(p.grad.data).max()) for p in ours[1:])
    total = nn.utils.clip_grad_norm_(ours, 1.0, norm_type=math.inf)
    ref = torch.nn.utils.clip_grad_norm_(theirs[1:], 1.0, norm_type=math.inf)
    assert float(total.data) == float(ref) == largest > 1.0
    for p, t in zip(ours[1:], theirs[1:], strict=True):
        np.testing.assert_allclose(p.grad.data, t.grad.numpy(), **F64_TOL)


@pytest.mark.parametrize("norm_type", [math.inf, 2.0])
def test_clip_grad_norm_without_any_gradient_matches_torch(torch, norm_type):
    ours = [tl.tensor(np.ones(3), requires_grad=True)]
    theirs = [torch.ones(3, dtype=torch.float64, requires_grad=True)]
    total = nn.utils.clip_grad_norm_(ours, 1.0, norm_type=norm_type)
    ref = torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type=norm_type)
    assert float(total.data) == float(ref) == 0.0
    assert total.dtype == np.float32 and ref.dtype == torch.float32
    assert ours[0].grad is None and theirs[0].grad is None


def test_clip_grad_norm_on_module_parameters(torch):
    rng = np.random.default_rng(36)
    ours = to_f64(nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2)))
    theirs = copy_into_torch(torch, ours, torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(),
                                                              torch.nn.Linear(3, 2)).double())
    x = rng.standard_normal((5, 4)) * 10
    (ours(tl.tensor(x)) ** 2).sum().backward()
    (theirs(torch.tensor(x)) ** 2).sum().backward()
    total = nn.utils.clip_grad_norm_(ours.parameters(), 0.1)
    ref = torch.nn.utils.clip_grad_norm_(theirs.parameters(), 0.1)
    for (name, p), (_, t) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        np.testing.assert_allclose(p.grad.data, t.grad.numpy(), **F64_TOL, err_msg=name)
    np.testing.assert_allclose(float(total.data), float(ref), **F64_TOL)


# --------------------------------------------------------------------------- errors


def test_linear_wrong_in_features_names_both_sizes():
    with pytest.raises(ShapeError, match=r"5.*4|4.*5") as info:
        nn.Linear(4, 3)(tl.randn(2, 5))
    assert "5" in str(info.value) and "4" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_linear_0d_input_is_a_clear_error(torch):
    with pytest.raises(RuntimeError, match="at least 1D"):
        torch.nn.Linear(3, 2)(torch.tensor(1.0))
    with pytest.raises(ShapeError, match=r"Linear\(in_features=3, out_features=2\).*\(\*, 3\).*0-d.*\(\)"):
        nn.Linear(3, 2)(tl.tensor(1.0))
    with pytest.raises(ShapeError, match=r"linear: .*\(\*, 3\).*0-d"):
        LF.linear(tl.tensor(1.0), tl.ones(2, 3))


@pytest.mark.parametrize("x", [[[1.0, 2.0, 3.0]], (1.0, 2.0, 3.0), 1.0, None])
def test_linear_non_tensor_input_is_a_clear_error(torch, x):
    with pytest.raises(TypeError, match="must be Tensor"):
        torch.nn.Linear(3, 2)(x)
    with pytest.raises(TypeError, match=rf"Linear\(in_features=3, out_features=2\).*\(\*, 3\).*{type(x).__name__}"):
        nn.Linear(3, 2)(x)


def test_linear_still_accepts_1d_input_and_numpy_arrays(torch):
    lin = to_f64(nn.Linear(3, 2))
    x = np.array([1.0, -2.0, 0.5])
    expected = lin.weight.data @ x + lin.bias.data
    np.testing.assert_allclose(lin(tl.tensor(x)).data, expected, **F64_TOL)
    np.testing.assert_allclose(lin(x).data, expected, **F64_TOL)
    theirs = copy_into_torch(torch, lin, torch.nn.Linear(3, 2).double())
    np.testing.assert_allclose(theirs(torch.tensor(x)).detach().numpy(), expected, **F64_TOL)


def test_conv2d_wrong_channels():
    with pytest.raises(ValueError, match=r"3 channels.*2|2.*3 channels"):
        nn.Conv2d(2, 4, 3)(tl.randn(1, 3, 5, 5))


@pytest.mark.parametrize("shape", [(2, 5, 5), (1, 1, 2, 5, 5), (5,)])
def test_conv2d_needs_4d_input(shape):
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)") as info:
        nn.Conv2d(2, 4, 3)(tl.randn(*shape))
    assert str(shape) in str(info.value)


@pytest.mark.parametrize("make", [lambda: nn.Conv2d(1, 1, 6), lambda: nn.Conv2d(1, 1, (2, 6)),
                                  lambda: nn.MaxPool2d(6), lambda: nn.AvgPool2d((6, 1))])
def test_kernel_larger_than_image(make):
    with pytest.raises(ValueError, match="larger than"):
        make()(tl.randn(1, 1, 5, 5))


def test_kernel_fits_thanks_to_padding(torch):
    out = nn.Conv2d(1, 1, 6, padding=1)(tl.randn(1, 1, 5, 5))
    assert out.shape == tuple(torch.nn.Conv2d(1, 1, 6, padding=1)(torch.randn(1, 1, 5, 5)).shape) == (1, 1, 2, 2)


@pytest.mark.parametrize("index", [[0, 6], [-1, 2], [[1, 2], [3, 100]]])
def test_embedding_index_out_of_range(index):
    with pytest.raises(IndexError, match=r"outside \[0, 6\)") as info:
        nn.Embedding(6, 2)(np.array(index))
    assert isinstance(info.value, IndexOutOfRangeError)


def test_embedding_float_indices():
    with pytest.raises(TypeError, match="integers"):  # a dtype problem: DTypeError, a TypeError
        nn.Embedding(6, 2)(np.array([0.0, 1.0]))


@pytest.mark.parametrize("make,match", [
    (lambda: nn.Linear(0, 3), "in_features"),
    (lambda: nn.Linear(3, 0), "out_features"),
    (lambda: nn.Linear(-2, 3), "in_features"),
    (lambda: nn.Linear(2.5, 3), "in_features"),
    (lambda: nn.Conv2d(0, 3, 3), "in_channels"),
    (lambda: nn.Conv2d(2, 0, 3), "out_channels"),
    (lambda: nn.Conv2d(2, 3, 0), "kernel_size"),
    (lambda: nn.Conv2d(2, 3, 3, stride=0), "stride"),
    (lambda: nn.Conv2d(2, 3, 3, padding=-1), "padding"),
    (lambda: nn.Conv2d(2, 3, 3, padding=(0, -1)), "padding"),
    (lambda: nn.Conv2d(2, 3, (3, 3, 3)), "kernel_size"),
    (lambda: nn.Dropout(1.5), "p"),
    (lambda: nn.Dropout(-0.1), "p"),
    (lambda: nn.BatchNorm1d(0), "num_features"),
    (lambda: nn.BatchNorm2d(3, momentum=2.0), "momentum"),
    (lambda: nn.BatchNorm1d(3, momentum=-0.1), "momentum"),
    (lambda: nn.Embedding(0, 3), "num_embeddings"),
    (lambda: nn.Embedding(3, 0), "embedding_dim"),
    (lambda: nn.GELU("exact")(tl.randn(2)), "approximate"),
])
def test_bad_constructor_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("cls", ["MaxPool2d", "AvgPool2d"])
@pytest.mark.parametrize("kwargs,match", [
    ({"kernel_size": 0}, "kernel"),
    ({"kernel_size": 2, "stride": 0}, "stride"),
    ({"kernel_size": 2, "padding": -1}, "padding"),
    ({"kernel_size": 2, "padding": 2}, "padding"),  # PyTorch: pad should be at most half of kernel size
])
def test_bad_pool_arguments(torch, cls, kwargs, match):
    """PyTorch rejects these (at construction or first call) with a clear error; so must we."""
    x = np.random.default_rng(37).standard_normal((1, 2, 6, 6))
    with pytest.raises(RuntimeError):
        getattr(torch.nn, cls)(**kwargs)(torch.tensor(x))
    with pytest.raises(ValueError, match=match):
        getattr(nn, cls)(**kwargs)(tl.tensor(x))


def test_batchnorm_wrong_input():
    with pytest.raises(ValueError, match="3 channels"):
        nn.BatchNorm2d(3)(tl.randn(2, 4, 5, 5))
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        nn.BatchNorm1d(3)(tl.randn(2, 3, 4, 4))
    with pytest.raises(ValueError, match="more than one value per channel"):
        nn.BatchNorm1d(3)(tl.randn(1, 3))


def test_layernorm_wrong_shape():
    with pytest.raises(ValueError, match="normalized_shape"):
        nn.LayerNorm(4)(tl.randn(2, 5))


def test_functional_forms_match_modules():
    rng = np.random.default_rng(38)
    x = tl.tensor(rng.standard_normal((2, 2, 5, 5)))
    conv = to_f64(nn.Conv2d(2, 3, 3, stride=2, padding=1))
    np.testing.assert_array_equal(LF.conv2d(x, conv.weight, conv.bias, 2, 1).data, conv(x).data)
    np.testing.assert_array_equal(LF.max_pool2d(x, 2).data, nn.MaxPool2d(2)(x).data)
    np.testing.assert_array_equal(LF.avg_pool2d(x, 3, 1, 1).data, nn.AvgPool2d(3, 1, 1)(x).data)
