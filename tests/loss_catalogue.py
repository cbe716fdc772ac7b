"""The loss catalogue: one list, ``CASES``, that drives every per-loss check in test_losses.py.

Each ``LossCase`` is one loss called with one set of options: our function (by name, in
``tinygrad_loss.nn.functional``), the reference (PyTorch's function of the same name, or, for
the losses PyTorch does not have, the definition from API.md written directly in torch), an
input generator and the options. Every case is checked against the reference in float64
(values and gradients, each reduction) and float32, with ``gradcheck``, and through its module
form.

Inputs are drawn away from the losses' kinks (|d| = delta for Huber, margin violations exactly
at 0, ...), so that gradients are unambiguous and finite differences are valid, and so that
every branch of a piecewise loss is visited.

This module does not import torch: torch functions are looked up lazily when first called.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# ----------------------------------------------------------------------------- lazy torch
from helpers import torch  # lazy: importing this file never needs torch
from helpers import torch_functional as TF

import tinygrad_loss as tl
from tinygrad_loss.nn import functional as F  # noqa: N812 (PyTorch's spelling)

# ----------------------------------------------------------------------------- LossCase

REDUCTIONS = ("mean", "sum", "none")


@dataclass(frozen=True, eq=False)
class LossCase:
    """One loss with one set of options.

    loss: name of our function in ``tinygrad_loss.nn.functional``.
    make: ``make(rng) -> tuple of numpy arrays``, the positional inputs (float64 or int64).
    kwargs: options; numpy float arrays among them (weight, pos_weight) become constant tensors
        of the dtype under test, in both frameworks.
    reference: ``reference(*torch_tensors, **kwargs)``; None means ``torch.nn.functional.<loss>``.
    grad_args: positional inputs differentiated in the reference comparison (None: every float
        input; torch's unused ones must get no (or a zero) gradient from us too).
    labels: float inputs that hold labels (±1, 0/1): never perturbed by gradcheck.
    gc_args: positional inputs checked by gradcheck (None: grad_args minus labels).
    """

    name: str
    loss: str
    make: Callable[[np.random.Generator], tuple]
    kwargs: dict = field(default_factory=dict)
    reference: Callable | None = None
    reductions: tuple = REDUCTIONS
    grad_args: tuple | None = None
    labels: tuple = ()
    gc_args: tuple | None = None

    @property
    def in_torch(self) -> bool:
        """True when the reference is PyTorch's own function (not a formula written here)."""
        return self.reference is None

    def fn(self) -> Callable:
        return getattr(F, self.loss)

    def torch_fn(self) -> Callable:
        return self.reference if self.reference is not None else getattr(TF, self.loss)

    def arrays(self, salt: str = "") -> tuple:
        """The positional inputs: numpy arrays, or Python floats passed on as they are."""
        rng = np.random.default_rng(zlib.crc32(f"{self.name}|{salt}".encode()))
        return tuple(a if isinstance(a, float) else np.asarray(a) for a in self.make(rng))

    def float_args(self, arrays: Sequence[np.ndarray]) -> tuple:
        return tuple(i for i, a in enumerate(arrays) if isinstance(a, np.ndarray) and a.dtype.kind == "f")

    def diff_args(self, arrays: Sequence[np.ndarray]) -> tuple:
        return self.grad_args if self.grad_args is not None else self.float_args(arrays)

    def gradcheck_args(self, arrays: Sequence[np.ndarray]) -> tuple:
        if self.gc_args is not None:
            return self.gc_args
        return tuple(i for i in self.diff_args(arrays) if i not in self.labels)

    def __repr__(self) -> str:
        return self.name


CASES: list[LossCase] = []


def add(loss: str, make: Callable, options: str = "", **fields: Any) -> LossCase:
    name = f"{loss}[{options}]" if options else loss
    assert all(c.name != name for c in CASES), f"duplicate case {name}"
    case = LossCase(name, loss, make, **fields)
    CASES.append(case)
    return case


# ----------------------------------------------------------------------------- tensors


def _is_float_array(v: Any) -> bool:
    return isinstance(v, np.ndarray) and v.dtype.kind == "f"


def tl_args(arrays: Sequence[Any], requires: Sequence[int], dtype: Any) -> list:
    """Our tensors: float inputs in ``dtype`` (requiring grad where asked), int inputs as they
    are, Python floats unchanged."""
    return [a if isinstance(a, float) else
            tl.Tensor(a.astype(dtype), requires_grad=i in requires) if a.dtype.kind == "f" else tl.Tensor(a)
            for i, a in enumerate(arrays)]


def torch_args(arrays: Sequence[Any], requires: Sequence[int], dtype: Any) -> list:
    return [a if isinstance(a, float) else
            torch.tensor(a.astype(dtype), requires_grad=i in requires) if a.dtype.kind == "f" else torch.tensor(a)
            for i, a in enumerate(arrays)]


def tl_kwargs(kwargs: dict, dtype: Any) -> dict:
    return {k: tl.Tensor(v.astype(dtype)) if _is_float_array(v) else v for k, v in kwargs.items()}


def torch_kwargs(kwargs: dict, dtype: Any) -> dict:
    return {k: torch.tensor(v.astype(dtype)) if _is_float_array(v) else v for k, v in kwargs.items()}


# ----------------------------------------------------------------------------- generators

N, C = 4, 3


def _signs(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    """±1 labels with both signs present."""
    s = rng.choice([-1.0, 1.0], size=shape)
    flat = s.reshape(-1)
    if flat.size > 1:
        flat[0], flat[1] = 1.0, -1.0
    return flat.reshape(shape)


def _two_sided(rng: np.random.Generator, shape: tuple, inside: tuple, outside: tuple) -> np.ndarray:
    """Signed values whose magnitudes are alternately drawn from ``inside`` and ``outside``
    (both branches of a piecewise loss), in random order."""
    n = math.prod(shape)
    mags = np.where(np.arange(n) % 2 == 0, rng.uniform(*inside, n), rng.uniform(*outside, n))
    return (rng.permutation(mags) * rng.choice([-1.0, 1.0], n)).reshape(shape)


def _until(make: Callable, ok: Callable) -> Callable:
    """A generator that redraws until ``ok(*arrays)`` holds (keeps inputs off the kinks)."""

    def sample(rng: np.random.Generator) -> tuple:
        for _ in range(1000):
            arrays = make(rng)
            if ok(*arrays):
                return arrays
        raise AssertionError("could not draw inputs away from the kinks")

    return sample


def _np_log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    s = x - x.max(axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis, keepdims=True))


def _np_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.exp(_np_log_softmax(x, axis))


def regression_pair(rng, shape=(N, C)):
    x = rng.normal(0, 1.5, shape)
    return x, x - _two_sided(rng, shape, (0.1, 2.0), (0.1, 2.0))


def band_pair(width: float) -> Callable:
    """(x, y) with |x - y| alternately inside (0.1·w, 0.8·w) and outside (1.2·w, 1.2·w + 2)."""

    def make(rng):
        x = rng.normal(0, 1.5, (N, C))
        return x, x - _two_sided(rng, (N, C), (0.1 * width, 0.8 * width), (1.2 * width, 1.2 * width + 2))

    return make


def class_logits(rng, shape=(N, C)):
    return rng.normal(0, 2, shape)


def class_targets(rng, n=N, classes=C, shape=None):
    t = rng.integers(0, classes, shape if shape is not None else n)
    flat = t.reshape(-1)
    flat[: min(classes, flat.size)] = np.arange(min(classes, flat.size))  # every class appears
    return rng.permutation(flat).reshape(t.shape).astype(np.int64)


def ce_indices(rng):
    return class_logits(rng), class_targets(rng)


def ce_with_ignored(ignore: int, positions: Sequence[int]) -> Callable:
    def make(rng):
        x, t = class_logits(rng, (6, C)), class_targets(rng, 6)
        t[list(positions)] = ignore
        return x, t

    return make


def ce_all_but_one_ignored(rng):
    return class_logits(rng), np.array([-1, -1, 2, -1], dtype=np.int64)


def ce_probabilities(rng, shape=(N, C)):
    return class_logits(rng, shape), _np_softmax(rng.normal(0, 1, shape), axis=1 if len(shape) > 1 else 0)


def ce_kdim(rng):
    return class_logits(rng, (2, C, 2, 2)), class_targets(rng, shape=(2, 2, 2))


def ce_unbatched(rng):
    return class_logits(rng, (C,)), np.array(1, dtype=np.int64)


def nll_indices(rng, shape=(N, C), target_shape=None):
    x = _np_log_softmax(rng.normal(0, 1, shape), axis=1 if len(shape) > 1 else 0)
    return x, class_targets(rng, shape=target_shape if target_shape is not None else shape[:1])


def bce_pair(rng):
    return rng.uniform(0.05, 0.95, (N, C)), rng.uniform(0.0, 1.0, (N, C))


def bce_hard(rng):
    return rng.uniform(0.05, 0.95, (N, C)), (rng.random((N, C)) < 0.5).astype(np.float64)


def logits_pair(rng):
    return rng.normal(0, 2, (N, C)), rng.uniform(0.0, 1.0, (N, C))


def logits_binary(rng):
    return rng.normal(0, 2, (N, C)), (rng.random((N, C)) < 0.5).astype(np.float64)


def kl_pair(log_target: bool) -> Callable:
    def make(rng):
        x = _np_log_softmax(rng.normal(0, 1, (N, C)))
        y = _np_log_softmax(rng.normal(0, 1, (N, C)))
        return x, (y if log_target else np.exp(y))

    return make


def kl_with_zeros(rng):
    x = _np_log_softmax(rng.normal(0, 1, (N, C)))
    y = _np_softmax(rng.normal(0, 1, (N, C)))
    y[:, 0] = 0.0
    return x, y / y.sum(1, keepdims=True)


def counts(rng, shape=(N, C)):
    t = rng.integers(0, 6, shape).astype(np.float64)
    t.reshape(-1)[:3] = [0.0, 1.0, 4.0]  # the Stirling term's mask (y > 1) on both sides
    return t


def poisson_log(rng):
    return rng.normal(0, 0.7, (N, C)), counts(rng)


def poisson_rate(rng):
    return rng.uniform(0.3, 3.0, (N, C)), counts(rng)


def poisson_log_positive(rng):
    return rng.normal(0, 0.7, (N, C)), counts(rng) + 0.5


def gaussian(var_shape: tuple, low: float = 0.2) -> Callable:
    def make(rng):
        x = rng.normal(0, 1, (N, C))
        return x, x + rng.normal(0, 1, (N, C)), rng.uniform(low, 2.0, var_shape)

    return make


def hinge_embedding(margin: float) -> Callable:
    def make(rng):
        y = _signs(rng, (N, C))
        # y = -1: x on both sides of the margin; y = 1: anything
        x = np.where(y < 0, margin + _two_sided(rng, (N, C), (0.1, 1.0), (0.1, 1.0)), rng.normal(0, 1, (N, C)))
        return x, y

    return make


def ranking(margin: float) -> Callable:
    def make(rng):
        x1, y = rng.normal(0, 1, 6), _signs(rng, (6,))
        z = _two_sided(rng, (6,), (0.1, 1.0), (0.1, 1.0))  # z = -y·(x1 - x2) + margin, off 0
        return x1, x1 - (margin - z) * y, y

    return make


def soft_margin(rng):
    return rng.normal(0, 2, (N, C)), _signs(rng, (N, C))


def _multi_margin_ok(margin: float) -> Callable:
    def ok(x, t):
        rows = np.arange(len(t))
        z = margin - x[rows, t][:, None] + x
        z[rows, t] = 1.0
        return bool((np.abs(z) > 0.05).all())

    return ok


def multi_margin(margin: float, unbatched: bool = False) -> Callable:
    def make(rng):
        return class_logits(rng, (N, 4)) * 0.5, class_targets(rng, N, 4)

    sample = _until(make, _multi_margin_ok(margin))
    if not unbatched:
        return sample
    return lambda rng: (lambda x, t: (x[0], np.array(t[0])))(*sample(rng))


def multilabel(rng):
    return rng.normal(0, 2, (N, C)), (rng.random((N, C)) < 0.5).astype(np.float64)


def _cos(a, b):
    return (a * b).sum(-1) / np.sqrt((a * a).sum(-1) * (b * b).sum(-1))


def cosine(margin: float) -> Callable:
    def make(rng):
        return rng.normal(0, 1, (6, C)), rng.normal(0, 1, (6, C)), _signs(rng, (6,))

    return _until(make, lambda a, b, y: bool((np.abs(_cos(a, b) - margin) > 0.05).all()))


def _dist(a, b, p, eps):
    return (np.abs(a - b + eps) ** p).sum(-1) ** (1.0 / p)


def triplet(margin: float, p: float, eps: float, swap: bool) -> Callable:
    def make(rng):
        return tuple(rng.normal(0, 1, (5, C)) for _ in range(3))

    def ok(a, pos, neg):
        d_neg = _dist(a, neg, p, eps)
        if swap:
            d_swap = _dist(pos, neg, p, eps)
            if (np.abs(d_neg - d_swap) < 0.05).any():
                return False
            d_neg = np.minimum(d_neg, d_swap)
        if (np.abs(_dist(a, pos, p, eps) - d_neg + margin) < 0.05).any():
            return False
        pairs = ((a, pos), (a, neg), (pos, neg))
        return all((np.abs(u - v + eps) > 0.01).all() for u, v in pairs)  # |.| kinks (p = 1, 3)

    return _until(make, ok)


# ----------------------------------------------------------------------------- PyTorch's losses

W3 = np.array([0.5, 2.0, 1.25])
W4 = np.array([0.5, 2.0, 1.25, 0.75])
PW3 = np.array([3.0, 0.5, 1.5])

add("mse_loss", regression_pair)
add("mse_loss", lambda rng: (rng.normal(0, 1, (N, C)), rng.normal(0, 1, (1, C))), "target broadcast (1, C)")
add("l1_loss", regression_pair)
for delta in (1.0, 0.5, 2.0):
    add("huber_loss", band_pair(delta), f"delta={delta}", kwargs={"delta": delta})
for beta in (1.0, 0.5, 0.0):
    add("smooth_l1_loss", band_pair(beta) if beta else regression_pair, f"beta={beta}", kwargs={"beta": beta})

add("cross_entropy", ce_indices)
add("cross_entropy", ce_indices, "weight", kwargs={"weight": W3})
add("cross_entropy", ce_with_ignored(-100, [1, 4]), "ignore_index=-100 (2 of 6 ignored)")
add("cross_entropy", ce_with_ignored(1, []), "ignore_index=1 (a real class)", kwargs={"ignore_index": 1})
add("cross_entropy", ce_all_but_one_ignored, "ignore_index=-1, all but one ignored", kwargs={"ignore_index": -1})
add("cross_entropy", ce_indices, "label_smoothing=0.2", kwargs={"label_smoothing": 0.2})
add("cross_entropy", ce_indices, "label_smoothing=1.0", kwargs={"label_smoothing": 1.0})
add("cross_entropy", ce_with_ignored(-1, [0, 3]), "weight+label_smoothing=0.3+ignore_index=-1",
    kwargs={"weight": W3, "label_smoothing": 0.3, "ignore_index": -1})
add("cross_entropy", ce_probabilities, "probability targets")
add("cross_entropy", ce_probabilities, "probability targets+weight", kwargs={"weight": W3})
add("cross_entropy", ce_probabilities, "probability targets+label_smoothing=0.2", kwargs={"label_smoothing": 0.2})
add("cross_entropy", ce_probabilities, "probability targets+weight+label_smoothing=0.2",
    kwargs={"weight": W3, "label_smoothing": 0.2})
add("cross_entropy", lambda rng: ce_probabilities(rng, (2, C, 2)), "probability targets K-dim (N, C, d1)")
add("cross_entropy", lambda rng: ce_probabilities(rng, (C,)), "probability targets unbatched (C,)")
add("cross_entropy", ce_kdim, "K-dim (N, C, d1, d2)")
add("cross_entropy", lambda rng: (lambda x, t: (x, np.where(np.arange(8).reshape(2, 2, 2) % 3 == 0, -100, t)))(
    *ce_kdim(rng)), "K-dim+weight+ignore_index+label_smoothing=0.1", kwargs={"weight": W3, "label_smoothing": 0.1})
add("cross_entropy", ce_unbatched, "unbatched (C,) with 0-d target")
add("cross_entropy", ce_unbatched, "unbatched+weight+label_smoothing=0.1",
    kwargs={"weight": W3, "label_smoothing": 0.1})

add("nll_loss", nll_indices)
add("nll_loss", nll_indices, "weight", kwargs={"weight": W3})
add("nll_loss", lambda rng: (lambda x, t: (x, np.where(np.arange(N) % 2 == 0, -100, t)))(*nll_indices(rng)),
    "ignore_index=-100 (2 of 4 ignored)")
add("nll_loss", nll_indices, "weight+ignore_index=2", kwargs={"weight": W3, "ignore_index": 2})
add("nll_loss", lambda rng: nll_indices(rng, (2, C, 2, 2), (2, 2, 2)), "K-dim (N, C, d1, d2)")
add("nll_loss", lambda rng: nll_indices(rng, (2, C, 3), (2, 3)), "K-dim+weight", kwargs={"weight": W3})
add("nll_loss", lambda rng: (lambda x, t: (x[0], np.array(t[0])))(*nll_indices(rng)), "unbatched (C,)")

add("binary_cross_entropy", bce_pair)
add("binary_cross_entropy", bce_hard, "hard 0/1 targets")
add("binary_cross_entropy", bce_pair, "weight (N, C)", kwargs={"weight": np.linspace(0.5, 2.0, N * C).reshape(N, C)})
add("binary_cross_entropy", bce_pair, "weight (C,) broadcast", kwargs={"weight": W3})

add("binary_cross_entropy_with_logits", logits_pair)
add("binary_cross_entropy_with_logits", logits_binary, "hard 0/1 targets")
add("binary_cross_entropy_with_logits", logits_pair, "weight (C,)", kwargs={"weight": W3})
add("binary_cross_entropy_with_logits", logits_pair, "pos_weight (C,) broadcast", kwargs={"pos_weight": PW3})
add("binary_cross_entropy_with_logits", logits_pair, "weight+pos_weight", kwargs={"weight": W3, "pos_weight": PW3})

KL_REDUCTIONS = REDUCTIONS + ("batchmean",)
add("kl_div", kl_pair(False), "log_target=False", reductions=KL_REDUCTIONS)
add("kl_div", kl_pair(True), "log_target=True", kwargs={"log_target": True}, reductions=KL_REDUCTIONS)
add("kl_div", kl_with_zeros, "target with zeros", reductions=KL_REDUCTIONS, grad_args=(0,))

add("poisson_nll_loss", poisson_log, "log_input=True")
add("poisson_nll_loss", poisson_rate, "log_input=False", kwargs={"log_input": False})
add("poisson_nll_loss", poisson_rate, "log_input=False+eps=0.1", kwargs={"log_input": False, "eps": 0.1})
# full=True: torch's Stirling term gives a NaN target gradient at y = 0 (0·ln 0), so differentiate
# the input only on counts with zeros, and the target too on positive counts
add("poisson_nll_loss", poisson_log, "log_input=True+full=True", kwargs={"full": True}, grad_args=(0,))
add("poisson_nll_loss", poisson_rate, "log_input=False+full=True", kwargs={"log_input": False, "full": True},
    grad_args=(0,))
add("poisson_nll_loss", poisson_log_positive, "log_input=True+full=True, positive targets", kwargs={"full": True})

add("gaussian_nll_loss", gaussian((N, C)), "var same shape")
add("gaussian_nll_loss", gaussian((N, C)), "full=True", kwargs={"full": True})
# eps=0.5 clamps some variances: the value uses max(var, eps), the gradient passes through the
# clamp (PyTorch's choice), so finite differences w.r.t. var disagree there by design
add("gaussian_nll_loss", gaussian((N, C), low=0.1), "eps=0.5 (clamping)", kwargs={"eps": 0.5}, gc_args=(0, 1))
add("gaussian_nll_loss", gaussian((N, 1)), "homoscedastic var (N, 1)")
add("gaussian_nll_loss", gaussian((N,)), "homoscedastic var (N,)")
add("gaussian_nll_loss", gaussian((N,)), "homoscedastic var (N,)+full=True", kwargs={"full": True})


def gaussian_3d(var_shape: tuple) -> Callable:
    def make(rng):
        x = rng.normal(0, 1, (2, C, 4))
        return x, x + rng.normal(0, 1, x.shape), rng.uniform(0.2, 2.0, var_shape)

    return make


# PyTorch also takes a var broadcast along one axis that is not the last, and a Python float
add("gaussian_nll_loss", gaussian_3d((2, C, 1)), "var (N, C, 1) for (N, C, D)")
add("gaussian_nll_loss", gaussian_3d((2, 1, 4)), "var (N, 1, D) for (N, C, D)")
add("gaussian_nll_loss", lambda rng: (*gaussian((N, C))(rng)[:2], 0.7), "var a Python float")

for margin in (1.0, 2.0):
    add("hinge_embedding_loss", hinge_embedding(margin), f"margin={margin}", kwargs={"margin": margin}, labels=(1,))
for margin in (0.0, 0.5):
    add("margin_ranking_loss", ranking(margin), f"margin={margin}", kwargs={"margin": margin}, labels=(2,))
add("soft_margin_loss", soft_margin, labels=(1,), grad_args=(0,))  # torch: no target gradient
for p in (1, 2):
    for margin in (1.0, 0.5):
        add("multi_margin_loss", multi_margin(margin), f"p={p}+margin={margin}", kwargs={"p": p, "margin": margin})
    add("multi_margin_loss", multi_margin(1.0), f"p={p}+weight", kwargs={"p": p, "weight": W4})
add("multi_margin_loss", multi_margin(1.0, unbatched=True), "unbatched (C,)")
add("multilabel_soft_margin_loss", multilabel)
add("multilabel_soft_margin_loss", multilabel, "weight (C,)", kwargs={"weight": W3})
for margin in (0.0, 0.3, -0.2):
    add("cosine_embedding_loss", cosine(margin), f"margin={margin}", kwargs={"margin": margin}, labels=(2,))
for margin, p, eps, swap in [(1.0, 2, 1e-6, False), (0.5, 2, 1e-6, False), (1.0, 1, 1e-6, False),
                             (1.0, 3, 1e-6, False), (1.0, 2, 0.1, False), (1.0, 2, 1e-6, True),
                             (0.5, 1, 0.05, True)]:
    add("triplet_margin_loss", triplet(margin, p, eps, swap), f"margin={margin}+p={p}+eps={eps}+swap={swap}",
        kwargs={"margin": margin, "p": p, "eps": eps, "swap": swap})

# ----------------------------------------------------------------------------- beyond PyTorch
# references: API.md's definitions written directly in torch (float64 autograd gives the gradients)


def _reduce(loss, reduction):
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


def ref_rmse(x, y, reduction="mean", eps=0.0):
    return torch.sqrt(_reduce((x - y) ** 2, reduction) + eps)


def ref_hinge(x, y, margin=1.0, squared=False, reduction="mean"):
    y = y.to(x.dtype)
    if not bool(((y == -1) | (y == 1)).all()):
        y = 2 * y - 1  # {0, 1} labels
    loss = torch.clamp(margin - y * x, min=0)
    return _reduce(loss**2 if squared else loss, reduction)


def ref_log_cosh(x, y, reduction="mean"):
    return _reduce(torch.log(torch.cosh(x - y)), reduction)


def ref_sigmoid_focal(x, t, alpha=0.25, gamma=2.0, reduction="none"):
    # torchvision.ops.sigmoid_focal_loss
    p = torch.sigmoid(x)
    ce = TF.binary_cross_entropy_with_logits(x, t, reduction="none")
    p_t = p * t + (1 - p) * (1 - t)
    loss = ce * ((1 - p_t) ** gamma)
    if alpha >= 0:
        loss = (alpha * t + (1 - alpha) * (1 - t)) * loss
    return _reduce(loss, reduction)


def ref_dice(p, t, smooth=1.0, reduction="mean"):
    axes = tuple(range(1, p.ndim))
    loss = 1 - (2 * (p * t).sum(axes) + smooth) / (p.sum(axes) + t.sum(axes) + smooth)
    return _reduce(loss, reduction)


def ref_contrastive(x1, x2, label, margin=1.0, reduction="mean"):
    d = torch.sqrt(((x1 - x2) ** 2).sum(-1))
    return _reduce(label * d**2 + (1 - label) * torch.clamp(margin - d, min=0) ** 2, reduction)


def ref_cost_sensitive(x, t, costs, reduction="mean"):
    return _reduce((torch.softmax(x, 1) * costs[t]).sum(1), reduction)


add("rmse_loss", regression_pair, reference=ref_rmse)
add("rmse_loss", regression_pair, "eps=1e-3", kwargs={"eps": 1e-3}, reference=ref_rmse)


def hinge_inputs(margin: float, zero_one: bool) -> Callable:
    def make(rng):
        y = _signs(rng, (8,))
        x = y * (margin + _two_sided(rng, (8,), (0.1, 1.5), (0.1, 1.5)))  # y·x on both sides of the margin
        return x, ((y + 1) // 2).astype(np.int64) if zero_one else y

    return make


for margin, squared, zero_one in [(1.0, False, False), (1.0, False, True), (0.5, False, False),
                                  (1.0, True, False), (2.0, True, True)]:
    add("hinge_loss", hinge_inputs(margin, zero_one),
        f"labels={'{0,1}' if zero_one else '{-1,+1}'}+margin={margin}+squared={squared}",
        kwargs={"margin": margin, "squared": squared}, reference=ref_hinge, grad_args=(0,))
add("log_cosh_loss", regression_pair, reference=ref_log_cosh)
# targets must lie in [0, 1], so gradcheck does not perturb 0/1 targets (labels=(1,)): their
# gradient is still compared with torch's; soft targets are gradchecked too
for alpha, gamma in [(0.25, 2.0), (-1.0, 2.0), (0.75, 0.0), (0.25, 1.5), (0.25, 0.5), (0.25, 1.0)]:
    add("sigmoid_focal_loss", logits_binary, f"alpha={alpha}+gamma={gamma}", kwargs={"alpha": alpha, "gamma": gamma},
        reference=ref_sigmoid_focal, labels=(1,))
add("sigmoid_focal_loss", logits_pair, "soft targets", reference=ref_sigmoid_focal)
add("sigmoid_focal_loss", logits_pair, "soft targets+gamma=0.5", kwargs={"gamma": 0.5}, reference=ref_sigmoid_focal)


def dice_inputs(shape: tuple) -> Callable:
    return lambda rng: (rng.uniform(0.02, 0.98, shape), (rng.random(shape) < 0.4).astype(np.float64))


add("dice_loss", dice_inputs((3, 2, 2)), "smooth=1.0 (N, H, W)", reference=ref_dice)
add("dice_loss", dice_inputs((3, 5)), "smooth=0.5 (N, D)", kwargs={"smooth": 0.5}, reference=ref_dice)
add("dice_loss", dice_inputs((2, 2, 2, 2)), "smooth=0 (N, C, H, W)", kwargs={"smooth": 0.0}, reference=ref_dice)


def contrastive_inputs(margin: float) -> Callable:
    def make(rng):
        label = np.array([1.0, 0.0, 1.0, 0.0, 0.0, 0.0])
        return rng.normal(0, 0.6, (6, C)), rng.normal(0, 0.6, (6, C)), label

    def ok(a, b, label):
        d = np.sqrt(((a - b) ** 2).sum(-1))
        push = (label == 0) & (d < margin)
        return bool((np.abs(d - margin) > 0.05).all() and push.any() and ((label == 0) & ~push).any())

    return _until(make, ok)


for margin in (1.0, 2.0):
    add("contrastive_loss", contrastive_inputs(margin), f"margin={margin}", kwargs={"margin": margin},
        reference=ref_contrastive, grad_args=(0, 1))

COSTS = np.array([[0.0, 1.0, 2.0], [10.0, 0.0, 1.0], [3.0, 5.0, 0.0]])
add("cost_sensitive_cross_entropy", lambda rng: (*ce_indices(rng), COSTS), reference=ref_cost_sensitive,
    grad_args=(0,))
add("cost_sensitive_cross_entropy", lambda rng: (*ce_indices(rng), np.abs(rng.normal(0, 2, (C, C)))),
    "non-zero diagonal", reference=ref_cost_sensitive, grad_args=(0,))

# ----------------------------------------------------------------------------- names

TORCH_LOSSES = ("mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "cross_entropy", "nll_loss",
                "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "poisson_nll_loss",
                "gaussian_nll_loss", "hinge_embedding_loss", "margin_ranking_loss", "soft_margin_loss",
                "multi_margin_loss", "multilabel_soft_margin_loss", "cosine_embedding_loss", "triplet_margin_loss")
EXTRA_LOSSES = ("rmse_loss", "hinge_loss", "log_cosh_loss", "sigmoid_focal_loss", "dice_loss", "contrastive_loss",
                "cost_sensitive_cross_entropy")
ALL_LOSSES = TORCH_LOSSES + EXTRA_LOSSES

MODULES = {
    "mse_loss": "MSELoss", "l1_loss": "L1Loss", "huber_loss": "HuberLoss", "smooth_l1_loss": "SmoothL1Loss",
    "cross_entropy": "CrossEntropyLoss", "nll_loss": "NLLLoss", "binary_cross_entropy": "BCELoss",
    "binary_cross_entropy_with_logits": "BCEWithLogitsLoss", "kl_div": "KLDivLoss",
    "poisson_nll_loss": "PoissonNLLLoss", "gaussian_nll_loss": "GaussianNLLLoss",
    "hinge_embedding_loss": "HingeEmbeddingLoss", "margin_ranking_loss": "MarginRankingLoss",
    "soft_margin_loss": "SoftMarginLoss", "multi_margin_loss": "MultiMarginLoss",
    "multilabel_soft_margin_loss": "MultiLabelSoftMarginLoss", "cosine_embedding_loss": "CosineEmbeddingLoss",
    "triplet_margin_loss": "TripletMarginLoss", "rmse_loss": "RMSELoss", "hinge_loss": "HingeLoss",
    "log_cosh_loss": "LogCoshLoss", "sigmoid_focal_loss": "SigmoidFocalLoss", "dice_loss": "DiceLoss",
    "contrastive_loss": "ContrastiveLoss", "cost_sensitive_cross_entropy": "CostSensitiveCrossEntropyLoss",
}


def cases_of(loss: str) -> list[LossCase]:
    return [c for c in CASES if c.loss == loss]
