"""Learning-rate schedules: PyTorch's ``torch.optim.lr_scheduler`` (StepLR, ExponentialLR,
CosineAnnealingLR).

A scheduler changes ``group["lr"]`` of each of its optimizer's param groups each time you call
``scheduler.step()`` (once per epoch, *after* ``optimizer.step()``)::

    scheduler = StepLR(optimizer, step_size=10, gamma=0.5)
    for epoch in range(n):
        train_one_epoch(model, optimizer)   # calls optimizer.step() many times
        scheduler.step()

Each group's starting lr is remembered as ``group["initial_lr"]`` (``scheduler.base_lrs``).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from .optimizer import Optimizer

__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR"]


class LRScheduler:
    """Base class of the schedulers: ``step()`` sets each group's lr to ``get_lr()``.

    ``last_epoch`` counts the ``step()`` calls (0 right after construction, which applies
    the schedule's value for epoch 0). Pass ``last_epoch`` only when resuming a run whose
    optimizer already holds ``initial_lr`` in its param groups.
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected a tinygrad_loss.optim optimizer, "
                            f"got {type(optimizer).__name__}")
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError(f"{type(self).__name__}: param_groups[{i}] has no 'initial_lr' although "
                               f"last_epoch={last_epoch} says training resumes; load the optimizer's "
                               "state_dict first, or use last_epoch=-1 for a fresh run")
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._is_initial = True
        self.step()
        self._is_initial = False

    def get_lr(self) -> list[float]:
        """The lr of each param group for epoch ``last_epoch`` (called by ``step``)."""
        raise NotImplementedError(f"{type(self).__name__} must implement get_lr()")

    def step(self) -> None:
        """Advance one epoch: ``last_epoch += 1`` and set every group's lr. Call it after
        ``optimizer.step()``."""
        if self._step_count == 1 and not getattr(self.optimizer, "_opt_called", False):
            warnings.warn("lr_scheduler.step() was called before optimizer.step(): the first value of the "
                          "schedule is skipped. Call optimizer.step() first, then scheduler.step().",
                          UserWarning, stacklevel=2)
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr(), strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The lrs the last ``step()`` set, one per param group."""
        return list(self._last_lr)

    def _current_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer (``last_epoch``, ``base_lrs``, the schedule's options)."""
        return {k: (list(v) if isinstance(v, list) else v) for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (load the optimizer's own state dict too: the lrs live there)."""
        self.__dict__.update({k: (list(v) if isinstance(v, list) else v) for k, v in state_dict.items()})

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, last_lr={self._last_lr})"


def _check_positive_int(scheduler: LRScheduler, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{type(scheduler).__name__}: invalid {name}={value!r}; expected a whole number > 0")


class StepLR(LRScheduler):
    """Multiply the lr by γ every ``step_size`` epochs::

        lr ← γ·lr    when epoch is a multiple of step_size (epoch > 0)

    i.e. lr(epoch) = lr₀·γ^⌊epoch / step_size⌋.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        _check_positive_int(self, "step_size", step_size)
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]


class ExponentialLR(LRScheduler):
    """Multiply the lr by γ every epoch::

        lr ← γ·lr,   i.e. lr(epoch) = lr₀·γ^epoch
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from the initial lr down to ``eta_min`` over ``T_max`` epochs::

        lr(t) = η_min + (lr₀ − η_min)·(1 + cos(π·t / T_max)) / 2

    computed, as PyTorch does, recursively from the current lr (so it composes with other
    changes to the lr)::

        lr ← η_min + (lr − η_min)·(1 + cos(π·t / T_max)) / (1 + cos(π·(t − 1) / T_max))

    After T_max the lr climbs back up along the cosine (a period of 2·T_max), it does not
    stay at η_min.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        _check_positive_int(self, "T_max", T_max)
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if (t - 1 - T) % (2 * T) == 0:  # just past a minimum: the ratio below would divide by 0
            return [lr + (base - eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for lr, base in zip(self._current_lrs(), self.base_lrs, strict=True)]
        return [(1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T)) * (lr - eta_min) + eta_min
                for lr in self._current_lrs()]
