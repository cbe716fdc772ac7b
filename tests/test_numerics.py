"""Numerics: detect_anomaly finds the first NaN/Inf (forward or backward) and names the op and
the line of this file that made it; float32 training is as good as float64; extreme but valid
inputs (±1e4, -inf entries, underflowing exp) give finite values and finite gradients that match
PyTorch's where PyTorch has the same function.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import nn, optim
from tinygrad_loss.autograd import gradcheck
from tinygrad_loss.data import DATASETS, DataLoader, TensorDataset, train_test_split
from tinygrad_loss.errors import AnomalyError
from tinygrad_loss.nn import functional as F  # noqa: N812 (PyTorch's spelling)
from tinygrad_loss.train import TrainConfig, build_model, train

THIS_FILE = str(Path(__file__).resolve())


def line_of(marker: str) -> int:
    """The line number of the line of this file that ends with the comment ``# <marker>``."""
    for number, line in enumerate(Path(THIS_FILE).read_text().splitlines(), start=1):
        if line.rstrip().endswith(f"# <{marker}>"):
            return number
    raise AssertionError(marker)


# ----------------------------------------------------------------------- detect_anomaly


class LogHead(nn.Module):
    """A small network whose last step takes the log of something that can go negative."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 8, dtype=np.float64), nn.Tanh(), nn.Linear(8, 2, dtype=np.float64))

    def forward(self, x: tl.Tensor) -> tl.Tensor:
        h = self.body(x).tanh()  # in (-1, 1)
        return (h - 1.5).log()  # <forward-nan>


def test_detect_anomaly_names_the_op_and_line_of_a_forward_nan():
    tl.manual_seed(0)
    model = LogHead()
    x = tl.tensor(np.random.default_rng(0).normal(size=(4, 3)))
    with np.errstate(invalid="ignore"):
        silent = model(x)  # without the switch: NaN, no error
    assert np.isnan(silent.numpy()).all()
    with tl.detect_anomaly(), np.errstate(invalid="ignore"), pytest.raises(AnomalyError) as info:
        model(x)
    message = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert "Log produced NaN/Inf in forward" in message, message
    assert f"{THIS_FILE}:{line_of('forward-nan')}" in message, message
    assert "all its inputs were finite" in message


def test_detect_anomaly_blames_nan_data_passed_in():
    model = nn.Linear(3, 2, dtype=np.float64)
    x = tl.tensor(np.array([[np.nan, 1.0, 2.0]]))
    with tl.detect_anomaly(), pytest.raises(AnomalyError) as info:
        model(x)  # <nan-data>
    message = str(info.value)
    assert "Linear produced NaN/Inf in forward" in message  # nn.Linear is one fused op
    assert f"{THIS_FILE}:{line_of('nan-data')}" in message
    assert "data you passed in" in message


def test_detect_anomaly_names_the_op_and_line_of_a_nan_only_in_backward():
    """rmse at a perfect fit: √0 = 0 is fine in forward, its slope 1/(2√0) is not."""
    pred = tl.tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    target = tl.tensor(np.array([0.5, -1.0, 2.0]))
    with np.errstate(divide="ignore", invalid="ignore"):
        loss = F.rmse_loss(pred, target)
        loss.backward()  # without the switch: a silent non-finite gradient
    assert loss.item() == 0.0 and not np.isfinite(pred.grad.numpy()).all()

    pred.grad = None
    with tl.detect_anomaly(), np.errstate(divide="ignore", invalid="ignore"):
        loss = F.rmse_loss(pred, target)  # <backward-nan>
        assert np.isfinite(loss.item())  # forward is clean
        with pytest.raises(AnomalyError) as info:
            loss.backward()
    message = str(info.value)
    assert "SqrtBackward returned NaN/Inf" in message, message
    assert f"{THIS_FILE}:{line_of('backward-nan')}" in message, message
    assert pred.grad is None  # nothing half-accumulated reached the leaf

    with tl.detect_anomaly():  # the eps the train command uses keeps it finite
        F.rmse_loss(pred, target, eps=1e-12).backward()
    assert np.isfinite(pred.grad.numpy()).all()


def test_detect_anomaly_nan_deep_in_a_chain_of_backward_ops():
    """sqrt(x²) at x = 0: SqrtBackward gives inf, then MulBackward would turn it into NaN;
    the first one is reported, at the line that made the sqrt."""
    x = tl.tensor(np.array([0.0, 3.0]), requires_grad=True)
    with tl.detect_anomaly(), np.errstate(divide="ignore", invalid="ignore"):
        y = (x * x).sqrt()  # <sqrt-of-square>
        z = (y * 2.0 + 1.0).sum()
        with pytest.raises(AnomalyError, match="SqrtBackward") as info:
            z.backward()
    assert f"{THIS_FILE}:{line_of('sqrt-of-square')}" in str(info.value)


def test_no_false_alarm_for_stable_losses_at_extreme_logits():
    logits = tl.tensor(np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4]]), requires_grad=True)
    y = tl.tensor(np.array([1, 1]))
    with tl.detect_anomaly():
        loss = (F.cross_entropy(logits, y) + F.binary_cross_entropy_with_logits(
            logits, tl.tensor(np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]]))) + logits.softmax(1).sum()
                + logits.logsumexp(1).sum() + F.soft_margin_loss(logits, tl.tensor(np.ones((2, 3)))))
        loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(logits.grad.numpy()).all()


# ------------------------------------------------------------- float32 vs float64 training


def _train_digits_float64(config: TrainConfig) -> tuple[float, nn.Module]:
    """The same run as `train` (same seed, split, init, batches, optimizer), in float64."""
    tl.manual_seed(config.seed)
    X, y = DATASETS[config.dataset].loader()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=config.test_size, seed=config.seed)
    model = build_model(config)
    for p in model.parameters():
        p.data = p.data.astype(np.float64)
    optimizer = optim.Adam(model.parameters(), lr=config.lr)
    dataset = TensorDataset(X_train.double(), y_train)
    for epoch in range(config.epochs):
        loader = DataLoader(dataset, config.batch_size, shuffle=True, seed=config.seed * 100_003 + epoch)
        for xb, yb in loader:
            optimizer.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            optimizer.step()
    with tl.no_grad():
        out = model(X_test.double())
    assert out.dtype == np.float64
    return float((out.numpy().argmax(1) == y_test.numpy()).mean()), model


def test_float32_training_is_as_accurate_as_float64(tmp_path, capsys):
    config = TrainConfig(dataset="digits", epochs=15, out=str(tmp_path))
    history = train(config, progress_bar=False, log=lambda _: None)
    accuracy32 = history.epochs[-1]["test_accuracy"]
    weights = tl.load(tmp_path / "model.safetensors")
    assert all(w.dtype == np.float32 for w in weights.values())  # nothing drifted to float64
    accuracy64, model64 = _train_digits_float64(config)
    assert all(p.dtype == np.float64 for p in model64.parameters())  # nor the other way
    assert accuracy32 >= 0.93 and accuracy64 >= 0.93
    assert abs(accuracy32 - accuracy64) <= 0.01, (accuracy32, accuracy64)


# ----------------------------------------------------------------------- extreme inputs

BIG = [[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]]
WITH_NEG_INF = [[-math.inf, 0.0, 1.0], [-math.inf, -math.inf, 3.0]]
SPREAD = [1e4, -1e4, 0.0, 30.0, -30.0]
BINARY = [1.0, 0.0, 1.0, 0.0, 1.0]


def _mix(t, xp):
    """A fixed weighting of the output elements, so each gets a different upstream gradient."""
    w = np.arange(1, t.shape[-1] + 1)
    return t * (xp.tensor(w.astype(t.dtype)) if xp is tl else xp.tensor(w, dtype=t.dtype))


# name -> (input, ours(x) -> Tensor, torch's(torch, x) -> tensor)
TORCH_TWINS = {
    "softmax-big": (BIG, lambda x: _mix(x.softmax(-1), tl), lambda T, x: _mix(x.softmax(-1), T)),
    "log_softmax-big": (BIG, lambda x: _mix(x.log_softmax(-1), tl), lambda T, x: _mix(x.log_softmax(-1), T)),
    "logsumexp-big": (BIG, lambda x: x.logsumexp(-1), lambda T, x: x.logsumexp(-1)),
    "softmax-neg-inf": (WITH_NEG_INF, lambda x: _mix(x.softmax(-1), tl), lambda T, x: _mix(x.softmax(-1), T)),
    "log_softmax-neg-inf": (WITH_NEG_INF, lambda x: x.log_softmax(-1)[:, 2],
                            lambda T, x: x.log_softmax(-1)[:, 2]),
    "logsumexp-neg-inf": (WITH_NEG_INF, lambda x: x.logsumexp(-1), lambda T, x: x.logsumexp(-1)),
    "sigmoid": (SPREAD, lambda x: x.sigmoid(), lambda T, x: x.sigmoid()),
    "tanh": (SPREAD, lambda x: x.tanh(), lambda T, x: x.tanh()),
    "softplus": (SPREAD, lambda x: x.softplus(), lambda T, x: T.nn.functional.softplus(x)),
    "logsigmoid": (SPREAD, lambda x: F.logsigmoid(x), lambda T, x: T.nn.functional.logsigmoid(x)),
    "gelu": (SPREAD, lambda x: x.gelu(), lambda T, x: T.nn.functional.gelu(x)),
    "exp-underflow": ([-1e4, -800.0, -745.0, -100.0], lambda x: x.exp(), lambda T, x: x.exp()),
    "cross_entropy": (BIG, lambda x: F.cross_entropy(x, tl.tensor(np.array([0, 1]))),
                      lambda T, x: T.nn.functional.cross_entropy(x, T.tensor([0, 1]))),
    "cross_entropy-smoothing": (BIG, lambda x: F.cross_entropy(x, tl.tensor(np.array([1, 2])), label_smoothing=0.2),
                                lambda T, x: T.nn.functional.cross_entropy(x, T.tensor([1, 2]), label_smoothing=0.2)),
    "cross_entropy-probabilities": (
        BIG, lambda x: F.cross_entropy(x, tl.tensor(np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]], x.dtype))),
        lambda T, x: T.nn.functional.cross_entropy(x, T.tensor([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]], dtype=x.dtype))),
    "nll_of_log_softmax": (BIG, lambda x: F.nll_loss(x.log_softmax(1), tl.tensor(np.array([2, 0]))),
                           lambda T, x: T.nn.functional.nll_loss(x.log_softmax(1), T.tensor([2, 0]))),
    "bce_with_logits": (SPREAD, lambda x: F.binary_cross_entropy_with_logits(x, tl.tensor(np.array(BINARY, x.dtype))),
                        lambda T, x: T.nn.functional.binary_cross_entropy_with_logits(
                            x, T.tensor(BINARY, dtype=x.dtype))),
    "bce_with_logits-pos_weight": (
        SPREAD, lambda x: F.binary_cross_entropy_with_logits(x, tl.tensor(np.array(BINARY, x.dtype)),
                                                             pos_weight=tl.tensor(np.array(3.0, x.dtype))),
        lambda T, x: T.nn.functional.binary_cross_entropy_with_logits(x, T.tensor(BINARY, dtype=x.dtype),
                                                                       pos_weight=T.tensor(3.0, dtype=x.dtype))),
    "multilabel_soft_margin": (
        [SPREAD], lambda x: F.multilabel_soft_margin_loss(x, tl.tensor(np.array([BINARY], x.dtype))),
        lambda T, x: T.nn.functional.multilabel_soft_margin_loss(x, T.tensor([BINARY], dtype=x.dtype))),
    "multi_margin": (BIG, lambda x: F.multi_margin_loss(x, tl.tensor(np.array([1, 2]))),
                     lambda T, x: T.nn.functional.multi_margin_loss(x, T.tensor([1, 2]))),
    "huber": (SPREAD, lambda x: F.huber_loss(x, tl.tensor(np.zeros(5, x.dtype))),
              lambda T, x: T.nn.functional.huber_loss(x, T.zeros(5, dtype=x.dtype))),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", list(TORCH_TWINS))
def test_extreme_inputs_match_pytorch(name, dtype, torch):
    values, ours, theirs = TORCH_TWINS[name]
    data = np.array(values, dtype=dtype)
    x = tl.tensor(data.copy(), requires_grad=True)
    with np.errstate(all="ignore"):
        out = ours(x)
        out.sum().backward()
    tx = torch.tensor(data.copy(), requires_grad=True)
    t_out = theirs(torch, tx)
    t_out.sum().backward()
    expected, expected_grad = t_out.detach().numpy(), tx.grad.numpy()
    assert out.dtype == dtype and x.grad.dtype == dtype
    # finite wherever PyTorch is finite (log_softmax of a -inf entry is -inf in both)
    assert np.array_equal(np.isfinite(out.numpy()), np.isfinite(expected)), (out.numpy(), expected)
    assert np.isfinite(x.grad.numpy()).all(), x.grad.numpy()
    rtol, atol = (1e-10, 1e-12) if dtype == np.float64 else (1e-5, 1e-6)
    np.testing.assert_allclose(out.numpy(), expected, rtol=rtol, atol=atol)
    np.testing.assert_allclose(x.grad.numpy(), expected_grad, rtol=rtol, atol=atol)


def test_soft_margin_stays_finite_where_pytorch_overflows(torch):
    """ln(1 + exp(-y·x)) at y·x = -1e4: PyTorch's float64 gives inf and a NaN gradient; the exact
    value is 1e4 and the gradient -y·σ(-y·x) = -y."""
    x = tl.tensor(np.array([1e4, -1e4]), requires_grad=True)
    y = tl.tensor(np.array([-1.0, 1.0]))
    loss = F.soft_margin_loss(x, y, reduction="sum")
    loss.backward()
    assert loss.item() == pytest.approx(2e4, rel=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), [1.0, -1.0])
    theirs = torch.nn.functional.soft_margin_loss(torch.tensor([1e4, -1e4], dtype=torch.float64),
                                                  torch.tensor([-1.0, 1.0], dtype=torch.float64), reduction="sum")
    assert not math.isfinite(theirs.item())  # (documents why this one is not compared with torch)


BEYOND_TORCH = {  # at x = [1e4, -1e4, -1e4, 1e4, 0.3]; 'none' where there is one, so that finite
    # differences of a 1e8-sized sum do not drown the 0.3 element's slope in rounding error
    "sigmoid_focal_loss": lambda x: F.sigmoid_focal_loss(x, tl.tensor(np.array([1.0, 0.0, 1.0, 0.0, 1.0]))),
    "log_cosh_loss": lambda x: F.log_cosh_loss(x, tl.tensor(np.zeros(5)), reduction="none"),
    "hinge_loss-squared": lambda x: F.hinge_loss(x, tl.tensor(np.array([1, 0, 1, 0, 1])), squared=True,
                                                 reduction="none"),
    "cost_sensitive_cross_entropy": lambda x: F.cost_sensitive_cross_entropy(
        x.reshape(1, 5), tl.tensor(np.array([2])), np.ones((5, 5)) - np.eye(5), reduction="none"),
    "dice_loss": lambda x: F.dice_loss(x.sigmoid().reshape(1, 5), tl.tensor(np.array([[1.0, 0, 1, 0, 1]]))),
    "rmse_loss": lambda x: F.rmse_loss(x, tl.tensor(np.zeros(5))),
}


@pytest.mark.parametrize("name", list(BEYOND_TORCH))
def test_losses_beyond_pytorch_are_finite_with_right_gradients_at_extremes(name):
    fn = BEYOND_TORCH[name]
    x = tl.tensor(np.array([1e4, -1e4, -1e4, 1e4, 0.3]), requires_grad=True)
    loss = fn(x)
    loss.sum().backward()
    assert np.isfinite(loss.numpy()).all() and np.isfinite(x.grad.numpy()).all(), (loss, x.grad)
    assert gradcheck(fn, [tl.tensor(x.numpy().copy(), requires_grad=True)])


def test_focal_and_log_cosh_values_at_extremes_are_exact():
    x = tl.tensor(np.array([1e4, -1e4, -1e4, 1e4]))
    y = tl.tensor(np.array([1.0, 0.0, 1.0, 0.0]))
    # right, right, wrong by 1e4 (α = 0.25), wrong by 1e4 (1 - α = 0.75): (1 - p_t)^γ = 1 when wrong
    focal = F.sigmoid_focal_loss(x, y, reduction="none").numpy()
    np.testing.assert_allclose(focal, [0.0, 0.0, 0.25 * 1e4, 0.75 * 1e4], rtol=1e-12, atol=1e-300)
    # ln cosh(1e4) = 1e4 - ln 2 exactly in floating point
    np.testing.assert_allclose(F.log_cosh_loss(x, tl.tensor(np.zeros(4)), reduction="none").numpy(),
                               np.full(4, 1e4 - math.log(2.0)), rtol=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_underflow_and_saturation_give_exact_zeros_not_nan(dtype):
    x = tl.tensor(np.array([-1e4, -1e3, 1e3, 1e4], dtype=dtype), requires_grad=True)
    negative = x[:2]
    (negative.exp().sum() + (x.sigmoid() + x.tanh() + x.softplus()).sum()).backward()
    g = x.grad.numpy()
    assert g.dtype == dtype and np.isfinite(g).all()
    # at -1e3 and -1e4: exp, σ', tanh' and softplus' = σ all underflow to exactly 0;
    # at +1e3 and +1e4 only softplus' slope (1) is left
    np.testing.assert_array_equal(g, np.array([0.0, 0.0, 1.0, 1.0], dtype=dtype))


def test_reductions_of_empty_tensors_match_torch():
    torch = pytest.importorskip("torch", reason="PyTorch not installed")
    empty = np.empty((0, 3))
    for axis in (0, 1):
        ours = tl.tensor(empty, requires_grad=True)
        theirs = torch.tensor(empty, requires_grad=True)
        np.testing.assert_array_equal(ours.logsumexp(axis).data, torch.logsumexp(theirs, axis).detach().numpy())
        assert ours.softmax(axis).shape == tuple(torch.softmax(theirs, axis).shape)
        assert ours.log_softmax(axis).shape == tuple(torch.log_softmax(theirs, axis).shape)
        ours.logsumexp(axis).sum().backward()
        assert ours.grad.shape == (0, 3)
    assert tl.tensor(np.empty(0)).logsumexp().item() == -np.inf


def test_optimizer_load_state_dict_checks_the_loaded_hyperparameters():
    w = tl.tensor(np.ones(3), requires_grad=True)
    adam = tl.optim.Adam([w], lr=0.1)
    state = adam.state_dict()
    state["param_groups"][0]["lr"] = -1.0
    with pytest.raises(ValueError, match="lr"):
        tl.optim.Adam([w], lr=0.1).load_state_dict(state)
