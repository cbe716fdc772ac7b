"""Neural-network building blocks: ``Module``, ``Parameter`` and the loss modules.

``tinygrad_loss.nn.functional`` (import it as ``F``) holds the losses as functions.
"""

from . import functional
from .loss import *  # noqa: F403
from .loss import __all__ as _loss_names
from .module import Module, Parameter

__all__ = ["Module", "Parameter", "functional", *_loss_names]
