"""The Tensor surface of API.md: constructors and dtypes, attributes, operators, in-place
rules, free functions, factories and numpy interop. Values are checked against numpy (and
PyTorch when it is installed)."""

import math
import warnings

import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import engine
from tinygrad_loss.errors import DTypeError, GraphError, ShapeError, TinygradLossError

# --------------------------------------------------------------------------- constructors


@pytest.mark.parametrize(
    "data, dtype",
    [
        (1.5, np.float32),
        ([1.0, 2.0], np.float32),
        ([[1.0, 2.0], [3.0, 4.0]], np.float32),
        ([1, 2.5], np.float32),
        (3, np.int64),
        ([1, 2, 3], np.int64),
        (True, np.bool_),
        ([True, False], np.bool_),
        (np.array([1.0, 2.0]), np.float64),
        (np.array([1.0, 2.0], dtype=np.float32), np.float32),
        (np.float64(2.0), np.float64),
        (np.array([1, 2], dtype=np.int32), np.int32),
    ],
)
def test_constructor_dtype_rules(data, dtype):
    t = tl.Tensor(data)
    assert t.dtype == dtype
    np.testing.assert_array_equal(t.data, np.asarray(data))
    assert isinstance(t.data, np.ndarray)
    assert tl.tensor(data).dtype == dtype


def test_constructor_copies_numpy_input_and_tensor_alias():
    array = np.array([1.0, 2.0])
    t = tl.tensor(array)
    array[0] = 99.0
    assert t.data[0] == 1.0
    assert tl.Variable is tl.Tensor
    v = tl.Variable([1.0], requires_grad=True)
    assert isinstance(v, tl.Tensor) and v.requires_grad


def test_like_constructors_keep_dtype():
    for dtype in (tl.float64, tl.float32, tl.int64):
        t = tl.tensor(np.arange(6).reshape(2, 3).astype(dtype))
        for like in (tl.zeros_like(t), tl.ones_like(t), tl.full_like(t, 7)):
            assert like.dtype == dtype and like.shape == (2, 3)
        np.testing.assert_array_equal(tl.zeros_like(t).data, np.zeros((2, 3)))
        np.testing.assert_array_equal(tl.ones_like(t).data, np.ones((2, 3)))
        np.testing.assert_array_equal(tl.full_like(t, 7).data, np.full((2, 3), 7))
    d = tl.tensor(np.zeros(4))
    assert tl.randn_like(d).dtype == tl.float64 and tl.randn_like(d).shape == (4,)
    assert tl.rand_like(d).dtype == tl.float64
    assert tl.zeros_like(d, dtype=tl.float32).dtype == tl.float32
    assert tl.ones_like(d, requires_grad=True).requires_grad


@pytest.mark.parametrize(
    "spec, expected",
    [
        (tl.float32, np.float32),
        (tl.float64, np.float64),
        (tl.float, np.float32),
        (tl.double, np.float64),
        (tl.int64, np.int64),
        (tl.long, np.int64),
        (tl.bool, np.bool_),
        ("float32", np.float32),
        ("float64", np.float64),
        ("float", np.float32),
        ("double", np.float64),
        ("long", np.int64),
        ("int64", np.int64),
        ("bool", np.bool_),
        ("torch.float64", np.float64),
        (np.float64, np.float64),
        (float, np.float32),
        (int, np.int64),
    ],
)
def test_dtype_argument_objects_and_strings(spec, expected):
    t = tl.tensor([1, 0, 2], dtype=spec)
    assert t.dtype == expected
    np.testing.assert_array_equal(t.data, np.array([1, 0, 2]).astype(expected))
    assert tl.zeros(2, dtype=spec).dtype == expected
    assert tl.ones(2, dtype=spec).dtype == expected


def test_dtype_objects_compare_with_numpy():
    assert tl.float32 == np.float32 and tl.float64 == np.float64
    assert tl.float is tl.float32 and tl.double is tl.float64 and tl.long is tl.int64
    assert tl.tensor([1.0]).dtype == tl.float32
    assert tl.tensor([1.0]).dtype == tl.float


@pytest.mark.parametrize("data", [[1, 2], 3, [True, False]])
def test_integer_or_bool_tensor_cannot_require_grad(data):
    with pytest.raises(DTypeError, match="int64|bool") as info:
        tl.tensor(data, requires_grad=True)
    assert isinstance(info.value, TypeError)
    assert "float" in str(info.value)  # says what to do


def test_int_dtype_argument_with_requires_grad_raises():
    with pytest.raises(DTypeError, match="int64"):
        tl.tensor([1.0, 2.0], dtype="long", requires_grad=True)
    with pytest.raises(DTypeError, match="int64"):
        tl.zeros(3, dtype=tl.int64, requires_grad=True)


def test_dtype_conversion_methods():
    t = tl.tensor([1.7, -2.2, 0.0])
    assert t.double().dtype == tl.float64
    assert t.double().float().dtype == tl.float32
    assert t.long().dtype == tl.int64
    np.testing.assert_array_equal(t.long().data, [1, -2, 0])  # truncation, as PyTorch
    assert t.to(tl.float64).dtype == tl.float64
    assert t.to("double").dtype == tl.float64
    assert t.to("cpu") is t
    assert t.to(tl.device("cpu")).dtype == tl.float32
    assert t.to("cpu", tl.float64).dtype == tl.float64
    assert t.to(device="cpu", dtype="long").dtype == tl.int64
    assert t.float() is t  # no copy when nothing changes


def test_dtype_conversion_keeps_gradient_flowing():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert y.dtype == tl.float64 and y.grad_fn is not None
    (y * y).sum().backward()
    assert x.grad.dtype == tl.float32
    np.testing.assert_allclose(x.grad.data, [2.0, 4.0])


def test_device_arguments():
    cpu = tl.device("cpu")
    assert cpu == "cpu" and cpu == tl.device(cpu)
    t = tl.tensor([1.0], device="cpu")
    assert t.device == "cpu"
    np.testing.assert_array_equal(tl.tensor([1.0], dtype=tl.float, device=tl.device("cpu")).data, [1.0])
    assert tl.zeros(2, device="cpu").shape == (2,)
    assert tl.randn(2, device=cpu).shape == (2,)


@pytest.mark.parametrize(
    "make",
    [
        lambda: tl.device("cuda"),
        lambda: tl.device("mps"),
        lambda: tl.tensor([1.0], device="cuda"),
        lambda: tl.tensor([1.0], device="cuda:0"),
        lambda: tl.zeros(2, device="cuda"),
        lambda: tl.ones(2, device="cuda"),
        lambda: tl.tensor([1.0]).to("cuda"),
    ],
)
def test_non_cpu_devices_rejected(make):
    with pytest.raises(ValueError, match="cpu"):
        make()


# --------------------------------------------------------------------------- attributes


def test_basic_attributes():
    t = tl.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], name="t")
    assert isinstance(t.data, np.ndarray)
    assert t.shape == (2, 3) and t.ndim == 2 and t.dtype == tl.float32
    assert t.size() == (2, 3) and t.size(0) == 2 and t.size(1) == 3 and t.size(-1) == 3
    assert t.numel() == 6
    assert t.name == "t"
    assert t.grad is None and t.grad_fn is None and t.is_leaf and t.requires_grad is False
    assert np.asarray(t) is t.data
    assert t.numpy() is t.data
    np.testing.assert_array_equal(np.asarray(t), [[1, 2, 3], [4, 5, 6]])


def test_grad_fn_and_is_leaf():
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    assert w.is_leaf and w.grad_fn is None
    h = w * 2
    assert not h.is_leaf
    assert repr(h.grad_fn) == "<MulBackward>"
    assert repr((h + 1).grad_fn) == "<AddBackward>"
    assert repr(h.sum().grad_fn) == "<SumBackward>"
    assert repr(h.exp().grad_fn) == "<ExpBackward>"
    c = tl.tensor([1.0]) * 2  # no grad needed: no node
    assert c.grad_fn is None and c.is_leaf


def test_grad_is_assignable():
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    (w * 3).sum().backward()
    np.testing.assert_allclose(w.grad.data, [3.0, 3.0])
    w.grad = None
    assert w.grad is None
    (w * 3).sum().backward()
    np.testing.assert_allclose(w.grad.data, [3.0, 3.0])
    w.grad = tl.tensor([0.5, 0.5])
    (w * 3).sum().backward()
    np.testing.assert_allclose(w.grad.data, [3.5, 3.5])
    w.grad = np.array([1.0, 1.0])
    assert isinstance(w.grad, tl.Tensor)
    np.testing.assert_allclose(w.grad.data, [1.0, 1.0])
    with pytest.raises(ShapeError, match=r"\(3,\).*\(2,\)"):
        w.grad = tl.tensor([1.0, 2.0, 3.0])


def test_item_and_python_number_conversions():
    assert tl.tensor(2.5).item() == 2.5 and isinstance(tl.tensor(2.5).item(), float)
    assert tl.tensor([7]).item() == 7 and isinstance(tl.tensor([7]).item(), int)
    assert tl.tensor([[True]]).item() is True
    assert float(tl.tensor([[2.5]])) == 2.5
    assert int(tl.tensor(3.9)) == 3
    assert int(tl.tensor([-3.9])) == -3
    assert bool(tl.tensor(0.0)) is False and bool(tl.tensor([2.0])) is True
    x = tl.tensor(2.0, requires_grad=True)
    assert float(x * 3) == 6.0


@pytest.mark.parametrize("convert", [float, int, bool, lambda t: t.item()])
def test_multi_element_conversions_raise(convert):
    with pytest.raises(ValueError, match=r"\(2,\)"):
        convert(tl.tensor([1.0, 2.0]))


def test_repr():
    assert repr(tl.tensor([1.0, 2.0])) == "Tensor([1., 2.])"
    assert repr(tl.tensor([1.0, 2.0], requires_grad=True)) == "Tensor([1., 2.], requires_grad=True)"
    h = tl.tensor([0.5, 1.0], requires_grad=True) * 2
    h.name = "h1"
    assert repr(h) == "Tensor([1., 2.], grad_fn=<MulBackward>, name='h1')"
    assert repr(tl.tensor(2.0)) == "Tensor(2.)"
    assert repr(tl.tensor([1, 2])) == "Tensor([1, 2])"
    assert "dtype=float64" in repr(tl.tensor(np.array([1.0])))


def test_format_of_0d_tensor():
    t = tl.tensor(3.14159)
    assert f"{t:.2f}" == "3.14"
    assert f"{tl.tensor(2.0, requires_grad=True) * 2:.1f}" == "4.0"
    assert f"{tl.tensor([1.5]):.3f}" == "1.500"
    assert "Tensor(" in f"{tl.tensor([1.0, 2.0])}"


def test_len_and_iteration():
    t = tl.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert len(t) == 3
    rows = list(t)
    assert len(rows) == 3 and all(isinstance(r, tl.Tensor) for r in rows)
    np.testing.assert_array_equal(rows[2].data, [5.0, 6.0])


# --------------------------------------------------------------------------- operators


def _pair(requires_grad=True):
    return tl.tensor(np.array([1.0, 2.0, 4.0]), requires_grad=requires_grad)


OPERATOR_CASES = [
    ("t + 2", lambda t: t + 2, lambda v: v + 2, 1.0),
    ("2 + t", lambda t: 2 + t, lambda v: 2 + v, 1.0),
    ("t - 2", lambda t: t - 2, lambda v: v - 2, 1.0),
    ("2 - t", lambda t: 2 - t, lambda v: 2 - v, -1.0),
    ("t * 3", lambda t: t * 3, lambda v: v * 3, 3.0),
    ("3 * t", lambda t: 3 * t, lambda v: 3 * v, 3.0),
    ("t / 2", lambda t: t / 2, lambda v: v / 2, 0.5),
    ("2 / t", lambda t: 2 / t, lambda v: 2 / v, lambda v: -2 / v**2),
    ("t ** 2", lambda t: t**2, lambda v: v**2, lambda v: 2 * v),
    ("2 ** t", lambda t: 2**t, lambda v: 2**v, lambda v: 2**v * math.log(2)),
    ("-t", lambda t: -t, lambda v: -v, -1.0),
    ("t + arr", lambda t: t + np.array([1.0, 1.0, 1.0]), lambda v: v + 1, 1.0),
    ("arr + t", lambda t: np.array([1.0, 1.0, 1.0]) + t, lambda v: v + 1, 1.0),
    ("arr - t", lambda t: np.array([1.0, 1.0, 1.0]) - t, lambda v: 1 - v, -1.0),
    ("arr * t", lambda t: np.array([2.0, 3.0, 4.0]) * t, lambda v: np.array([2.0, 3.0, 4.0]) * v,
     lambda v: np.array([2.0, 3.0, 4.0])),
    ("t * arr", lambda t: t * np.array([2.0, 3.0, 4.0]), lambda v: np.array([2.0, 3.0, 4.0]) * v,
     lambda v: np.array([2.0, 3.0, 4.0])),
    ("arr / t", lambda t: np.array([1.0, 1.0, 1.0]) / t, lambda v: 1 / v, lambda v: -1 / v**2),
    ("arr ** t", lambda t: np.array([3.0, 3.0, 3.0]) ** t, lambda v: 3.0**v, lambda v: 3.0**v * math.log(3)),
    ("t @ arr", lambda t: t @ np.array([1.0, 2.0, 3.0]), lambda v: v @ np.array([1.0, 2.0, 3.0]),
     lambda v: np.array([1.0, 2.0, 3.0])),
    ("arr @ t", lambda t: np.array([1.0, 2.0, 3.0]) @ t, lambda v: np.array([1.0, 2.0, 3.0]) @ v,
     lambda v: np.array([1.0, 2.0, 3.0])),
    ("t + t", lambda t: t + t, lambda v: 2 * v, 2.0),
]


@pytest.mark.parametrize("fn, value, derivative", [c[1:] for c in OPERATOR_CASES],
                         ids=[c[0] for c in OPERATOR_CASES])
def test_operators_with_numbers_and_arrays(fn, value, derivative):
    t = _pair()
    v = t.data.copy()
    out = fn(t)
    assert isinstance(out, tl.Tensor)
    assert out.requires_grad and out.grad_fn is not None
    np.testing.assert_allclose(out.data, value(v), rtol=1e-12)
    out.sum().backward()
    expected = derivative(v) if callable(derivative) else np.full(3, derivative)
    np.testing.assert_allclose(t.grad.data, np.broadcast_to(expected, (3,)), rtol=1e-12)


def test_matmul_and_unary_ops_on_matrices():
    a = tl.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
    b = np.array([[0.5, -1.0], [2.0, 0.0]])
    out = a @ b
    np.testing.assert_allclose(out.data, a.data @ b)
    out.sum().backward()
    np.testing.assert_allclose(a.grad.data, np.ones((2, 2)) @ b.T)
    np.testing.assert_allclose((b @ a).data, b @ a.data)
    np.testing.assert_allclose(abs(tl.tensor([-1.5, 2.0])).data, [1.5, 2.0])
    assert (+a) is a


def test_broadcast_gradient_is_summed_back():
    x = tl.tensor(np.ones((4, 3)), requires_grad=True)
    b = tl.tensor(np.array([[1.0, 2.0, 3.0]]), requires_grad=True)
    s = tl.tensor(np.array(2.0), requires_grad=True)
    ((x + b) * s).sum().backward()
    np.testing.assert_allclose(b.grad.data, [[8.0, 8.0, 8.0]])
    assert b.grad.shape == (1, 3)
    assert s.grad.shape == () and s.grad.item() == pytest.approx(4 * 3 + 4 * 6)
    np.testing.assert_allclose(x.grad.data, np.full((4, 3), 2.0))


@pytest.mark.parametrize(
    "op, expected",
    [
        (lambda t: t < 2, [True, False, False]),
        (lambda t: t <= 2, [True, True, False]),
        (lambda t: t > 2, [False, False, True]),
        (lambda t: t >= 2, [False, True, True]),
        (lambda t: t == 2, [False, True, False]),
        (lambda t: t != 2, [True, False, True]),
        (lambda t: 2 < t, [False, False, True]),
        (lambda t: 2 >= t, [True, True, False]),
        (lambda t: t < np.array([2.0, 2.0, 5.0]), [True, False, True]),
        (lambda t: t == tl.tensor([1.0, 0.0, 4.0]), [True, False, True]),
    ],
)
def test_comparisons_give_bool_tensors_without_grad(op, expected):
    t = _pair()
    out = op(t)
    assert isinstance(out, tl.Tensor)
    assert out.dtype == tl.bool
    assert out.requires_grad is False and out.grad_fn is None
    assert out.data.tolist() == expected


def test_comparison_with_array_on_the_left_gives_right_values():
    out = np.array([2.0, 2.0, 5.0]) > _pair()
    assert np.asarray(out).dtype == np.bool_
    assert np.asarray(out).tolist() == [True, False, True]


# --------------------------------------------------------------------------- in place


def test_sgd_step_under_no_grad_is_in_place():
    w = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (w * w).sum().backward()
    ident, array = id(w), w.data
    with tl.no_grad():
        w -= 0.1 * w.grad
    assert id(w) == ident and w.data is array
    assert w.is_leaf and w.requires_grad and w.grad_fn is None
    np.testing.assert_allclose(w.data, [0.8, 1.6, 2.4], rtol=1e-6)
    with tl.no_grad():
        w += 1
        w *= 2
        w /= 4
    assert w.data is array
    np.testing.assert_allclose(w.data, [0.9, 1.3, 1.7], rtol=1e-6)


def test_in_place_outside_any_graph():
    t = tl.tensor([1.0, 2.0])
    ident, array = id(t), t.data
    t += 1
    t *= tl.tensor([2.0, 3.0])
    t -= np.array([1.0, 1.0])
    t /= 2
    assert id(t) == ident and t.data is array
    np.testing.assert_allclose(t.data, [1.5, 4.0])


def test_in_place_on_non_leaf_records_a_new_node():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    y = tl.tensor([3.0, 5.0], requires_grad=True)
    h = x * 2
    old, old_data = h, h.data.copy()
    h += y
    assert h is not old
    np.testing.assert_array_equal(old.data, old_data)  # the recorded value is untouched
    np.testing.assert_allclose(h.data, [5.0, 9.0])
    h *= x
    np.testing.assert_allclose(h.data, [5.0, 18.0])
    h.sum().backward()
    # h = (2x + y)·x: dh/dx = 4x + y, dh/dy = x
    np.testing.assert_allclose(x.grad.data, [7.0, 13.0])
    np.testing.assert_allclose(y.grad.data, [1.0, 2.0])


def test_in_place_with_grad_tensor_on_constant_records_node():
    c = tl.tensor([1.0, 2.0])
    x = tl.tensor([3.0, 4.0], requires_grad=True)
    c += x
    assert c.requires_grad and c.grad_fn is not None
    np.testing.assert_allclose(c.data, [4.0, 6.0])
    c.sum().backward()
    np.testing.assert_allclose(x.grad.data, [1.0, 1.0])


@pytest.mark.parametrize("op", ["+=", "-=", "*=", "/="])
def test_in_place_on_leaf_requiring_grad_raises(op):
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(GraphError, match="leaf") as info:
        exec(f"w {op} 1.0", {}, {"w": w})
    assert isinstance(info.value, RuntimeError)
    # PyTorch's wording, so that a search for the message finds the explanation
    assert "a leaf Variable that requires grad is being used in an in-place operation" in str(info.value)
    assert "no_grad" in str(info.value)  # and the fix
    np.testing.assert_array_equal(w.data, [1.0, 2.0])


@pytest.mark.parametrize("method", [lambda w: w.zero_(), lambda w: w.fill_(3.0), lambda w: w.copy_(np.zeros(2))])
def test_zero_fill_copy_on_leaf_requiring_grad_raise(method):
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(GraphError, match="leaf"):
        method(w)
    np.testing.assert_array_equal(w.data, [1.0, 2.0])


def test_zero_fill_copy():
    t = tl.tensor([1.0, 2.0, 3.0])
    array = t.data
    assert t.zero_() is t and t.data is array
    np.testing.assert_array_equal(t.data, [0.0, 0.0, 0.0])
    assert t.fill_(2.5) is t
    np.testing.assert_array_equal(t.data, [2.5, 2.5, 2.5])
    assert t.copy_(tl.tensor([4.0, 5.0, 6.0])) is t and t.data is array
    np.testing.assert_array_equal(t.data, [4.0, 5.0, 6.0])
    t.copy_(np.array([7.0, 8.0, 9.0]))
    np.testing.assert_array_equal(t.data, [7.0, 8.0, 9.0])
    t.copy_(tl.tensor(1.0))  # broadcasts
    np.testing.assert_array_equal(t.data, [1.0, 1.0, 1.0])
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    with tl.no_grad():
        w.copy_(tl.tensor([3.0, 4.0]))
        w.fill_(0.5)
    np.testing.assert_array_equal(w.data, [0.5, 0.5])


def test_zero_fill_copy_on_grad_tensors():
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    grad = w.grad
    assert grad.zero_() is grad
    np.testing.assert_array_equal(w.grad.data, [0.0, 0.0])
    (w * w).sum().backward()  # accumulates into the zeroed grad
    np.testing.assert_allclose(w.grad.data, [2.0, 4.0])
    w.grad.fill_(1.0)
    np.testing.assert_array_equal(w.grad.data, [1.0, 1.0])
    w.grad.copy_(np.array([5.0, 6.0]))
    np.testing.assert_array_equal(w.grad.data, [5.0, 6.0])


def test_grad_is_not_aliased_between_leaves():
    a = tl.tensor([1.0, 2.0], requires_grad=True)
    b = tl.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()  # both get the same incoming gradient
    a.grad.zero_()
    np.testing.assert_array_equal(b.grad.data, [1.0, 1.0])
    np.testing.assert_array_equal(a.grad.data, [0.0, 0.0])


# --------------------------------------------------------------------------- free functions


X = np.array([[0.5, -1.2, 2.0], [0.3, 0.9, -0.4]])
XPOS = np.abs(X) + 0.1


UNARY = [
    ("exp", np.exp, X),
    ("log", np.log, XPOS),
    ("log1p", np.log1p, XPOS),
    ("sqrt", np.sqrt, XPOS),
    ("abs", np.abs, X),
    ("sin", np.sin, X),
    ("cos", np.cos, X),
    ("tanh", np.tanh, X),
    ("sigmoid", lambda v: 1 / (1 + np.exp(-v)), X),
    ("relu", lambda v: np.maximum(v, 0), X),
    ("square", np.square, X),
    ("neg", np.negative, X),
    ("softplus", lambda v: np.log1p(np.exp(v)), X),
]


@pytest.mark.parametrize("name, reference, values", UNARY, ids=[u[0] for u in UNARY])
def test_elementwise_free_functions(name, reference, values):
    fn = getattr(tl, name)
    x = tl.tensor(values, requires_grad=True)
    out = fn(x)
    method_out = getattr(x, name)() if hasattr(x, name) else out
    assert isinstance(out, tl.Tensor) and out.grad_fn is not None
    np.testing.assert_allclose(out.data, reference(values), rtol=1e-12)
    np.testing.assert_array_equal(method_out.data, out.data)
    # on plain data as well
    np.testing.assert_allclose(fn(values).data, reference(values), rtol=1e-12)


TORCH_UNARY = {
    "exp": "exp", "log": "log", "log1p": "log1p", "sqrt": "sqrt", "abs": "abs", "sin": "sin",
    "cos": "cos", "tanh": "tanh", "sigmoid": "sigmoid", "relu": "relu", "square": "square", "neg": "neg",
}


@pytest.mark.parametrize("name", sorted(TORCH_UNARY))
def test_elementwise_gradients_against_torch(name):
    torch = pytest.importorskip("torch", reason="PyTorch not installed")
    values = dict((u[0], u[2]) for u in UNARY)[name]
    x = tl.tensor(values, requires_grad=True)
    (getattr(tl, name)(x) * tl.tensor(X)).sum().backward()
    tx = torch.tensor(values, requires_grad=True)
    (getattr(torch, TORCH_UNARY[name])(tx) * torch.tensor(X)).sum().backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_activation_free_functions_against_torch():
    torch = pytest.importorskip("torch", reason="PyTorch not installed")
    functional = torch.nn.functional
    tx = torch.tensor(X)
    np.testing.assert_allclose(tl.leaky_relu(X, 0.1).data, functional.leaky_relu(tx, 0.1).numpy(), rtol=1e-12)
    np.testing.assert_allclose(tl.gelu(X).data, functional.gelu(tx).numpy(), rtol=1e-10)
    np.testing.assert_allclose(tl.gelu(X, approximate="tanh").data,
                               functional.gelu(tx, approximate="tanh").numpy(), rtol=1e-10)
    np.testing.assert_allclose(tl.softplus(X).data, functional.softplus(tx).numpy(), rtol=1e-12)
    np.testing.assert_allclose(tl.clamp(X, -0.5, 1.0).data, torch.clamp(tx, -0.5, 1.0).numpy())
    np.testing.assert_allclose(tl.clip(X, min=0.0).data, np.clip(X, 0.0, None))


REDUCTIONS = [
    ("sum", lambda v, a, k: np.sum(v, axis=a, keepdims=k)),
    ("mean", lambda v, a, k: np.mean(v, axis=a, keepdims=k)),
    ("max", lambda v, a, k: np.max(v, axis=a, keepdims=k)),
    ("min", lambda v, a, k: np.min(v, axis=a, keepdims=k)),
    ("var", lambda v, a, k: np.var(v, axis=a, keepdims=k)),
    ("std", lambda v, a, k: np.std(v, axis=a, keepdims=k)),
    ("logsumexp", lambda v, a, k: np.log(np.sum(np.exp(v), axis=a, keepdims=k))),
]


@pytest.mark.parametrize("axis, keepdims", [(None, False), (0, False), (1, False), (1, True), ((0, 1), False)])
@pytest.mark.parametrize("name, reference", REDUCTIONS, ids=[r[0] for r in REDUCTIONS])
def test_reduction_free_functions(name, reference, axis, keepdims):
    x = tl.tensor(X, requires_grad=True)
    out = getattr(tl, name)(x, axis, keepdims=keepdims)
    method = getattr(x, name)(axis=axis, keepdims=keepdims)
    expected = reference(X, axis, keepdims)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)
    np.testing.assert_array_equal(method.data, out.data)
    assert out.grad_fn is not None


def test_reduction_dim_keepdim_aliases():
    x = tl.tensor(X)
    np.testing.assert_array_equal(x.sum(dim=1, keepdim=True).data, X.sum(axis=1, keepdims=True))
    np.testing.assert_array_equal(tl.mean(x, dim=0).data, X.mean(axis=0))
    np.testing.assert_array_equal(x.max(dim=1).data, X.max(axis=1))
    np.testing.assert_allclose(x.var(dim=1, correction=1).data, X.var(axis=1, ddof=1))
    np.testing.assert_allclose(x.std(ddof=1).data, X.std(ddof=1))


@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin", "var", "std", "logsumexp"])
def test_reduction_gradients_against_torch(name):
    torch = pytest.importorskip("torch", reason="PyTorch not installed")
    ours = {"amax": "max", "amin": "min"}.get(name, name)
    weights = np.array([1.0, -2.0])
    x = tl.tensor(X, requires_grad=True)
    (getattr(tl, ours)(x, 1) * tl.tensor(weights)).sum().backward()
    tx = torch.tensor(X, requires_grad=True)
    extra = {"correction": 0} if name in ("var", "std") else {}
    (getattr(torch, name)(tx, 1, **extra) * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_and_log_softmax_free_functions(axis):
    e = np.exp(X - X.max(axis=axis, keepdims=True))
    expected = e / e.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(tl.softmax(tl.tensor(X), axis).data, expected, rtol=1e-12)
    np.testing.assert_allclose(tl.tensor(X).softmax(dim=axis).data, expected, rtol=1e-12)
    np.testing.assert_allclose(tl.log_softmax(tl.tensor(X), axis).data, np.log(expected), rtol=1e-12)
    torch = pytest.importorskip("torch", reason="PyTorch not installed")
    weights = np.arange(6.0).reshape(2, 3)
    x = tl.tensor(X, requires_grad=True)
    (tl.softmax(x, axis) * tl.tensor(weights)).sum().backward()
    tx = torch.tensor(X, requires_grad=True)
    (torch.softmax(tx, axis) * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-10, atol=1e-14)


FREE_FUNCTIONS = [
    ("exp", ()), ("log", ()), ("log1p", ()), ("sqrt", ()), ("abs", ()), ("sin", ()), ("cos", ()),
    ("tanh", ()), ("sigmoid", ()), ("relu", ()), ("leaky_relu", (0.2,)), ("gelu", ()), ("softplus", ()),
    ("clip", (0.2, 0.9)), ("clamp", (0.2, 0.9)), ("softmax", (0,)), ("log_softmax", (1,)), ("sum", ()),
    ("mean", (1,)), ("max", (0,)), ("min", ()), ("var", (1,)), ("std", (0,)), ("logsumexp", (1,)),
    ("pow", (3,)), ("square", ()), ("erf", ()),
]


@pytest.mark.parametrize("name, args", FREE_FUNCTIONS, ids=[f[0] for f in FREE_FUNCTIONS])
def test_every_method_is_also_a_free_function(name, args):
    x = tl.tensor(XPOS, requires_grad=True)
    out = getattr(tl, name)(x, *args)
    expected = getattr(x, name)(*args)
    assert isinstance(out, tl.Tensor) and out.grad_fn is not None
    assert type(out.grad_fn) is type(expected.grad_fn)
    np.testing.assert_array_equal(out.data, expected.data)
    out.sum().backward()
    grad = x.grad.data.copy()
    x.grad = None
    expected.sum().backward()
    np.testing.assert_array_equal(grad, x.grad.data)


def test_pow_free_function_and_method():
    x = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    np.testing.assert_allclose(tl.pow(x, 2).data, [1.0, 4.0, 9.0])
    np.testing.assert_allclose(x.pow(3).data, [1.0, 8.0, 27.0])
    tl.pow(x, 2).sum().backward()
    np.testing.assert_allclose(x.grad.data, [2.0, 4.0, 6.0])
    e = tl.tensor([2.0, 0.5, 1.0], requires_grad=True)
    out = x.pow(e)
    np.testing.assert_allclose(out.data, [1.0, np.sqrt(2.0), 3.0], rtol=1e-6)
    out.sum().backward()
    np.testing.assert_allclose(e.grad.data, np.array([1.0, np.sqrt(2.0), 3.0]) * np.log([1.0, 2.0, 3.0]), rtol=1e-6)


def test_cat_concatenate_stack():
    a = tl.tensor(np.ones((2, 3)), requires_grad=True)
    b = tl.tensor(np.full((1, 3), 2.0), requires_grad=True)
    c = tl.cat([a, b])
    assert c.shape == (3, 3)
    np.testing.assert_array_equal(c.data, np.concatenate([np.ones((2, 3)), np.full((1, 3), 2.0)]))
    assert tl.concatenate([a, b], axis=0).shape == (3, 3)
    assert tl.cat([a, a], dim=1).shape == (2, 6)
    (c * tl.tensor(np.arange(9.0).reshape(3, 3))).sum().backward()
    np.testing.assert_array_equal(a.grad.data, np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(b.grad.data, [[6.0, 7.0, 8.0]])
    s = tl.stack([a, a * 2], axis=1)
    assert s.shape == (2, 2, 3)
    np.testing.assert_array_equal(s.data[:, 1], 2 * np.ones((2, 3)))
    assert tl.stack([a, a], dim=0).shape == (2, 2, 3)


def test_where_maximum_minimum():
    cond = tl.tensor([True, False, True])
    a = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = tl.tensor([10.0, 20.0, 30.0], requires_grad=True)
    w = tl.where(cond, a, b)
    np.testing.assert_array_equal(w.data, [1.0, 20.0, 3.0])
    w.sum().backward()
    np.testing.assert_array_equal(a.grad.data, [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(b.grad.data, [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(tl.where(a > 1.5, a, 0.0).data, [0.0, 2.0, 3.0])
    x = tl.tensor([1.0, 5.0, 3.0], requires_grad=True)
    y = tl.tensor([2.0, 4.0, 3.0], requires_grad=True)
    np.testing.assert_array_equal(tl.maximum(x, y).data, [2.0, 5.0, 3.0])
    np.testing.assert_array_equal(tl.minimum(x, y).data, [1.0, 4.0, 3.0])
    np.testing.assert_array_equal(tl.maximum(x, 2.5).data, [2.5, 5.0, 3.0])
    tl.maximum(x, y).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0, 0.5])  # a tie splits the gradient
    np.testing.assert_array_equal(y.grad.data, [1.0, 0.0, 0.5])


def test_other_shape_free_functions():
    x = tl.tensor(np.arange(6.0).reshape(2, 3))
    assert tl.reshape(x, (3, 2)).shape == (3, 2)
    assert tl.flatten(x).shape == (6,)
    assert tl.unsqueeze(x, 0).shape == (1, 2, 3)
    assert tl.squeeze(tl.unsqueeze(x, 0)).shape == (2, 3)
    assert tl.transpose(x, 0, 1).shape == (3, 2)
    assert tl.permute(x, (1, 0)).shape == (3, 2)
    np.testing.assert_array_equal(x.T.data, np.arange(6.0).reshape(2, 3).T)
    assert tl.broadcast_to(tl.tensor([1.0, 2.0, 3.0]), (4, 3)).shape == (4, 3)
    np.testing.assert_array_equal(tl.argmax(x, 1).data, [2, 2])
    assert tl.numel(x) == 6


# --------------------------------------------------------------------------- factories


@pytest.mark.parametrize("factory", [tl.zeros, tl.ones, tl.randn, tl.rand])
def test_sized_factories(factory):
    for shape_args, shape in [((2, 3), (2, 3)), (((2, 3),), (2, 3)), (([4],), (4,)), ((5,), (5,)), (((),), ())]:
        t = factory(*shape_args)
        assert t.shape == shape and t.dtype == tl.float32
        assert t.requires_grad is False and t.is_leaf
    t = factory(2, 2, dtype=tl.float64, requires_grad=True)
    assert t.dtype == tl.float64 and t.requires_grad
    assert factory(3, dtype="double").dtype == tl.float64


def test_factory_values():
    np.testing.assert_array_equal(tl.zeros(2, 3).data, np.zeros((2, 3)))
    np.testing.assert_array_equal(tl.ones(2).data, [1.0, 1.0])
    assert tl.ones(2, dtype=tl.int64).dtype == tl.int64
    r = tl.rand(1000).data
    assert r.min() >= 0.0 and r.max() < 1.0 and 0.4 < r.mean() < 0.6
    n = tl.randn(10_000).data
    assert abs(n.mean()) < 0.05 and 0.95 < n.std() < 1.05
    np.testing.assert_array_equal(tl.eye(3).data, np.eye(3))
    assert tl.eye(3).dtype == tl.float32
    np.testing.assert_array_equal(tl.eye(2, 3, dtype=tl.float64).data, np.eye(2, 3))
    assert tl.eye(2, requires_grad=True).requires_grad


def test_full():
    f = tl.full((2, 3), 1.5)
    assert f.shape == (2, 3) and f.dtype == tl.float32
    np.testing.assert_array_equal(f.data, np.full((2, 3), 1.5))
    scalar = tl.full((), 3.0)
    assert scalar.shape == () and scalar.ndim == 0 and scalar.item() == 3.0
    assert tl.full((2,), 3).dtype == tl.int64  # as torch.full((2,), 3)
    assert tl.full((2,), 3, dtype=tl.float64).dtype == tl.float64
    g = tl.full((2,), 0.5, requires_grad=True)
    (g * g).sum().backward()
    np.testing.assert_allclose(g.grad.data, [1.0, 1.0])


def test_arange_dtypes_like_torch():
    a = tl.arange(5)
    assert a.dtype == tl.int64
    np.testing.assert_array_equal(a.data, [0, 1, 2, 3, 4])
    b = tl.arange(0.0, 1.0, 0.25)
    assert b.dtype == tl.float32
    np.testing.assert_allclose(b.data, [0.0, 0.25, 0.5, 0.75])
    c = tl.arange(2, 8, 2, dtype=tl.float64)
    assert c.dtype == tl.float64
    np.testing.assert_array_equal(c.data, [2.0, 4.0, 6.0])
    assert tl.arange(3, dtype="float", requires_grad=True).requires_grad
    torch = pytest.importorskip("torch", reason="PyTorch not installed")
    assert str(torch.arange(5).dtype) == "torch.int64"
    np.testing.assert_array_equal(tl.arange(1, 10, 3).data, torch.arange(1, 10, 3).numpy())
    np.testing.assert_allclose(tl.arange(0.5, 2.0, 0.5).data, torch.arange(0.5, 2.0, 0.5).numpy())


def test_linspace_logspace():
    lin = tl.linspace(0, 1, 5)
    assert lin.dtype == tl.float32
    np.testing.assert_allclose(lin.data, [0.0, 0.25, 0.5, 0.75, 1.0])
    log = tl.logspace(0, 2, 3)
    assert log.dtype == tl.float32
    np.testing.assert_allclose(log.data, [1.0, 10.0, 100.0])
    np.testing.assert_allclose(tl.logspace(0, 3, 4, base=2.0).data, [1.0, 2.0, 4.0, 8.0])
    assert tl.linspace(-1, 1, 3, dtype=tl.float64).dtype == tl.float64
    torch = pytest.importorskip("torch", reason="PyTorch not installed")
    np.testing.assert_allclose(tl.linspace(-2, 3, 7).data, torch.linspace(-2, 3, 7).numpy(), rtol=1e-6)
    np.testing.assert_allclose(tl.logspace(-1, 1, 5).data, torch.logspace(-1, 1, 5).numpy(), rtol=1e-6)


def test_manual_seed_makes_random_reproducible():
    tl.manual_seed(123)
    a, r1 = tl.randn(5), tl.rand(3)
    tl.manual_seed(123)
    b, r2 = tl.randn(5), tl.rand(3)
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(r1.data, r2.data)
    c = tl.randn(5)
    assert not np.array_equal(a.data, c.data)
    tl.manual_seed(124)
    assert not np.array_equal(tl.randn(5).data, a.data)


# --------------------------------------------------------------------------- numpy interop


def test_numpy_ufunc_on_tensor_records_graph():
    x = tl.tensor([0.5, 1.0], requires_grad=True)
    y = np.exp(x)
    assert isinstance(y, tl.Tensor)
    assert repr(y.grad_fn) == "<ExpBackward>"
    np.testing.assert_allclose(y.data, np.exp([0.5, 1.0]), rtol=1e-6)
    z = np.sin(x) * np.log(x)
    assert isinstance(z, tl.Tensor) and z.grad_fn is not None
    (y.sum() + z.sum()).backward()
    v = np.array([0.5, 1.0])
    np.testing.assert_allclose(x.grad.data, np.exp(v) + np.cos(v) * np.log(v) + np.sin(v) / v, rtol=1e-6)


def test_ndarray_times_tensor_returns_tensor():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    out = np.array([3.0, 4.0]) * x
    assert isinstance(out, tl.Tensor) and out.grad_fn is not None
    np.testing.assert_allclose(out.data, [3.0, 8.0])
    out.sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0, 4.0])


def test_numpy_functions_on_tensors():
    x = tl.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    s = np.sum(x)
    assert isinstance(s, tl.Tensor) and s.item() == 10.0
    s.backward()
    np.testing.assert_array_equal(x.grad.data, np.ones((2, 2)))
    np.testing.assert_array_equal(np.sum(x, axis=0).data, [4.0, 6.0])
    assert np.mean(x).item() == 2.5
    assert np.max(x).item() == 4.0
    assert isinstance(np.concatenate([x, x]), tl.Tensor) and np.concatenate([x, x]).shape == (4, 2)
    assert np.transpose(x).shape == (2, 2)
    np.testing.assert_array_equal(np.transpose(x).data, [[1.0, 3.0], [2.0, 4.0]])
    np.testing.assert_array_equal(np.where(np.array([True, False]), x[0], x[1]).data, [1.0, 4.0])


def test_errors_share_a_base_class():
    for error in (ShapeError, DTypeError, GraphError, tl.errors.IndexOutOfRangeError):
        assert issubclass(error, TinygradLossError)
    assert engine.TeachingWarning.__mro__[1] is UserWarning


# ------------------------------------------- cases a fuzz run against PyTorch found (each was wrong)

def _f64(data, requires_grad=True):
    return tl.tensor(np.asarray(data, dtype=np.float64), requires_grad=requires_grad)


STD_CASES = [  # (values, kwargs): constant slices, where √'s derivative would be 1/(2·0)
    (np.ones(3), {}),
    (np.array([[1.0, 1.0], [1.0, 2.0]]), {"axis": 1, "ddof": 1}),
    (np.array([[3.0, 3.0, 3.0], [0.0, 1.0, 5.0]]), {"axis": 1, "keepdims": True}),
    (np.zeros((2, 3)), {"axis": 0}),
]


@pytest.mark.parametrize("values,kwargs", STD_CASES)
def test_std_of_constant_values_has_gradient_zero_like_torch(torch, values, kwargs):
    x = _f64(values)
    out = x.std(**kwargs)
    upstream = np.arange(1.0, out.data.size + 1).reshape(out.shape)
    out.backward(upstream)
    xt = torch.tensor(values, requires_grad=True)
    dim = kwargs.get("axis")
    out_t = xt.std(dim=dim, correction=kwargs.get("ddof", 0), keepdim=kwargs.get("keepdims", False))
    out_t.backward(torch.tensor(upstream))
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=1e-10, atol=1e-15)
    assert np.isfinite(x.grad.data).all()


def test_std_gradcheck_away_from_zero():
    rng = np.random.default_rng(3)
    for kwargs in ({}, {"axis": 0, "ddof": 1}, {"axis": (0, 2), "keepdims": True}):
        x = _f64(rng.normal(size=(3, 2, 4)))
        assert tl.autograd.gradcheck(lambda t, kw=kwargs: t.std(**kw), (x,))


@pytest.mark.parametrize("method", ["var", "std"])
def test_ddof_equal_to_the_count_gives_nan_gradients_like_torch(torch, method):
    x = _f64(np.ones((1, 3)))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy warns that the degrees of freedom are <= 0
        getattr(x, method)(axis=0, ddof=1).sum().backward()  # used to be a ZeroDivisionError
    xt = torch.ones(1, 3, dtype=torch.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that the degrees of freedom are <= 0
        getattr(xt, method)(dim=0, correction=1).sum().backward()
    assert np.isnan(x.grad.data).all() and torch.isnan(xt.grad).all()


CLIP_CASES = {  # x, min, max: ties with a tensor bound, NaN, min > max
    "min tie": ([0.5, 0.0, -2.0], [0.5, -1.0, -1.0], None),
    "max tie": ([0.5, 2.0, 3.0], None, [0.5, 1.0, 4.0]),
    "both ties": ([0.0, 1.0, 0.5], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]),
    "nan": ([np.nan, 0.2], [0.0, 0.0], [1.0, 1.0]),
    "min above max": ([0.5, 2.0], [1.0, 1.0], [0.0, 0.0]),
}


@pytest.mark.parametrize("case", CLIP_CASES)
def test_clip_with_tensor_bounds_matches_torch(torch, case):
    values, low, high = CLIP_CASES[case]
    x = _f64(values)
    bounds = {k: None if v is None else _f64(v) for k, v in (("min", low), ("max", high))}
    out = x.clip(**bounds)
    upstream = np.arange(1.0, len(values) + 1)
    out.backward(upstream)
    xt = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    bounds_t = {k: None if v is None else torch.tensor(v, dtype=torch.float64, requires_grad=True)
                for k, v in (("min", low), ("max", high))}
    out_t = torch.clamp(xt, **bounds_t)
    out_t.backward(torch.tensor(upstream))
    np.testing.assert_array_equal(out.data, out_t.detach().numpy())
    np.testing.assert_array_equal(x.grad.data, xt.grad.numpy())
    for key, bound in bounds.items():
        if bound is not None:
            np.testing.assert_array_equal(bound.grad.data, bounds_t[key].grad.numpy())


INDEX_CASES = {  # PyTorch applies integers as selects first; numpy would move the array axes to the front
    "int, slice, list": ((2, 3, 4), lambda i: (1, slice(None), [0, 2])),
    "int, None, list": ((2, 3, 4), lambda i: (1, None, [0, 0])),
    "slice, int, slice, list": ((2, 3, 4, 5), lambda i: (slice(None), 0, slice(None), [1, 1, 3])),
    "ellipsis, int, array": ((2, 3, 4), lambda i: (Ellipsis, 1, i([3, 0]))),
    "int, mask": ((2, 3, 4), lambda i: (0, slice(None), i([True, False, True, True]))),
    "0-d int tensor, slice, list": ((2, 3, 4), lambda i: (i(1), slice(1, None), [2, 2, 0])),
    "adjacent (both rules agree)": ((2, 3, 4), lambda i: (0, [2, 1], slice(None))),
    "int, 2-d array, step": ((3, 4, 5), lambda i: (-1, i([[0, 1], [3, 2]]), slice(None, None, 2))),
}


@pytest.mark.parametrize("case", INDEX_CASES)
def test_indexing_with_ints_and_arrays_follows_torch(torch, case):
    shape, make = INDEX_CASES[case]
    values = np.arange(math.prod(shape), dtype=np.float64).reshape(shape)
    x = _f64(values)
    out = x[make(lambda v: tl.tensor(v))]
    xt = torch.tensor(values, requires_grad=True)
    out_t = xt[make(lambda v: torch.tensor(v))]
    assert out.shape == tuple(out_t.shape)
    np.testing.assert_array_equal(out.data, out_t.detach().numpy())
    upstream = np.arange(1.0, out.data.size + 1).reshape(out.shape)
    out.backward(upstream)
    out_t.backward(torch.tensor(upstream))
    np.testing.assert_array_equal(x.grad.data, xt.grad.numpy())
    # assignment uses the same rule
    y, yt = tl.tensor(values.copy()), torch.tensor(values.copy())
    y[make(lambda v: tl.tensor(v))] = -upstream
    yt[make(lambda v: torch.tensor(v))] = torch.tensor(-upstream)
    np.testing.assert_array_equal(y.data, yt.numpy())


@pytest.mark.parametrize("call,error,words", [
    (lambda: tl.zeros(2, 3).argmax(5), tl.errors.IndexOutOfRangeError, "argmax: dimension 5 is out of range"),
    (lambda: tl.zeros(2, 3).argmin(dim=-3), tl.errors.IndexOutOfRangeError, "argmin: dimension -3"),
    (lambda: tl.zeros(2, 3).__setitem__(0, tl.tensor([1.0, 2.0])), ShapeError, "__setitem__: cannot put"),
    (lambda: tl.zeros(3).expand(-1, 3), ShapeError, "expand: -1 keeps an existing size"),
    (lambda: tl.randn(2.5), ShapeError, "randn: expected a shape made of integers"),
    (lambda: tl.zeros(4).reshape(2.0, 2), ShapeError, "reshape: expected a shape made of integers"),
])
def test_bad_arguments_found_by_fuzzing_get_clear_errors(call, error, words):
    with pytest.raises(error, match=words):
        call()


DTYPE_CASES = {  # PyTorch's result dtypes, where numpy's would differ (float64 creeping into a float32 graph)
    "int + 0.5": lambda lib, i, f: i + 0.5,
    "0.5 - int": lambda lib, i, f: 0.5 - i,
    "int / 2": lambda lib, i, f: i / 2,
    "int / int": lambda lib, i, f: i / i,
    "int.exp()": lambda lib, i, f: i.exp(),
    "int.sqrt()": lambda lib, i, f: i.sqrt(),
    "int.sigmoid()": lambda lib, i, f: i.sigmoid(),
    "2.0 ** int": lambda lib, i, f: 2.0 ** i,
    "int ** 2": lambda lib, i, f: i ** 2,
    "int * 3": lambda lib, i, f: i * 3,
    "bool + 1": lambda lib, i, f: (i > 1) + 1,
    "where(c, 1.0, 0.0)": lambda lib, i, f: lib.where(f > 0, 1.0, 0.0),
    "where(c, 1, 0)": lambda lib, i, f: lib.where(f > 0, 1, 0),
    "f32 * where(c, 1.0, 0.0)": lambda lib, i, f: f * lib.where(f > 0, 1.0, 0.0),
    "f32 + int / 2": lambda lib, i, f: f + i / 2,
    "int.clip(0, 3)": lambda lib, i, f: i.clip(0, 3),
    "f32 * 0-d f64": lambda lib, i, f: f * lib.tensor(2.0, dtype=lib.float64),
    "0-d f64 + f32": lambda lib, i, f: lib.tensor(2.0, dtype=lib.float64) + f,
    "int + 0-d f64": lambda lib, i, f: i + lib.tensor(2.0, dtype=lib.float64),
    "f32 + f64": lambda lib, i, f: f + f.double(),
    "int8 + int64": lambda lib, i, f: i.to(lib.int8) + i,
    "maximum(int, f32)": lambda lib, i, f: lib.maximum(i, f),
}


@pytest.mark.parametrize("case", DTYPE_CASES)
def test_result_dtypes_follow_torch(torch, case):
    make = DTYPE_CASES[case]
    ours = make(tl, tl.tensor([1, 2]), tl.tensor([1.0, -2.0]))
    theirs = make(torch, torch.tensor([1, 2]), torch.tensor([1.0, -2.0]))
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(ours.data.astype(np.float64), theirs.double().numpy(), rtol=1e-6)


def test_promoted_operands_get_gradients_in_their_own_dtype():
    x = tl.tensor([1.0, -2.0], requires_grad=True)
    scale = tl.tensor(3.0, dtype=tl.float64, requires_grad=True)
    out = x * scale  # float32, as in PyTorch
    out.sum().backward()
    assert out.dtype == tl.float32 and x.grad.dtype == tl.float32 and scale.grad.dtype == tl.float64
    assert scale.grad.item() == -1.0


MORE_DTYPE_CASES = {  # a second fuzz run's findings
    "int.log1p()": lambda lib, i, f: i.log1p(),
    "bool.log1p()": lambda lib, i, f: (i > 1).log1p(),
    "int.clip(0.5, 2.5)": lambda lib, i, f: i.clip(0.5, 2.5),
    "int.clamp(max=np.float32(2))": lambda lib, i, f: i.clamp(max=np.float32(2)),
    "where(c, np.float64(0.5), 1)": lambda lib, i, f: lib.where(f > 0, np.float64(0.5), 1),
    "where(c, np.int32(1), np.int32(2))": lambda lib, i, f: lib.where(f > 0, np.int32(1), np.int32(2)),
    "f32 > 0-d f64": lambda lib, i, f: lib.tensor([0.1]) > lib.tensor(0.1, dtype=lib.float64),
    "f32 == np.float64(0.1)": lambda lib, i, f: lib.tensor([0.1]) == np.float64(0.1),
    "int == 0-d f32": lambda lib, i, f: lib.tensor([16777217]) == lib.tensor(16777216.0),
    "uint8.sum()": lambda lib, i, f: i.to(lib.uint8).sum(),
    "bool.sum(0)": lambda lib, i, f: (i > 1).sum(0),
}


@pytest.mark.parametrize("case", MORE_DTYPE_CASES)
def test_more_result_dtypes_follow_torch(torch, case):
    make = MORE_DTYPE_CASES[case]
    ours = make(tl, tl.tensor([1, 2]), tl.tensor([1.0, -2.0]))
    theirs = make(torch, torch.tensor([1, 2]), torch.tensor([1.0, -2.0]))
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(ours.data.astype(np.float64), theirs.double().numpy(), rtol=1e-6)


def test_linear_of_integers_computes_in_the_weights_dtype():
    layer = tl.nn.Linear(2, 1)
    out = layer(tl.tensor([[1, 2]]))
    assert out.dtype == tl.float32
    np.testing.assert_allclose(out.data, layer(tl.tensor([[1.0, 2.0]])).data)


@pytest.mark.parametrize("make", [lambda i: (1, slice(None), True), lambda i: (2, slice(None, None, 3), True),
                                  lambda i: (1, slice(None), i(True))])
def test_a_true_next_to_an_integer_index_follows_torch(torch, make):
    values = np.arange(12.0).reshape(3, 4)
    ours, theirs = tl.tensor(values)[make(tl.tensor)], torch.tensor(values)[make(torch.tensor)]
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.data, theirs.numpy())


def test_numbers_a_small_integer_dtype_cannot_hold_are_clear_errors():
    with pytest.raises(DTypeError, match="Add: cannot compute it"):
        tl.tensor([1], dtype=tl.int8) + 200
    with pytest.raises(DTypeError, match="in-place add of a uint8 tensor"):
        t = tl.tensor([1], dtype=tl.uint8)
        t += tl.tensor([1], dtype=tl.int8)
