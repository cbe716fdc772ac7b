"""Pictures of the graph: values, gradients and the order backward visits the ops, together.

``draw_graph(loss)`` returns a ``graphviz.Digraph`` (it shows itself in Jupyter; save it with
``.render("graph", format="png")``). ``backward_frames(loss)`` gives one picture per backward
step, and ``save_animation(frames, "backprop.html")`` (or ``.gif``) turns them into a slideshow.

The visual language (also drawn as a legend in every picture):

* **boxes are tensors**: the name (or your variable name, with ``names=locals()``), the shape,
  the value (all of it when it has at most 8 numbers, else mean/std/min/max) and, after
  ``backward()``, the gradient. The box colour says what the tensor is:
  green = parameter / leaf that requires grad, grey = input or constant (no gradient needed),
  blue = intermediate result, red = the root (usually the loss).
* **yellow ellipses are ops** ("mul", "tanh", ...) with the step at which backward processed
  them: step 1 is the op that made the loss, and so on backwards. Hover over an op in an SVG
  for its formula and local derivative.
* **the gradient row's colour** shows the gradient's size ‖grad‖ on a log scale, light
  (small) to dark purple (large): vanishing and exploding gradients stand out.
* **orange boxes are whole modules** drawn as one (``collapse=model`` or a list of layers).

Only ``.grad`` values that exist are drawn: leaves always keep theirs; intermediate tensors
keep theirs after ``t.retain_grad()`` or inside ``with autograd.keep_grads():``.
"""

from __future__ import annotations

import html
import json
import math
import shutil
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphviz
import numpy as np

from . import debug
from .debug import fmt, fmt_number, norm
from .engine import warn_once
from .tensor import Tensor, _next_seq, _root_gradient

__all__ = ["draw_graph", "backward_frames", "save_animation", "record_modules", "module_label", "COLOURS"]

#: The colours of the visual language (also shown in each picture's legend).
COLOURS = {
    "parameter": "#b7e1b0",  # learnable: nn.Parameter or a leaf with requires_grad=True
    "input": "#e3e3e3",  # data and constants: no gradient needed
    "intermediate": "#cfe1f7",  # made by an op
    "loss": "#ffb4a2",  # the root you called backward on
    "op": "#fff1bd",
    "module": "#ffdfae",
    "highlight": "#ffc233",  # the op being processed in a backward frame
    "highlight_edge": "#d62728",
    "edge": "#5a5a5a",
    "muted": "#6b6b6b",
}
#: Light to dark: the colour scale of gradient magnitudes (ColorBrewer "Purples").
GRAD_SCALE = ["#f2f0f7", "#dadaeb", "#bcbddc", "#9e9ac8", "#807dba", "#6a51a3", "#4a1486"]
_KIND_TEXT = {"parameter": "parameter (requires grad)", "input": "input / constant", "intermediate": "intermediate",
              "loss": "root (loss)"}
_FONT = "Helvetica"
_COMMUTATIVE = {"Add", "Mul", "Maximum", "Minimum"}


# ----------------------------------------------------------------------------- module recording

_CALLS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@contextmanager
def record_modules() -> Iterator[None]:
    """Remember which ops each module's forward made, so ``draw_graph(collapse=...)`` can draw
    a module as one box exactly. Run the forward pass inside it::

        with viz.record_modules():
            loss = F.cross_entropy(model(x), y)
        viz.draw_graph(loss, collapse=model)

    (Without it, a module with parameters is still found, from the ops that use its
    parameters; parameter-free modules such as ``Tanh()`` need the recording.)
    """
    from .nn.module import Module

    original = Module.__call__

    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = _next_seq()
        try:
            return original(self, *args, **kwargs)
        finally:
            _CALLS.setdefault(self, []).append((start, _next_seq()))

    Module.__call__ = call  # type: ignore[method-assign]
    try:
        yield
    finally:
        Module.__call__ = original  # type: ignore[method-assign]


def module_label(module: Any) -> str:
    """A short name for a module: "Linear(4→3)", "Conv2d(3→8, 3×3)", "Tanh()"."""
    kind = type(module).__name__
    if hasattr(module, "in_features") and hasattr(module, "out_features"):
        return f"{kind}({module.in_features}→{module.out_features})"
    if hasattr(module, "in_channels") and hasattr(module, "kernel_size"):
        kh, kw = module.kernel_size
        return f"{kind}({module.in_channels}→{module.out_channels}, {kh}×{kw})"
    extra = module.extra_repr() if hasattr(module, "extra_repr") else ""
    return f"{kind}({extra})" if len(extra) <= 24 else f"{kind}(…)"


# ----------------------------------------------------------------------------- the graph model


@dataclass
class _Box:
    module: Any
    label: str
    members: set = field(default_factory=set)  # ids of tensors made inside
    node_id: str = ""
    steps: list = field(default_factory=list)


@dataclass
class _Model:
    """Everything reachable from the root, numbered deterministically (creation order)."""

    root: Tensor
    tensors: list  # in creation order
    node_id: dict  # id(tensor) -> "t3"
    step: dict  # id(op output) -> backward step (1 = first)
    consts: list  # (node id, value, consumer tensor, input slot)
    consumers: dict  # id(tensor) -> [(consumer tensor, slot)]
    names: dict  # id(tensor) -> the user's variable name
    boxes: list = field(default_factory=list)
    box_of: dict = field(default_factory=dict)  # id(op output) -> its _Box
    hidden: set = field(default_factory=set)  # ids of tensors drawn inside a box only
    box_outputs: dict = field(default_factory=dict)  # id(tensor) -> "Linear(4→3) output"

    def label(self, t: Tensor) -> str:
        if id(t) in self.names:
            return self.names[id(t)]
        if t.name:
            return t.name
        if id(t) in self.box_outputs:
            return self.box_outputs[id(t)]
        if t.grad_fn is None:
            return "leaf" if t.requires_grad else ("constant" if t.data.size == 1 else "input")
        for depth in (2, 1):
            text = debug.label_of(t, {**self.box_outputs, **self.names}, depth)
            if len(text) <= 20:
                return text
        return t.grad_fn.name.lower()

    def kind(self, t: Tensor) -> str:
        from .nn.module import Parameter

        if t is self.root:
            return "loss"
        if isinstance(t, Parameter) or (t.grad_fn is None and t.requires_grad):
            return "parameter"
        return "input" if t.grad_fn is None else "intermediate"

    def count(self) -> int:
        drawn = [t for t in self.tensors if id(t) not in self.hidden]
        ops = [t for t in drawn if t.grad_fn is not None and id(t) not in self.box_of]
        consts = [c for c in self.consts if id(c[2]) not in self.box_of]
        return len(drawn) + len(ops) + len(consts) + len(self.boxes)


def _names_map(names: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> dict[int, str]:
    """id(tensor) -> variable name, from ``locals()`` (or any name -> value mapping). A Module
    in it names its parameters: ``model`` gives "model.0.weight", ... Names starting with "_"
    (Jupyter's ``_``, ``_1``) are skipped."""
    from .nn.module import Module

    if names is None:
        return {}
    items = list(names.items()) if isinstance(names, Mapping) else list(names)
    found: dict[int, str] = {}
    for key, value in items:
        if isinstance(key, str) and not key.startswith("_") and isinstance(value, Tensor):
            found.setdefault(id(value), key)
            found.setdefault(id(value.data), key)  # the same data passed on as a plain array (a loss target)
    for key, value in items:
        if isinstance(key, str) and not key.startswith("_") and isinstance(value, Module):
            for pname, p in value.named_parameters(key):
                found.setdefault(id(p), pname)
    return found


def _collect(root: Tensor, names: Any, collapse: Any) -> _Model:
    if not isinstance(root, Tensor):
        raise TypeError(f"draw_graph: expected a Tensor, got {type(root).__name__}")
    seen: dict[int, Tensor] = {}
    stack = [root]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen[id(t)] = t
        if t.grad_fn is not None:
            stack.extend(p for p in t.grad_fn.inputs if isinstance(p, Tensor))
    tensors = sorted(seen.values(), key=lambda t: t._seq)
    node_id = {id(t): f"t{i}" for i, t in enumerate(tensors)}
    ops = [t for t in reversed(tensors) if t.grad_fn is not None]
    step = {id(t): i + 1 for i, t in enumerate(ops)}
    consts, consumers = [], {id(t): [] for t in tensors}
    for t in tensors:
        if t.grad_fn is None:
            continue
        for slot, p in enumerate(t.grad_fn.inputs):
            if isinstance(p, Tensor):
                consumers[id(p)].append((t, slot))
            elif p is not None:
                consts.append((f"{node_id[id(t)]}c{slot}", p, t, slot))
    model = _Model(root, tensors, node_id, step, consts, consumers, _names_map(names))
    if collapse is not None:
        _collapse(model, collapse)
    return model


def _collapse(model: _Model, collapse: Any) -> None:
    from .nn.module import Module

    modules = [collapse] if isinstance(collapse, Module) else list(collapse)
    boxes = []
    for m in modules:
        if not isinstance(m, Module):
            raise TypeError(f"draw_graph: collapse= takes Modules, got {type(m).__name__}")
        for members in _module_members(model, m):
            boxes.append(_Box(m, module_label(m), members))
    # a tensor belongs to the biggest box that contains it (collapse=[model, model.fc] works)
    boxes.sort(key=lambda b: -len(b.members))
    for i, box in enumerate(sorted(boxes, key=lambda b: min(model.step.get(m, 0) for m in b.members))):
        box.node_id = f"m{i}"
    for box in boxes:
        box.members = {m for m in box.members if m not in model.box_of}
        for m in box.members:
            model.box_of[m] = box
    model.boxes = sorted((b for b in boxes if b.members), key=lambda b: b.node_id)
    by_id = {id(t): t for t in model.tensors}
    for box in model.boxes:
        box.steps = sorted(model.step[m] for m in box.members if m in model.step)
        for m in box.members:
            t = by_id[m]
            outside = [c for c, _ in model.consumers[m] if model.box_of.get(id(c)) is not box]
            if not outside and t is not model.root:
                model.hidden.add(m)
            else:
                model.box_outputs[m] = f"{box.label} output"


def _module_members(model: _Model, module: Any) -> list[set]:
    """For each recorded call of ``module``: the ids of the graph tensors its ops made."""
    calls = _CALLS.get(module)
    if calls:
        groups = []
        for start, end in calls:
            members = {id(t) for t in model.tensors if start < t._seq < end and t.grad_fn is not None}
            if members:
                groups.append(members)
        if groups:
            return groups
    params = {id(p) for p in module.parameters()}
    users = [t._seq for t in model.tensors if t.grad_fn is not None
             and any(id(p) in params for p in t.grad_fn.inputs if isinstance(p, Tensor))]
    if not users:
        raise ValueError(f"draw_graph: cannot tell which ops {module_label(module)} made: run the forward pass "
                         "inside `with viz.record_modules():` (modules with parameters are found without it)")
    lo, hi = min(users), max(users)
    return [{id(t) for t in model.tensors if lo <= t._seq <= hi and t.grad_fn is not None}]


# ----------------------------------------------------------------------------- gradients shown


@dataclass
class _Grad:
    """The gradient drawn for one tensor: its contributions so far and whether it is final."""

    parts: list
    final: bool = True

    @property
    def total(self) -> np.ndarray:
        total = np.asarray(self.parts[0], dtype=np.float64)
        for p in self.parts[1:]:
            total = total + p
        return total


class _Scale:
    """log10 of ‖grad‖ mapped onto ``GRAD_SCALE``."""

    def __init__(self, norms: Iterable[float]) -> None:
        logs = [math.log10(n) for n in norms if n > 0 and math.isfinite(n)]
        self.lo, self.hi = (min(logs), max(logs)) if logs else (0.0, 0.0)

    def level(self, value: float) -> float:
        if not value > 0 or not math.isfinite(value):
            return 0.0 if value == 0 else 1.0
        if self.hi - self.lo < 1e-12:
            return 0.5
        return min(max((math.log10(value) - self.lo) / (self.hi - self.lo), 0.0), 1.0)

    def colour(self, value: float) -> str:
        return _interpolate(GRAD_SCALE, self.level(value))

    def ticks(self) -> list[tuple[str, str]]:
        if self.hi - self.lo < 1e-12:
            return [(_interpolate(GRAD_SCALE, 0.5), fmt_number(10 ** self.lo))]
        n = len(GRAD_SCALE)
        return [(_interpolate(GRAD_SCALE, i / (n - 1)), fmt_number(10 ** (self.lo + (self.hi - self.lo) * i / (n - 1))))
                for i in range(n)]


def _interpolate(colours: Sequence[str], level: float) -> str:
    position = level * (len(colours) - 1)
    i = min(int(position), len(colours) - 2)
    frac = position - i
    a, b = (tuple(int(c[k:k + 2], 16) for k in (1, 3, 5)) for c in (colours[i], colours[i + 1]))
    return "#" + "".join(f"{round(x + (y - x) * frac):02x}" for x, y in zip(a, b, strict=False))


def _text_colour(background: str) -> str:
    r, g, b = (int(background[k:k + 2], 16) for k in (1, 3, 5))
    return "#ffffff" if 0.299 * r + 0.587 * g + 0.114 * b < 140 else "#1a1a1a"


# ----------------------------------------------------------------------------- labels


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _value_lines(value: Any) -> list[str]:
    """The numbers of a small array, one line per row; summary lines for a big one."""
    array = np.asarray(value)
    if array.size <= debug.SMALL:
        if array.ndim == 2 and array.shape[0] > 1:
            return [fmt(row) for row in array]
        if array.ndim == 1 and array.size > 4:  # two short lines read better than one long one
            return [fmt(array[:4])[:-1] + ",", " " + fmt(array[4:])[1:]]
        return [fmt(array)]
    a = array.astype(np.float64)
    return [f"mean {fmt_number(a.mean())}  std {fmt_number(a.std())}",
            f"min {fmt_number(a.min())}  max {fmt_number(a.max())}"]


def _grad_lines(grad: _Grad) -> list[str]:
    total = grad.total
    suffix = "" if grad.final else "  (so far)"
    if len(grad.parts) > 1 and all(np.size(p) <= debug.SMALL for p in grad.parts) and total.size == 1:
        return ["grad = " + debug.sum_text(grad.parts) + " = " + fmt(total) + suffix]
    if total.size <= debug.SMALL:
        lines = _value_lines(total)
        head = f"grad = {lines[0]}" if len(lines) == 1 else "grad ="
        extra = [] if len(lines) == 1 else lines
        if len(grad.parts) > 1:
            extra.append(f"sum of {len(grad.parts)} contributions{suffix}")
        elif suffix:
            head += suffix
        return [head] + extra
    lines = [f"grad: |g| = {fmt_number(norm(total))}{suffix}"] + _value_lines(total)
    if len(grad.parts) > 1:
        lines.append(f"sum of {len(grad.parts)} contributions")
    return lines


def _tensor_label(model: _Model, t: Tensor, show_data: bool, grad: _Grad | None, scale: _Scale,
                  unknown_grad: bool) -> str:
    shape = "scalar" if t.ndim == 0 else "×".join(map(str, t.shape))
    rows = [f'<tr><td align="center"><b>{_esc(model.label(t))}</b>  '
            f'<font point-size="9" color="{COLOURS["muted"]}">{shape}</font></td></tr>']
    if show_data:
        for line in _value_lines(t.data):
            rows.append(f'<tr><td align="center"><font point-size="10">{_esc(line)}</font></td></tr>')
    if grad is not None:
        background = scale.colour(norm(grad.total))
        ink = _text_colour(background)
        for line in _grad_lines(grad):
            rows.append(f'<tr><td align="center" bgcolor="{background}"><font point-size="10" color="{ink}">'
                        f"{_esc(line)}</font></td></tr>")
    elif unknown_grad and t.requires_grad:
        rows.append(f'<tr><td align="center"><font point-size="10" color="{COLOURS["muted"]}">grad ?</font></td></tr>')
    return '<<table border="0" cellborder="0" cellspacing="0" cellpadding="2">' + "".join(rows) + "</table>>"


def _op_label(model: _Model, t: Tensor, backward_order: bool) -> str:
    ctx = t.grad_fn
    rows = [f"<b>{_esc(ctx.name.lower())}</b>"]
    extras = []
    defaults = debug.forward_defaults(ctx)
    for key, value in (getattr(ctx, "kwargs", None) or {}).items():
        if value is None or isinstance(value, (np.ndarray, Tensor)) or _same(value, defaults.get(key, _MISSING)):
            continue
        text = f"{key}={fmt_number(value) if isinstance(value, float) else value}"
        if len(text) <= 24:
            extras.append(text)
    if extras:
        rows.append(f'<font point-size="9">{_esc(", ".join(extras))}</font>')
    if backward_order:
        rows.append(f'<font point-size="9" color="{COLOURS["muted"]}">step {model.step[id(t)]}</font>')
    return "<" + "<br/>".join(rows) + ">"


_MISSING = object()


def _same(value: Any, default: Any) -> bool:
    """Is a keyword argument just its default (then the op's label leaves it out)?"""
    try:
        return bool(value == default)
    except (TypeError, ValueError):  # arrays
        return False


def _op_tooltip(t: Tensor) -> str:
    ctx = t.grad_fn
    formula = type(ctx).formula or "(no formula given)"
    derivative = type(ctx).derivative or "(no derivative given)"
    return f"{ctx.name}: {formula}&#10;local derivative: {derivative}"


def _legend(scale: _Scale | None, kinds: Iterable[str], has_ops: bool, has_boxes: bool) -> str:
    cells = []
    for kind in ("loss", "parameter", "intermediate", "input"):
        if kind in kinds:
            cells.append(f'<tr><td bgcolor="{COLOURS[kind]}" width="14"> </td>'
                         f'<td align="left" colspan="7"><font point-size="9">{_KIND_TEXT[kind]}</font></td></tr>')
    if has_ops:
        cells.append(f'<tr><td bgcolor="{COLOURS["op"]}" width="14"> </td><td align="left" colspan="7">'
                     '<font point-size="9">op (step = backward order)</font></td></tr>')
    if has_boxes:
        cells.append(f'<tr><td bgcolor="{COLOURS["module"]}" width="14"> </td><td align="left" colspan="7">'
                     '<font point-size="9">module drawn as one box</font></td></tr>')
    if scale is not None:
        ticks = scale.ticks()
        swatches = "".join(f'<td bgcolor="{c}" width="20" height="12"> </td>' for c, _ in ticks)
        labelled = {0: "left", len(ticks) // 2: "center", len(ticks) - 1: "right"} if len(ticks) > 1 else {0: "center"}
        values = "".join(f'<td align="{labelled[i]}"><font point-size="8">{_esc(v)}</font></td>' if i in labelled
                         else "<td></td>" for i, (_, v) in enumerate(ticks))
        cells.append(f'<tr><td colspan="8" align="left"><font point-size="9">size of the gradient |grad| '
                     f"(log scale)</font></td></tr><tr><td></td>{swatches}</tr><tr><td></td>{values}</tr>")
    return ('<<table border="0" cellborder="0" cellspacing="2" cellpadding="1">'
            '<tr><td colspan="8" align="left"><b><font point-size="10">legend</font></b></td></tr>'
            + "".join(cells) + "</table>>")


# ----------------------------------------------------------------------------- drawing


@dataclass
class _Frame:
    """What one picture shows on top of the graph: gradients, the highlighted op, sent values."""

    grads: dict  # id(tensor) -> _Grad
    highlight: Tensor | None = None
    sent: dict = field(default_factory=dict)  # (id(op output), slot) -> gradient sent
    unknown_grad: bool = False
    caption: str = ""


def _build(model: _Model, frame: _Frame, scale: _Scale | None, show_data: bool, backward_order: bool,
           direction: str, sizes: dict | None = None) -> graphviz.Digraph:
    g = graphviz.Digraph("backward" if frame.highlight is not None else "graph")
    g.attr(rankdir=direction, fontname=_FONT, nodesep="0.25", ranksep="0.35", bgcolor="white",
           pad="0.2", newrank="true")
    g.attr("node", fontname=_FONT, fontsize="11", penwidth="1.2", color="#4d4d4d")
    g.attr("edge", fontname=_FONT, fontsize="9", color=COLOURS["edge"], arrowsize="0.7")
    sizes = sizes or {}

    def fixed(node: str) -> dict:
        if node not in sizes:
            return {}
        width, height = sizes[node]
        return {"width": f"{width:.3f}", "height": f"{height:.3f}", "fixedsize": "true"}

    kinds = set()
    drawn = [t for t in model.tensors if id(t) not in model.hidden]
    receiving = set()  # the tensors the highlighted op just sent a gradient to
    if frame.highlight is not None:
        receiving = {id(frame.highlight.grad_fn.inputs[slot]) for _, slot in frame.sent}
    for t in drawn:
        kind = model.kind(t)
        kinds.add(kind)
        node = model.node_id[id(t)]
        label = _tensor_label(model, t, show_data, frame.grads.get(id(t)), scale or _Scale([]), frame.unknown_grad)
        got = {"color": COLOURS["highlight_edge"], "penwidth": "2.5"} if id(t) in receiving else {}
        g.node(node, label=label, shape="box", style="rounded,filled", fillcolor=COLOURS[kind], margin="0.06,0.03",
               tooltip=f"{model.label(t)}: shape {t.shape}, dtype {t.dtype}", **got, **fixed(node))
    for box in model.boxes:
        active = frame.highlight is not None and id(frame.highlight) in box.members
        steps = box.steps
        step_text = "" if not (backward_order and steps) else (
            f"step {steps[0]}" if len(steps) == 1 else f"steps {steps[0]}–{steps[-1]}")
        n_ops = sum(1 for m in box.members if m in model.step)
        label = (f"<<b>{_esc(box.label)}</b><br/><font point-size='9'>{n_ops} op{'s' if n_ops != 1 else ''}"
                 f"{'  ·  ' + step_text if step_text else ''}</font>>")
        g.node(box.node_id, label=label, shape="box3d", style="filled",
               fillcolor=COLOURS["highlight"] if active else COLOURS["module"],
               penwidth="3" if active else "1.2", color=COLOURS["highlight_edge"] if active else "#4d4d4d",
               tooltip=repr(box.module).replace("\n", "&#10;"), **fixed(box.node_id))
    box_edges: set = set()
    for t in drawn + [t for t in model.tensors if id(t) in model.hidden]:
        if t.grad_fn is None:
            continue
        box = model.box_of.get(id(t))
        out = model.node_id[id(t)]
        if box is None:
            op = "op" + out[1:]
            active = frame.highlight is t
            g.node(op, label=_op_label(model, t, backward_order), shape="ellipse", style="filled",
                   fillcolor=COLOURS["highlight"] if active else COLOURS["op"], margin="0.04,0.02",
                   penwidth="3" if active else "1", color=COLOURS["highlight_edge"] if active else "#8c7a3a",
                   tooltip=_op_tooltip(t), **fixed(op))
            g.edge(op, out, penwidth="2" if active else "1")
            _input_edges(g, model, t, op, frame)
        else:
            if id(t) not in model.hidden:
                g.edge(box.node_id, out)
            active = frame.highlight is t
            for slot, p in enumerate(t.grad_fn.inputs):
                if not isinstance(p, Tensor) or model.box_of.get(id(p)) is box:
                    continue  # made inside the same box
                key = (model.node_id[id(p)], box.node_id)
                if key in box_edges and not active:
                    continue
                box_edges.add(key)
                sent = frame.sent.get((id(t), slot)) if active else None
                g.edge(*key, **_sent_attrs(sent, active and p.requires_grad))
    with g.subgraph(name="cluster_legend") as legend:
        legend.attr(label="", style="rounded", color="#bbbbbb", margin="6")
        legend.node("legend", label=_legend(scale, kinds, any(t.grad_fn is not None for t in drawn),
                                            bool(model.boxes)), shape="plain")
    if frame.caption:  # "\l" ends a left-aligned line in graphviz
        text = frame.caption.replace("\\", "\\\\").replace("\n", "\\l") + "\\l"
        g.graph_attr.update(label=text, labelloc="b", labeljust="l", fontsize="12")
    g.caption = frame.caption  # type: ignore[attr-defined]
    return g


def _sent_attrs(sent: Any, active: bool) -> dict:
    """An input edge of the op being processed: red, the way its gradients go back."""
    if not active:
        return {}
    return {"color": COLOURS["highlight_edge"], "penwidth": "2.5"}


def _input_edges(g: graphviz.Digraph, model: _Model, t: Tensor, op: str, frame: _Frame) -> None:
    ctx = t.grad_fn
    roles = debug.input_names(ctx)
    show_roles = len(ctx.inputs) > 1 and ctx.name not in _COMMUTATIVE
    active = frame.highlight is t
    const_ids = {slot: node for node, _, consumer, slot in model.consts if consumer is t}
    for slot, p in enumerate(ctx.inputs):
        attrs = {"headlabel": roles[slot], "labeldistance": "1.6", "labelfontcolor": COLOURS["muted"]} \
            if show_roles else {}
        if isinstance(p, Tensor):
            source = model.box_of.get(id(p))
            tail = source.node_id if source is not None and id(p) in model.hidden else model.node_id[id(p)]
            sent = frame.sent.get((id(t), slot)) if active else None
            g.edge(tail, op, **attrs, **_sent_attrs(sent, active and p.requires_grad))
        elif slot in const_ids:
            node = const_ids[slot]
            lines = _value_lines(p) if np.asarray(p).dtype.kind in "fiub" else [type(p).__name__]
            if id(p) in model.names:
                lines.insert(0, model.names[id(p)])
            g.node(node, label="\n".join(lines), shape="box", style="rounded,filled,dashed",
                   fillcolor=COLOURS["input"], fontsize="10", margin="0.05,0.02")
            g.edge(node, op, **attrs)


# ----------------------------------------------------------------------------- public API


def draw_graph(root: Tensor, show_data: bool = True, show_grad: bool = True, backward_order: bool = True,
               direction: str = "LR", names: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
               collapse: Any = None, max_nodes: int = 200) -> graphviz.Digraph:
    """Draw the graph that made ``root``: a box per tensor, an ellipse per op.

    * ``show_data``: each tensor's value (all of it up to 8 numbers, else mean/std/min/max).
    * ``show_grad``: its ``.grad`` where one is kept (leaves after ``backward()``; intermediate
      tensors after ``retain_grad()`` or inside ``autograd.keep_grads()``), coloured by size.
    * ``backward_order``: each op shows the step at which backward processes it.
    * ``direction``: "LR" (left to right) or "TB" (top to bottom).
    * ``names=locals()``: label tensors with your variable names (a Module in it names its
      parameters, e.g. "model.0.weight").
    * ``collapse``: a Module, or a list of them, drawn as one box each ("Linear(4→3)").
      Exact when the forward ran inside ``viz.record_modules()``.
    * ``max_nodes``: a bigger graph raises ``ValueError`` instead of drawing an unreadable one.

    The same graph always gives the same DOT source (``.source``). Save a picture with
    ``draw_graph(loss).render("graph", format="png")``.
    """
    if direction not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"draw_graph: direction must be 'LR' or 'TB', got {direction!r}")
    model = _collect(root, names, collapse)
    _check_size(model, max_nodes, "draw_graph")
    grads = {}
    if show_grad:
        grads = {id(t): _Grad([t._grad.data]) for t in model.tensors if t._grad is not None}
        if not grads:
            warn_once("viz no grad", "draw_graph: gradients will be empty: call backward() first "
                                     "(or pass show_grad=False)")
    scale = _Scale(norm(g.total) for g in grads.values()) if grads else None
    return _build(model, _Frame(grads), scale, show_data, backward_order, direction)


def _check_size(model: _Model, max_nodes: int, where: str) -> None:
    count = model.count()
    if count > max_nodes:
        raise ValueError(f"{where}: the graph has {count} nodes, more than max_nodes={max_nodes}; it would be "
                         "unreadable. Draw whole layers as single boxes with collapse=model (or a list of its "
                         "layers), use a smaller input, or raise max_nodes.")


def backward_frames(root: Tensor, gradient: Any = None, **draw_kwargs: Any) -> list[graphviz.Digraph]:
    """One picture per backward step, for slides and animations (``save_animation``).

    The first frame is the forward graph without gradients; then one frame per op, in the
    order backward processes them: the op is highlighted, the gradients it sends are written
    on its input edges, and every gradient known so far is filled in (a tensor used twice
    shows each contribution and the running sum: "grad = 2 + 3 = 5"); the last frame has
    all of them. Each frame's ``.caption`` explains the step.

    The backward pass runs on the real graph through ``debug.step_backward`` with
    ``retain_graph=True``, and every ``.grad`` is put back afterwards: calling this changes no
    gradient, and ``root.backward()`` still works afterwards. Takes ``draw_graph``'s keyword
    arguments (``names=locals()``, ``collapse=...``, ``show_data``, ``direction``, ...).
    """
    show_data = draw_kwargs.pop("show_data", True)
    backward_order = draw_kwargs.pop("backward_order", True)
    direction = draw_kwargs.pop("direction", "LR")
    names, collapse = draw_kwargs.pop("names", None), draw_kwargs.pop("collapse", None)
    max_nodes = draw_kwargs.pop("max_nodes", 200)
    draw_kwargs.pop("show_grad", None)
    if draw_kwargs:
        raise TypeError(f"backward_frames: unexpected arguments {sorted(draw_kwargs)}")
    model = _collect(root, names, collapse)
    _check_size(model, max_nodes, "backward_frames")
    with debug._grads_put_back(root, "backward_frames"):
        steps = list(debug.step_backward(root, gradient, retain_graph=True))
    total = len(model.step)
    uses = {k: len(v) for k, v in model.consumers.items()}
    received: dict[int, list] = {id(root): [np.asarray(_root_gradient(root, gradient, "backward_frames"))]}
    done_uses: dict[int, int] = {}
    frames_data = [_Frame({}, caption=_first_caption(model, total))]
    for step in steps:
        sent = {}
        for slot, (p, g) in enumerate(zip(step.inputs, step.grad_inputs, strict=False)):
            if isinstance(p, Tensor):
                done_uses[id(p)] = done_uses.get(id(p), 0) + 1
            if g is not None:
                received.setdefault(id(p), []).append(g)
                sent[(id(step.node), slot)] = g
        grads = {}
        for key, parts in received.items():
            t_final = key == id(root) or done_uses.get(key, 0) >= uses.get(key, 0)
            grads[key] = _Grad(list(parts), final=t_final)
        frames_data.append(_Frame(grads, step.node, sent, unknown_grad=True, caption=_step_caption(model, step, total)))
    final = {key: _Grad(list(parts)) for key, parts in received.items()}
    frames_data.append(_Frame(final, unknown_grad=True, caption=_last_caption(model, root)))
    scale = _Scale(norm(g.total) for g in final.values())
    sizes = _node_sizes(model, [frames_data[0], frames_data[-1]], scale, show_data, backward_order, direction)
    return [_build(model, f, scale, show_data, backward_order, direction, sizes) for f in frames_data]


def _node_sizes(model: _Model, frames: list, scale: _Scale, show_data: bool, backward_order: bool,
                direction: str) -> dict:
    """The biggest size of every node over the given frames (in inches), so that all frames
    share one layout and the animation does not jump. Needs ``dot``; {} without it."""
    if shutil.which("dot") is None:
        return {}
    sizes: dict[str, tuple[float, float]] = {}
    for frame in frames:
        layout = json.loads(_build(model, frame, scale, show_data, backward_order, direction).pipe(format="json0"))
        for obj in layout.get("objects", []):
            if "width" in obj and obj["name"] != "legend":
                w, h = float(obj["width"]), float(obj["height"])
                old = sizes.get(obj["name"], (0.0, 0.0))
                sizes[obj["name"]] = (max(w, old[0]), max(h, old[1]))
    return sizes


def _first_caption(model: _Model, total: int) -> str:
    return (f"Forward pass: {total} op{'s' if total != 1 else ''}, no gradients yet. Backward visits the ops "
            f"in the order of their step numbers, starting from {model.label(model.root)}.")


def _step_caption(model: _Model, step: debug.BackwardStep, total: int) -> str:
    labels = [model.label(p) if isinstance(p, Tensor) else debug.label_of(p) for p in step.inputs]
    out = model.label(step.node) if (id(step.node) in model.names or step.node.name) else "out"
    formula = debug.formula_with_names(step.node.grad_fn, out, labels)
    sent = debug.sent_text(labels, step.grad_inputs)
    lines = [f"Step {step.index} of {total}: {step.op}   ({formula})",
             f"incoming gradient: {fmt(step.grad_output)}",
             f"local derivative: {step.local}",
             f"sent to the inputs (incoming × local): {sent or 'nothing'}"]
    if step.note:
        lines.append(f"note: {step.note}")
    shown: set[int] = set()
    for label, acc in zip(labels, step.running, strict=False):
        if acc is not None and len(acc.contributions) > 1 and id(acc.tensor) not in shown:
            shown.add(id(acc.tensor))
            lines.append(f"{label} is used more than once: its gradient so far = {acc.text()}")
    return "\n".join(lines)


def _last_caption(model: _Model, root: Tensor) -> str:
    return (f"Done: every gradient of {model.label(root)} is known: the same values root.backward() "
            "leaves in .grad.")


# ----------------------------------------------------------------------------- animation


def save_animation(frames: Sequence[graphviz.Digraph], path: str | Path, seconds_per_frame: float = 1.5) -> Path:
    """Save frames (from ``backward_frames``) as a slideshow.

    * ``.html``: one self-contained page (every frame an inline SVG) with previous / next
      buttons, ← / → keys, a frame counter ("3 / 12") and each step's caption. ``page.html#frame=3``
      opens at frame 3; ``page.html?autoplay=next,next`` presses "next" twice on load
      (``play`` starts the animation).
    * ``.gif``: an animated GIF (each frame rendered to PNG with ``dot``, the caption below).

    Returns the path written. Needs graphviz's ``dot`` program.
    """
    path = Path(path)
    frames = list(frames)
    if not frames:
        raise ValueError("save_animation: no frames to save")
    suffix = path.suffix.lower()
    if suffix not in (".html", ".htm", ".gif"):
        raise ValueError(f"save_animation: cannot tell the format from {path.name!r}; use .html or .gif")
    if shutil.which("dot") is None:
        raise RuntimeError("save_animation: graphviz's `dot` program is not installed (apt-get install graphviz)")
    if suffix == ".gif":
        _save_gif(frames, path, seconds_per_frame)
    else:
        path.write_text(_slideshow_html(frames, seconds_per_frame), encoding="utf-8")
    return path


def _captionless(frame: graphviz.Digraph) -> graphviz.Digraph:
    """The frame without its caption label (pages and GIFs print the caption themselves)."""
    copy = frame.copy()
    for key in ("label", "labelloc", "labeljust", "fontsize"):
        copy.graph_attr.pop(key, None)
    return copy


def _svg(frame: graphviz.Digraph) -> str:
    svg = _captionless(frame).pipe(format="svg").decode("utf-8")
    return svg[svg.index("<svg"):]


def _slideshow_html(frames: list, seconds: float) -> str:
    slides = []
    for i, frame in enumerate(frames):
        caption = getattr(frame, "caption", "")
        slides.append(f'<figure class="slide" id="slide{i + 1}" data-caption="{_esc(caption)}"'
                      f'{"" if i == 0 else " hidden"}>{_svg(frame)}</figure>')
    return _PAGE.replace("{{SLIDES}}", "\n".join(slides)).replace("{{COUNT}}", str(len(frames))) \
        .replace("{{MS}}", str(int(seconds * 1000)))


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Backpropagation, step by step</title>
<style>
  body { font-family: Helvetica, Arial, sans-serif; margin: 0; background: #fafafa; color: #1a1a1a; }
  header { display: flex; align-items: center; gap: 12px; padding: 10px 16px; background: #fff;
           border-bottom: 1px solid #ddd; position: sticky; top: 0; }
  h1 { font-size: 16px; margin: 0 12px 0 0; font-weight: 600; }
  button { font-size: 14px; padding: 4px 12px; border: 1px solid #bbb; border-radius: 4px; background: #fff;
           cursor: pointer; }
  button:hover { background: #f0f0f0; }
  #counter { font-variant-numeric: tabular-nums; min-width: 70px; text-align: center; font-weight: 600; }
  #caption { white-space: pre-wrap; font-family: Menlo, Consolas, monospace; font-size: 13px; line-height: 1.45;
             margin: 12px 16px; padding: 10px 14px; background: #fff; border-left: 4px solid #d62728; }
  .hint { color: #777; font-size: 12px; }
  figure { margin: 8px 16px; }
  figure svg { max-width: 100%; height: auto; }
</style>
</head>
<body>
<header>
  <h1>Backpropagation, step by step</h1>
  <button id="first" title="first frame (Home)">« first</button>
  <button id="prev" title="previous frame (←)">◀ prev</button>
  <span id="counter">1 / {{COUNT}}</span>
  <button id="next" title="next frame (→)">next ▶</button>
  <button id="play" title="play / pause (space)">▶ play</button>
  <span class="hint">keys: ← → space · link to a frame: #frame=3</span>
</header>
<div id="caption"></div>
{{SLIDES}}
<script>
(function () {
  var slides = document.querySelectorAll(".slide"), n = slides.length, current = 1, timer = null;
  function show(k) {
    current = Math.max(1, Math.min(n, k));
    for (var i = 0; i < n; i++) { slides[i].hidden = (i + 1 !== current); }
    document.getElementById("counter").textContent = current + " / " + n;
    document.getElementById("caption").textContent = slides[current - 1].getAttribute("data-caption");
    if (history.replaceState) {
      history.replaceState(null, "", location.pathname + location.search + "#frame=" + current);
    }
  }
  function play() {
    if (timer) { clearInterval(timer); timer = null; document.getElementById("play").textContent = "▶ play"; return; }
    if (current === n) { show(1); }
    document.getElementById("play").textContent = "❚❚ pause";
    timer = setInterval(function () { if (current >= n) { play(); } else { show(current + 1); } }, {{MS}});
  }
  var actions = { next: function () { show(current + 1); }, prev: function () { show(current - 1); },
                  first: function () { show(1); }, last: function () { show(n); }, play: play };
  document.getElementById("next").onclick = actions.next;
  document.getElementById("prev").onclick = actions.prev;
  document.getElementById("first").onclick = actions.first;
  document.getElementById("play").onclick = play;
  document.addEventListener("keydown", function (e) {
    if (e.key === "ArrowRight") { actions.next(); } else if (e.key === "ArrowLeft") { actions.prev(); }
    else if (e.key === "Home") { actions.first(); } else if (e.key === "End") { actions.last(); }
    else if (e.key === " ") { e.preventDefault(); play(); }
  });
  var start = /frame=(\\d+)/.exec(location.hash);
  show(start ? parseInt(start[1], 10) : 1);
  var auto = /[?&]autoplay=([a-z,]+)/.exec(location.search);
  if (auto) {
    auto[1].split(",").forEach(function (name) {
      if (name === "next") { document.getElementById("next").click(); }
      else if (name === "prev") { document.getElementById("prev").click(); }
      else if (actions[name]) { actions[name](); }
    });
  }
})();
</script>
</body>
</html>
"""


def _caption_font(size: int) -> Any:
    from PIL import ImageFont

    try:
        import matplotlib

        font = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
        return ImageFont.truetype(str(font), size)
    except (ImportError, OSError):
        return ImageFont.load_default()


def _save_gif(frames: list, path: Path, seconds: float) -> None:
    import io

    from PIL import Image, ImageDraw

    pictures = [Image.open(io.BytesIO(_captionless(f).pipe(format="png"))).convert("RGB") for f in frames]
    font = _caption_font(13)
    captions = [getattr(f, "caption", "").splitlines() for f in frames]
    line_height = 18
    caption_height = 16 + line_height * max(len(c) for c in captions)
    width = max(max(p.width for p in pictures), 200)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    widest = max((probe.textlength(line, font=font) for c in captions for line in c), default=0)
    width = int(max(width, widest + 24))
    height = max(p.height for p in pictures) + caption_height
    canvases = []
    for picture, lines in zip(pictures, captions, strict=False):
        canvas = Image.new("RGB", (width, height), "white")
        canvas.paste(picture, ((width - picture.width) // 2, 0))
        draw = ImageDraw.Draw(canvas)
        top = height - caption_height + 8
        draw.line([(12, top - 4), (width - 12, top - 4)], fill="#dddddd")
        for i, line in enumerate(lines):
            draw.text((12, top + i * line_height), line, fill="#1a1a1a" if i else "#b01c1c", font=font)
        canvases.append(canvas)
    durations = [int(seconds * 1000)] * len(canvases)
    durations[0] = durations[-1] = int(seconds * 2000)
    canvases[0].save(path, save_all=True, append_images=canvases[1:], duration=durations, loop=0, optimize=False)
