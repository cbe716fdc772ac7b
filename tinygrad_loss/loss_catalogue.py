"""The loss catalogue behind ``tinygrad-loss losses``: list, explain and plot every loss.

Explanations are read from each loss's docstring (its Formula, When to use and Gradient
parts), so the command line and ``help(F.mse_loss)`` can never disagree. Plots draw each
loss and its gradient (computed by backward, not by hand) against one number:
the prediction error for regression losses, the margin (the true class's logit) for
classification losses.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .nn import functional as F
from .tensor import Tensor, stack


@dataclass(frozen=True)
class LossEntry:
    name: str
    function: Callable
    kind: str  # "regression", "classification" or "other" (pairs, distributions)
    curve: Callable[[Tensor], Tensor] | None = None  # z (a vector) -> one loss per entry of z

    def section(self, title: str) -> str:
        """The text of one part ("Formula", "When to use", "Gradient") of the docstring."""
        doc = self.function.__doc__ or ""
        match = re.search(rf"^\s*{title}:(.*?)(?=^\s*(?:Formula|When to use|Gradient|Example):|\Z)", doc, re.S | re.M)
        return " ".join(match.group(1).split()) if match else ""

    @property
    def summary(self) -> str:
        return (self.function.__doc__ or "").strip().splitlines()[0]


def _ones(z: Tensor) -> np.ndarray:
    return np.ones(z.shape, dtype=z.dtype)


def _two_logits(z: Tensor) -> Tensor:
    """Logits [z, 0] with the true class first: the margin is z."""
    return stack([z, z * 0], axis=1)


_CLASS_0 = lambda z: np.zeros(z.shape[0], dtype=np.int64)  # noqa: E731

_ENTRIES = [
    LossEntry("mse", F.mse_loss, "regression", lambda z: F.mse_loss(z, z.detach() * 0, reduction="none")),
    LossEntry("l1", F.l1_loss, "regression", lambda z: F.l1_loss(z, z.detach() * 0, reduction="none")),
    LossEntry("huber", F.huber_loss, "regression", lambda z: F.huber_loss(z, z.detach() * 0, reduction="none")),
    LossEntry("smooth_l1", F.smooth_l1_loss, "regression",
              lambda z: F.smooth_l1_loss(z, z.detach() * 0, reduction="none")),
    LossEntry("rmse", F.rmse_loss, "regression",
              lambda z: F.rmse_loss(z, z.detach() * 0, reduction="none", eps=1e-12)),
    LossEntry("log_cosh", F.log_cosh_loss, "regression",
              lambda z: F.log_cosh_loss(z, z.detach() * 0, reduction="none")),
    LossEntry("gaussian_nll", F.gaussian_nll_loss, "regression",
              lambda z: F.gaussian_nll_loss(z, z.detach() * 0, _ones(z), reduction="none")),
    LossEntry("poisson_nll", F.poisson_nll_loss, "other"),
    LossEntry("cross_entropy", F.cross_entropy, "classification",
              lambda z: F.cross_entropy(_two_logits(z), _CLASS_0(z), reduction="none")),
    LossEntry("nll", F.nll_loss, "classification",
              lambda z: F.nll_loss(_two_logits(z).log_softmax(1), _CLASS_0(z), reduction="none")),
    LossEntry("bce", F.binary_cross_entropy, "classification",
              lambda z: F.binary_cross_entropy(z.sigmoid(), _ones(z), reduction="none")),
    LossEntry("bce_with_logits", F.binary_cross_entropy_with_logits, "classification",
              lambda z: F.binary_cross_entropy_with_logits(z, _ones(z), reduction="none")),
    LossEntry("hinge", F.hinge_loss, "classification", lambda z: F.hinge_loss(z, _ones(z), reduction="none")),
    LossEntry("soft_margin", F.soft_margin_loss, "classification",
              lambda z: F.soft_margin_loss(z, _ones(z), reduction="none")),
    LossEntry("multi_margin", F.multi_margin_loss, "classification",
              lambda z: F.multi_margin_loss(_two_logits(z), _CLASS_0(z), reduction="none")),
    LossEntry("multilabel_soft_margin", F.multilabel_soft_margin_loss, "classification",
              lambda z: F.multilabel_soft_margin_loss(z.reshape(-1, 1), _ones(z).reshape(-1, 1), reduction="none")),
    LossEntry("focal", F.sigmoid_focal_loss, "classification",
              lambda z: F.sigmoid_focal_loss(z, _ones(z), reduction="none")),
    LossEntry("dice", F.dice_loss, "classification",
              lambda z: F.dice_loss(z.sigmoid().reshape(-1, 1), _ones(z).reshape(-1, 1), reduction="none")),
    LossEntry("cost_sensitive", F.cost_sensitive_cross_entropy, "classification",
              lambda z: F.cost_sensitive_cross_entropy(_two_logits(z), _CLASS_0(z), [[0.0, 1.0], [1.0, 0.0]],
                                                       reduction="none")),
    LossEntry("margin_ranking", F.margin_ranking_loss, "classification",
              lambda z: F.margin_ranking_loss(z, z.detach() * 0, _ones(z), reduction="none")),
    LossEntry("kl_div", F.kl_div, "other"),
    LossEntry("hinge_embedding", F.hinge_embedding_loss, "other"),
    LossEntry("cosine_embedding", F.cosine_embedding_loss, "other"),
    LossEntry("triplet_margin", F.triplet_margin_loss, "other"),
    LossEntry("contrastive", F.contrastive_loss, "other"),
]

LOSSES: dict[str, LossEntry] = {entry.name: entry for entry in _ENTRIES}


def find(name: str) -> LossEntry:
    """A loss by its short name ('mse') or its function's name ('mse_loss', 'sigmoid_focal_loss')."""
    key = name.strip().lower().replace("-", "_")
    for entry in _ENTRIES:
        if key in (entry.name, entry.function.__name__, entry.function.__name__.removesuffix("_loss")):
            return entry
    raise KeyError(f"unknown loss {name!r}; known: {', '.join(LOSSES)}")


def explain(name: str) -> str:
    entry = find(name)
    return "\n".join([
        f"{entry.name}  (tinygrad_loss.nn.functional.{entry.function.__name__})",
        entry.summary, "",
        f"Formula:     {entry.section('Formula')}",
        f"When to use: {entry.section('When to use')}",
        f"Gradient:    {entry.section('Gradient')}",
    ])


def listing(max_width: int = 100) -> str:
    """One line per loss: its name and the start of its formula."""
    width = max(len(n) for n in LOSSES)
    lines = []
    for entry in _ENTRIES:
        formula = entry.section("Formula")
        if len(formula) > max_width:
            formula = formula[: max_width - 1].rstrip() + "…"
        lines.append(f"{entry.name:<{width}}  {formula}")
    return "\n".join(lines)


def curves(names: list[str], z: np.ndarray) -> dict[str, tuple[str, np.ndarray, np.ndarray]]:
    """For each loss: its kind, its value at every z and its gradient d loss / d z (by backward)."""
    result = {}
    for name in names:
        entry = find(name)
        if entry.curve is None:
            plottable = ", ".join(e.name for e in _ENTRIES if e.curve is not None)
            raise ValueError(f"cannot plot {entry.name!r} against a single number (it compares pairs or "
                             f"distributions); plottable losses: {plottable}")
        z_tensor = Tensor(z.astype(np.float64), requires_grad=True)
        loss = entry.curve(z_tensor)
        loss.sum().backward()
        result[entry.name] = (entry.kind, loss.data.copy(), z_tensor.grad.data.copy())
    return result


_LINE_STYLES = ("-", "--", "-.", ":")  # curves that coincide (CE and BCE for two classes) stay visible
_AXIS_LABELS = {
    "regression": "prediction error  input − target",
    "classification": "margin  (logit of the true class; > 0 means correct)",
}


def plot(names: list[str], path: str, span: float = 4.0) -> None:
    """Draw the chosen losses (top) and their gradients (bottom) into an image file."""
    from matplotlib.figure import Figure  # no pyplot: leaves the notebook backend alone

    z = np.linspace(-span, span, 801)
    data = curves(names, z)
    kinds = [k for k in ("regression", "classification") if any(kind == k for kind, _, _ in data.values())]
    fig = Figure(figsize=(6.5 * len(kinds), 7.5))
    axes = fig.subplots(2, len(kinds), squeeze=False, sharex="col")
    for column, kind in enumerate(kinds):
        top, bottom = axes[0][column], axes[1][column]
        drawn = [(name, loss, grad) for name, (k, loss, grad) in data.items() if k == kind]
        for i, (name, loss, grad) in enumerate(drawn):
            style = dict(label=name, linewidth=2, linestyle=_LINE_STYLES[i % len(_LINE_STYLES)])
            top.plot(z, loss, **style)
            bottom.plot(z, grad, **style)
        top.set_title(f"{kind} losses")
        top.set_ylabel("loss")
        bottom.set_ylabel("gradient  d loss / d input")
        bottom.set_xlabel(_AXIS_LABELS[kind])
        for ax in (top, bottom):
            ax.axhline(0, color="0.6", linewidth=0.8)
            ax.axvline(0, color="0.6", linewidth=0.8)
            ax.grid(alpha=0.3)
            ax.legend(frameon=False)
    fig.suptitle("Losses and the gradients they send back (computed by tinygrad_loss's backward)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
