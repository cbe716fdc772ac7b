"""Optimizers: turn gradients into parameter updates, step for step as PyTorch's ``torch.optim``.

The training loop is PyTorch's::

    opt = optim.Adam(model.parameters(), lr=1e-3)
    for x, y in data:
        opt.zero_grad()                  # gradients accumulate otherwise
        loss = loss_fn(model(x), y)
        loss.backward()                  # fills p.grad for every parameter
        opt.step()                       # p.data changes in place, no graph is recorded

``Optimizer`` (in ``optimizer.py``) owns the loop over param groups and parameters, the
maximize and weight-decay handling, ``zero_grad`` and ``state_dict``; each optimizer only
writes its update rule. ``optim.lr_scheduler`` changes the learning rate between epochs.
"""

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD, Momentum

__all__ = ["Optimizer", "SGD", "Momentum", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler"]
