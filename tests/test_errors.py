"""Errors at the API boundary: the right exception class (each also a built-in one), a message
that names the op, what was given and what was expected, and a short traceback (no chained
numpy error: ``raise ... from None``)."""

import re

import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss.errors import (
    AnomalyError,
    DTypeError,
    GradcheckError,
    GraphError,
    IndexOutOfRangeError,
    ShapeError,
    TinygradLossError,
)


def assert_short_traceback(error: BaseException) -> None:
    assert error.__cause__ is None, f"chained cause: {error.__cause__!r}"
    assert error.__context__ is None or error.__suppress_context__, f"visible context: {error.__context__!r}"


def ones(*shape):
    return tl.tensor(np.ones(shape))


def test_exception_hierarchy():
    assert issubclass(ShapeError, ValueError)
    assert issubclass(DTypeError, TypeError)
    assert issubclass(IndexOutOfRangeError, IndexError)
    assert issubclass(GraphError, RuntimeError)
    assert issubclass(AnomalyError, RuntimeError)
    assert issubclass(GradcheckError, RuntimeError)
    for error in (ShapeError, DTypeError, IndexOutOfRangeError, GraphError, AnomalyError, GradcheckError):
        assert issubclass(error, TinygradLossError)


def test_matmul_shape_mismatch():
    with pytest.raises(ShapeError, match=r"matmul.*\(2, 3\).*\(4, 5\)") as info:
        ones(2, 3) @ ones(4, 5)
    assert isinstance(info.value, ValueError)
    assert "3" in str(info.value) and "4" in str(info.value)
    assert_short_traceback(info.value)


def test_matmul_shape_mismatch_functional_and_reversed():
    with pytest.raises(ShapeError, match=r"\(2, 3\).*\(4, 5\)") as info:
        tl.matmul(ones(2, 3), ones(4, 5))
    assert_short_traceback(info.value)
    with pytest.raises(ShapeError, match=r"\(4, 5\).*\(2, 3\)") as info:
        np.ones((4, 5)) @ ones(2, 3)
    assert_short_traceback(info.value)


def test_matmul_of_0d_operand():
    with pytest.raises(ShapeError, match=r"matmul.*\(\).*\(3,\)") as info:
        tl.tensor(2.0) @ ones(3)
    assert_short_traceback(info.value)


def test_elementwise_broadcast_mismatch_names_op_and_shapes():
    with pytest.raises(ShapeError, match=r"Add.*\(2, 3\).*\(4,\)") as info:
        ones(2, 3) + ones(4)
    assert isinstance(info.value, ValueError)
    assert_short_traceback(info.value)


@pytest.mark.parametrize("op, name", [(lambda a, b: a * b, "Mul"), (lambda a, b: a - b, "Sub"),
                                      (lambda a, b: a / b, "Div"), (lambda a, b: tl.maximum(a, b), "Maximum")])
def test_other_elementwise_mismatches(op, name):
    with pytest.raises(ShapeError, match=rf"{name}.*\(2, 3\).*\(4,\)") as info:
        op(ones(2, 3), ones(4))
    assert_short_traceback(info.value)


def test_broadcast_mismatch_with_numpy_array():
    with pytest.raises(ShapeError, match=r"Add.*\(2, 3\).*\(4,\)") as info:
        ones(2, 3) + np.ones(4)
    assert_short_traceback(info.value)


def test_reshape_to_incompatible_size():
    with pytest.raises(ShapeError, match=r"[Rr]eshape.*\(2, 3\)") as info:
        ones(2, 3).reshape(4, 2)
    assert re.search(r"\(4, ?2\)", str(info.value)), str(info.value)  # the requested shape
    assert_short_traceback(info.value)
    with pytest.raises(ShapeError, match=r"[Rr]eshape") as info:
        ones(2, 3).view(-1, 4)
    assert_short_traceback(info.value)


def test_int_tensor_with_requires_grad():
    with pytest.raises(DTypeError, match=r"int64") as info:
        tl.tensor([1, 2, 3], requires_grad=True)
    assert isinstance(info.value, TypeError)
    assert re.search(r"float", str(info.value))
    assert_short_traceback(info.value)


def test_backward_of_non_scalar_without_gradient():
    y = tl.tensor(np.ones((2, 3)), requires_grad=True) * 2
    with pytest.raises(GraphError, match=r"backward.*\(2, 3\)") as info:
        y.backward()
    assert isinstance(info.value, RuntimeError)
    assert "sum()" in str(info.value) or "mean()" in str(info.value)
    assert_short_traceback(info.value)


def test_backward_with_gradient_of_wrong_shape():
    x = tl.tensor(np.ones((2, 3)), requires_grad=True)
    y = x * 2
    with pytest.raises(ShapeError, match=r"backward.*\(3,\).*\(2, 3\)") as info:
        y.backward(np.ones(3))
    assert_short_traceback(info.value)
    y.backward(np.full((2, 3), 0.5))  # a gradient of the right shape works
    np.testing.assert_array_equal(x.grad.data, np.ones((2, 3)))


def test_autograd_grad_with_wrong_grad_outputs_shape():
    x = tl.tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ShapeError, match=r"\(2,\).*\(3,\)"):
        tl.autograd.grad(x * 2, x, grad_outputs=np.ones(2))


@pytest.mark.parametrize("name", ["floaty", "float128", "complex64", "torch.cfloat"])
def test_unknown_dtype_string(name):
    with pytest.raises(DTypeError, match=re.escape(repr(name))) as info:
        tl.tensor([1.0], dtype=name)
    assert isinstance(info.value, TypeError)
    assert "float32" in str(info.value)  # lists what is accepted
    assert_short_traceback(info.value)


def test_unsupported_dtype_object():
    with pytest.raises(DTypeError, match="complex128") as info:
        tl.zeros(2, dtype=np.complex128)
    assert_short_traceback(info.value)
    with pytest.raises(DTypeError, match="unknown dtype") as info:
        tl.tensor([1.0]).to(object())
    assert_short_traceback(info.value)


def test_non_numeric_data():
    with pytest.raises(DTypeError, match="<U3|str") as info:
        tl.tensor("abc")
    assert_short_traceback(info.value)
    with pytest.raises(ShapeError, match="list") as info:
        tl.tensor([[1.0], [1.0, 2.0]])
    assert_short_traceback(info.value)


def test_indexing_out_of_range():
    t = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(IndexError, match=r"index 5.*size 3") as info:
        t[5]
    assert isinstance(info.value, IndexOutOfRangeError)
    assert "Getitem" in str(info.value) and "(3,)" in str(info.value)
    assert_short_traceback(info.value)
    with pytest.raises(IndexOutOfRangeError, match="axis 1") as info:
        ones(2, 3)[:, 7]
    assert_short_traceback(info.value)
    with pytest.raises(IndexOutOfRangeError) as info:
        t[np.array([0, 3])]
    assert_short_traceback(info.value)


def test_axis_out_of_range_in_reduction():
    with pytest.raises((ShapeError, IndexError), match=r"Sum.*\(2, 3\).*axis 2") as info:
        ones(2, 3).sum(axis=2)
    assert_short_traceback(info.value)


@pytest.mark.parametrize("order", [(0, 0), (1,), (0, 1, 2)])
def test_permute_with_a_bad_order(order):
    with pytest.raises(ShapeError, match=r"permute.*\(2, 3\)") as info:
        ones(2, 3).permute(*order)
    assert_short_traceback(info.value)


def test_broadcast_to_an_impossible_shape():
    with pytest.raises(ShapeError, match=r"broadcast_to.*\(2, 3\).*\(4, 3\)") as info:
        ones(2, 3).broadcast_to((4, 3))
    assert_short_traceback(info.value)
    with pytest.raises(ShapeError, match=r"\(3,\).*\(1,\)") as info:
        ones(3).broadcast_to((1,))
    assert_short_traceback(info.value)
    with pytest.raises(ShapeError, match=r"\(2, 3\).*\(3, 4, 3\)") as info:
        ones(2, 3).expand(3, 4, 3)
    assert_short_traceback(info.value)


def test_backward_on_tensor_not_requiring_grad():
    t = tl.tensor([1.0, 2.0]).sum()
    with pytest.raises(GraphError, match="does not require grad") as info:
        t.backward()
    assert "requires_grad=True" in str(info.value)  # says how to fix it
    assert_short_traceback(info.value)
    with tl.no_grad():
        u = (tl.tensor([1.0], requires_grad=True) * 2).sum()
    with pytest.raises(GraphError, match="does not require grad"):
        u.backward()


def test_cat_and_stack_mismatches():
    with pytest.raises(ShapeError, match=r"Cat.*\(2, 3\).*\(2, 4\)") as info:
        tl.cat([ones(2, 3), ones(2, 4)])
    assert_short_traceback(info.value)
    with pytest.raises(ShapeError, match=r"Stack.*\(2, 3\).*\(2, 4\)") as info:
        tl.stack([ones(2, 3), ones(2, 4)])
    assert_short_traceback(info.value)
    with pytest.raises(ShapeError, match="non-empty"):
        tl.cat([])


def test_dot_of_matrices():
    with pytest.raises(ShapeError, match=r"dot.*\(2, 3\)") as info:
        ones(2, 3).dot(ones(3))
    assert_short_traceback(info.value)


def test_in_place_shape_mismatch_outside_graph():
    t = ones(2, 3)
    with pytest.raises(ShapeError, match=r"\(2, 3\)") as info:
        t += np.ones(4)
    assert_short_traceback(info.value)
    with pytest.raises(ShapeError, match=r"copy_.*\(2, 3\)") as info:
        t.copy_(np.ones(5))
    assert_short_traceback(info.value)


def test_grad_of_unused_input():
    x = tl.tensor([1.0], requires_grad=True)
    y = tl.tensor([2.0], requires_grad=True)
    with pytest.raises(GraphError, match="allow_unused"):
        tl.autograd.grad((x * 2).sum(), [x, y])
    gx, gy = tl.autograd.grad((x * 2).sum(), [x, y], allow_unused=True)
    assert gx.item() == 2.0 and gy is None


def test_grad_of_input_not_requiring_grad():
    x = tl.tensor([1.0])
    with pytest.raises(GraphError, match="input 0 does not require grad"):
        tl.autograd.grad((tl.tensor([1.0], requires_grad=True) * x).sum(), x)


def test_multi_element_truth_value():
    with pytest.raises(ValueError, match=r"ambiguous") as info:
        if tl.tensor([1.0, 2.0]):
            pass
    assert_short_traceback(info.value)


def test_device_error_names_device():
    with pytest.raises(ValueError, match="'cuda'") as info:
        tl.tensor([1.0], device="cuda")
    assert_short_traceback(info.value)


def test_user_function_errors_keep_their_cause():
    # for a user's own op the original error is kept as the cause (it is their code)
    class Broken(tl.Function):
        @staticmethod
        def forward(ctx, x):
            return x.reshape(7)

        @staticmethod
        def backward(ctx, grad):
            return grad

    with pytest.raises(ShapeError, match=r"Broken.*\(2, 3\)") as info:
        Broken.apply(ones(2, 3))
    assert isinstance(info.value.__cause__, ValueError)
