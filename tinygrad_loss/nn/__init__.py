"""Neural-network building blocks: ``Module``, ``Parameter`` and the loss modules.

``tinygrad_loss.nn.functional`` (import it as ``F``) holds the losses as functions.
"""

from . import functional, init, utils
from .layers import (
                     GELU,
                     AvgPool2d,
                     BatchNorm1d,
                     BatchNorm2d,
                     Conv2d,
                     Dropout,
                     Embedding,
                     Flatten,
                     LayerNorm,
                     LeakyReLU,
                     Linear,
                     LogSoftmax,
                     MaxPool2d,
                     ReLU,
                     Sequential,
                     Sigmoid,
                     Softmax,
                     Tanh,
)
from .loss import *  # noqa: F403
from .loss import __all__ as _loss_names
from .module import Module, Parameter

__all__ = ["Module", "Parameter", "functional", "init", "utils", "Sequential", "Linear", "Conv2d", "MaxPool2d",
           "AvgPool2d", "Flatten", "Dropout", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "Embedding", "ReLU",
           "Sigmoid", "Tanh", "GELU", "LeakyReLU", "Softmax", "LogSoftmax", *_loss_names]
