"""Step through backpropagation one op at a time, stop inside an op's backward, or print a
table of the whole backward pass.

Everything here *reads* the graph and drives the engine's own ``backward_steps``: the chain
rule still lives only in ``engine.py``. What you see is exactly what ``backward()`` does.

    >>> from tinygrad_loss import Tensor
    >>> from tinygrad_loss.debug import step_backward
    >>> x = Tensor(2.0, requires_grad=True, name="x")
    >>> w = Tensor(-3.0, requires_grad=True, name="w")
    >>> h = x * w
    >>> h.name = "h"
    >>> for step in step_backward(h * h):
    ...     print(step)
    step 1: Mul  (out = h * h)
      incoming  grad_output = 1
      local     d/da = b = -6, d/db = a = -6
      sent      h ← -6,  h ← -6
      running   h.grad so far = -6 + (-6) = -12
    step 2: Mul  (h = x * w)
      incoming  grad_output = -12
      local     d/da = b = -3, d/db = a = 2
      sent      x ← 36,  w ← -24
    >>> x.grad, w.grad
    (Tensor(36.), Tensor(-24.))
"""

from __future__ import annotations

import inspect
import math
import pdb
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np

from . import engine
from .engine import Function
from .errors import GraphError
from .tensor import Tensor, _root_gradient

__all__ = ["BackwardStep", "Accumulated", "step_backward", "break_on", "trace", "fmt", "fmt_number", "sum_text",
           "sent_text", "label_of", "input_names", "backward_order"]

#: Arrays with at most this many elements are printed in full; larger ones are summarised.
SMALL = 8


# ----------------------------------------------------------------------------- formatting


def fmt_number(value: float) -> str:
    """A number with 4 significant digits, as short as possible: 2, -1.5, 0.0001235, 1.2e5."""
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        return str(value)
    text = f"{value:.4g}"
    if "e" in text:  # 1.235e+05 -> 1.235e5, 1e-08 -> 1e-8
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return "0" if text == "-0" else text


def fmt(value: Any, small: int = SMALL) -> str:
    """An array (or number, or Tensor) for humans: every element when there are at most
    ``small`` of them, else its shape and summary statistics."""
    if isinstance(value, Tensor):
        value = value.data
    if value is None:
        return "None"
    array = np.asarray(value)
    if array.dtype.kind not in "fiub":
        return repr(value)
    if array.size <= small:
        if array.ndim == 0:
            return fmt_number(array) if array.dtype.kind != "b" else str(bool(array))
        text = np.array2string(array.astype(np.float64) if array.dtype.kind == "b" else array, separator=", ",
                               formatter={"all": fmt_number}, max_line_width=10_000)
        return re.sub(r"\s*\n\s*", " ", text)  # one line: [[1, 2], [3, 4]]
    return f"{_shape(array.shape)} {summary(array)}"


def sum_text(parts: list) -> str:
    """"2 + (-3) + 1.5": contributions to one gradient, negative ones after the first bracketed."""
    texts = [fmt(p) for p in parts]
    return " + ".join(t if i == 0 or not t.startswith("-") else f"({t})" for i, t in enumerate(texts))


def sent_text(labels: Any, grads: Any) -> str:
    """"x ← -1.5,  w ← 1": what each input received (inputs that need no gradient left out)."""
    return ",  ".join(f"{label} ← {fmt(g)}" for label, g in zip(labels, grads, strict=False) if g is not None)


def summary(array: Any) -> str:
    """mean, std, min and max of an array in one short line."""
    a = np.asarray(array, dtype=np.float64)
    if a.size == 0:
        return "(empty)"
    return (f"mean {fmt_number(a.mean())}, std {fmt_number(a.std())}, "
            f"min {fmt_number(a.min())}, max {fmt_number(a.max())}")


def _shape(shape: tuple) -> str:
    return str(tuple(int(s) for s in shape))


def norm(value: Any) -> float:
    """The L2 norm ‖g‖ of a gradient (|g| for a single number)."""
    return float(np.sqrt(np.sum(np.square(np.asarray(value, dtype=np.float64)))))


# ----------------------------------------------------------------------------- naming


def input_names(ctx: Function) -> list[str]:
    """The names the op's formula uses for its inputs, from its ``forward`` signature
    (Mul: ["a", "b"], Tanh: ["x"], Cat: ["x_0", "x_1", ...])."""
    names: list[str] = []
    try:
        parameters = list(inspect.signature(type(ctx).forward).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    parameters = parameters[1:]  # ctx
    for p in parameters:
        if p.kind == p.VAR_POSITIONAL:
            names += [f"{p.name.rstrip('s') or 'x'}_{k}" for k in range(len(ctx.inputs) - len(names))]
            break
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
    while len(names) < len(ctx.inputs):
        names.append(f"input{len(names)}")
    return names[:len(ctx.inputs)]


_IDENT = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "@": 2, "·": 2, "**": 3}


def _top_precedence(text: str) -> int:
    """The precedence of the loosest binary operator outside parentheses (4: none, an atom)."""
    depth, lowest = 0, 4
    for match in re.finditer(r"[()\[\]]| (\*\*|[-+*/@·]) ", text):
        token = match.group(0)
        if token in "([":
            depth += 1
        elif token in ")]":
            depth -= 1
        elif depth == 0:
            lowest = min(lowest, _PRECEDENCE[token.strip()])
    return lowest


def _needs_parens(text: str, template: str, start: int, end: int) -> bool:
    """Does ``text`` need parentheses where it replaces template[start:end]?"""
    inner = _top_precedence(text)
    if inner == 4:
        return False
    before = template[:start]
    left = re.search(r" (\*\*|[-+*/@·]) $", before)
    if left:
        op = left.group(1)
        if inner < _PRECEDENCE[op] or (inner == _PRECEDENCE[op] and op in ("-", "/", "**")):
            return True
    elif before and not re.search(r"(\(|, |= )$", before):
        return True  # after a prefix such as Σ, ln or a unary minus
    right = re.match(r" (\*\*|[-+*/@·]) ", template[end:])
    if right:
        op = right.group(1)
        return inner < _PRECEDENCE[op] or (op == "**" and inner <= 3)
    after = template[end:]
    return bool(after) and not re.match(r"[),]|$| over| where| else", after)


def _substitute(template: str, values: dict[str, str]) -> str:
    """Replace whole-word identifiers of ``template`` at once (so a→b, b→x cannot collide),
    adding parentheses where precedence needs them: "a * b" with a = "x + y" -> "(x + y) * b"."""

    def replace(match: re.Match) -> str:
        word = match.group(0)
        if word not in values:
            return word
        text = values[word]
        return f"({text})" if _needs_parens(text, template, *match.span()) else text

    return _IDENT.sub(replace, template)


def label_of(t: Any, names: dict[int, str] | None = None, depth: int = 2) -> str:
    """How a tensor (or constant) is called in messages: the user's variable name (``names``
    maps ``id(tensor)`` to it), its ``.name``, its value when it is a small constant, or the
    expression that made it (``x * w + b``) when that is short."""
    if names and id(t) in names:
        return names[id(t)]
    if not isinstance(t, Tensor):
        if isinstance(t, (int, float, np.number)) or (isinstance(t, np.ndarray) and t.size == 1):
            return fmt_number(np.asarray(t).item())
        return f"array{_shape(np.shape(t))}" if isinstance(t, np.ndarray) else repr(t)
    if t.name:
        return t.name
    if t.grad_fn is None:
        if t.data.size == 1 and not t.requires_grad:
            return fmt(t.data)
        return f"tensor{_shape(t.shape)}"
    ctx = t.grad_fn
    if depth <= 0:
        return f"{ctx.name.lower()}(…)"
    expression = _formula_rhs(ctx, [label_of(p, names, depth - 1) for p in ctx.inputs])
    if expression and len(expression) <= 32:
        return expression
    return f"{ctx.name.lower()}(…)"


def _formula_rhs(ctx: Function, args: list[str]) -> str:
    formula = type(ctx).formula or ""
    if "=" not in formula:
        return ""
    rhs = formula.split("=", 1)[1].strip()
    if ";" in rhs or "," in rhs.replace(", ", ","):  # multi-part formulas read badly inline
        rhs = rhs.split(";")[0]
    return _substitute(rhs, dict(zip(input_names(ctx), args, strict=False)))


def forward_defaults(ctx: Function) -> dict:
    """The keyword arguments of the op's ``forward`` that have defaults, with them (Sum: axis=None)."""
    try:
        parameters = inspect.signature(type(ctx).forward).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {p.name: p.default for p in parameters if p.default is not p.empty}


def formula_with_names(ctx: Function, out: str, args: list[str]) -> str:
    """The op's formula with the real names in it: "out = a * b" -> "h = x * w"."""
    formula = type(ctx).formula or f"out = {ctx.name.lower()}(...)"
    values = dict(zip(input_names(ctx), args, strict=False))
    values["out"] = out
    kwargs = {**forward_defaults(ctx), **(getattr(ctx, "kwargs", None) or {})}  # x.sum() passes none
    for key, value in kwargs.items():
        if key in values or not isinstance(value, (int, float, str, tuple, type(None))):
            continue
        if value is None and key == "axis":
            values[key] = "all axes"
        else:
            values[key] = f"{key}={fmt_number(value) if isinstance(value, float) else repr(value)}"
    return _substitute(formula, values)


# ----------------------------------------------------------------------------- local derivatives

def _local_values(ctx: Function, node: Tensor) -> tuple | None:
    """The local derivative d(out)/d(input) as numbers, for the elementwise ops where that is
    one cheap array per input (None for the rest)."""
    data = [p.data if isinstance(p, Tensor) else np.asarray(p) for p in ctx.inputs]
    out = node.data
    name = type(ctx).__name__
    with np.errstate(all="ignore"):
        if name == "Add":
            return np.ones_like(out), np.ones_like(out)
        if name == "Sub":
            return np.ones_like(out), -np.ones_like(out)
        if name == "Mul":
            return data[1], data[0]
        if name == "Div":
            return 1 / data[1], -out / data[1]
        if name == "Pow":
            a, b = data
            return b * a ** (b - 1), out * np.log(a)
        x = data[0] if data else None
        table: dict[str, Callable[[], Any]] = {
            "Neg": lambda: -np.ones_like(out), "Exp": lambda: out, "Log": lambda: 1 / x,
            "Log1p": lambda: 1 / (1 + x), "Sqrt": lambda: 0.5 / out, "Tanh": lambda: 1 - out**2,
            "Sigmoid": lambda: out * (1 - out), "Relu": lambda: (x > 0).astype(out.dtype),
            "Sin": lambda: np.cos(x), "Cos": lambda: -np.sin(x), "Abs": lambda: np.sign(x),
        }
        if name in table and len(data) == 1:
            return (np.asarray(table[name]()),)
    return None


def _local_text(ctx: Function, node: Tensor) -> tuple[str, tuple | None]:
    """The derivative text of the op class, with its value appended where that is cheap:
    Mul -> "d/da = b = -3, d/db = a = 2"."""
    text = type(ctx).derivative or "(this op states no derivative formula)"
    values = _local_values(ctx, node)
    if values is None or any(np.size(v) > SMALL for v in values):
        return text, values
    parts = text.split(", ")
    names = input_names(ctx)
    if len(parts) == len(values) and all(p.startswith(f"d/d{n} ") for p, n in zip(parts, names, strict=False)):
        constant = re.compile(r".* = -?\d+(\.\d+)?$")  # "d/da = 1" needs no "= 1" after it
        pairs = zip(parts, values, strict=True)
        return ", ".join(p if constant.match(p) else f"{p} = {fmt(v)}" for p, v in pairs), values
    here = ", ".join(f"d/d{n} = {fmt(v)}" for n, v in zip(names, values, strict=False))
    return f"{text}  (here: {here})", values


# ----------------------------------------------------------------------------- the steps


@dataclass
class Accumulated:
    """The gradient a tensor has received so far in this backward pass: one contribution per
    use of the tensor (a tensor used twice gets two), and their sum."""

    tensor: Tensor
    contributions: list = field(default_factory=list)

    @property
    def total(self) -> np.ndarray | None:
        if not self.contributions:
            return None
        total = self.contributions[0].copy()
        for c in self.contributions[1:]:
            total = total + c
        return total

    def text(self) -> str:
        """"2 + 3 = 5" for two contributions, "5" for one (summaries for big arrays)."""
        if not self.contributions:
            return "nothing yet"
        if len(self.contributions) == 1:
            return fmt(self.contributions[0])
        if all(np.size(c) <= SMALL for c in self.contributions):
            return sum_text(self.contributions) + " = " + fmt(self.total)
        return f"{len(self.contributions)} contributions, sum: {fmt(self.total)}"


@dataclass
class BackwardStep:
    """What backward did at one op node.

    * ``index``: the node's place in backward order, 1 for the first (the numbers drawn by
      ``viz.draw_graph``); ``node``: the op's output tensor; ``op``: the op's name ("Mul").
    * ``grad_output``: d(root)/d(node), the gradient arriving from above.
    * ``inputs``: the forward inputs, in order; ``input_labels``: how they are called here.
    * ``grad_inputs``: what each input receives (``grad_output`` × local derivative, summed
      over broadcast axes, converted to the input's dtype); None where an input needs none.
      ``raw_grad_inputs``: what the op's backward returned, before that summing.
    * ``local``: the op's local derivative as text, with its value where it is cheap.
    * ``note``: a plain sentence about broadcasting (or "" when none happened).
    * ``running``: per input, an ``Accumulated``: every contribution it received so far in
      this pass and their sum (None for inputs that need no gradient).
    * ``pending``: output tensors of the op nodes backward has still to process.
    """

    index: int
    node: Tensor
    op: str
    grad_output: np.ndarray
    inputs: tuple
    grad_inputs: tuple
    raw_grad_inputs: tuple
    local: str
    note: str
    running: tuple
    pending: list
    formula: str = ""
    input_labels: tuple = ()
    local_values: tuple | None = None

    def __str__(self) -> str:
        lines = [f"step {self.index}: {self.op}  ({self.formula})",
                 f"  incoming  grad_output = {fmt(self.grad_output)}",
                 f"  local     {self.local}"]
        sent = sent_text(self.input_labels, self.grad_inputs) or "nothing (no input needs a gradient)"
        lines.append(f"  sent      {sent}")
        if self.note:
            lines.append(f"  note      {self.note}")
        shown: set[int] = set()
        for label, acc in zip(self.input_labels, self.running, strict=False):
            if acc is not None and len(acc.contributions) > 1 and id(acc.tensor) not in shown:
                shown.add(id(acc.tensor))
                lines.append(f"  running   {label}.grad so far = {acc.text()}")
        return "\n".join(lines)


def backward_order(root: Tensor) -> list[Tensor]:
    """The op nodes (their output tensors) in the order backward processes them."""
    return [t for t in engine.graph_nodes([root]) if t.grad_fn is not None]


def _broadcast_note(label: str, raw_shape: tuple, shape: tuple) -> str:
    extra = len(raw_shape) - len(shape)
    axes = list(range(extra)) + [i + extra for i, s in enumerate(shape) if s == 1 and raw_shape[i + extra] != 1]
    copies = math.prod(raw_shape[a] for a in axes)
    which = f"axis {axes[0]}" if len(axes) == 1 else "axes " + ", ".join(map(str, axes))
    return (f"summed over {which} because {label} has shape {_shape(shape)}: broadcasting used it "
            f"{copies} times to make shape {_shape(raw_shape)}, and each use sends back a gradient")


def step_backward(root: Tensor, gradient: Any = None, retain_graph: bool = False) -> Iterator[BackwardStep]:
    """Run ``root.backward(gradient)`` one op at a time, yielding a ``BackwardStep`` for each
    op node in the order backward processes it.

    Consuming every step leaves exactly the ``.grad`` values ``root.backward()`` would (it is
    the same engine loop); stopping early leaves the backward pass half done. As with
    ``backward()``, the graph is freed afterwards unless ``retain_graph=True``.

    >>> from tinygrad_loss import Tensor
    >>> x = Tensor(3.0, requires_grad=True, name="x")
    >>> [s.op for s in step_backward(x * x + x)]
    ['Add', 'Mul']
    >>> x.grad
    Tensor(7.)
    """
    if not isinstance(root, Tensor) or not root.requires_grad:
        raise GraphError("step_backward: this tensor does not require grad, so there is no backward pass to "
                         "step through. Create the inputs with requires_grad=True (and not under no_grad()).")
    root_grad = _root_gradient(root, gradient, "step_backward")
    order = backward_order(root)
    position = {id(t): i for i, t in enumerate(order)}
    received: dict[int, Accumulated] = {id(root): Accumulated(root, [np.asarray(root_grad)])}
    for node, grad_output, raw in engine.backward_steps([root], [root_grad], retain_graph):
        ctx = node.grad_fn
        labels = tuple(label_of(p) for p in ctx.inputs)
        sent, notes, running = [], [], []
        for p, g, label in zip(ctx.inputs, raw, labels, strict=False):
            if g is None or not isinstance(p, Tensor) or not p.requires_grad:
                sent.append(None)
                running.append(None)
                continue
            g = np.asarray(g)
            if g.shape != p.shape:
                notes.append(_broadcast_note(label, g.shape, p.shape))
                g = engine.unbroadcast(g, p.shape, ctx.name)
            if g.dtype != p.dtype:
                g = g.astype(p.dtype)
            sent.append(g)
            acc = received.setdefault(id(p), Accumulated(p))
            acc.contributions.append(g)
            running.append(acc)
        # snapshots taken after this step's contributions (x * x sends two): later steps add more
        running = [None if acc is None else Accumulated(acc.tensor, list(acc.contributions)) for acc in running]
        local, values = _local_text(ctx, node)
        index = position[id(node)]
        yield BackwardStep(
            index=index + 1, node=node, op=ctx.name, grad_output=np.array(grad_output), inputs=tuple(ctx.inputs),
            grad_inputs=tuple(sent), raw_grad_inputs=tuple(raw), local=local, note="; ".join(notes),
            running=tuple(running), pending=order[index + 1:],
            formula=formula_with_names(ctx, node.name or "out", list(labels)), input_labels=labels,
            local_values=values)


# ----------------------------------------------------------------------------- break_on


def _function_classes() -> list[type]:
    found, stack = [], list(Function.__subclasses__())
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return found


_HINT = ("break_on({op}): stopped in {op}'s backward (step into it with `s`, `c` to go on).\n"
         "  in scope: grad_output (d loss/d output, shape {shape}), inputs (the {n_inputs} forward inputs), "
         "saved (ctx.saved_tensors, {n_saved} values), ctx, op\n"
         "  try: p grad_output   p [getattr(i, 'shape', i) for i in inputs]   p saved")


@contextmanager
def break_on(op_name: str, stdin: IO[str] | None = None, stdout: IO[str] | None = None) -> Iterator[None]:
    """While active, stop in ``pdb`` each time backward reaches an op called ``op_name``
    ("Mul" or "mul"; your own ``Function`` subclasses too) — for ``loss.backward()`` as well as
    ``step_backward``.

    In the debugger these names are in scope: ``grad_output`` (the gradient arriving),
    ``inputs`` (the forward inputs), ``saved`` (``ctx.saved_tensors``), ``ctx`` and ``op``.
    Type ``s`` to step into the op's own backward, ``c`` to continue. ``stdin``/``stdout``
    are handed to ``pdb.Pdb`` (tests drive the debugger through them).

        with break_on("mul"):
            loss.backward()
    """
    wanted = op_name.lower()
    classes = [cls for cls in _function_classes() if cls.__name__.lower() == wanted and "backward" in cls.__dict__]
    named = [cls for cls in _function_classes() if cls.__name__.lower() == wanted]
    for cls in named:  # an op that inherits its backward (Minimum from Maximum): wrap the owner
        owner = next(c for c in cls.__mro__ if "backward" in c.__dict__)
        if owner not in classes:
            classes.append(owner)
    if not named:
        known = sorted({cls.__name__ for cls in _function_classes() if "backward" in cls.__dict__})
        raise ValueError(f"break_on: no op called {op_name!r}; ops with a backward: {', '.join(known)}")

    def make_wrapper(original: Callable) -> Callable:
        def backward(ctx: Function, grad: Any) -> Any:
            if type(ctx).__name__.lower() != wanted:
                return original(ctx, grad)
            return _stop_in_backward(ctx, grad, original, stdin, stdout)

        backward.__wrapped__ = original  # type: ignore[attr-defined]
        return backward

    saved = [(cls, cls.__dict__["backward"]) for cls in classes]
    for cls, original in saved:
        function = original.__func__ if isinstance(original, staticmethod) else original
        cls.backward = staticmethod(make_wrapper(function))
    try:
        yield
    finally:
        for cls, original in saved:
            cls.backward = original


def _stop_in_backward(ctx: Function, grad_output: Any, backward: Callable, stdin: IO[str] | None,
                      stdout: IO[str] | None) -> Any:
    """The frame ``break_on`` stops in: look around, then ``s`` steps into the op's backward."""
    op = ctx.name
    inputs = ctx.inputs
    saved = ctx.saved_tensors
    # pdb reads input() unless it is given stdout as well as stdin
    debugger = pdb.Pdb(stdin=stdin, stdout=stdout if stdout is not None or stdin is None else sys.stdout)
    print(_HINT.format(op=op, shape=_shape(np.shape(grad_output)), n_inputs=len(inputs), n_saved=len(saved)),
          file=stdout or sys.stdout)
    del stdin, stdout
    debugger.set_trace(sys._getframe())
    grad_inputs = backward(ctx, grad_output)  # <- you are here: `s` steps into the op's backward
    return grad_inputs


# ----------------------------------------------------------------------------- trace


def trace(root: Tensor, gradient: Any = None, file: IO[str] | None = None) -> str:
    """Print (to ``file``, default stdout) and return a table of the backward pass: for each
    step the op, its output's shape, ‖grad_output‖ and the ‖gradient‖ sent to each input.

    The backward pass runs on a retained graph and every ``.grad`` is put back afterwards,
    so ``trace`` changes nothing: ``root.backward()`` still works and gives the usual result.
    (Hooks registered on tensors do run.)
    """
    rows = [("step", "op", "output shape", "‖grad_output‖", "‖grad sent to each input‖")]
    with _grads_put_back(root):
        for step in step_backward(root, gradient, retain_graph=True):
            pairs = zip(step.input_labels, step.grad_inputs, strict=False)
            sent = ", ".join(f"{label}: {fmt_number(norm(g))}" for label, g in pairs if g is not None) or "-"
            rows.append((str(step.index), step.op, _shape(step.node.shape), fmt_number(norm(step.grad_output)), sent))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=False)) + "  " + r[4] for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    text = "\n".join(line.rstrip() for line in lines)
    print(text, file=file or sys.stdout)
    return text


@contextmanager
def _grads_put_back(root: Tensor, where: str = "trace") -> Iterator[None]:
    """Empty every ``.grad`` in the graph for the duration, then put the old ones back.
    Refuses a graph whose saved values an earlier backward freed."""
    tensors = engine.graph_nodes([root])
    if any(t.grad_fn is not None and t.grad_fn.saved_tensors is engine._FREED for t in tensors):
        raise GraphError(f"{where}: the graph was freed by an earlier backward(), so it cannot be stepped through "
                         f"again. Call {where} before backward(), or call backward(retain_graph=True).")
    before = [t._grad for t in tensors]
    for t in tensors:
        t._grad = None
    try:
        yield
    finally:
        for t, g in zip(tensors, before, strict=False):
            t._grad = g
