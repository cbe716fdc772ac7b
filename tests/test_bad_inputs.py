"""Bad inputs across the public API, as one table.

Each row is (id, call, expected exception class, substrings of the message). The message must
name the function, the argument, what was given and what was expected, and the exception must
be one an ordinary ``except ValueError / TypeError / IndexError / KeyError / RuntimeError /
FileNotFoundError`` catches. A raw numpy or Python error without the function's name counts as
a failure: the row keeps asserting the clear behaviour.

Rows whose ``call`` is a ``Cli`` run ``python -m tinygrad_loss ...`` in a subprocess instead:
non-zero exit, no Python traceback, and one clear error line on stderr (argparse's usage lines
may precede it).

Empty tensors are not errors where PyTorch gives a value (sum = 0, mean = NaN, cross-entropy of
N = 0 is NaN with 'mean' and 0 with 'sum'); those are checked against PyTorch's values below.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import data, nn, optim
from tinygrad_loss.errors import DTypeError, IndexOutOfRangeError, ShapeError
from tinygrad_loss.nn import functional as F  # noqa: N812 (PyTorch's spelling)
from tinygrad_loss.serialization import CheckpointNotFoundError

CATCHABLE = (ValueError, TypeError, IndexError, KeyError, RuntimeError, FileNotFoundError)


@dataclass(frozen=True)
class Cli:
    """A command line to run as ``python -m tinygrad_loss *argv`` (in a temporary folder)."""

    argv: tuple[str, ...]


@dataclass(frozen=True)
class Case:
    id: str
    call: Callable[[], Any] | Cli
    error: type[BaseException] | tuple[type[BaseException], ...] | None  # None for Cli rows
    contains: tuple[str, ...]


# ------------------------------------------------------------------------------ helpers


def ones(*shape: int) -> tl.Tensor:
    return tl.tensor(np.ones(shape))


def logits(*shape: int) -> tl.Tensor:
    return tl.tensor(np.random.default_rng(0).normal(size=shape))


def labels(*values: int) -> tl.Tensor:
    return tl.tensor(np.array(values, dtype=np.int64))


def probs(*values: float) -> tl.Tensor:
    return tl.tensor(np.array(values, dtype=np.float64))


def param(*shape: int) -> tl.Tensor:
    return tl.tensor(np.ones(shape), requires_grad=True)


def mlp() -> nn.Module:
    tl.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))


def stepped_adam() -> optim.Adam:
    model = mlp()
    adam = optim.Adam(model.parameters(), lr=0.1)
    for p in model.parameters():
        p.grad = np.ones(p.shape, np.float32)
    adam.step()
    return adam


def adam_state_with(**changes: Any) -> tuple[optim.Adam, dict]:
    adam = stepped_adam()
    state = adam.state_dict()
    for key, value in changes.items():
        state[key] = value
    return adam, state


def adam_state_without(key: str) -> tuple[optim.Adam, dict]:
    adam = stepped_adam()
    state = adam.state_dict()
    del state[key]
    return adam, state


def adam_state_with_bad_moment() -> tuple[optim.Adam, dict]:
    adam = stepped_adam()
    state = adam.state_dict()
    state["state"][0]["exp_avg"] = np.zeros((5, 5))
    return adam, state


def load_pair(pair: tuple[optim.Adam, dict]) -> None:
    adam, state = pair
    adam.load_state_dict(state)


def dataset() -> data.TensorDataset:
    return data.TensorDataset(ones(4, 2), labels(0, 1, 0, 1))


# ------------------------------------------------------------------------------ the table

CASES: list[Case] = [
    # --- elementwise broadcasting
    Case("add-broadcast", lambda: ones(2, 3) + ones(4), ShapeError, ("Add", "(2, 3)", "(4,)", "broadcast")),
    Case("mul-broadcast-numpy", lambda: ones(2, 3) * np.ones((3, 2)), ShapeError, ("Mul", "(2, 3)", "(3, 2)")),
    Case("pow-broadcast", lambda: ones(2, 3) ** ones(4), ShapeError, ("Pow", "(2, 3)", "(4,)")),
    Case(
        "where-broadcast",
        lambda: tl.where(ones(2) > 0, ones(3), ones(4)),
        ShapeError,
        ("Where", "(2,)", "(3,)", "(4,)"),
    ),
    # --- matmul
    Case("matmul-inner", lambda: ones(2, 3) @ ones(4, 5), ShapeError, ("matmul", "(2, 3)", "(4, 5)", "(3)", "(4)")),
    Case("matmul-vector", lambda: ones(3) @ ones(4), ShapeError, ("matmul", "(3,)", "(4,)")),
    Case("matmul-0d", lambda: tl.matmul(tl.tensor(2.0), ones(3)), ShapeError, ("matmul", "()", "(3,)", "dimension")),
    # --- reshape
    Case("reshape-size", lambda: ones(2, 3).reshape(5), ShapeError, ("Reshape", "(2, 3)", "(5,)", "size 6")),
    Case("reshape-two-unknown", lambda: ones(2, 3).reshape(-1, -1), ShapeError, ("Reshape", "(2, 3)", "unknown")),
    Case("reshape-not-int", lambda: ones(2, 3).reshape("a"), ShapeError, ("shape", "integers", "'a'")),
    Case("reshape-negative-size", lambda: ones(2, 3).reshape(-2, 3), ShapeError, ("eshape", "-2", "(2, 3)")),
    # --- cat / stack
    Case("cat-shapes", lambda: tl.cat([ones(2, 3), ones(2, 4)], axis=0), ShapeError, ("Cat", "(2, 3)", "(2, 4)")),
    Case("cat-axis", lambda: tl.cat([ones(2, 3), ones(2, 3)], axis=3), ShapeError, ("Cat", "axis 3", "dimension 2")),
    Case("cat-ndim", lambda: tl.cat([ones(2, 3), ones(3)]), ShapeError, ("Cat", "(2, 3)", "(3,)", "dimensions")),
    Case("cat-empty-list", lambda: tl.cat([]), ShapeError, ("cat", "non-empty", "list")),
    Case(
        "stack-shapes",
        lambda: tl.stack([ones(2, 3), ones(3, 2)]),
        ShapeError,
        ("Stack", "(2, 3)", "(3, 2)", "same shape"),
    ),
    Case("stack-axis", lambda: tl.stack([ones(2), ones(2)], axis=5), ShapeError, ("Stack", "axis 5", "dimension 2")),
    # --- permute / transpose / squeeze / unsqueeze / flatten
    Case("permute-repeated", lambda: ones(2, 3, 4).permute(0, 0, 1), ShapeError, ("permute", "(0, 0, 1)", "(2, 3, 4)")),
    Case("permute-too-many", lambda: ones(2, 3).permute(0, 1, 2), ShapeError, ("permute", "(2, 3)", "2 axes")),
    Case(
        "permute-axis-out-of-range", lambda: ones(2, 3).permute(0, 5), IndexOutOfRangeError, ("permute", "5", "(2, 3)")
    ),
    Case(
        "transpose-axis-out-of-range",
        lambda: ones(2, 3).transpose(0, 5),
        IndexOutOfRangeError,
        ("transpose", "5", "(2, 3)"),
    ),
    Case("squeeze-axis-out-of-range", lambda: ones(2, 3).squeeze(5), IndexOutOfRangeError, ("squeeze", "5", "(2, 3)")),
    Case(
        "unsqueeze-axis-out-of-range",
        lambda: ones(2, 3).unsqueeze(7),
        IndexOutOfRangeError,
        ("unsqueeze", "7", "(2, 3)"),
    ),
    Case(
        "flatten-axis-out-of-range", lambda: ones(2, 3).flatten(0, 5), IndexOutOfRangeError, ("flatten", "5", "(2, 3)")
    ),
    # --- expand / broadcast_to
    Case("expand-size", lambda: ones(2, 3).expand(4, 3), ShapeError, ("broadcast", "(2, 3)", "(4, 3)")),
    Case("expand-fewer-dims", lambda: ones(2, 3).expand(3), ShapeError, ("expand", "(2, 3)", "(3,)", "fewer")),
    Case("expand-negative", lambda: ones(1, 3).expand(-2, 3), ShapeError, ("broadcast", "(1, 3)", "(-2, 3)")),
    # --- pad
    Case(
        "pad-too-many-pairs",
        lambda: ones(2, 3).pad(((1, 1), (1, 1), (1, 1))),
        ShapeError,
        ("pad", "(2, 3)", "((1, 1), (1, 1), (1, 1))"),
    ),
    Case("pad-negative", lambda: ones(2, 3).pad(-1), ShapeError, ("Pad", "(2, 3)", "negative")),
    Case("pad-not-a-number", lambda: ones(2, 3).pad("a"), (ShapeError, DTypeError), ("pad", "'a'")),
    # --- getitem
    Case("getitem-int", lambda: ones(3)[5], IndexOutOfRangeError, ("Getitem", "(3,)", "index 5", "size 3")),
    Case("getitem-negative", lambda: ones(3)[-4], IndexOutOfRangeError, ("Getitem", "index -4", "size 3")),
    Case("getitem-too-many", lambda: ones(3)[0, 0], IndexOutOfRangeError, ("Getitem", "(3,)", "too many indices")),
    Case(
        "getitem-int-array", lambda: param(3)[np.array([0, 7])], IndexOutOfRangeError, ("Getitem", "index 7", "size 3")
    ),
    Case(
        "getitem-mask", lambda: ones(3)[np.array([True, False])], IndexOutOfRangeError, ("Getitem", "size of axis is 3")
    ),
    Case("getitem-float", lambda: ones(3)[1.5], IndexOutOfRangeError, ("Getitem", "(3,)", "integers")),
    # --- reductions and axes
    Case("sum-axis", lambda: ones(2, 3).sum(axis=2), ShapeError, ("Sum", "(2, 3)", "axis 2", "dimension 2")),
    Case("mean-axis", lambda: ones(2, 3).mean(dim=-3), ShapeError, ("Mean", "axis -3", "dimension 2")),
    Case("softmax-axis", lambda: ones(2, 3).softmax(5), ShapeError, ("Softmax", "axis 5", "dimension 2")),
    Case("logsumexp-axis", lambda: ones(2, 3).logsumexp(axis=4), ShapeError, ("LogSumExp", "axis 4")),
    # --- empty tensors that are errors
    Case("max-of-empty", lambda: ones(0).max(), ShapeError, ("Max", "(0,)", "zero-size")),
    Case("min-of-empty-axis", lambda: ones(0, 3).min(axis=0), ShapeError, ("Min", "(0, 3)", "zero-size")),
    Case("argmax-of-empty", lambda: ones(0).argmax(), ShapeError, ("argmax", "(0,)", "empty")),
    # --- dtypes
    Case(
        "int-requires-grad",
        lambda: tl.tensor([1, 2, 3], requires_grad=True),
        DTypeError,
        ("requires_grad", "int64", "floating point"),
    ),
    Case(
        "int-zeros-requires-grad",
        lambda: tl.zeros(2, dtype="int64", requires_grad=True),
        DTypeError,
        ("requires_grad", "int64", "float"),
    ),
    Case("int-parameter", lambda: nn.Parameter(np.array([1, 2])), DTypeError, ("requires_grad", "int64", "float")),
    Case(
        "unknown-dtype-string", lambda: tl.tensor([1.0], dtype="float8"), DTypeError, ("Tensor", "'float8'", "float32")
    ),
    Case("unknown-dtype-astype", lambda: ones(2).to("complex64"), DTypeError, ("astype", "'complex64'", "float32")),
    Case("unknown-dtype-arange", lambda: tl.arange(5, dtype="float8"), DTypeError, ("arange", "'float8'", "int64")),
    Case(
        "object-array",
        lambda: tl.tensor(np.array([object(), 1], dtype=object)),
        DTypeError,
        ("Tensor", "object", "numbers"),
    ),
    Case("string-list", lambda: tl.tensor(["a", "b"]), DTypeError, ("Tensor", "<U1", "numbers")),
    Case("ragged-list", lambda: tl.tensor([[1.0], [1.0, 2.0]]), ShapeError, ("Tensor", "list")),
    # --- factories
    Case("zeros-negative", lambda: tl.zeros(-1, 3), ShapeError, ("zeros", "(-1, 3)", "non-negative")),
    Case("eye-negative", lambda: tl.eye(-1), ShapeError, ("eye", "-1", "non-negative")),
    Case("linspace-negative-steps", lambda: tl.linspace(0, 1, -1), ValueError, ("linspace", "-1", "non-negative")),
    Case("randint-empty-range", lambda: tl.randint(5, 2, (3,)), ValueError, ("randint", "5", "2")),
    Case("arange-zero-step", lambda: tl.arange(0, 5, 0), ValueError, ("arange", "step", "non-zero")),
    # --- regression losses: target shape
    Case("mse-target-shape", lambda: F.mse_loss(ones(3), ones(4)), ShapeError, ("mse_loss", "target", "(4,)", "(3,)")),
    Case(
        "mse-target-broadcasts-input",
        lambda: F.mse_loss(ones(3), ones(2, 3)),
        ShapeError,
        ("mse_loss", "target", "(2, 3)", "(3,)"),
    ),
    Case("l1-target-shape", lambda: F.l1_loss(ones(3), ones(4)), ShapeError, ("l1_loss", "target", "(4,)", "(3,)")),
    Case(
        "huber-target-shape",
        lambda: F.huber_loss(ones(2, 3), ones(3, 2)),
        ShapeError,
        ("huber_loss", "target", "(3, 2)", "(2, 3)"),
    ),
    Case(
        "smooth-l1-target-shape",
        lambda: F.smooth_l1_loss(ones(3), ones(4)),
        ShapeError,
        ("smooth_l1_loss", "target", "(4,)"),
    ),
    Case("rmse-target-shape", lambda: F.rmse_loss(ones(3), ones(4)), ShapeError, ("rmse_loss", "target", "(4,)")),
    Case("log-cosh-target-shape", lambda: F.log_cosh_loss(ones(3), ones(4)), ShapeError, ("log_cosh_loss", "(4,)")),
    Case(
        "poisson-target-shape", lambda: F.poisson_nll_loss(ones(3), ones(4)), ShapeError, ("poisson_nll_loss", "(4,)")
    ),
    Case(
        "gaussian-var-shape",
        lambda: F.gaussian_nll_loss(ones(2, 3), ones(2, 3), ones(5)),
        ShapeError,
        ("gaussian_nll_loss", "var", "(5,)", "(2, 3)"),
    ),
    Case(
        "gaussian-negative-var",
        lambda: F.gaussian_nll_loss(ones(3), ones(3), -1.0),
        ValueError,
        ("gaussian_nll_loss", "var", "negative"),
    ),
    Case(
        "mse-int-input",
        lambda: F.mse_loss(labels(1, 2), labels(1, 2)),
        DTypeError,
        ("mse_loss", "input", "int64", "floating point"),
    ),
    Case("huber-zero-delta", lambda: F.huber_loss(ones(3), ones(3), delta=0), ValueError, ("huber_loss", "delta", "0")),
    Case(
        "mse-unknown-reduction",
        lambda: F.mse_loss(ones(3), ones(3), reduction="avg"),
        ValueError,
        ("mse_loss", "reduction", "'avg'", "'mean'"),
    ),
    # --- classification losses
    Case(
        "ce-target-shape",
        lambda: F.cross_entropy(logits(4, 3), labels(0, 1, 2)),
        ShapeError,
        ("cross_entropy", "target", "(4,)", "(3,)"),
    ),
    Case(
        "ce-spatial-target-shape",
        lambda: F.cross_entropy(logits(2, 3, 4), tl.tensor(np.zeros((2, 3), np.int64))),
        ShapeError,
        ("cross_entropy", "(2, 4)", "(2, 3)"),
    ),
    Case(
        "ce-class-out-of-range",
        lambda: F.cross_entropy(logits(2, 3), labels(0, 3)),
        IndexOutOfRangeError,
        ("cross_entropy", "class index 3", "[0, 3)"),
    ),
    Case(
        "ce-class-negative",
        lambda: F.cross_entropy(logits(2, 3), labels(0, -1)),
        IndexOutOfRangeError,
        ("cross_entropy", "class index -1", "[0, 3)"),
    ),
    Case(
        "ce-bool-target",
        lambda: F.cross_entropy(logits(2, 3), tl.tensor([True, False])),
        DTypeError,
        ("cross_entropy", "target", "bool", "int64"),
    ),
    Case(
        "ce-probability-target-shape",
        lambda: F.cross_entropy(logits(2, 3), probs(0.5, 0.5)),
        ShapeError,
        ("cross_entropy", "probability", "(2, 3)", "(2,)"),
    ),
    Case(
        "ce-weight-length",
        lambda: F.cross_entropy(logits(2, 3), labels(0, 1), weight=probs(1.0, 2.0)),
        ShapeError,
        ("cross_entropy", "weight", "(3,)", "(2,)"),
    ),
    Case(
        "ce-int-logits",
        lambda: F.cross_entropy(tl.tensor([[1, 2]]), labels(0)),
        DTypeError,
        ("cross_entropy", "input", "int64"),
    ),
    Case(
        "ce-label-smoothing",
        lambda: F.cross_entropy(logits(2, 3), labels(0, 1), label_smoothing=1.5),
        ValueError,
        ("cross_entropy", "label_smoothing", "1.5", "[0, 1]"),
    ),
    Case("ce-0d-input", lambda: F.cross_entropy(tl.tensor(1.0), labels(0)), ShapeError, ("cross_entropy", "0-d")),
    Case(
        "nll-class-out-of-range",
        lambda: F.nll_loss(logits(2, 3), labels(0, 7)),
        IndexOutOfRangeError,
        ("nll_loss", "class index 7", "[0, 3)"),
    ),
    Case(
        "nll-target-shape",
        lambda: F.nll_loss(logits(2, 3), labels(0, 1, 1)),
        ShapeError,
        ("nll_loss", "target", "(2,)", "(3,)"),
    ),
    Case(
        "nll-float-target",
        lambda: F.nll_loss(logits(2, 3), probs(0.0, 1.0)),
        DTypeError,
        ("nll_loss", "target", "float64", "int64"),
    ),
    Case(
        "nll-weight-length",
        lambda: F.nll_loss(logits(2, 3), labels(0, 1), weight=[1.0]),
        ShapeError,
        ("nll_loss", "weight", "(3,)", "(1,)"),
    ),
    Case(
        "bce-out-of-range",
        lambda: F.binary_cross_entropy(probs(0.5, 1.5), probs(0.0, 1.0)),
        ValueError,
        ("binary_cross_entropy", "input", "[0, 1]"),
    ),
    Case(
        "bce-nan-probability",
        lambda: F.binary_cross_entropy(probs(0.5, np.nan), probs(0.0, 1.0)),
        ValueError,
        ("binary_cross_entropy", "input", "[0, 1]"),
    ),
    Case(
        "bce-inf-probability",
        lambda: F.binary_cross_entropy(probs(0.5, np.inf), probs(0.0, 1.0)),
        ValueError,
        ("binary_cross_entropy", "input", "[0, 1]"),
    ),
    Case(
        "bce-int-target",
        lambda: F.binary_cross_entropy(probs(0.5, 0.5), labels(0, 1)),
        DTypeError,
        ("binary_cross_entropy", "target", "int64", "floating point"),
    ),
    Case(
        "bce-weight-shape",
        lambda: F.binary_cross_entropy(probs(0.5, 0.5), probs(0, 1), weight=[1.0, 2.0, 3.0]),
        ShapeError,
        ("binary_cross_entropy", "weight", "(3,)", "(2,)"),
    ),
    Case(
        "bce-logits-pos-weight",
        lambda: F.binary_cross_entropy_with_logits(ones(2, 3), ones(2, 3), pos_weight=ones(4)),
        ShapeError,
        ("binary_cross_entropy_with_logits", "(4,)", "(2, 3)"),
    ),
    Case(
        "bce-logits-target-shape",
        lambda: F.binary_cross_entropy_with_logits(ones(2, 3), ones(3, 3)),
        ShapeError,
        ("binary_cross_entropy_with_logits", "target", "(3, 3)", "(2, 3)"),
    ),
    Case(
        "kl-div-reduction",
        lambda: F.kl_div(ones(2, 3), ones(2, 3), reduction="x"),
        ValueError,
        ("kl_div", "reduction", "'x'", "'batchmean'"),
    ),
    Case(
        "cost-matrix-shape",
        lambda: F.cost_sensitive_cross_entropy(logits(2, 3), labels(0, 1), np.ones((2, 2))),
        ShapeError,
        ("cost_sensitive_cross_entropy", "cost_matrix", "(3, 3)", "(2, 2)"),
    ),
    Case(
        "cost-class-out-of-range",
        lambda: F.cost_sensitive_cross_entropy(logits(2, 3), labels(0, 3), np.ones((3, 3))),
        IndexOutOfRangeError,
        ("cost_sensitive_cross_entropy", "class index 3", "[0, 3)"),
    ),
    Case(
        "cost-target-shape",
        lambda: F.cost_sensitive_cross_entropy(logits(2, 3), labels(0, 1, 2), np.ones((3, 3))),
        ShapeError,
        ("cost_sensitive_cross_entropy", "target", "(2,)", "(3,)"),
    ),
    Case(
        "cost-matrix-not-numbers",
        lambda: F.cost_sensitive_cross_entropy(logits(2, 3), labels(0, 1), "abc"),
        (DTypeError, ShapeError),
        ("cost_sensitive_cross_entropy", "cost_matrix", "'abc'"),
    ),
    Case(
        "multi-margin-class",
        lambda: F.multi_margin_loss(logits(2, 3), labels(0, 5)),
        IndexOutOfRangeError,
        ("multi_margin_loss", "class index 5", "[0, 3)"),
    ),
    Case(
        "multi-margin-weight",
        lambda: F.multi_margin_loss(logits(2, 3), labels(0, 1), weight=[1.0, 2.0]),
        ShapeError,
        ("multi_margin_loss", "weight", "(3,)", "(2,)"),
    ),
    Case(
        "multi-margin-p",
        lambda: F.multi_margin_loss(logits(2, 3), labels(0, 1), p=3),
        ValueError,
        ("multi_margin_loss", "p", "3"),
    ),
    Case(
        "hinge-labels",
        lambda: F.hinge_loss(ones(3), labels(0, 1, 2)),
        ValueError,
        ("hinge_loss", "target", "{-1, +1}", "[0, 1, 2]"),
    ),
    Case(
        "soft-margin-labels",
        lambda: F.soft_margin_loss(ones(3), probs(1.0, 0.0, 1.0)),
        ValueError,
        ("soft_margin_loss", "target", "-1 and +1"),
    ),
    Case(
        "triplet-shapes",
        lambda: F.triplet_margin_loss(ones(2, 3), ones(2, 3), ones(2, 4)),
        ShapeError,
        ("triplet_margin_loss", "(2, 3)", "(2, 4)"),
    ),
    Case(
        "contrastive-label-values",
        lambda: F.contrastive_loss(ones(2, 3), ones(2, 3), probs(1.0, 2.0)),
        ValueError,
        ("contrastive_loss", "label", "1", "0"),
    ),
    Case(
        "contrastive-label-shape",
        lambda: F.contrastive_loss(ones(2, 3), ones(2, 3), probs(1.0, 0.0, 1.0)),
        ShapeError,
        ("contrastive_loss", "label", "(2,)", "(3,)"),
    ),
    Case(
        "dice-target-shape", lambda: F.dice_loss(ones(2, 3), ones(2, 4)), ShapeError, ("dice_loss", "(2, 4)", "(2, 3)")
    ),
    # --- optimizers
    Case("sgd-negative-lr", lambda: optim.SGD([param(2)], lr=-0.1), ValueError, ("SGD", "lr", "-0.1", ">= 0")),
    Case("sgd-nan-lr", lambda: optim.SGD([param(2)], lr=float("nan")), ValueError, ("SGD", "lr", "nan", ">= 0")),
    Case(
        "sgd-negative-momentum",
        lambda: optim.SGD([param(2)], lr=0.1, momentum=-0.5),
        ValueError,
        ("SGD", "momentum", "-0.5", ">= 0"),
    ),
    Case(
        "sgd-negative-weight-decay",
        lambda: optim.SGD([param(2)], lr=0.1, weight_decay=-1),
        ValueError,
        ("SGD", "weight_decay", "-1", ">= 0"),
    ),
    Case(
        "sgd-nesterov-without-momentum",
        lambda: optim.SGD([param(2)], lr=0.1, nesterov=True),
        ValueError,
        ("SGD", "nesterov", "momentum > 0"),
    ),
    Case("sgd-empty-params", lambda: optim.SGD([], lr=0.1), ValueError, ("SGD", "empty", "parameters()")),
    Case("sgd-int-param", lambda: optim.SGD([tl.tensor([1, 2])], lr=0.1), TypeError, ("SGD", "params[0]", "int64")),
    Case(
        "momentum-zero",
        lambda: optim.Momentum([param(2)], lr=0.1, momentum=0),
        ValueError,
        ("Momentum", "momentum", "0", "> 0"),
    ),
    Case(
        "adam-beta2-one",
        lambda: optim.Adam([param(2)], betas=(0.9, 1.0)),
        ValueError,
        ("Adam", "betas[1]", "1.0", "[0, 1)"),
    ),
    Case(
        "adam-beta1-negative",
        lambda: optim.Adam([param(2)], betas=(-0.1, 0.9)),
        ValueError,
        ("Adam", "betas[0]", "-0.1", "[0, 1)"),
    ),
    Case(
        "adam-betas-length",
        lambda: optim.Adam([param(2)], betas=(0.9,)),
        ValueError,
        ("Adam", "betas", "(0.9,)", "pair"),
    ),
    Case("adam-negative-eps", lambda: optim.Adam([param(2)], eps=-1e-8), ValueError, ("Adam", "eps", "-1e-08", ">= 0")),
    Case("adam-negative-lr", lambda: optim.Adam([param(2)], lr=-1), ValueError, ("Adam", "lr", "-1", ">= 0")),
    Case(
        "adamw-negative-weight-decay",
        lambda: optim.AdamW([param(2)], weight_decay=-0.1),
        ValueError,
        ("AdamW", "weight_decay", "-0.1", ">= 0"),
    ),
    Case(
        "rmsprop-negative-alpha",
        lambda: optim.RMSprop([param(2)], alpha=-0.1),
        ValueError,
        ("RMSprop", "alpha", "-0.1", ">= 0"),
    ),
    Case(
        "rmsprop-negative-momentum",
        lambda: optim.RMSprop([param(2)], momentum=-0.1),
        ValueError,
        ("RMSprop", "momentum", "-0.1", ">= 0"),
    ),
    Case(
        "adagrad-negative-lr-decay",
        lambda: optim.Adagrad([param(2)], lr_decay=-0.1),
        ValueError,
        ("Adagrad", "lr_decay", "-0.1", ">= 0"),
    ),
    Case("adagrad-negative-eps", lambda: optim.Adagrad([param(2)], eps=-0.1), ValueError, ("Adagrad", "eps", "-0.1")),
    Case(
        "steplr-zero-step",
        lambda: optim.lr_scheduler.StepLR(optim.SGD([param(2)], lr=0.1), step_size=0),
        ValueError,
        ("StepLR", "step_size", "0", "> 0"),
    ),
    # --- layers
    Case("linear-zero-in", lambda: nn.Linear(0, 3), ValueError, ("Linear", "in_features", "0", "positive")),
    Case("linear-negative-out", lambda: nn.Linear(3, -1), ValueError, ("Linear", "out_features", "-1", "positive")),
    Case("linear-wrong-features", lambda: nn.Linear(3, 2)(ones(4, 5)), ShapeError, ("linear", "5", "3", "(4, 5)")),
    Case(
        "conv-stride-zero", lambda: nn.Conv2d(1, 2, 3, stride=0), ValueError, ("Conv2d", "stride", "(0, 0)", "positive")
    ),
    Case("conv-kernel-zero", lambda: nn.Conv2d(1, 2, 0), ValueError, ("Conv2d", "kernel_size", "(0, 0)", "positive")),
    Case(
        "conv-negative-padding", lambda: nn.Conv2d(1, 2, 3, padding=-1), ValueError, ("Conv2d", "padding", "(-1, -1)")
    ),
    Case(
        "conv-channels", lambda: nn.Conv2d(1, 2, 3)(ones(1, 3, 5, 5)), ShapeError, ("conv2d", "3 channels", "expects 1")
    ),
    Case(
        "functional-conv-stride-zero",
        lambda: nn.functional.conv2d(ones(1, 1, 5, 5), ones(2, 1, 3, 3), stride=0),
        ValueError,
        ("conv2d", "stride", "(0, 0)", "positive"),
    ),
    Case(
        "functional-conv-negative-padding",
        lambda: nn.functional.conv2d(ones(1, 1, 5, 5), ones(2, 1, 3, 3), padding=-1),
        ValueError,
        ("conv2d", "padding", "(-1, -1)", "non-negative"),
    ),
    Case(
        "conv-not-an-image",
        lambda: nn.Conv2d(1, 2, 3)(ones(1, 5, 5)),
        ShapeError,
        ("conv2d", "(N, C, H, W)", "(1, 5, 5)"),
    ),
    Case("dropout-p-above-one", lambda: nn.Dropout(1.5), ValueError, ("Dropout", "p", "1.5", "[0, 1]")),
    Case("dropout-p-negative", lambda: nn.Dropout(-0.1), ValueError, ("Dropout", "p", "-0.1", "[0, 1]")),
    Case("batchnorm-eps-zero", lambda: nn.BatchNorm1d(3, eps=0), ValueError, ("BatchNorm1d", "eps", "0", "positive")),
    Case(
        "batchnorm-momentum",
        lambda: nn.BatchNorm1d(3, momentum=2),
        ValueError,
        ("BatchNorm1d", "momentum", "2", "[0, 1]"),
    ),
    Case(
        "batchnorm-channels", lambda: nn.BatchNorm1d(3)(ones(4, 5)), ValueError, ("BatchNorm1d", "3 channels", "(4, 5)")
    ),
    Case(
        "batchnorm-one-sample",
        lambda: nn.BatchNorm1d(3)(ones(1, 3)),
        ValueError,
        ("batch_norm", "more than one", "(1, 3)"),
    ),
    Case("layernorm-shape", lambda: nn.LayerNorm(3)(ones(2, 4)), ShapeError, ("layer_norm", "(2, 4)", "(3,)")),
    Case(
        "embedding-out-of-range",
        lambda: nn.Embedding(3, 2)(labels(0, 3)),
        IndexOutOfRangeError,
        ("embedding", "index 3", "[0, 3)"),
    ),
    Case(
        "embedding-negative",
        lambda: nn.Embedding(3, 2)(labels(-1)),
        IndexOutOfRangeError,
        ("embedding", "-1", "[0, 3)"),
    ),
    Case(
        "embedding-float-indices",
        lambda: nn.Embedding(3, 2)(probs(1.0)),
        DTypeError,
        ("embedding", "float64", "integer"),
    ),
    Case(
        "maxpool-stride-zero",
        lambda: nn.MaxPool2d(2, stride=0)(ones(1, 1, 4, 4)),
        ValueError,
        ("max_pool2d", "stride", "(0, 0)", "positive"),
    ),
    Case(
        "avgpool-kernel-too-big",
        lambda: nn.AvgPool2d(5)(ones(1, 1, 4, 4)),
        ShapeError,
        ("avg_pool2d", "(5, 5)", "(4, 4)"),
    ),
    Case("sequential-non-module", lambda: nn.Sequential(nn.ReLU(), 3), TypeError, ("Sequential", "argument 1", "int")),
    Case("gelu-approximate", lambda: nn.GELU("fast")(ones(3)), ValueError, ("gelu", "approximate", "'fast'", "'tanh'")),
    Case(
        "leaky-relu-slope",
        lambda: nn.LeakyReLU("x")(ones(3)),
        (ValueError, TypeError),
        ("leaky_relu", "negative_slope", "'x'"),
    ),
    # --- state dicts
    Case(
        "load-state-dict-missing-keys",
        lambda: mlp().load_state_dict({"0.weight": np.zeros((2, 3), np.float32)}),
        KeyError,
        ("load_state_dict", "missing", "0.bias", "2.weight"),
    ),
    Case(
        "load-state-dict-unexpected-key",
        lambda: mlp().load_state_dict({**mlp().state_dict(), "extra": np.zeros(1)}),
        KeyError,
        ("load_state_dict", "unexpected", "extra"),
    ),
    Case(
        "load-state-dict-shape",
        lambda: mlp().load_state_dict({**mlp().state_dict(), "0.weight": np.zeros((3, 3))}),
        ShapeError,
        ("load_state_dict", "0.weight", "(3, 3)", "(2, 3)"),
    ),
    Case(
        "load-state-dict-not-a-mapping",
        lambda: mlp().load_state_dict([1, 2]),
        TypeError,
        ("load_state_dict", "list", "dict"),
    ),
    Case(
        "optimizer-load-missing-param-groups",
        lambda: load_pair(adam_state_without("param_groups")),
        (KeyError, ValueError),
        ("load_state_dict", "param_groups"),
    ),
    Case(
        "optimizer-load-group-count",
        lambda: load_pair(adam_state_with(param_groups=[])),
        ValueError,
        ("Adam.load_state_dict", "0 parameter groups", "has 1"),
    ),
    Case(
        "optimizer-load-moment-shape",
        lambda: load_pair(adam_state_with_bad_moment()),
        ValueError,
        ("Adam.load_state_dict", "exp_avg", "(5, 5)", "(2, 3)"),
    ),
    Case(
        "optimizer-load-not-a-dict",
        lambda: stepped_adam().load_state_dict([1]),
        TypeError,
        ("load_state_dict", "list", "dict"),
    ),
    # --- data
    Case(
        "dataloader-batch-size-zero",
        lambda: data.DataLoader(dataset(), batch_size=0),
        ValueError,
        ("DataLoader", "batch_size", "0", ">= 1"),
    ),
    Case(
        "dataloader-batch-size-float",
        lambda: data.DataLoader(dataset(), batch_size=2.5),
        ValueError,
        ("DataLoader", "batch_size", "2.5", "integer"),
    ),
    Case(
        "dataloader-not-a-dataset",
        lambda: data.DataLoader(5, batch_size=1),
        TypeError,
        ("DataLoader", "dataset", "int"),
    ),
    Case(
        "tensordataset-lengths",
        lambda: data.TensorDataset(ones(4, 2), ones(3)),
        ShapeError,
        ("TensorDataset", "(4, 2)", "(3,)", "same number"),
    ),
    Case(
        "split-test-size",
        lambda: data.train_test_split(ones(4, 2), ones(4), test_size=1.5),
        ValueError,
        ("train_test_split", "test_size", "1.5", "(0, 1)"),
    ),
    Case("load-dataset-unknown", lambda: data.load_dataset("nope"), ValueError, ("load_dataset", "'nope'", "digits")),
    # --- autograd
    Case(
        "backward-non-scalar",
        lambda: (param(2, 3) * 2).backward(),
        tl.errors.GraphError,
        ("backward", "(2, 3)", "one-element"),
    ),
    Case("grad-wrong-shape", lambda: setattr(param(2), "grad", np.ones(3)), ShapeError, ("grad", "(3,)", "(2,)")),
    Case(
        "load-missing-file",
        lambda: tl.load("definitely-missing.safetensors"),
        CheckpointNotFoundError,
        ("load", "no checkpoint file", "definitely-missing.safetensors"),
    ),
    # --- command line
    Case(
        "cli-resume-missing",
        Cli(("train", "--resume", "missing.safetensors", "--quiet")),
        None,
        ("tinygrad-loss train", "missing.safetensors", "no checkpoint file"),
    ),
    Case("cli-unknown-loss", Cli(("losses", "nope")), None, ("tinygrad-loss losses", "'nope'", "mse")),
    Case(
        "cli-unknown-dataset",
        Cli(("train", "--dataset", "nope", "--quiet")),
        None,
        ("tinygrad-loss train", "'nope'", "digits"),
    ),
    Case("cli-unknown-option", Cli(("train", "--bogus")), None, ("tinygrad-loss", "unrecognized arguments", "--bogus")),
    Case("cli-unknown-command", Cli(("nope",)), None, ("tinygrad-loss", "invalid choice", "'nope'", "train")),
    Case("cli-epochs-not-int", Cli(("train", "--epochs", "abc")), None, ("--epochs", "invalid int", "'abc'")),
    Case(
        "cli-negative-lr",
        Cli(("train", "--lr", "-1", "--quiet")),
        None,
        ("tinygrad-loss train", "--lr", "-1", "positive"),
    ),
    Case(
        "cli-plot-into-missing-folder",
        Cli(("losses", "mse", "--plot", "no/such/folder/out.png")),
        None,
        ("tinygrad-loss losses", "no/such/folder"),
    ),
]


def test_the_table_is_large_and_ids_are_unique():
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)


def _run_cli(argv: tuple[str, ...], cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tinygrad_loss", *argv], capture_output=True, text=True, timeout=120, cwd=cwd
    )


def _error_lines(stderr: str) -> list[str]:
    """stderr without argparse's usage block (a 'usage:' line and its indented continuation)."""
    lines, in_usage = [], False
    for line in stderr.splitlines():
        if line.startswith("usage:"):
            in_usage = True
            continue
        if in_usage and line[:1].isspace():
            continue
        in_usage = False
        if line.strip():
            lines.append(line)
    return lines


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path):
    if isinstance(case.call, Cli):
        result = _run_cli(case.call.argv, tmp_path)
        assert result.returncode != 0, result.stdout
        assert "Traceback" not in result.stderr, result.stderr
        lines = _error_lines(result.stderr)
        assert len(lines) == 1, f"expected one error line, got:\n{result.stderr}"
        for part in case.contains:
            assert part in lines[0], f"{part!r} missing from {lines[0]!r}"
        return
    with pytest.raises(case.error) as info:
        case.call()
    error = info.value
    assert isinstance(error, CATCHABLE), f"{type(error).__name__} is not caught by an ordinary except clause"
    message = str(error)
    missing = [part for part in case.contains if part not in message]
    assert not missing, f"{type(error).__name__} message lacks {missing}: {message!r}"


# ------------------------------------------------------------------ empty tensors (values)


def test_sum_and_mean_of_an_empty_tensor_follow_pytorch(optional_torch):
    x = tl.tensor(np.zeros(0), requires_grad=True)
    total = x.sum()
    assert total.item() == 0.0
    total.backward()
    assert x.grad.shape == (0,)
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        mean = tl.tensor(np.zeros(0)).mean()
    assert np.isnan(mean.item())
    rows = tl.tensor(np.zeros((2, 0))).sum(1)
    np.testing.assert_array_equal(rows.numpy(), [0.0, 0.0])
    if optional_torch is not None:
        assert optional_torch.zeros(0).sum().item() == 0.0
        assert np.isnan(optional_torch.zeros(0).mean().item())


def test_cross_entropy_with_no_samples_follows_pytorch(optional_torch):
    x = tl.tensor(np.zeros((0, 3)), requires_grad=True)
    y = tl.tensor(np.zeros(0, dtype=np.int64))
    with np.errstate(all="ignore"):
        mean = F.cross_entropy(x, y)
        assert np.isnan(mean.item())
        total = F.cross_entropy(x, y, reduction="sum")
        assert total.item() == 0.0
        total.backward()
    assert x.grad.shape == (0, 3)
    assert F.cross_entropy(x, y, reduction="none").shape == (0,)
    if optional_torch is not None:
        torch = optional_torch
        tx, ty = torch.zeros(0, 3), torch.zeros(0, dtype=torch.long)
        assert np.isnan(torch.nn.functional.cross_entropy(tx, ty).item())
        assert torch.nn.functional.cross_entropy(tx, ty, reduction="sum").item() == 0.0
