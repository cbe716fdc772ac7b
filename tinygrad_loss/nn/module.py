"""``Module`` and ``Parameter``: PyTorch's way of bundling tensors that learn."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..engine import mark_edited, no_grad
from ..errors import ShapeError
from ..tensor import Tensor


class Parameter(Tensor):
    """A tensor that is a module's learnable weight: it requires grad by default and is
    listed by ``Module.parameters()``."""

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True, name: str | None = None) -> None:
        super().__init__(data, requires_grad=requires_grad, name=name)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of layers and models: assign Parameters and sub-Modules as attributes in
    ``__init__`` and write ``forward``; calling the module calls ``forward``."""

    training: bool
    _optional_state: tuple[str, ...] = ()  # buffers a state dict may omit (they then keep their value)

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning {name!r}")
        if name in self._buffers and (value is None or type(value) is Tensor):
            self._buffers[name] = value  # a new tensor for a buffer's name is the new buffer (as PyTorch)
            object.__setattr__(self, name, value)
            return
        for registry in (self._parameters, self._modules, self._buffers):
            registry.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
            if value.name is None:
                value.name = name
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._modules, self._buffers):
            registry.pop(name, None)
        object.__delattr__(self, name)

    def register_buffer(self, name: str, tensor: Tensor | None) -> None:
        """A tensor that is part of the state (saved, loaded) but not learned, e.g. running means."""
        object.__setattr__(self, name, tensor)
        self._buffers[name] = tensor

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # ---------------------------------------------------------------- traversal

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        return (m for _, m in self.named_modules())

    def named_children(self) -> Iterator[tuple[str, Module]]:
        return iter(self._modules.items())

    def children(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        seen: set[int] = set()
        for module_name, module in self.named_modules(prefix):
            for name, p in module._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{module_name}.{name}" if module_name else name), p

    def parameters(self) -> Iterator[Parameter]:
        return (p for _, p in self.named_parameters())

    def named_buffers(self) -> Iterator[tuple[str, Tensor]]:
        for module_name, module in self.named_modules():
            for name, b in module._buffers.items():
                if b is not None:
                    yield (f"{module_name}.{name}" if module_name else name), b

    # ---------------------------------------------------------------- modes and grads

    def train(self, mode: bool = True) -> Module:
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.zero_()

    # ---------------------------------------------------------------- state

    def state_dict(self) -> OrderedDict[str, Tensor]:
        """Parameters and buffers by dotted name, module by module as PyTorch orders them
        (detached; the arrays are shared, not copied)."""
        state: OrderedDict[str, Tensor] = OrderedDict()
        for module_name, module in self.named_modules():
            prefix = f"{module_name}." if module_name else ""
            for name, value in (*module._parameters.items(), *module._buffers.items()):
                if value is not None and prefix + name not in state:
                    state[prefix + name] = value.detach()
        return state

    def load_state_dict(self, state_dict: dict[str, Any], strict: bool = True) -> tuple[list, list]:
        """Copy values into the parameters and buffers; with ``strict`` the keys must match exactly
        (except BatchNorm's ``num_batches_tracked``, which may be absent, as in PyTorch).
        Returns (missing_keys, unexpected_keys)."""
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(f"load_state_dict for {type(self).__name__}: expected a dict-like state_dict "
                            f"(names -> tensors), got {type(state_dict).__name__}")
        own = dict(self.named_parameters()) | dict(self.named_buffers())
        optional = {f"{prefix}.{name}" if prefix else name
                    for prefix, module in self.named_modules() for name in module._optional_state}
        missing = [k for k in own if k not in state_dict and k not in optional]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise KeyError(f"load_state_dict for {type(self).__name__}: missing keys {missing}, "
                           f"unexpected keys {unexpected}")
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            array = np.asarray(value.data if isinstance(value, Tensor) else value)
            if array.shape != target.shape:
                raise ShapeError(f"load_state_dict for {type(self).__name__}: {key!r} has shape "
                                 f"{array.shape} in the state dict but {target.shape} in the model")
            with no_grad():
                target.data[...] = array
            mark_edited(target)
        return missing, unexpected

    # ---------------------------------------------------------------- repr

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + repr(child).replace("\n", "\n  ") for name, child in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"
