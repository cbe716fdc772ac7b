"""Loss modules: ``nn.MSELoss()(input, target)`` is ``F.mse_loss(input, target)``.

Each class stores its constructor's options and forwards them to the function of the same
name in ``nn.functional``, whose docstring explains the formula and the gradient.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from . import functional as F
from .module import Module


class _Loss(Module):
    """Calls ``function(*inputs, **options)``; options are the function's keyword arguments."""

    function: Callable = staticmethod(lambda *a, **k: None)

    def __init__(self, **options: Any) -> None:
        super().__init__()
        allowed = _options_of(type(self).function)
        unknown = set(options) - set(allowed)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown option(s) {sorted(unknown)}; it accepts {sorted(allowed)}")
        self.options = {**allowed, **options}

    def forward(self, *inputs: Any) -> Any:
        return type(self).function(*inputs, **self.options)

    def extra_repr(self) -> str:
        defaults = _options_of(type(self).function)
        return ", ".join(f"{k}={v!r}" for k, v in self.options.items() if defaults.get(k) != v)


def _options_of(function: Callable) -> dict[str, Any]:
    return {name: p.default for name, p in inspect.signature(function).parameters.items()
            if p.default is not inspect.Parameter.empty}


def _loss_class(name: str, function: Callable) -> type:
    explanation = function.__doc__.split("Example:")[0].rstrip()  # the examples belong to the function
    doc = f"Module form of ``F.{function.__name__}``: options are its keyword arguments.\n\n{explanation}"
    return type(name, (_Loss,), {"function": staticmethod(function), "__doc__": doc, "__module__": __name__})


MSELoss = _loss_class("MSELoss", F.mse_loss)
L1Loss = _loss_class("L1Loss", F.l1_loss)
HuberLoss = _loss_class("HuberLoss", F.huber_loss)
SmoothL1Loss = _loss_class("SmoothL1Loss", F.smooth_l1_loss)
CrossEntropyLoss = _loss_class("CrossEntropyLoss", F.cross_entropy)
NLLLoss = _loss_class("NLLLoss", F.nll_loss)
BCELoss = _loss_class("BCELoss", F.binary_cross_entropy)
BCEWithLogitsLoss = _loss_class("BCEWithLogitsLoss", F.binary_cross_entropy_with_logits)
KLDivLoss = _loss_class("KLDivLoss", F.kl_div)
PoissonNLLLoss = _loss_class("PoissonNLLLoss", F.poisson_nll_loss)
GaussianNLLLoss = _loss_class("GaussianNLLLoss", F.gaussian_nll_loss)
HingeEmbeddingLoss = _loss_class("HingeEmbeddingLoss", F.hinge_embedding_loss)
MarginRankingLoss = _loss_class("MarginRankingLoss", F.margin_ranking_loss)
SoftMarginLoss = _loss_class("SoftMarginLoss", F.soft_margin_loss)
MultiMarginLoss = _loss_class("MultiMarginLoss", F.multi_margin_loss)
MultiLabelSoftMarginLoss = _loss_class("MultiLabelSoftMarginLoss", F.multilabel_soft_margin_loss)
CosineEmbeddingLoss = _loss_class("CosineEmbeddingLoss", F.cosine_embedding_loss)
TripletMarginLoss = _loss_class("TripletMarginLoss", F.triplet_margin_loss)
RMSELoss = _loss_class("RMSELoss", F.rmse_loss)
HingeLoss = _loss_class("HingeLoss", F.hinge_loss)
LogCoshLoss = _loss_class("LogCoshLoss", F.log_cosh_loss)
SigmoidFocalLoss = _loss_class("SigmoidFocalLoss", F.sigmoid_focal_loss)
DiceLoss = _loss_class("DiceLoss", F.dice_loss)
ContrastiveLoss = _loss_class("ContrastiveLoss", F.contrastive_loss)
CostSensitiveCrossEntropyLoss = _loss_class("CostSensitiveCrossEntropyLoss", F.cost_sensitive_cross_entropy)

__all__ = [name for name, value in dict(globals()).items() if isinstance(value, type) and issubclass(value, _Loss)
           and value is not _Loss]
