"""The ``tinygrad-loss`` command line."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

import numpy as np


def demo(args: argparse.Namespace) -> int:
    """Build a tiny network's graph, run backward, and print every gradient with a check."""
    from . import Tensor, autograd

    rng = np.random.default_rng(args.seed)
    x = Tensor(rng.normal(size=(4, 3)), name="x")
    w = Tensor(rng.normal(size=(3, 2)) * 0.5, requires_grad=True, name="w")
    b = Tensor(np.zeros(2), requires_grad=True, name="b")
    target = Tensor(rng.normal(size=(4, 2)), name="target")
    with autograd.keep_grads():
        h = (x @ w + b).tanh()
        h.name = "h"
        loss = ((h - target) ** 2).mean()
        loss.name = "loss"
        loss.backward()
    print("loss = mean((tanh(x @ w + b) - target)²) =", f"{loss.item():.6f}")
    print("\ngradient of the loss with respect to each tensor (autograd.keep_grads() keeps them all):")
    for t in (h, w, b):
        print(f"\n{t.name}.grad  (shape {t.shape})\n{np.array2string(t.grad.data, precision=5)}")
    dh = 2 * (h.data - target.data) / h.data.size
    dz = dh * (1 - h.data**2)
    print("\nby hand (chain rule): dL/dw = xᵀ·[dL/dh·(1 - h²)], dL/db = Σ rows of the same")
    print("matches backward():", np.allclose(w.grad.data, x.data.T @ dz), np.allclose(b.grad.data, dz.sum(0)))
    ok = autograd.gradcheck(lambda w_, b_: (((x @ w_ + b_).tanh() - target) ** 2).mean(), [w, b])
    print("finite-difference gradcheck:", "passed" if ok else "FAILED")
    return 0


def losses(args: argparse.Namespace) -> int:
    """List the losses, explain one or several, or plot them with their gradients."""
    from . import loss_catalogue

    names = [n for n in (args.names or "").split(",") if n.strip()]
    try:
        if args.plot:
            loss_catalogue.plot(names or ["mse", "l1", "huber", "log_cosh"], args.plot)
            print(f"wrote {args.plot}")
        elif names:
            print("\n\n".join(loss_catalogue.explain(n) for n in names))
        else:
            print(loss_catalogue.listing())
            print("\n`tinygrad-loss losses NAME` explains one; `tinygrad-loss losses a,b --plot out.png` draws them.")
    except (KeyError, ValueError) as error:
        print(f"tinygrad-loss losses: {error.args[0]}", file=sys.stderr)
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tinygrad-loss", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = commands.add_parser("demo", help="build a small graph, run backward and print the gradients")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=demo)
    p = commands.add_parser("losses", help="list the losses, explain one, or plot losses and their gradients")
    p.add_argument("names", nargs="?", help="comma-separated loss names, e.g. mse,l1,huber")
    p.add_argument("--plot", metavar="PNG", help="draw the losses and their gradients into this image")
    p.set_defaults(run=losses)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return args.run(args)
    except BrokenPipeError:  # e.g. `tinygrad-loss losses | head`
        sys.stderr.close()
        return 0
