"""``tinygrad-loss graph``: draw a computation graph with its values, gradients and the order
backward visits the ops.

    tinygrad-loss graph "tanh(x*w + b)" --values x=2,w=-3,b=6.88 --out neuron.svg
    tinygrad-loss graph "tanh(x*w + b)" --values x=2,w=-3,b=6.88 --out neuron.html   # step through backward
    tinygrad-loss graph --model mlp --dataset iris --out mlp.png

The formula is read by ``tinygrad_loss.expr`` (a whitelist parser: numbers, your variables,
+ - * / ** @ and a few functions), never by ``eval``. The picture's format comes from the
extension of ``--out``: .svg .png .pdf .dot, .html (a slideshow of the backward pass) or .gif.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np

FORMATS = (".svg", ".png", ".pdf", ".dot", ".html", ".gif")

LEGEND = (
    "How to read it: boxes are tensors (name, shape, value and, after backward, the gradient of the "
    "result with respect to it); green boxes are parameters/leaves that require grad, grey ones inputs and "
    "constants, blue ones intermediate results and red the root (the loss). Yellow ellipses are ops, each "
    "with the step at which backward processed it (step 1 made the root); hover over one in an SVG for its "
    "formula and local derivative. The shade of a gradient row shows its size |grad| on a log scale, light "
    "(small) to dark purple (large); orange 3-D boxes are whole layers drawn as one."
)

EPILOG = """examples:
  tinygrad-loss graph "tanh(x*w + b)" --values x=2,w=-3,b=6.88 --out neuron.svg
  tinygrad-loss graph "tanh(x*w + b)" --values x=2,w=-3,b=6.88 --out neuron.html
  tinygrad-loss graph "(x*w).sigmoid() * x" --values x=0.5 --values w=2 --out g.png
  tinygrad-loss graph --model mlp --dataset iris --out mlp.png

functions: tanh sigmoid relu exp log sin cos sqrt abs sum mean softmax log_softmax
(as tanh(x) or (x*w).tanh()); operators: + - * / ** @ and unary -"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``graph`` subcommand on ``subparsers`` (from ``parser.add_subparsers()``)."""
    p = subparsers.add_parser(
        "graph", help="draw a computation graph with values, gradients and backward order",
        description="Draw the graph of a formula, or of one training step of a small model, with every value, "
                    "every gradient and the order backward visits the ops.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("expression", nargs="?", help='a formula of your variables, e.g. "tanh(x*w + b)"')
    p.add_argument("--values", action="append", default=[], metavar="NAME=NUMBER,...",
                   help="the variables, e.g. x=2,w=-3,b=6.88 (repeatable); each becomes a float64 scalar "
                        "that requires grad")
    p.add_argument("--model", choices=["mlp"], help="instead of a formula: one training step of a small model "
                                                     "(mlp: Linear(4,8) - Tanh - Linear(8,3), cross-entropy)")
    p.add_argument("--dataset", choices=["iris"], default="iris", help="data for --model (8 samples; default iris)")
    p.add_argument("--out", default="graph.svg", metavar="PATH",
                   help="where to write; the format comes from the extension: " + " ".join(FORMATS))
    p.add_argument("--direction", choices=["LR", "TB"], default="LR", help="left to right (LR) or top to bottom")
    p.add_argument("--no-data", action="store_true", help="leave the values out of the boxes")
    p.add_argument("--seed", type=int, default=0, help="random seed for --model (weights and samples)")
    p.set_defaults(run=run)
    return p


class _UsageError(Exception):
    pass


def run(args: argparse.Namespace) -> int:
    """Run ``tinygrad-loss graph``; returns the exit status (0 ok, 2 bad input)."""
    try:
        return _run(args)
    except _UsageError as error:
        print(f"tinygrad-loss graph: {error}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise _UsageError(f"cannot tell the picture format from {out.name!r}; end --out with one of "
                          + " ".join(FORMATS))
    if suffix != ".dot" and shutil.which("dot") is None:
        raise _UsageError("graphviz's `dot` program is needed to write " + suffix + " files (install the graphviz "
                          "package, e.g. apt-get install graphviz), or write a .dot file")
    if (args.model is None) == (args.expression is None):
        raise _UsageError('give either a formula ("tanh(x*w + b)" --values x=2,...) or --model mlp')
    if args.model is not None:
        root, draw, summary = _model_graph(args)
    else:
        root, draw, summary = _expression_graph(args)
    out.parent.mkdir(parents=True, exist_ok=True)
    from . import viz

    options = {"show_data": not args.no_data, "direction": args.direction, **draw}
    if suffix in (".html", ".gif"):
        frames = viz.backward_frames(root, **options)
        viz.save_animation(frames, out)
        what = f"a slideshow of the backward pass ({len(frames)} frames)"
    else:
        from . import autograd

        with autograd.keep_grads():
            root.backward()
        graph = viz.draw_graph(root, **options)
        if suffix == ".dot":
            out.write_text(graph.source, encoding="utf-8")
        else:
            out.write_bytes(graph.pipe(format=suffix[1:]))
        what = "the graph"
    print(summary)
    print(f"wrote {what} to {out}")
    print()
    print(LEGEND)
    return 0


def _parse_values(specs: list[str]) -> dict[str, float]:
    values: dict[str, float] = {}
    for spec in specs:
        for item in filter(None, (s.strip() for s in spec.split(","))):
            name, sep, number = item.partition("=")
            name = name.strip()
            if not sep or not name.isidentifier() or name.startswith("_"):
                raise _UsageError(f"--values: expected NAME=NUMBER (e.g. x=2), got {item!r}")
            try:
                values[name] = float(number)
            except ValueError:
                raise _UsageError(f"--values: {name}={number!r} is not a number") from None
    return values


def _expression_graph(args: argparse.Namespace) -> tuple:
    from . import expr
    from .errors import TinygradLossError
    from .tensor import Tensor

    numbers = _parse_values(args.values)
    try:
        used = expr.variables(args.expression)
    except ValueError as error:
        raise _UsageError(f"cannot use {args.expression!r}: {error}") from None
    variables = {name: Tensor(np.float64(v), requires_grad=True, name=name) for name, v in numbers.items()}
    try:
        root = expr.evaluate(args.expression, variables)
    except (ValueError, TinygradLossError, ArithmeticError) as error:
        raise _UsageError(f"cannot evaluate {args.expression!r}: {error}") from None
    if not root.requires_grad:
        raise _UsageError(f"{args.expression!r} uses none of the variables, so there is nothing to differentiate; "
                          "give them with --values, e.g. --values x=2")
    if root.data.size != 1:
        raise _UsageError(f"{args.expression!r} is not a single number (shape {root.shape}); wrap it in sum(...)")
    root.name = "out"
    unused = [n for n in numbers if n not in used]
    summary = f"{args.expression} = {root.item():.6g}"
    if unused:
        summary += f"   (not used: {', '.join(unused)})"
    return root, {"names": variables}, summary


def _model_graph(args: argparse.Namespace) -> tuple:
    from sklearn.datasets import load_iris

    from . import nn, viz
    from .factories import manual_seed
    from .nn import functional as F  # noqa: N812 (PyTorch's spelling)
    from .tensor import Tensor

    features, labels = load_iris(return_X_y=True)
    rng = np.random.default_rng(args.seed)
    rows = np.sort(rng.choice(len(features), size=8, replace=False))
    scaled = (features - features.mean(axis=0)) / features.std(axis=0)
    manual_seed(args.seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    x = Tensor(scaled[rows].astype(np.float32), name="x")
    y = Tensor(labels[rows].astype(np.int64), name="y")
    with viz.record_modules():
        logits = model(x)
    logits.name = "logits"
    loss = F.cross_entropy(logits, y)
    loss.name = "loss"
    summary = (f"one training step of {type(model).__name__}(Linear(4→8), Tanh, Linear(8→3)) on 8 iris samples "
               f"(classes {labels[rows].tolist()}): cross-entropy loss = {loss.item():.4f}")
    return loss, {"names": {"x": x, "y": y, "model": model}, "collapse": [model[0], model[2]]}, summary
