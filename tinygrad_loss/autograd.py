"""Public autograd tools: grad(), gradcheck(), gradcheck_graph(), the switches and Function.

``grad`` is PyTorch's ``torch.autograd.grad``; ``gradcheck`` compares analytic gradients with
central finite differences and names the worst element when they disagree;
``gradcheck_graph`` re-checks every op of a recorded graph on its own, so a wrong backward is
blamed on the single op that has it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import engine
from .engine import Function, detect_anomaly, enable_grad, is_grad_enabled, keep_grads, no_grad, set_keep_grads
from .errors import GradcheckError, GraphError
from .tensor import Tensor, _root_gradient

__all__ = ["Function", "no_grad", "enable_grad", "keep_grads", "set_keep_grads", "detect_anomaly",
           "is_grad_enabled", "grad", "gradcheck", "gradcheck_graph", "backward"]


def _as_list(x: Any) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple:
    """d(outputs)/d(inputs) as a tuple of Tensors, without touching any ``.grad``.

    With ``create_graph=True`` the results are part of a graph and can be differentiated
    again: ``g, = grad(y, x, create_graph=True); g2, = grad(g, x)`` is a second derivative.
    """
    outputs, inputs = _as_list(outputs), _as_list(inputs)
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise GraphError(f"grad: input {i} does not require grad, so it has no gradient")
    for i, t in enumerate(outputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise GraphError(f"grad: output {i} does not require grad and has no grad_fn")
    grad_outputs = _as_list(grad_outputs) if grad_outputs is not None else [None] * len(outputs)
    if len(grad_outputs) != len(outputs):
        raise GraphError(f"grad: {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    root_grads = [_root_gradient(t, g, "grad") for t, g in zip(outputs, grad_outputs)]
    if create_graph:
        root_grads = [g if isinstance(g, Tensor) else Tensor._make(g, False, None) for g in root_grads]
    retain = create_graph if retain_graph is None else retain_graph
    found = engine.run_backward(outputs, root_grads, retain, create_graph, inputs)
    results = []
    for i, t in enumerate(inputs):
        g = found.get(t)
        if g is None and not allow_unused:
            raise GraphError(f"grad: input {i} ({t.name or 'unnamed'}, shape {t.shape}) was not used to "
                             "compute the outputs; pass allow_unused=True to get None for it")
        results.append(None if g is None else engine._as_grad_tensor(g, False, create_graph))
    return tuple(results)


def backward(tensors: Any, grad_tensors: Any = None, retain_graph: bool | None = None,
             create_graph: bool = False) -> None:
    """``torch.autograd.backward``: backward from several roots at once."""
    tensors = _as_list(tensors)
    grads = _as_list(grad_tensors) if grad_tensors is not None else [None] * len(tensors)
    roots = [_root_gradient(t, g, "backward") for t, g in zip(tensors, grads)]
    retain = create_graph if retain_graph is None else retain_graph
    engine.run_backward(tensors, roots, retain, create_graph)


# ------------------------------------------------------------------------- gradcheck


def _outputs(fn: Callable, inputs: Sequence[Any]) -> list:
    return [o for o in _as_list(fn(*inputs)) if isinstance(o, Tensor) and o.dtype.kind == "f"]


def _numeric_jacobian_column(fn: Callable, inputs: Sequence[Any], t: Tensor, index: tuple, eps: float) -> list:
    """d(outputs)/d(t[index]) by central differences: (f(x + eps) - f(x - eps)) / 2eps."""
    original = t.data[index].copy()
    # not under no_grad(): fn may itself differentiate (a gradient of a gradient)
    t.data[index] = original + eps
    plus = [o.data.astype(np.float64) for o in _outputs(fn, inputs)]
    t.data[index] = original - eps
    minus = [o.data.astype(np.float64) for o in _outputs(fn, inputs)]
    t.data[index] = original
    return [(p - m) / (2 * eps) for p, m in zip(plus, minus)]


def gradcheck(fn: Callable, inputs: Any, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True) -> bool:
    """Check ``fn``'s analytic gradients against central finite differences.

    Every input that requires grad is perturbed element by element; each output element is
    backpropagated on its own, so the full Jacobians are compared. Returns True, or raises
    ``GradcheckError`` naming the input, the element, both values and the relative error
    (``raise_exception=False`` returns False instead). Use float64 inputs: float32 finite
    differences are too coarse for the default tolerances.
    """
    inputs = tuple(_as_list(inputs))
    checked = [(i, t) for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise GraphError("gradcheck: no input requires grad; nothing to check")
    if any(t.dtype != np.float64 for _, t in checked):
        warnings.warn("gradcheck: an input is not float64; finite differences will be imprecise", stacklevel=2)
    outputs = _outputs(fn, inputs)
    worst = None
    for k, out in enumerate(outputs):
        # analytic: row j of the Jacobian is the gradient of output element j
        analytic = {i: np.zeros(out.shape + t.shape) for i, t in checked}
        for j in np.ndindex(*out.shape):
            one_hot = np.zeros(out.shape, dtype=out.dtype)
            one_hot[j] = 1
            if not out.requires_grad:
                break
            grads = grad(out, [t for _, t in checked], one_hot, retain_graph=True, allow_unused=True)
            for (i, _), g in zip(checked, grads):
                if g is not None:
                    analytic[i][j] = g.data
        for i, t in checked:
            for index in np.ndindex(*t.shape):
                numeric = _numeric_jacobian_column(fn, inputs, t, index, eps)[k]
                for j in np.ndindex(*out.shape):
                    a, n = analytic[i][j + index], numeric[j]
                    error = abs(a - n)
                    excess = error - (atol + rtol * abs(n))
                    if not np.isfinite(a) or excess > 0:
                        if worst is None or not np.isfinite(a) or excess > worst[0]:
                            worst = (excess if np.isfinite(a) else np.inf, i, t, index, k, j, a, n, error)
    if worst is None:
        return True
    _, i, t, index, k, j, a, n, error = worst
    message = (f"gradcheck: wrong gradient for input {i} ({t.name or 'unnamed'}, shape {t.shape}) at "
               f"element {index}, output {k} element {j}: analytic {a:.10g}, numeric {n:.10g} "
               f"(absolute error {error:.3g}, relative error {error / max(abs(n), 1e-300):.3g}; "
               f"allowed {atol} + {rtol}·|numeric|)")
    if raise_exception:
        raise GradcheckError(message)
    return False


def _describe_node(node: Tensor) -> str:
    ctx = node.grad_fn
    ins = ", ".join(f"{p.name or type(p).__name__}{tuple(p.shape)}" if isinstance(p, Tensor) else repr(p)
                    for p in ctx.inputs)
    where = getattr(ctx, "created_at", None)
    label = f"op #{node._seq} {ctx.name}({ins})" + (f" -> {node.name!r}" if node.name else "")
    return label + (f" created at {where}" if where else "")


def gradcheck_graph(root: Tensor, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                    max_elements: int = 64) -> bool:
    """Check every op of ``root``'s graph on its own and blame the one whose backward is wrong.

    Each node's op is re-run alone on float64 copies of its recorded inputs and checked with
    ``gradcheck`` (inputs with more than ``max_elements`` elements are skipped, to stay fast).
    Returns True when all agree; otherwise raises ``GradcheckError`` listing each failing op.
    """
    failures = []
    for node in reversed(engine.graph_nodes([root])):
        ctx = node.grad_fn
        if ctx is None:
            continue
        args = [Tensor._make(p.data.astype(np.float64), p.requires_grad, None)
                if isinstance(p, Tensor) and p.dtype.kind == "f" else p for p in ctx.inputs]
        if any(isinstance(a, Tensor) and a.requires_grad and a.data.size > max_elements for a in args):
            continue
        op, kwargs = type(ctx), getattr(ctx, "kwargs", {})
        try:
            gradcheck(lambda *xs: op.apply(*xs, **kwargs), args, eps, atol, rtol)
        except GradcheckError as error:
            failures.append(f"{_describe_node(node)}: {str(error).removeprefix('gradcheck: ')}")
    if failures:
        raise GradcheckError("gradcheck_graph: the backward of these ops disagrees with finite "
                             "differences:\n  " + "\n  ".join(failures))
    return True
