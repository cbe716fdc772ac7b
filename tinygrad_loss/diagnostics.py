"""Gradient-flow diagnostics: watch every layer's gradient size during training.

    flow = GradFlow()
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        flow.record(model)          # after backward, before (or after) the optimizer step
        optimizer.step()
    print(flow.summary())
    flow.plot("gradflow.png")

A gradient whose L2 norm falls below ``vanish`` (1e-7) barely moves its parameter: the layer
has stopped learning (saturated tanh/sigmoid, dead ReLUs, a too-deep stack). One above
``explode`` (1e3) makes wild updates (learning rate too high, no normalisation, no
clipping). ``record`` warns once per parameter for each.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["GradFlow", "GradientFlowWarning"]


class GradientFlowWarning(UserWarning):
    """A layer's gradient vanished, exploded, or is missing."""


class GradFlow:
    """Records the L2 norm of each named parameter's gradient at every ``record`` call.

    ``vanish`` / ``explode``: the norms below / above which a warning is given (once per
    parameter and kind). ``history[name]`` is the list of recorded norms (NaN where the
    parameter had no gradient).
    """

    def __init__(self, vanish: float = 1e-7, explode: float = 1e3) -> None:
        if not 0 <= vanish < explode:
            raise ValueError(f"GradFlow: need 0 <= vanish < explode, got vanish={vanish}, explode={explode}")
        self.vanish, self.explode = vanish, explode
        self.history: dict[str, list[float]] = {}
        self.steps = 0
        self._warned: set[tuple[str, str]] = set()

    def record(self, model: Any) -> dict[str, float]:
        """Store the gradient norm of every parameter of ``model`` (a Module, or pairs
        ``(name, parameter)``, or plain parameters) and return them by name."""
        norms = {}
        for name, p in _named(model):
            grad = p._grad if hasattr(p, "_grad") else getattr(p, "grad", None)
            value = math.nan if grad is None else float(np.sqrt(np.sum(np.square(np.asarray(grad.data, np.float64)))))
            series = self.history.setdefault(name, [math.nan] * self.steps)
            series.append(value)
            norms[name] = value
            self._check(name, value)
        self.steps += 1
        for series in self.history.values():  # parameters missing from this call
            if len(series) < self.steps:
                series.append(math.nan)
        return norms

    def _check(self, name: str, value: float) -> None:
        if math.isnan(value):
            self._warn(name, "missing", f"GradFlow: {name} has no gradient at step {self.steps}: it was not used "
                                        "to compute the loss, or backward() was not called before record()")
        elif not math.isfinite(value):
            self._warn(name, "explode", f"GradFlow: {name}'s gradient is not finite (norm {value}) at step "
                                        f"{self.steps}; look for a log of 0, a division by 0 or overflow "
                                        "(autograd.detect_anomaly() names the op)")
        elif value < self.vanish:
            self._warn(name, "vanish", f"GradFlow: {name}'s gradient vanished: norm {value:.3g} < {self.vanish:g} "
                                       f"at step {self.steps}. The layer has stopped learning (saturated "
                                       "tanh/sigmoid, dead ReLUs, or too many layers in a row)")
        elif value > self.explode:
            self._warn(name, "explode", f"GradFlow: {name}'s gradient exploded: norm {value:.3g} > {self.explode:g} "
                                        f"at step {self.steps}. Lower the learning rate, normalise the inputs, "
                                        "or clip with nn.utils.clip_grad_norm_")

    def _warn(self, name: str, kind: str, message: str) -> None:
        if (name, kind) not in self._warned:
            self._warned.add((name, kind))
            warnings.warn(message, GradientFlowWarning, stacklevel=4)

    def summary(self) -> str:
        """A table: per parameter, the first, last, smallest and largest gradient norm, and a
        verdict (ok / vanishing / exploding / no gradient)."""
        if not self.history:
            return "GradFlow: nothing recorded yet (call record(model) after each backward())"
        width = max(len(n) for n in self.history)
        head = f"{'parameter'.ljust(width)}  {'first':>10}  {'last':>10}  {'min':>10}  {'max':>10}  verdict"
        lines = [f"gradient L2 norms over {self.steps} step{'s' if self.steps != 1 else ''}", head, "-" * len(head)]
        for name, series in self.history.items():
            values = np.array(series, dtype=np.float64)
            seen = values[~np.isnan(values)]
            if seen.size == 0:
                lines.append(f"{name.ljust(width)}  {'-':>10}  {'-':>10}  {'-':>10}  {'-':>10}  no gradient")
                continue
            last = seen[-1]
            verdict = ("exploding" if not np.isfinite(last) or last > self.explode else
                       "vanishing" if last < self.vanish else "ok")
            lines.append(f"{name.ljust(width)}  {seen[0]:>10.3g}  {last:>10.3g}  {seen.min():>10.3g}  "
                         f"{seen.max():>10.3g}  {verdict}")
        return "\n".join(lines)

    def plot(self, path: str | Path) -> Path:
        """Draw the norms over the steps (log y axis, one line per parameter, with the vanish
        and explode thresholds) next to a bar chart of the last step; save to ``path``."""
        from matplotlib.figure import Figure  # no pyplot: leaves the notebook backend alone

        if not self.history:
            raise ValueError("GradFlow.plot: nothing recorded yet (call record(model) after each backward())")
        names = list(self.history)
        figure = Figure(figsize=(12, 4.8))
        lines, bars = figure.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
        steps = np.arange(1, self.steps + 1)
        floor = self.vanish / 10
        for name in names:
            values = np.array(self.history[name], dtype=np.float64)
            lines.plot(steps, np.where(values > 0, values, floor), marker="o" if self.steps < 30 else None,
                       markersize=3, linewidth=1.5, label=name)
        lines.axhline(self.vanish, color="#7f7f7f", linestyle=":", linewidth=1)
        lines.axhline(self.explode, color="#d62728", linestyle=":", linewidth=1)
        lines.text(1, self.vanish, " vanishing", va="bottom", fontsize=8, color="#7f7f7f")
        lines.text(1, self.explode, " exploding", va="top", fontsize=8, color="#d62728")
        lines.set_yscale("log")
        lines.set_xlabel("step (record call)")
        lines.set_ylabel("gradient L2 norm")
        lines.set_title("gradient norm per parameter")
        lines.grid(True, which="major", alpha=0.3)
        lines.legend(fontsize=8, loc="best", ncol=2 if len(names) > 8 else 1)
        last = [self.history[n][-1] for n in names]
        shown = [v if v > 0 and math.isfinite(v) else floor for v in last]
        colours = ["#d62728" if (not math.isfinite(v) or v > self.explode) else
                   "#7f7f7f" if not v >= self.vanish else "#4c72b0" for v in last]
        bars.barh(range(len(names)), shown, color=colours)
        bars.set_yticks(range(len(names)), names, fontsize=8)
        bars.invert_yaxis()
        bars.set_xscale("log")
        bars.set_xlabel("gradient L2 norm")
        bars.set_title(f"last step ({self.steps})")
        bars.grid(True, axis="x", alpha=0.3)
        figure.tight_layout()
        path = Path(path)
        figure.savefig(path, dpi=110)
        return path


def _named(model: Any) -> Iterable[tuple[str, Any]]:
    if hasattr(model, "named_parameters"):
        return list(model.named_parameters())
    items = list(model)
    if all(isinstance(i, tuple) and len(i) == 2 for i in items):
        return items
    return [(getattr(p, "name", None) or f"param{i}", p) for i, p in enumerate(items)]
