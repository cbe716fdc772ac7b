"""The one-node convolution and max pooling of ``tinygrad_loss.conv_ops``.

* exact values and gradients against naive loop implementations (integer-valued float64
  inputs, so every sum is exact whatever order BLAS adds in);
* float64 ``gradcheck`` of x, weight and bias, and a second-order gradcheck through
  ``create_graph=True`` (where backward runs on Tensors);
* PyTorch as the reference in float64 (rtol 1e-10): values, gradients, Hessian-vector products;
* max pooling: ties (ReLU's zeros) and NaNs go to the first maximum, exactly as the composed
  ``Windows`` + ``MaxPick`` path and PyTorch do; the tiling fast path and the general path
  (overlapping windows, padding);
* Hypothesis property tests over random small shapes.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_loss as tl
from tinygrad_loss import autograd, conv_ops, ops
from tinygrad_loss.nn import layers_functional as LF  # noqa: N812 - the library's own alias

F64_TOL = {"rtol": 1e-10, "atol": 1e-12}
PROPERTY = settings(max_examples=25)


# --------------------------------------------------------------------------- references


def out_size(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def padded(x: np.ndarray, padding: tuple, value: float = 0.0) -> np.ndarray:
    ph, pw = padding
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def naive_conv2d(x, w, b, stride, padding, grad):
    """Output and gradients (x, w, b) of a convolution for the upstream gradient ``grad``, one
    output pixel at a time."""
    (sh, sw), (ph, pw) = stride, padding
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    xp = padded(x, padding)
    oh, ow = out_size(h, kh, sh, ph), out_size(wd, kw, sw, pw)
    out = np.zeros((n, f, oh, ow))
    grad_xp, grad_w = np.zeros_like(xp), np.zeros_like(w)
    for s in range(n):
        for o in range(f):
            for i in range(oh):
                for j in range(ow):
                    window = (s, slice(None), slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw))
                    out[s, o, i, j] = (xp[window] * w[o]).sum() + (0.0 if b is None else b[o])
                    grad_xp[window] += grad[s, o, i, j] * w[o]
                    grad_w[o] += grad[s, o, i, j] * xp[window]
    return out, grad_xp[:, :, ph:ph + h, pw:pw + wd], grad_w, grad.sum(axis=(0, 2, 3))


def naive_max_pool2d(x, kernel, stride, padding, grad):
    """Output and input gradient of max pooling: each window's gradient to its first maximum
    (np.argmax's choice, a NaN counting as the maximum)."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c, h, w = x.shape
    xp = padded(x, padding, -np.inf)
    oh, ow = out_size(h, kh, sh, ph), out_size(w, kw, sw, pw)
    out = np.zeros((n, c, oh, ow))
    grad_xp = np.zeros_like(xp)
    for s in range(n):
        for ch in range(c):
            for i in range(oh):
                for j in range(ow):
                    window = xp[s, ch, i * sh:i * sh + kh, j * sw:j * sw + kw]
                    p, q = divmod(int(np.argmax(window)), kw)
                    out[s, ch, i, j] = window[p, q]
                    grad_xp[s, ch, i * sh + p, j * sw + q] += grad[s, ch, i, j]
    return out, grad_xp[:, :, ph:ph + h, pw:pw + w]


class MaxPick(ops.Op):
    """Largest entry along the last axis, the gradient to the first maximum only: max pooling's
    rule written the plain way (argmax), as the library did before conv_ops."""

    @staticmethod
    def forward(ctx, x):
        index = x.argmax(axis=-1)[..., None]
        ctx.save_for_backward(np.arange(x.shape[-1]) == index)
        return np.take_along_axis(x, index, axis=-1)[..., 0]

    @staticmethod
    def backward(ctx, grad):
        (is_max,) = ctx.saved_tensors
        return grad[..., None] * is_max


def composed_max_pool2d(x: tl.Tensor, kernel, stride, padding) -> tl.Tensor:
    """max_pool2d as it was before conv_ops: -inf padding, Windows and MaxPick (the reference
    for the first-maximum rule)."""
    ph, pw = padding
    patches = ops.Windows.apply(x.pad(((0, 0), (0, 0), (ph, ph), (pw, pw)), -np.inf), kernel=kernel, stride=stride)
    return MaxPick.apply(patches.reshape(patches.shape[:4] + (-1,)))


def integers(rng, shape, low=-3, high=4) -> np.ndarray:
    """Small integers as float64: products and sums stay exact, and ties are common."""
    return rng.integers(low, high, shape).astype(np.float64)


def conv(x, w, b=None, stride=(1, 1), padding=(0, 0)) -> tl.Tensor:
    inputs = (x, w) if b is None else (x, w, b)
    return conv_ops.Conv2d.apply(*inputs, stride=stride, padding=padding)


def pool(x, kernel=(2, 2), stride=(2, 2), padding=(0, 0)) -> tl.Tensor:
    return conv_ops.MaxPool2d.apply(x, kernel=kernel, stride=stride, padding=padding)


def leaves(*arrays):
    return [tl.tensor(a, requires_grad=True) for a in arrays]


# --------------------------------------------------------------------------- Conv2d: exact values

CONV_CASES = [
    # batch, in channels, out channels, (H, W), kernel, stride, padding, bias
    (1, 1, 1, (4, 4), (2, 2), (1, 1), (0, 0), False),
    (3, 2, 3, (5, 6), (3, 3), (1, 1), (1, 1), True),
    (2, 3, 2, (7, 5), (3, 2), (2, 1), (1, 0), True),
    (1, 2, 2, (6, 6), (2, 3), (2, 2), (2, 1), True),
    (3, 1, 4, (5, 5), (1, 1), (2, 2), (0, 0), True),
    (2, 2, 1, (4, 4), (4, 4), (1, 1), (2, 2), False),
    (2, 4, 2, (8, 8), (2, 2), (2, 2), (0, 0), True),  # stride == kernel: the windows tile the image
]


@pytest.mark.parametrize("n,c,f,hw,kernel,stride,padding,bias", CONV_CASES)
def test_conv2d_exact_against_loops(n, c, f, hw, kernel, stride, padding, bias):
    rng = np.random.default_rng(1)
    x_np, w_np, b_np = integers(rng, (n, c) + hw), integers(rng, (f, c) + kernel), integers(rng, (f,))
    x, w, b = leaves(x_np, w_np, b_np)
    out = conv(x, w, b if bias else None, stride, padding)
    grad = integers(rng, out.shape)
    out.backward(grad)
    want_out, want_x, want_w, want_b = naive_conv2d(x_np, w_np, b_np if bias else None, stride, padding, grad)
    np.testing.assert_array_equal(out.data, want_out)
    np.testing.assert_array_equal(x.grad.data, want_x)
    np.testing.assert_array_equal(w.grad.data, want_w)
    if bias:
        np.testing.assert_array_equal(b.grad.data, want_b)
    else:
        assert b.grad is None


def test_conv2d_is_one_node_and_layers_use_it():
    rng = np.random.default_rng(2)
    x, w, b = leaves(rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4))
    out = LF.conv2d(x, w, b, stride=2, padding=1)
    assert type(out.grad_fn) is conv_ops.Conv2d
    assert out.grad_fn.inputs == (x, w, b)
    assert type(tl.nn.Conv2d(3, 4, 3)(x).grad_fn) is conv_ops.Conv2d
    assert type(LF.max_pool2d(x, 2).grad_fn) is conv_ops.MaxPool2d
    assert type(tl.nn.MaxPool2d(3, 1, 1)(x).grad_fn) is conv_ops.MaxPool2d


def test_conv2d_input_in_any_memory_layout():
    """The ops keep their images batch-last in memory; any input layout gives the same numbers."""
    rng = np.random.default_rng(3)
    x_np, w_np = integers(rng, (3, 2, 5, 4)), integers(rng, (2, 2, 3, 3))
    layouts = [x_np, np.asfortranarray(x_np), x_np.transpose(1, 2, 3, 0).copy().transpose(3, 0, 1, 2),
               x_np[:, :, ::-1, :][:, :, ::-1, :]]
    results = []
    for layout in layouts:
        x, w = leaves(layout, w_np)
        out = conv(x, w, padding=(1, 1))
        out.backward(np.ones(out.shape))
        results.append((out.data, x.grad.data, w.grad.data))
    for result in results[1:]:
        for got, want in zip(result, results[0]):
            np.testing.assert_array_equal(got, want)
    # the layout chosen for speed: the batch axis is the innermost one in memory
    assert results[0][0].strides[0] == results[0][0].itemsize


def test_conv2d_first_layer_skips_the_input_gradient(monkeypatch):
    """An input that does not require grad (a batch of images) gets no col2im at all."""
    rng = np.random.default_rng(4)
    x = tl.tensor(rng.standard_normal((2, 1, 6, 6)))
    w, b = leaves(rng.standard_normal((3, 1, 3, 3)), rng.standard_normal(3))

    def fail(*args, **kwargs):
        raise AssertionError("col2im ran for an input that needs no gradient")

    monkeypatch.setattr(conv_ops, "_col2im", fail)
    conv(x, w, b, padding=(1, 1)).sum().backward()
    assert x.grad is None and w.grad is not None and b.grad is not None


def test_conv2d_integer_image_takes_the_weight_dtype():
    x = tl.tensor(np.arange(32).reshape(1, 2, 4, 4))
    w = tl.tensor(np.ones((1, 2, 3, 3), dtype=np.float32), requires_grad=True)
    out = LF.conv2d(x, w)
    assert out.dtype == np.float32
    window_sums = [[x.data[0, :, i:i + 3, j:j + 3].sum() for j in range(2)] for i in range(2)]  # kernel of ones
    np.testing.assert_array_equal(out.data[0, 0], window_sums)


def test_conv2d_float32_stays_float32():
    rng = np.random.default_rng(5)
    x, w, b = (tl.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
               for s in [(2, 2, 5, 5), (3, 2, 3, 3), (3,)])
    out = conv(x, w, b, padding=(1, 1))
    out.sum().backward()
    assert out.dtype == x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32


@pytest.mark.parametrize("x_shape,out_channels", [((0, 2, 5, 5), 3), ((2, 0, 5, 5), 3), ((2, 2, 5, 5), 0)])
def test_empty_batch_channels_and_filters(x_shape, out_channels):
    (x,) = leaves(np.zeros(x_shape))
    (w,) = leaves(np.ones((out_channels, x_shape[1], 3, 3)))
    out = conv(x, w, padding=(1, 1))
    assert out.shape == (x_shape[0], out_channels, 5, 5)
    out.sum().backward()
    assert x.grad.shape == x.shape and w.grad.shape == w.shape
    for kernel, stride, padding in [((2, 2), (2, 2), (0, 0)), ((3, 3), (1, 1), (1, 1))]:
        x.grad = None
        pooled = pool(x, kernel, stride, padding)
        pooled.sum().backward()
        assert x.grad.shape == x.shape


# --------------------------------------------------------------------------- Conv2d: gradcheck

GRADCHECK_CASES = [
    # batch, (H, W), kernel, stride, padding
    (1, (4, 4), (3, 3), (1, 1), (0, 0)),
    (3, (4, 5), (3, 2), (1, 1), (1, 1)),
    (1, (5, 5), (2, 3), (2, 2), (1, 0)),
    (3, (3, 4), (2, 2), (2, 1), (2, 2)),
    (1, (5, 4), (1, 2), (2, 2), (0, 1)),
]


@pytest.mark.parametrize("n,hw,kernel,stride,padding", GRADCHECK_CASES)
def test_conv2d_gradcheck(n, hw, kernel, stride, padding):
    rng = np.random.default_rng(6)
    x, w, b = leaves(rng.standard_normal((n, 2) + hw), rng.standard_normal((2, 2) + kernel), rng.standard_normal(2))
    assert autograd.gradcheck(lambda x, w, b: conv(x, w, b, stride, padding), [x, w, b])
    assert autograd.gradcheck(lambda x, w: conv(x, w, None, stride, padding), [x, w])


def first_grads_fn(fn, u):
    """(inputs) -> d/d(inputs) Σ u·tanh(fn(inputs)) with create_graph=True: gradcheck of this is
    a second-order check (backward of backward)."""

    def first_grads(*ts):
        with tl.enable_grad():  # gradcheck evaluates its finite differences under no_grad()
            return autograd.grad((fn(*ts).tanh() * u).sum(), list(ts), create_graph=True)

    return first_grads


@pytest.mark.parametrize("n,hw,kernel,stride,padding", GRADCHECK_CASES[1:4])
def test_conv2d_second_order_gradcheck(n, hw, kernel, stride, padding):
    rng = np.random.default_rng(7)
    x, w, b = leaves(rng.standard_normal((n, 2) + hw), rng.standard_normal((2, 2) + kernel), rng.standard_normal(2))
    fn = lambda x, w, b: conv(x, w, b, stride, padding)
    u = rng.standard_normal(fn(x, w, b).shape)
    first_grads = first_grads_fn(fn, u)
    recorded = first_grads(x, w, b)
    assert all(g.requires_grad for g in recorded), "create_graph=True must give differentiable gradients"
    plain = autograd.grad((fn(x, w, b).tanh() * u).sum(), [x, w, b])
    for g, p in zip(recorded, plain, strict=True):  # the recorded backward computes the same gradients
        np.testing.assert_allclose(g.data, p.data, rtol=1e-12, atol=1e-14)
    assert autograd.gradcheck(first_grads, [x, w, b])


def test_conv2d_second_order_with_a_constant_input():
    """The first layer of a network: x needs no gradient, the weights' gradients are recorded."""
    rng = np.random.default_rng(15)
    x = tl.tensor(rng.standard_normal((2, 1, 4, 4)))
    w, b = leaves(rng.standard_normal((2, 1, 3, 2)), rng.standard_normal(2))
    fn = lambda w, b: conv(x, w, b, (2, 1), (1, 1))
    assert autograd.gradcheck(first_grads_fn(fn, rng.standard_normal(fn(w, b).shape)), [w, b])


def test_gradcheck_graph_reruns_the_ops_from_their_recorded_arguments():
    rng = np.random.default_rng(8)
    x, w, b = leaves(rng.standard_normal((1, 1, 5, 5)), rng.standard_normal((2, 1, 2, 2)), rng.standard_normal(2))
    loss = pool(conv(x, w, b, (1, 1), (1, 1)), (3, 3), (2, 2), (1, 1)).tanh().sum()
    assert autograd.gradcheck_graph(loss)


# --------------------------------------------------------------------------- Conv2d: PyTorch


@pytest.mark.parametrize("n,c,f,hw,kernel,stride,padding,bias", CONV_CASES)
def test_conv2d_matches_torch(torch, n, c, f, hw, kernel, stride, padding, bias):
    rng = np.random.default_rng(9)
    arrays = [rng.standard_normal((n, c) + hw), rng.standard_normal((f, c) + kernel), rng.standard_normal(f)]
    arrays = arrays if bias else arrays[:2]
    ours = leaves(*arrays)
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = conv(*ours, stride=stride, padding=padding)
    ref = torch.nn.functional.conv2d(*theirs, stride=stride, padding=padding)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), **F64_TOL)
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    ref.backward(torch.tensor(upstream))
    for t, r in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(t.grad.data, r.grad.numpy(), **F64_TOL)


def test_second_order_matches_torch(torch):
    """Hessian-vector products through conv -> max pool -> tanh, for x, weight and bias."""
    rng = np.random.default_rng(10)
    arrays = [rng.standard_normal((2, 2, 6, 6)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)]
    ours, theirs = leaves(*arrays), [torch.tensor(a, requires_grad=True) for a in arrays]
    u = rng.standard_normal((2, 3, 3, 3))
    vs = [rng.standard_normal(a.shape) for a in arrays]
    loss = (pool(conv(*ours, padding=(1, 1)), (3, 3), (2, 2), (1, 1)).tanh() * u).sum()
    tloss = (torch.nn.functional.max_pool2d(torch.nn.functional.conv2d(*theirs, padding=1), 3, 2, 1).tanh()
             * torch.tensor(u)).sum()
    grads = autograd.grad(loss, ours, create_graph=True)
    tgrads = torch.autograd.grad(tloss, theirs, create_graph=True)
    for g, tg in zip(grads, tgrads, strict=True):
        np.testing.assert_allclose(g.data, tg.detach().numpy(), **F64_TOL)
    hvp = autograd.grad(sum((g * v).sum() for g, v in zip(grads, vs)), ours)
    thvp = torch.autograd.grad(sum((g * torch.tensor(v)).sum() for g, v in zip(tgrads, vs)), theirs)
    for h, th in zip(hvp, thvp, strict=True):
        np.testing.assert_allclose(h.data, th.numpy(), **F64_TOL)


# --------------------------------------------------------------------------- MaxPool2d

POOL_CASES = [
    # kernel, stride, padding, (H, W), fast path (the windows tile the image)
    ((2, 2), (2, 2), (0, 0), (6, 8), True),
    ((3, 2), (3, 2), (0, 0), (6, 4), True),
    ((2, 2), (2, 2), (0, 0), (5, 6), False),  # 5 rows: the last one is in no window
    ((2, 2), (1, 1), (0, 0), (5, 5), False),  # overlapping windows
    ((3, 3), (2, 2), (1, 1), (7, 6), False),  # overlapping and padded
    ((3, 2), (1, 2), (1, 1), (5, 6), False),
    ((2, 2), (2, 2), (1, 1), (4, 4), False),  # padded: the -inf border never wins
]


@pytest.mark.parametrize("kernel,stride,padding,hw,tiles", POOL_CASES)
def test_max_pool2d_exact_against_loops(kernel, stride, padding, hw, tiles):
    rng = np.random.default_rng(11)
    x_np = np.maximum(integers(rng, (3, 2) + hw), 0)  # ReLU'd small integers: ties everywhere
    (x,) = leaves(x_np)
    out = pool(x, kernel, stride, padding)
    assert out.grad_fn.tiles is tiles
    grad = integers(rng, out.shape)
    out.backward(grad)
    want_out, want_x = naive_max_pool2d(x_np, kernel, stride, padding, grad)
    np.testing.assert_array_equal(out.data, want_out)
    np.testing.assert_array_equal(x.grad.data, want_x)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int8, np.uint8, np.bool_])
def test_max_pool2d_of_integers_pads_with_the_types_minimum(dtype):
    """-inf does not fit in an integer image: the padding is the dtype's lowest value instead
    (it used to be a cast of -inf, with numpy's "invalid value" warning and garbage in uint8)."""
    rng = np.random.default_rng(5)
    x_np = rng.integers(-5 if np.issubdtype(dtype, np.signedinteger) else 0, 6, (2, 3, 5, 4)).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = pool(tl.tensor(x_np), (3, 3), (2, 2), (1, 1))
    want, _ = naive_max_pool2d(x_np.astype(np.float64), (3, 3), (2, 2), (1, 1), np.zeros(out.shape))
    assert out.dtype == dtype
    np.testing.assert_array_equal(out.data, want.astype(dtype))


@pytest.mark.parametrize("kernel,stride,padding,hw,tiles", POOL_CASES)
def test_max_pool2d_same_as_windows_and_maxpick(kernel, stride, padding, hw, tiles):
    """Ties, -inf, +inf and NaNs: exactly the values and gradients of the composed ops."""
    rng = np.random.default_rng(12)
    x_np = np.maximum(integers(rng, (2, 3) + hw), 0)
    x_np.flat[rng.choice(x_np.size, 6, replace=False)] = [np.nan, np.nan, np.inf, np.inf, -np.inf, -np.inf]
    ours, ref = leaves(x_np, x_np)
    out, want = pool(ours, kernel, stride, padding), composed_max_pool2d(ref, kernel, stride, padding)
    np.testing.assert_array_equal(out.data, want.data)
    grad = rng.standard_normal(out.shape)
    out.backward(grad)
    want.backward(grad)
    np.testing.assert_array_equal(ours.grad.data, ref.grad.data)


@pytest.mark.parametrize("kernel,stride,padding", [((2, 2), (2, 2), (0, 0)), ((3, 3), (1, 1), (1, 1))])
def test_max_pool2d_all_zero_input_sends_the_gradient_to_the_first_position(torch, kernel, stride, padding):
    (x,) = leaves(np.zeros((1, 1, 4, 4)))
    tx = torch.zeros((1, 1, 4, 4), dtype=torch.float64, requires_grad=True)
    out = pool(x, kernel, stride, padding)
    ref = torch.nn.functional.max_pool2d(tx, kernel, stride, padding)
    out.backward(np.ones(out.shape))
    ref.backward(torch.ones_like(ref))
    np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())


def test_max_pool2d_ties_hand():
    x = tl.tensor(np.array([[[[0.0, 0.0, 1.0, 1.0],
                              [0.0, 0.0, 0.0, 1.0]]]]), requires_grad=True)
    out = pool(x)
    np.testing.assert_array_equal(out.data, [[[[0.0, 1.0]]]])
    out.backward(np.array([[[[3.0, 5.0]]]]))
    np.testing.assert_array_equal(x.grad.data, [[[[3.0, 0.0, 5.0, 0.0],
                                                  [0.0, 0.0, 0.0, 0.0]]]])


@pytest.mark.parametrize("kernel,stride,padding,hw,tiles", POOL_CASES)
def test_max_pool2d_matches_torch(torch, kernel, stride, padding, hw, tiles):
    rng = np.random.default_rng(13)
    for x_np in [rng.standard_normal((3, 2) + hw), np.maximum(integers(rng, (3, 2) + hw), 0)]:
        (x,) = leaves(x_np)
        tx = torch.tensor(x_np, requires_grad=True)
        out = pool(x, kernel, stride, padding)
        ref = torch.nn.functional.max_pool2d(tx, kernel, stride, padding)
        np.testing.assert_allclose(out.data, ref.detach().numpy(), **F64_TOL)
        upstream = rng.standard_normal(out.shape)
        out.backward(upstream)
        ref.backward(torch.tensor(upstream))
        np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), **F64_TOL)


@pytest.mark.parametrize("kernel,stride,padding,hw,tiles", POOL_CASES[::2])
def test_max_pool2d_gradcheck_and_second_order(kernel, stride, padding, hw, tiles):
    rng = np.random.default_rng(14)
    (x,) = leaves(rng.permutation(np.prod((1, 2) + hw)).reshape((1, 2) + hw) / 7.0)  # distinct: no ties
    fn = lambda x: pool(x, kernel, stride, padding)
    assert autograd.gradcheck(fn, [x])
    assert autograd.gradcheck(first_grads_fn(fn, rng.standard_normal(fn(x).shape)), [x])


def test_max_pool2d_keeps_integer_dtype_without_padding():
    x = tl.tensor(np.arange(32).reshape(1, 2, 4, 4))
    out = LF.max_pool2d(x, 2)
    assert out.dtype == x.dtype
    np.testing.assert_array_equal(out.data[0, 1], [[21, 23], [29, 31]])


# --------------------------------------------------------------------------- properties


@st.composite
def conv_configs(draw):
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    h = draw(st.integers(max(1, kh - 2 * ph), 6))
    w = draw(st.integers(max(1, kw - 2 * pw), 6))
    return dict(n=draw(st.integers(1, 3)), c=draw(st.integers(1, 3)), f=draw(st.integers(1, 3)), hw=(h, w),
                kernel=(kh, kw), stride=(draw(st.integers(1, 3)), draw(st.integers(1, 3))), padding=(ph, pw),
                bias=draw(st.booleans()), seed=draw(st.integers(0, 2**16)))


@PROPERTY
@given(conv_configs())
def test_conv2d_property_exact_against_loops(config):
    rng = np.random.default_rng(config["seed"])
    n, c, f, hw, kernel = config["n"], config["c"], config["f"], config["hw"], config["kernel"]
    x_np, w_np, b_np = integers(rng, (n, c) + hw), integers(rng, (f, c) + kernel), integers(rng, (f,))
    x, w, b = leaves(x_np, w_np, b_np)
    out = conv(x, w, b if config["bias"] else None, config["stride"], config["padding"])
    grad = integers(rng, out.shape)
    out.backward(grad)
    want = naive_conv2d(x_np, w_np, b_np if config["bias"] else None, config["stride"], config["padding"], grad)
    got = (out.data, x.grad.data, w.grad.data, b.grad.data if config["bias"] else want[3])
    for g, expected in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, expected)


@st.composite
def pool_configs(draw):
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return dict(kernel=(kh, kw), stride=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
                padding=(draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))),
                shape=(draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(kh, 7)),
                       draw(st.integers(kw, 7))),
                seed=draw(st.integers(0, 2**16)))


@PROPERTY
@given(pool_configs())
def test_max_pool2d_property_exact_against_loops(config):
    rng = np.random.default_rng(config["seed"])
    x_np = np.maximum(integers(rng, config["shape"]), 0)
    (x,) = leaves(x_np)
    out = pool(x, config["kernel"], config["stride"], config["padding"])
    grad = integers(rng, out.shape)
    out.backward(grad)
    want_out, want_x = naive_max_pool2d(x_np, config["kernel"], config["stride"], config["padding"], grad)
    np.testing.assert_array_equal(out.data, want_out)
    np.testing.assert_array_equal(x.grad.data, want_x)


@PROPERTY
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(0, 2**16))
def test_max_pool2d_property_tiling_fast_path(n, c, oh, ow, seed):
    """Windows that tile the image: the fast path, same numbers as the naive loops."""
    rng = np.random.default_rng(seed)
    kernel = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    x_np = np.maximum(integers(rng, (n, c, oh * kernel[0], ow * kernel[1])), 0)
    (x,) = leaves(x_np)
    out = pool(x, kernel, kernel)
    assert out.grad_fn.tiles
    grad = integers(rng, out.shape)
    out.backward(grad)
    want_out, want_x = naive_max_pool2d(x_np, kernel, kernel, (0, 0), grad)
    np.testing.assert_array_equal(out.data, want_out)
    np.testing.assert_array_equal(x.grad.data, want_x)
