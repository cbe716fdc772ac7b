"""The autograd engine: graph nodes (``Function``), the switches, and reverse-mode backprop.

Read this file to see how backpropagation works; it is the only place the chain rule lives.

* An op is a ``Function`` subclass. ``forward(ctx, *arrays)`` computes with numpy and saves
  what the derivative needs; ``backward(ctx, grad)`` returns one gradient per input: the
  incoming gradient times the op's *local* derivative. Ops know nothing else.
* ``Function.apply`` runs ``forward`` on the arrays inside the tensors and, when a gradient
  will be needed, keeps the instance (the "ctx") as the new tensor's ``grad_fn``: that is the
  graph. Parents are kept in order in ``ctx.inputs``; nothing is stored in a set.
* ``backward`` visits the op nodes in reverse creation order. A tensor is always created after
  its inputs, so that order is topological, needs no recursion and is the same on every run.
  Each node's gradient is complete when it is visited; the engine hands it to the op's
  backward, sums any broadcast axes away (``unbroadcast``) and accumulates the results.
  Leaves wait aside and get their ``.grad`` once every node has run.
* Changing a tensor's numbers in place (``-=``, ``fill_``, an optimizer step) is dated on the
  same clock (``mark_edited``); backward refuses a node whose saved values changed after it ran,
  instead of silently using the new numbers (as PyTorch does).
* With ``create_graph=True`` the same backward code runs on Tensors instead of arrays (Tensor
  implements numpy's ``__array_ufunc__``), so the backward pass is itself recorded and can be
  differentiated again.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Iterator
from heapq import heappop, heappush
from operator import attrgetter
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy import generic, ndarray  # bare names: numpy's module __getattr__ makes np.x a slow lookup

from .dtypes import DEFAULT_FLOAT
from .errors import AnomalyError, DTypeError, GraphError, IndexOutOfRangeError, ShapeError


class TeachingWarning(UserWarning):
    """A warning about a classic autograd trap; each kind is shown once per process."""


_warned: set[str] = set()


def warn_once(key: str, message: str) -> None:
    """Warn about a trap once per process, pointing at the user's line (not ours)."""
    if key not in _warned:
        _warned.add(key)
        depth, frame = 2, sys._getframe(1)  # stacklevel 2 is our caller
        while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
            depth, frame = depth + 1, frame.f_back
        warnings.warn(message, TeachingWarning, stacklevel=depth)


# ----------------------------------------------------------------------------- switches


class _Mode:
    """Global switches read by the engine (one process, one thread: no locking needed)."""

    __slots__ = ("grad_enabled", "keep_grads", "anomaly")  # read by every op: slots are the fastest to read

    def __init__(self) -> None:
        self.grad_enabled = True
        self.keep_grads = False
        self.anomaly = False


mode = _Mode()


class _Switch:
    """A context manager (also usable as a decorator) that sets one ``mode`` flag."""

    flag = ""
    value = True

    def __new__(cls, fn: Callable | None = None) -> Any:
        switch = super().__new__(cls)
        return switch if fn is None else switch(fn)  # bare `@no_grad` as well as `@no_grad()`

    def __enter__(self) -> None:
        self._previous = getattr(mode, self.flag)
        setattr(mode, self.flag, self.value)

    def __exit__(self, *exc: object) -> None:
        setattr(mode, self.flag, self._previous)

    def __call__(self, fn: Callable) -> Callable:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)():
                return fn(*args, **kwargs)

        wrapper.__wrapped__ = fn
        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        wrapper.__doc__ = fn.__doc__
        return wrapper


class no_grad(_Switch):  # noqa: N801 - PyTorch's name
    """Inside this block no graph is recorded: for evaluation and manual parameter updates."""

    flag, value = "grad_enabled", False


class enable_grad(_Switch):  # noqa: N801
    """Re-enables graph recording inside a ``no_grad`` block."""

    flag, value = "grad_enabled", True


class keep_grads(_Switch):  # noqa: N801
    """Teaching switch: every node of the graph keeps its ``.grad`` after backward."""

    flag, value = "keep_grads", True


class detect_anomaly(_Switch):  # noqa: N801
    """Raise ``AnomalyError`` at the first NaN/Inf produced in forward or backward.

    The message names the op and the line of *your* code that created the offending tensor.
    Slower (every op checks its output and records where it was called), so use it to debug.
    """

    flag, value = "anomaly", True


_last_edit = -1  # when (in tensor creation order, see Tensor._seq) a tensor was last changed in place


def mark_edited(t: Any) -> None:
    """Record that ``t``'s numbers were just changed in place (``-=``, ``fill_``, an optimizer
    step...): a node recorded before now that saved them for backward can no longer use them."""
    global _last_edit
    t._edited_at = _last_edit = tensor._next_seq()  # dated on the clock that orders tensor creation


def set_keep_grads(enabled: bool) -> None:
    """Turn the ``keep_grads`` teaching switch on or off globally."""
    mode.keep_grads = bool(enabled)


def is_grad_enabled() -> bool:
    return mode.grad_enabled


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def user_frame() -> str:
    """'file:line in function' of the innermost caller outside tinygrad_loss."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"


# ----------------------------------------------------------------------------- Function

_new = object.__new__  # an op instance without calling __init__ (it has none)
_NO_KWARGS = MappingProxyType({})  # read-only: shared by every node called without keywords


class _Freed:
    """What ``ctx.saved_tensors`` holds once backward has freed the graph: using it raises."""

    __slots__ = ()

    def _raise(self, *args: Any) -> Any:
        raise GraphError(_freed_message("this op"))

    __iter__ = __getitem__ = __len__ = _raise

    def __repr__(self) -> str:
        return "<freed by backward>"


def _freed_message(op: str) -> str:
    return (f"{op}: trying to backward through the graph a second time; its saved values were freed "
            "after the first backward. Pass retain_graph=True to the first backward() if you need to "
            "call it twice.")


_FREED = _Freed()


class Function:
    """Base class of every op, built-in or yours. An instance is both PyTorch's ``ctx`` and a
    node of the graph (``tensor.grad_fn``).

    Example (the same shape as PyTorch's ``torch.autograd.Function``)::

        class Cube(Function):
            @staticmethod
            def forward(ctx, x):            # x is a numpy array
                ctx.save_for_backward(x)
                return x ** 3

            @staticmethod
            def backward(ctx, grad):        # grad: d(loss)/d(output), same shape as output
                (x,) = ctx.saved_tensors
                return grad * 3 * x ** 2    # d(loss)/d(x) = grad * local derivative

        y = Cube.apply(t)

    ``backward`` returns one gradient per positional input of ``forward`` (``None`` for inputs
    that need none, e.g. a Python number). Write it with operators and numpy ufuncs and it
    also works under ``create_graph=True``.
    """

    # A node that needs nothing beyond these slots allocates no __dict__: with 100,000 nodes in
    # a graph, fewer objects means far less work for Python's cyclic garbage collector.
    __slots__ = ("saved_tensors", "inputs", "kwargs", "__dict__", "__weakref__")

    #: How the op is drawn and stepped through: its forward formula and local derivative.
    formula = ""
    derivative = ""
    #: Built-in ops set this (see ops.Op): their backward never returns an array held elsewhere.
    fresh_gradients = False
    #: Ops on several operands set this: their inputs are cast to PyTorch's result dtype first
    #: (numpy would turn float32 with int64, or int64 with 0.5, into float64).
    promotes_dtypes = False
    #: Ops whose result is always floating (true division, exp, mean...) set this: integer inputs
    #: become float32, PyTorch's default, rather than numpy's float64.
    floating = False

    def save_for_backward(self, *arrays: Any) -> None:
        """Keep what backward needs; backward reads it back as ``ctx.saved_tensors``."""
        self.saved_tensors = arrays

    @property
    def needs_input_grad(self) -> tuple[bool, ...]:
        Tensor = tensor.Tensor
        return tuple([isinstance(a, Tensor) and a.requires_grad for a in self.inputs])

    @property
    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.name}Backward>"

    @staticmethod
    def forward(ctx: Function, *args: Any, **kwargs: Any) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Function, grad: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> tensor.Tensor:
        """Run ``forward`` on the data of ``args`` and record the node if a gradient is needed."""
        Tensor = tensor.Tensor
        ctx = _new(cls)
        ctx.saved_tensors = ()
        ctx.kwargs = kwargs or _NO_KWARGS  # keeping a new empty dict per node would feed the GC
        arrays = []
        needs_grad = False
        for a in args:
            if isinstance(a, Tensor):
                arrays.append(a.data)
                if a.requires_grad:
                    needs_grad = True
            elif isinstance(a, generic):  # np.float64(2) must not turn float32 into float64
                arrays.append(a.item())
            else:
                arrays.append(a)
        if cls.promotes_dtypes:
            if _numpy_may_differ(arrays):
                _promote(arrays, cls.floating)
        elif cls.floating and _integral(arrays[0]):
            arrays[0] = arrays[0].astype(_FLOAT)  # exp, mean... of integers: float32, as PyTorch
        try:
            data = cls.forward(ctx, *arrays, **kwargs) if kwargs else cls.forward(ctx, *arrays)
        except (ValueError, TypeError, IndexError, OverflowError) as error:
            # a built-in op's numpy traceback is noise; a user-defined op's is the user's own code
            raise _forward_error(cls, args, error) from (None if issubclass(cls, ops.Op) else error)
        if type(data) is not ndarray:
            data = _as_output_array(ctx, data)
        if mode.anomaly:
            ctx.created_at = user_frame()
            _check_forward(cls, args, data, ctx.created_at)
        if needs_grad and mode.grad_enabled:
            ctx.inputs = args
            return Tensor._make(data, True, ctx)
        return Tensor._make(data, False, None)


def _numpy_may_differ(operands: list) -> bool:
    """Whether numpy's result dtype for an op on ``operands`` may differ from PyTorch's. Not for
    the usual binary cases: two float arrays of one dtype, or a float array and a Python number."""
    if len(operands) != 2:
        return True
    x, y = operands
    if type(x) is ndarray and type(y) is ndarray:
        return x.dtype is not y.dtype or x.dtype not in _USUAL_FLOATS  # `is`: dtypes are shared objects
    array = x if type(x) is ndarray else y
    return type(array) is not ndarray or array.dtype not in _USUAL_FLOATS


def _integral(x: Any) -> bool:
    """An integer or bool array (float32/float64 answered first, by identity)."""
    return type(x) is ndarray and x.dtype not in _USUAL_FLOATS and x.dtype.kind != "f"


def _promote(arrays: list, floating: bool) -> None:
    """Cast the arrays among an op's inputs, in place, to PyTorch's result dtype (``torch.result_type``):

    * the kind (bool < integer < float) is the highest among all inputs;
    * the dtype comes from the inputs that matter most: arrays with dimensions, then 0-d arrays,
      then Python numbers — so float32 × a 0-d float64 stays float32, and an integer array + 0.5
      is float32 (a Python float counts as the default float32), where numpy would give float64;
    * ``floating`` ops (true division, exp, ...) turn an integer result into float32.
    Python numbers stay as they are: numpy then computes in the arrays' dtype."""
    dims = zero_d = numbers = None
    for a in arrays:
        if type(a) is ndarray:
            if a.ndim:
                dims = _promote_pair(dims, a.dtype)
            else:
                zero_d = _promote_pair(zero_d, a.dtype)
        elif isinstance(a, (int, float)):  # a Python number (bool is an int)
            numbers = _promote_pair(numbers, _BOOL if isinstance(a, bool) else _INT if isinstance(a, int) else _FLOAT)
    target = _combine(dims, _combine(zero_d, numbers))
    if target is None:  # no numbers among the inputs at all: nothing to promote
        return
    if floating and target.kind != "f":
        target = _FLOAT
    for i, a in enumerate(arrays):
        if type(a) is ndarray and a.dtype != target:
            arrays[i] = a.astype(target)


_BOOL, _INT, _FLOAT = np.dtype(bool), np.dtype(np.int64), np.dtype(DEFAULT_FLOAT)  # of Python numbers
_USUAL_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))  # found by identity, first


def _promote_pair(a: np.dtype | None, b: np.dtype) -> np.dtype:
    """PyTorch's promotion of two dtypes: within a kind the wider; across kinds the higher kind's
    dtype (int64 with float32 is float32, where numpy says float64)."""
    if a is None:
        return b
    if (a.kind == "f") != (b.kind == "f"):
        return a if a.kind == "f" else b
    return np.promote_types(a, b)


def _combine(higher: np.dtype | None, lower: np.dtype | None) -> np.dtype | None:
    """The result of inputs that matter more (``higher``) with ones that matter less: theirs,
    unless the lesser ones are of a higher kind (floats over integers, integers over bools)."""
    if higher is None or lower is None:
        return lower if higher is None else higher
    if higher.kind == "f" or (higher.kind != "b" and lower.kind != "f"):
        return higher
    return _promote_pair(higher, lower)


def _as_output_array(ctx: Function, data: Any) -> np.ndarray:
    """numpy returns scalars for 0-d inputs; make the output an array (and keep ``saved``
    pointing at the very object the output tensor holds: create_graph maps saved values back
    to tensors by identity)."""
    if isinstance(data, tensor.Tensor):
        return data.data
    array = np.asarray(data)
    saved = ctx.saved_tensors
    if saved and any(s is data for s in saved):
        ctx.saved_tensors = tuple(array if s is data else s for s in saved)
    return array


def _describe(value: Any) -> str:
    if isinstance(value, (tensor.Tensor, np.ndarray)):
        return f"{type(value).__name__}(shape={tuple(value.shape)}, dtype={value.dtype})"
    return repr(value)


def _forward_error(cls: type, args: tuple, error: Exception) -> Exception:
    kind = {ValueError: ShapeError, TypeError: DTypeError, IndexError: IndexOutOfRangeError,
            OverflowError: DTypeError}  # OverflowError: a Python int that the tensor's dtype cannot hold
    error_type = next(v for k, v in kind.items() if isinstance(error, k))
    given = ", ".join(_describe(a) for a in args)
    return error_type(f"{cls.__name__}: cannot compute it for inputs {given}: {error}")


def _check_forward(cls: type, args: tuple, data: np.ndarray, created_at: str) -> None:
    if data.dtype.kind != "f" or np.isfinite(data).all():
        return
    bad = [i for i, a in enumerate(args) if isinstance(a, tensor.Tensor) and a.dtype.kind == "f"
           and not np.isfinite(a.data).all()]
    if bad:
        source = getattr(args[bad[0]].grad_fn, "created_at", "data you passed in")
        why = f"input {bad[0]} already held NaN/Inf (it came from {source})"
    else:
        why = "all its inputs were finite"
    raise AnomalyError(f"detect_anomaly: {cls.__name__} produced NaN/Inf in forward at {created_at}; {why}")


# ----------------------------------------------------------------------------- backward


def unbroadcast(grad: Any, shape: tuple, where: str = "") -> Any:
    """Sum ``grad`` over the axes that broadcasting added or stretched, down to ``shape``.

    If ``b`` of shape (1, 3) was added to ``x`` of shape (4, 3), b was used 4 times, so its
    gradient is the sum of the 4 rows of the incoming gradient.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0 or any(g != s and s != 1 for g, s in zip(grad.shape[extra:], shape)):
        raise ShapeError(f"{where}: backward returned a gradient of shape {tuple(grad.shape)} "
                         f"for an input of shape {shape}; they must be equal or broadcastable")
    stretched = tuple(i + extra for i, s in enumerate(shape) if s == 1 and grad.shape[i + extra] != 1)
    return grad.sum(axis=tuple(range(extra)) + stretched, keepdims=True).reshape(shape)


def graph_nodes(roots: list) -> list:
    """Every tensor reachable from ``roots`` that requires grad, latest-created first."""
    Tensor = tensor.Tensor
    seen = set()  # tensors hash by identity (object.__hash__), so sets and dicts of them are safe
    stack = list(roots)
    nodes = []
    while stack:
        t = stack.pop()
        if t in seen:
            continue
        seen.add(t)
        nodes.append(t)
        if t.grad_fn is not None:
            for parent in t.grad_fn.inputs:
                if isinstance(parent, Tensor) and parent.requires_grad:
                    stack.append(parent)
    nodes.sort(key=_creation_order, reverse=True)
    return nodes


_creation_order = attrgetter("_seq")


def backward_steps(roots: list, root_grads: list, retain_graph: bool = False, create_graph: bool = False,
                   inputs: list | None = None, found: dict | None = None, steps: bool = True) -> Iterator[tuple]:
    """Reverse-mode autodiff, one node at a time.

    Yields ``(node, grad_output, grad_inputs)`` for each op node in the order backward runs
    (``grad_inputs`` aligned with ``node.grad_fn.inputs``; the debugger shows these); with
    ``steps=False`` it yields nothing and runs straight through (``run_backward``).
    Leaves' ``.grad`` is updated, unless ``inputs`` is given (that is ``autograd.grad``): then
    the gradients of ``inputs`` are put in ``found``, keyed by tensor.
    """
    Tensor = tensor.Tensor
    grads: dict = {}  # tensor -> its gradient so far
    owned: set = set()  # tensors whose gradient array the engine may keep or add to in place
    # op nodes, latest-created first: every consumer of a tensor was created after it, so by the
    # time a node comes off this heap all the gradient flowing into it has arrived
    queue: list = []
    leaves: list = []  # leaves reached, in that order: their gradients are complete at the end
    for root, g in zip(roots, root_grads):
        if root in grads:  # the same tensor given twice: its gradients add up
            _accumulate(grads, owned, root, g, create_graph)
            continue
        grads[root] = g
        if root.grad_fn is None:
            leaves.append(root)
        else:
            heappush(queue, (-root._seq, root))
    wanted = set(inputs) if inputs is not None else ()
    keep_all = mode.keep_grads
    while queue:
        node = heappop(queue)[1]
        g = grads.pop(node)
        if node._hooks or node in wanted:
            g = _arrived(node, g, wanted, found, create_graph, owned)
        if keep_all or node._retains_grad:
            _keep_grad(node, g, node in owned, create_graph)
        # the chain rule, one node: the op turns d(loss)/d(output) into d(loss)/d(each input)
        ctx = node.grad_fn
        grad_inputs = _call_backward(ctx, node, g, create_graph)
        fresh_from_op = ctx.fresh_gradients and not create_graph
        for parent, pg in zip(ctx.inputs, grad_inputs):
            if pg is None or not isinstance(parent, Tensor) or not parent.requires_grad:
                continue
            # a new array from a built-in op belongs to nobody else: no need to copy it later
            fresh = fresh_from_op and pg is not g and pg.base is None
            data = parent.data
            if pg.shape != data.shape:
                pg, fresh = unbroadcast(pg, data.shape, ctx.name), not create_graph
            if pg.dtype is not data.dtype and pg.dtype != data.dtype:  # `is` first: dtypes are shared objects
                pg, fresh = pg.astype(data.dtype), not create_graph
            if parent in grads:
                _accumulate(grads, owned, parent, pg, create_graph)
            else:
                grads[parent] = pg
                if parent.grad_fn is None:
                    leaves.append(parent)
                else:
                    heappush(queue, (-parent._seq, parent))
                if fresh:
                    owned.add(parent)
        if not retain_graph:
            ctx.saved_tensors = _FREED
        if steps:
            yield node, g, grad_inputs
    for leaf in leaves:  # every node has run: the leaves' gradients are complete
        g = grads.pop(leaf)
        if leaf._hooks or leaf in wanted:
            g = _arrived(leaf, g, wanted, found, create_graph, owned)
        if inputs is None:
            _keep_grad(leaf, g, leaf in owned, create_graph)


def _arrived(t: Any, g: Any, wanted: Any, found: dict | None, create_graph: bool, owned: set) -> Any:
    """``t``'s gradient is complete: run its hooks, and hand it to ``autograd.grad`` if asked for."""
    if t._hooks:
        g = _run_hooks(t, g, create_graph)
        owned.discard(t)  # a hook may hand back an array the user keeps
    if t in wanted:
        found[t] = g
    return g


def run_backward(roots: list, root_grads: list, retain_graph: bool = False,
                 create_graph: bool = False, inputs: list | None = None) -> dict:
    """Run every step of ``backward_steps``; return the gradients of ``inputs`` (tensor -> grad)."""
    found: dict = {}
    for _ in backward_steps(roots, root_grads, retain_graph, create_graph, inputs, found, steps=False):
        pass  # nothing is yielded: one pass of the loop runs the whole backward
    return found


def _call_backward(ctx: Function, node: Any, g: Any, create_graph: bool) -> tuple:
    """Call the op's backward: on arrays normally, on Tensors (recording) under create_graph."""
    saved = ctx.saved_tensors
    if saved is _FREED:
        raise GraphError(_freed_message(ctx.name))
    if _last_edit > node._seq:  # something was changed in place since this node was recorded
        _check_saved_unchanged(ctx, node, saved)
    grad_was_enabled = mode.grad_enabled
    mode.grad_enabled = create_graph
    if create_graph:
        ctx.saved_tensors = tuple(_saved_as_tensor(s, ctx, node) for s in saved)
    try:
        result = ctx.backward(ctx, g)
    finally:
        mode.grad_enabled = grad_was_enabled
        if create_graph:
            ctx.saved_tensors = saved
    if type(result) is not tuple:
        result = (result,)
    if len(result) != len(ctx.inputs):
        raise GraphError(f"{ctx.name}.backward returned {len(result)} gradient(s) but forward "
                         f"took {len(ctx.inputs)} input(s); return one per input (None where none)")
    if mode.anomaly:
        _check_backward(ctx, result)
    return result


def _check_saved_unchanged(ctx: Function, node: Any, saved: tuple) -> None:
    """Refuse to backward through an op whose saved input (or output) was changed in place after
    the op ran: its gradient would silently use the new numbers (PyTorch refuses too). A little
    stricter than PyTorch, which saves only what the gradients it will compute need: here a
    changed value an op saved is refused even if this backward would not have used it (e.g. the
    weight of a first layer, needed only for the gradient of an input that needs none)."""
    for slot, t in enumerate((node, *ctx.inputs)):
        if (isinstance(t, tensor.Tensor) and getattr(t, "_edited_at", -1) > node._seq
                and any(s is t.data for s in saved)):
            which = "its output" if slot == 0 else f"its input {slot - 1}"
            name = f" {t.name!r}" if t.name else ""
            raise GraphError(f"{ctx.name}: backward needs {which}{name} (shape {tuple(t.shape)}, {t.dtype}) as it "
                             "was when the op ran, but it was changed in place afterwards (by -=, +=, fill_, "
                             "copy_, [...] = or optimizer.step()). Call backward() before changing it, or change "
                             "a new tensor instead (w = w - lr * w.grad rebinds the name, w -= ... does not).")


def _saved_as_tensor(saved: Any, ctx: Function, node: Any) -> Any:
    """Under create_graph, a saved input or output becomes its Tensor, so the recorded backward
    connects to the forward graph; anything else (masks, shapes) stays a constant."""
    if saved is node.data:
        return node
    for parent in ctx.inputs:
        if isinstance(parent, tensor.Tensor) and saved is parent.data:
            return parent
    return saved


def _check_backward(ctx: Function, grads: tuple) -> None:
    for i, g in enumerate(grads):
        data = g.data if isinstance(g, tensor.Tensor) else g
        if data is not None and data.dtype.kind == "f" and not np.isfinite(data).all():
            raise AnomalyError(f"detect_anomaly: {ctx.name}Backward returned NaN/Inf in the gradient "
                               f"for input {i}; the {ctx.name} op was created at "
                               f"{getattr(ctx, 'created_at', '<unknown>')}")


def _accumulate(grads: dict, owned: set, t: Any, g: Any, create_graph: bool) -> None:
    if t not in grads:
        grads[t] = g
    elif t in owned and not create_graph:
        grads[t] += g
    else:
        grads[t] = grads[t] + g
        owned.add(t)


def _run_hooks(node: Any, g: Any, create_graph: bool) -> Any:
    wrapped = g if create_graph else tensor.Tensor._make(g, False, None)
    for hook in list(node._hooks.values()):
        replacement = hook(wrapped)
        if replacement is not None:
            wrapped = replacement if isinstance(replacement, tensor.Tensor) else tensor.Tensor(replacement)
    return wrapped if create_graph else wrapped.data


def _as_grad_tensor(g: Any, owned: bool, create_graph: bool) -> Any:
    """A gradient as a Tensor the user may keep and mutate: copied unless the engine made it."""
    if isinstance(g, tensor.Tensor):
        return g
    if type(g) is not ndarray:  # numpy hands back scalars for 0-d results
        return tensor.Tensor._make(np.array(g), False, None)
    return tensor.Tensor._make(g if owned or create_graph else g.copy(), False, None)


def _keep_grad(t: Any, g: Any, owned: bool, create_graph: bool) -> None:
    """Store a finished gradient in ``t.grad`` (a leaf, or a node kept by retain_grad/keep_grads),
    adding it to what is there from earlier backward calls."""
    if t._grad is None:
        if owned and type(g) is ndarray:  # the usual case: a new array nobody else holds
            t._grad = tensor.Tensor._make(g, False, None)
        else:
            t._grad = _as_grad_tensor(g, owned, create_graph)
        return
    if t._grad.data.any():  # a zeroed .grad (zero_grad(set_to_none=False)) is no trap
        warn_once("accumulate", "backward() added to a .grad that already held a gradient: gradients "
                  "accumulate across backward calls. Reset them between steps with "
                  "optimizer.zero_grad() or `p.grad = None` unless you meant to sum them.")
    if create_graph or t._grad.requires_grad or isinstance(g, tensor.Tensor):
        t._grad = t._grad + g
    else:
        t._grad.data += g


# Tensor is built on this engine, and the built-in ops on Function; both are imported last so
# that either module can be imported first.
from . import ops, tensor  # noqa: E402
