"""Stepping through backward (debug.step_backward), break_on, trace and gradient-flow diagnostics.

The stepper is built on the engine's own loop, so the central check is that consuming every
step leaves exactly the gradients ``backward()`` leaves, on random graphs with broadcasting.
"""

import io
import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_loss as tl
from tinygrad_loss import autograd, nn
from tinygrad_loss.debug import BackwardStep, break_on, formula_with_names, step_backward, trace
from tinygrad_loss.diagnostics import GradFlow, GradientFlowWarning
from tinygrad_loss.errors import GraphError
from tinygrad_loss.ops import Mul


def f64(data, name=None, requires_grad=True):
    return tl.tensor(np.asarray(data, dtype=np.float64), requires_grad=requires_grad, name=name)


# ----------------------------------------------------------------------------- random graphs

SHAPES = [(2, 3), (1, 3), (3,), (2, 1), (), (1, 1)]
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b.tanh() ** 2 + 1.5),  # a divisor that never comes near 0
}
UNARY = {
    "tanh": lambda a: a.tanh(),
    "sigmoid": lambda a: a.sigmoid(),
    "exp": lambda a: a.tanh().exp(),
    "square": lambda a: a * a,  # one tensor used twice by one op
    "sum0": lambda a: a.sum(axis=0, keepdims=True) if a.ndim else a,
    "mean": lambda a: a.mean(),
}


@st.composite
def programs(draw):
    """Leaf shapes and values, then ops that each combine earlier values (leaves reused)."""
    shapes = draw(st.lists(st.sampled_from(SHAPES), min_size=2, max_size=4))
    seed = draw(st.integers(0, 2**16))
    n_ops = draw(st.integers(1, 8))
    ops = []
    for k in range(n_ops):
        available = len(shapes) + k
        if draw(st.booleans()):
            ops.append((draw(st.sampled_from(sorted(BINARY))), draw(st.integers(0, available - 1)),
                        draw(st.integers(0, available - 1))))
        else:
            ops.append((draw(st.sampled_from(sorted(UNARY))), draw(st.integers(0, available - 1)), None))
    return shapes, seed, ops


def build(program):
    """Fresh leaves and the loss of a program: the same numbers every time it is called."""
    shapes, seed, ops = program
    rng = np.random.default_rng(seed)
    leaves = [f64(rng.normal(size=s), name=f"p{i}") for i, s in enumerate(shapes)]
    values = list(leaves)
    for name, i, j in ops:
        values.append(BINARY[name](values[i], values[j]) if j is not None else UNARY[name](values[i]))
    loss = sum(v.sum() for v in values[len(leaves):]) + values[-1].mean()  # every op feeds the loss
    return leaves, loss


@given(programs())
def test_stepping_leaves_the_same_gradients_as_backward(program):
    leaves, loss = build(program)
    steps = list(step_backward(loss))
    assert [s.index for s in steps] == sorted(s.index for s in steps)
    reference_leaves, reference_loss = build(program)
    reference_loss.backward()
    for stepped, reference in zip(leaves, reference_leaves, strict=True):
        if reference.grad is None:
            assert stepped.grad is None
        else:
            np.testing.assert_array_equal(stepped.grad.data, reference.grad.data)
    for step in steps:  # what each input receives has the input's own shape (broadcasting undone)
        for p, g in zip(step.inputs, step.grad_inputs, strict=True):
            if g is not None:
                assert g.shape == p.shape


def test_one_step_per_op_in_backward_order_with_pending_nodes():
    x, w, b = f64(2.0, "x"), f64(-3.0, "w"), f64(6.8813735870195432, "b")
    out = (x * w + b).tanh()
    steps = list(step_backward(out))
    assert [s.op for s in steps] == ["Tanh", "Add", "Mul"]
    assert [s.index for s in steps] == [1, 2, 3]
    assert [len(s.pending) for s in steps] == [2, 1, 0]
    assert all(isinstance(s, BackwardStep) for s in steps)
    mul = steps[2]
    assert mul.inputs == (x, w)
    assert mul.grad_output == pytest.approx(0.5, abs=1e-6)
    np.testing.assert_allclose([mul.grad_inputs[0], mul.grad_inputs[1]], [-1.5, 1.0], atol=1e-6)
    assert mul.local.startswith("d/da = b = -3, d/db = a = 2")
    assert x.grad.item() == pytest.approx(-1.5, abs=1e-6) and b.grad.item() == pytest.approx(0.5, abs=1e-6)


def test_printed_step_is_readable():
    x, w = f64(2.0, "x"), f64(-3.0, "w")
    h = x * w
    h.name = "h1"
    (step,) = list(step_backward(h))
    text = str(step)
    assert text.splitlines()[0] == "step 1: Mul  (h1 = x * w)"
    assert "incoming  grad_output = 1" in text
    assert "local     d/da = b = -3, d/db = a = 2" in text
    assert "sent      x ← -3,  w ← 2" in text


def test_broadcast_note_names_the_input_and_the_summed_axes():
    x = f64(np.arange(12.0).reshape(4, 3), "x")
    b = f64(np.zeros((1, 3)), "b")
    (loss_step, add_step) = list(step_backward((x + b).sum()))
    assert add_step.op == "Add"
    assert "summed over axis 0 because b has shape (1, 3)" in add_step.note
    assert add_step.raw_grad_inputs[1].shape == (4, 3)  # what Add's backward returned
    assert add_step.grad_inputs[1].shape == (1, 3)  # what b actually receives
    np.testing.assert_array_equal(add_step.grad_inputs[1], [[4.0, 4.0, 4.0]])
    assert loss_step.note == ""
    v = f64(np.ones(3), "v")
    (_, step) = list(step_backward((x * v).sum()))
    assert "summed over axis 0 because v has shape (3,)" in step.note


def test_a_tensor_used_twice_shows_both_contributions_and_the_sum():
    x = f64(3.0, "x")
    y = x * x + x
    steps = list(step_backward(y))
    add, mul = steps
    assert add.op == "Add" and mul.op == "Mul"
    acc = mul.running[0]
    assert [float(c) for c in acc.contributions] == [1.0, 3.0, 3.0]
    assert float(acc.total) == 7.0
    assert acc.text() == "1 + 3 + 3 = 7"
    assert "running   x.grad so far = 1 + 3 + 3 = 7" in str(mul)
    assert x.grad.item() == 7.0
    assert [float(c) for c in add.running[1].contributions] == [1.0]  # a snapshot, not the later total


def test_step_backward_accepts_a_gradient_and_retain_graph():
    x = f64([1.0, 2.0], "x")
    y = x * 3
    list(step_backward(y, gradient=np.array([1.0, 10.0]), retain_graph=True))
    np.testing.assert_array_equal(x.grad.data, [3.0, 30.0])
    y.backward(np.array([1.0, 1.0]))  # the graph was kept
    np.testing.assert_array_equal(x.grad.data, [6.0, 33.0])
    z = x * 2
    list(step_backward(z.sum()))
    with pytest.raises(GraphError, match="second time"):
        z.sum().backward()  # a new Sum over the freed Mul


def test_step_backward_of_a_constant_is_a_clear_error():
    with pytest.raises(GraphError, match="does not require grad"):
        next(step_backward(tl.tensor(1.0)))


def test_keep_grads_and_retain_grad_work_while_stepping():
    x = f64(2.0, "x")
    with autograd.keep_grads():
        h = x * x
        out = h.tanh()
        list(step_backward(out))
    assert h.grad.item() == pytest.approx(1 - math.tanh(4.0) ** 2)


# ----------------------------------------------------------------------------- break_on


def test_break_on_drops_into_pdb_with_the_gradient_in_scope():
    x, w = f64(2.0, "x"), f64(-3.0, "w")
    loss = (x * w).tanh()
    out = io.StringIO()
    commands = io.StringIO("p grad_output\np [i.name for i in inputs]\np op\np len(saved)\nc\n")
    with break_on("mul", stdin=commands, stdout=out):
        loss.backward()
    text = out.getvalue()
    assert "break_on(Mul): stopped in Mul's backward" in text
    assert "grad_output" in text and "inputs" in text and "saved" in text
    expected = 1 - math.tanh(-6.0) ** 2
    assert f"{expected:.8g}"[:8] in text  # `p grad_output` printed the arriving gradient
    assert "['x', 'w']" in text and "'Mul'" in text and "(Pdb) 2" in text
    assert x.grad.item() == pytest.approx(-3 * expected) and w.grad.item() == pytest.approx(2 * expected)
    assert "backward" in Mul.__dict__ and not hasattr(Mul.__dict__["backward"].__func__, "__wrapped__")


def test_break_on_works_for_step_backward_and_user_functions_and_can_step_in():
    class Cube(autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            local = 3 * x**2
            return grad * local

    x = f64(2.0, "x")
    y = Cube.apply(x)
    out = io.StringIO()
    with break_on("Cube", stdin=io.StringIO("s\nn\nn\nn\np local\nc\n"), stdout=out):
        steps = list(step_backward(y))
    assert [s.op for s in steps] == ["Cube"]
    assert "12.0" in out.getvalue()  # stepped into Cube.backward and printed its local derivative
    assert x.grad.item() == 12.0


def test_break_on_only_stops_at_the_named_op():
    x = f64(2.0, "x")
    out = io.StringIO()
    with break_on("minimum", stdin=io.StringIO("c\n"), stdout=out):  # Minimum inherits Maximum's backward
        tl.maximum(x, f64(1.0)).backward()
    assert out.getvalue() == ""
    assert x.grad.item() == 1.0
    with pytest.raises(ValueError, match="no op called 'nope'.*Mul"):
        with break_on("nope"):
            pass


# ----------------------------------------------------------------------------- trace


def test_trace_prints_a_table_and_changes_no_gradient(capsys):
    x = f64(np.ones((2, 3)), "x")
    w = f64(np.full((3, 1), 0.5), "w")
    loss = ((x @ w).tanh() ** 2).mean()
    text = trace(loss)
    assert capsys.readouterr().out.strip() == text
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["step", "op", "output"]
    assert [line.split()[1] for line in lines[2:]] == ["Mean", "Pow", "Tanh", "MatMul"]
    assert "w:" in lines[-1]
    assert x.grad is None and w.grad is None  # trace put everything back
    loss.backward()  # and the graph is still there
    reference = f64(np.full((3, 1), 0.5))
    ((tl.tensor(np.ones((2, 3))) @ reference).tanh() ** 2).mean().backward()
    np.testing.assert_allclose(w.grad.data, reference.grad.data)
    before = w.grad.data.copy()
    loss2 = (x * 2).sum()
    trace(loss2)
    np.testing.assert_array_equal(w.grad.data, before)


# ----------------------------------------------------------------------------- GradFlow


def test_gradflow_records_norms_warns_once_and_plots(tmp_path):
    tl.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    x = tl.tensor(np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32))
    flow = GradFlow(vanish=1e-7, explode=1e3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            model.zero_grad()
            model(x).sum().backward()
            norms = flow.record(model)
    assert set(norms) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert all(len(v) == 3 and all(n > 0 for n in v) for v in flow.history.values())
    assert norms["2.bias"] == pytest.approx(5.0)  # d(sum of 5 outputs)/d(bias) = 5 per output
    with pytest.warns(GradientFlowWarning) as record:
        for scale in (1e-9, 1e5, 1e5):
            for p in model.parameters():
                p.grad = tl.tensor(np.full(p.shape, scale, dtype=np.float32))
            flow.record(model)
    messages = [str(w.message) for w in record]
    assert sum("vanished" in m for m in messages) == 4  # once per parameter
    assert sum("exploded" in m for m in messages) == 4  # once per parameter, not once per step
    assert any("0.weight's gradient vanished" in m for m in messages)
    summary = flow.summary()
    assert "exploding" in summary and "0.weight" in summary and "over 6 steps" in summary
    path = flow.plot(tmp_path / "gradflow.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def test_gradflow_notices_a_parameter_without_gradient():
    flow = GradFlow()
    used, unused = f64(1.0, "used"), f64(1.0, "unused")
    (used * 2).backward()
    with pytest.warns(GradientFlowWarning, match="unused has no gradient"):
        flow.record([("used", used), ("unused", unused)])
    assert math.isnan(flow.history["unused"][0]) and "no gradient" in flow.summary()


def test_formula_names_the_reduced_axes_whether_or_not_they_were_passed():
    x = tl.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert formula_with_names(x.sum().grad_fn, "y", ["x"]) == "y = Σ x over all axes"
    assert formula_with_names(x.mean().grad_fn, "m", ["x"]) == "m = (1/n) Σ x over all axes"
    assert formula_with_names(x.sum(axis=0).grad_fn, "y", ["x"]) == "y = Σ x over axis=0"
    assert formula_with_names(x.sum(dim=1, keepdim=True).grad_fn, "y", ["x"]) == "y = Σ x over axis=1"
