"""``Optimizer``: the base class that owns the parameter loop.

An optimizer turns gradients into parameter updates. Every optimizer here does the same
outer loop, written once in :meth:`Optimizer.step`::

    for each param group:                       # a group shares lr, momentum, ...
        for each parameter p with a gradient:
            g ← ∇f(p)            (−∇f(p) with maximize=True: gradient *ascent*)
            g ← g + λ·p          (L2 weight decay, λ = weight_decay; AdamW decays p instead)
            update p in place from g and the optimizer's per-parameter state

Subclasses only write the last line (``_update``): a few lines of numpy on ``p.data``.
Updates change ``p.data`` in place and never record a graph, exactly like PyTorch's
``torch.no_grad()`` updates.
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from typing import Any

import numpy as np

from ..engine import enable_grad, mark_edited
from ..tensor import Tensor

__all__ = ["Optimizer", "ParamState", "lerp_"]


class ParamState(MutableMapping):
    """``optimizer.state``: one dict of state (``"step"``, ``"exp_avg"``, ...) per parameter.

    Keyed by the parameter *object* (its identity): ``Tensor.__eq__`` compares elementwise,
    so two parameters holding equal numbers must still get separate state. Like PyTorch's
    ``defaultdict(dict)``, reading a parameter without state gives (and stores) ``{}``.
    """

    def __init__(self) -> None:
        self._items: dict[int, tuple[Tensor, dict[str, Any]]] = {}

    def __getitem__(self, param: Tensor) -> dict[str, Any]:
        if id(param) not in self._items:
            self._items[id(param)] = (param, {})
        return self._items[id(param)][1]

    def __setitem__(self, param: Tensor, value: dict[str, Any]) -> None:
        self._items[id(param)] = (param, value)

    def __delitem__(self, param: Tensor) -> None:
        del self._items[id(param)]

    def __contains__(self, param: object) -> bool:
        return id(param) in self._items

    def __iter__(self) -> Iterator[Tensor]:
        return (param for param, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        names = [p.name or f"<{tuple(p.shape)} tensor>" for p in self]
        return f"ParamState({dict(zip(names, (s for _, s in self._items.values()), strict=True))})"

    # pickling and deepcopy give the parameters new ids: store pairs, rebuild the index
    def __getstate__(self) -> list[tuple[Tensor, dict[str, Any]]]:
        return list(self._items.values())

    def __setstate__(self, pairs: list[tuple[Tensor, dict[str, Any]]]) -> None:
        self._items = {id(p): (p, s) for p, s in pairs}


def lerp_(start: np.ndarray, end: np.ndarray, weight: float, scratch: np.ndarray | None = None) -> np.ndarray:
    """start ← start + weight·(end − start), in place: an exponential moving average.

    With ``weight = 1 − β`` this is ``start ← β·start + (1 − β)·end``. Computed as PyTorch's
    ``lerp_`` does (from the nearer end), so float64 trajectories agree to the last bits.
    ``scratch``, an array shaped like ``start``, spares a temporary.
    """
    step = np.subtract(end, start, out=scratch)
    if weight < 0.5:
        step *= weight
        start += step
    else:
        step *= 1 - weight
        np.subtract(end, step, out=start)
    return start


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


class Optimizer:
    """Base class of all optimizers: param groups, per-parameter state, the update loop.

    ``Optimizer(params, defaults)``: ``params`` is an iterable of Tensors (Parameters), or of
    dicts ("param groups"), each with a ``"params"`` list and any options that should differ
    from ``defaults`` for that group, e.g.::

        SGD([{"params": model.body.parameters()},
             {"params": model.head.parameters(), "lr": 1e-3}], lr=1e-2, momentum=0.9)

    Attributes: ``param_groups`` (list of dicts holding ``"params"`` and every option),
    ``state`` (per-parameter dict, see :class:`ParamState`), ``defaults``.

    Subclasses set ``_non_negative`` (options that must be numbers >= 0), may add checks in
    ``_check_group``, and implement ``_init_state`` and ``_update``.
    """

    _non_negative: tuple[str, ...] = ("lr",)

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], defaults: dict[str, Any]) -> None:
        name = type(self).__name__
        if isinstance(params, (Tensor, dict)):
            raise TypeError(f"{name}: params should be an iterable of Tensors or of dicts (param groups), "
                            f"got a single {type(params).__name__}; wrap it in a list: [{type(params).__name__}]")
        self.defaults: dict[str, Any] = dict(defaults)
        self.state: ParamState = ParamState()
        self.param_groups: list[dict[str, Any]] = []
        self._opt_called = False  # set by step(); a scheduler warns if it steps first
        self._scratch_arrays: dict[tuple, np.ndarray] = {}
        self._check_group(self.defaults)
        groups = list(params)
        if not groups:
            raise ValueError(f"{name}: got an empty parameter list; pass e.g. model.parameters()")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (missing options come from ``defaults``),
        e.g. to start training a layer that was frozen so far."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: a param group must be a dict with a 'params' entry, "
                            f"got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{name}: a param group needs a 'params' entry, got keys {sorted(param_group)}")
        params = param_group["params"]
        if isinstance(params, set):
            raise TypeError(f"{name}: params must be an ordered collection (a list), not a set: "
                            "the order decides the indices in state_dict()")
        params = [params] if isinstance(params, Tensor) else list(params)
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: params[{i}] is a {type(p).__name__}, expected a Tensor or Parameter")
            if not p.is_leaf:
                raise ValueError(f"{name}: cannot optimize a non-leaf tensor (params[{i}], made by "
                                 f"{type(p.grad_fn).__name__}); optimize the leaves it was computed from")
            if p.dtype.kind != "f":
                raise TypeError(f"{name}: params[{i}] has dtype {p.dtype}; "
                                "only floating point tensors can be optimized")
        group = {**param_group, "params": params}
        for key, default in self.defaults.items():
            group.setdefault(key, default)
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in existing for p in params):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{name}: a parameter appears twice in the same group; each must be listed once")
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group: dict[str, Any]) -> None:
        """Raise a ValueError naming the optimizer, the option, its value and what is expected."""
        for key in self._non_negative:
            if key in group and not (_is_number(group[key]) and group[key] >= 0):
                self._invalid(key, group[key], "a number >= 0")

    def _invalid(self, key: str, value: Any, expected: str) -> None:
        raise ValueError(f"{type(self).__name__}: invalid {key}={value!r}; expected {expected}")

    # ------------------------------------------------------------------ the update

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients before the next backward (they accumulate otherwise).

        ``set_to_none=True`` (the default, as in PyTorch): ``p.grad = None``, and ``step``
        skips ``p`` until a backward gives it a gradient again. ``set_to_none=False``:
        fill the existing ``.grad`` arrays with zeros in place.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif p.grad.grad_fn is not None or p.grad.requires_grad:  # a grad made with create_graph=True
                    p.grad = Tensor._make(np.zeros_like(p.grad.data), False, None)
                elif isinstance(p.grad.data, np.ndarray):
                    p.grad.data[...] = 0
                else:  # a numpy scalar (0-d gradient): nothing to fill in place
                    p.grad.data = np.zeros_like(p.grad.data)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; return ``closure()``'s loss (or None).

        For each parameter: g ← ±∇f(p) (minus with ``maximize``), g ← g + λ·p (weight decay),
        then the optimizer's own rule changes ``p.data`` in place. ``closure``, if given,
        re-computes the loss (with gradients enabled) before the update.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                grad = p._grad  # parameters are leaves: the .grad property's non-leaf warning can't apply
                if grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state.update(self._init_state(p.data, group))
                self._update(p.data, self._gradient(p.data, grad.data, group), state, group)
                mark_edited(p)  # a graph still holding the old numbers can no longer backward
        self._opt_called = True
        return loss

    def _gradient(self, param: np.ndarray, grad: np.ndarray, group: dict[str, Any]) -> np.ndarray:
        """g ← ∇f (−∇f with maximize), then weight decay. Never changes ``grad`` itself."""
        g = -grad if group.get("maximize", False) else grad
        return self._weight_decay(param, g, group)

    def _weight_decay(self, param: np.ndarray, g: np.ndarray, group: dict[str, Any]) -> np.ndarray:
        """L2 regularisation folded into the gradient: g ← g + λ·p (λ = weight_decay)."""
        wd = group.get("weight_decay", 0)
        return g + wd * param if wd != 0 else g

    def _scratch(self, like: np.ndarray) -> np.ndarray:
        """A work array shaped like ``like``, reused from step to step (its contents are garbage)."""
        key = (like.shape, like.dtype)
        if key not in self._scratch_arrays:
            self._scratch_arrays[key] = np.empty_like(like)
        return self._scratch_arrays[key]

    def _init_state(self, param: np.ndarray, group: dict[str, Any]) -> dict[str, Any]:
        """The state of a parameter before its first update (e.g. zero moving averages)."""
        return {}

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        """Change ``p`` (the parameter's numpy array) in place from the gradient ``g``."""
        raise NotImplementedError(f"{type(self).__name__} must implement _update(p, g, state, group)")

    # ------------------------------------------------------------------ saving

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state in PyTorch's format, with parameters replaced by indices::

            {"state": {0: {"step": 3, "exp_avg": array, ...}, 1: {...}},
             "param_groups": [{"lr": 0.01, ..., "params": [0, 1]}, {..., "params": [2]}]}

        Parameters are numbered in order through the groups. Arrays are copies: later steps
        do not change a saved state.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: copy.deepcopy(s) for p, s in self.state._items.values() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`: the saved parameter ids are matched to this optimizer's
        parameters by position (group by group), the options of each group are replaced by the
        saved ones. Arrays are copied (and cast to the parameter's dtype), so PyTorch state
        dicts (holding torch tensors) load too."""
        name = type(self).__name__
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{name}.load_state_dict: expected a dict like the one state_dict() returns, "
                            f"got {type(state_dict).__name__}")
        missing = [key for key in ("state", "param_groups") if key not in state_dict]
        if missing:
            raise KeyError(f"{name}.load_state_dict: the state dict has no {missing} entry (expected the keys "
                           "'state' and 'param_groups')")
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state dict has {len(saved_groups)} parameter "
                             f"groups, this optimizer has {len(self.param_groups)}")
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups, strict=True)):
            self._check_group(saved)  # a saved (or edited) state dict gets the same checks as __init__
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"{name}.load_state_dict: parameter group {i} has {len(saved['params'])} "
                                 f"parameters in the state dict but {len(group['params'])} in this optimizer")
        params = {saved_id: p for group, saved in zip(self.param_groups, saved_groups, strict=True)
                  for saved_id, p in zip(saved["params"], group["params"], strict=True)}
        state = ParamState()
        for key, values in state_dict["state"].items():
            if key not in params:
                raise ValueError(f"{name}.load_state_dict: the state dict has state for parameter {key!r}, "
                                 f"which is in none of its param groups {[g['params'] for g in saved_groups]}")
            p = params[key]
            state[p] = {k: self._load_value(p, key, k, v) for k, v in values.items()}
        self.state = state
        self.param_groups = [{**saved, "params": group["params"]}
                             for group, saved in zip(self.param_groups, saved_groups, strict=True)]

    def _load_value(self, param: Tensor, index: Any, key: str, value: Any) -> Any:
        if value is None:
            return None
        if key == "step":
            return int(float(value))
        if _is_number(value):
            return value
        if hasattr(value, "detach"):  # a Tensor, ours or PyTorch's
            value = value.detach().numpy()
        array = np.array(value, dtype=param.dtype)
        if array.shape != param.shape:
            raise ValueError(f"{type(self).__name__}.load_state_dict: state {key!r} of parameter {index} has "
                             f"shape {array.shape}, but the parameter has shape {tuple(param.shape)}")
        return array

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        return "\n".join(lines + [")"])
