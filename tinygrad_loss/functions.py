"""Every elementwise and reduction method as a free function, so PyTorch tutorial code runs
with only the import changed: ``tinygrad_loss.exp(x)``, ``tinygrad_loss.sum(x, 1)``, ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .tensor import Tensor, as_tensor


def _method_as_function(name: str) -> Callable:
    method = getattr(Tensor, name)

    def function(x: Any, *args: Any, **kwargs: Any) -> Any:
        return method(as_tensor(x), *args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``{name}(x, ...)`` is ``Tensor(x).{name}(...)``.\n\n{method.__doc__ or ''}"
    return function


_NAMES = (
    "exp log log1p sqrt abs sin cos tanh sigmoid relu leaky_relu gelu softplus erf square "
    "clip clamp softmax log_softmax sum mean max min var std logsumexp argmax argmin "
    "reshape flatten squeeze unsqueeze permute transpose expand broadcast_to pad dot neg "
    "add sub mul div pow detach clone numel"
).split()

for _name in _NAMES:
    globals()[_name] = _method_as_function(_name)

__all__ = list(_NAMES)
