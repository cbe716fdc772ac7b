"""tinygrad-loss: train small models on real data, explain and plot every loss with the
gradient it sends back, and draw the backward pass. `tinygrad-loss COMMAND --help` for each."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

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
    except OSError as error:
        print(f"tinygrad-loss losses: cannot write {args.plot}: {error.strerror or error}", file=sys.stderr)
        return 2
    return 0


def train(args: argparse.Namespace) -> int:
    """Train a model on a real data set (progress bar, metrics, checkpoint and pictures)."""
    from .train import TrainConfig
    from .train import train as run_training

    options = {k: v for k, v in vars(args).items() if k in TrainConfig.__dataclass_fields__ and v is not None}
    options.setdefault("out", f"runs/{options.get('dataset', 'digits')}-{options.get('model', 'mlp')}")
    try:
        run_training(TrainConfig(**options), resume=args.resume, progress_bar=not args.quiet)
    except (ValueError, FileNotFoundError, KeyError) as error:
        print(f"tinygrad-loss train: {error}", file=sys.stderr)
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tinygrad-loss", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = commands.add_parser("demo", help="build a small graph, run backward and print the gradients")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=demo)
    p = commands.add_parser("train", help="train a model on a real data set (the main job)",
                            description="Train a model with a loss of the catalogue; writes model.safetensors, "
                            "checkpoint.safetensors, metrics.json and curves.png into --out.")
    p.add_argument("--dataset", help="digits (default), iris, breast_cancer, diabetes, moons or spirals")
    p.add_argument("--model", help="linear, mlp (default) or cnn (digits only)")
    p.add_argument("--loss", help="cross_entropy (default), nll, multi_margin; binary: hinge, squared_hinge, focal, "
                   "bce_with_logits, soft_margin; regression: mse, l1, huber, smooth_l1, log_cosh, rmse")
    p.add_argument("--optimizer", help="adam (default), adamw, sgd, momentum, rmsprop or adagrad")
    p.add_argument("--lr", type=float, help="learning rate (default 0.01)")
    p.add_argument("--epochs", type=int, help="passes over the training set (default 30)")
    p.add_argument("--batch-size", type=int, dest="batch_size", help="samples per step (default 64)")
    p.add_argument("--hidden", type=int, help="hidden units of the mlp (default 64)")
    p.add_argument("--seed", type=int, help="the same seed gives bit-identical results (default 0)")
    p.add_argument("--out", help="output folder (default runs/DATASET-MODEL)")
    p.add_argument("--resume", metavar="CHECKPOINT", help="continue a run from its checkpoint.safetensors")
    p.add_argument("--grad-flow", dest="grad_flow", action="store_true", default=None,
                   help="record per-layer gradient norms and plot them (grad_flow.png)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=train)
    p = commands.add_parser("losses", help="list the losses, explain one, or plot losses and their gradients")
    p.add_argument("names", nargs="?", help="comma-separated loss names, e.g. mse,l1,huber")
    p.add_argument("--plot", metavar="PNG", help="draw the losses and their gradients into this image")
    p.set_defaults(run=losses)
    from .graph_command import add_parser as add_graph_parser

    add_graph_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return args.run(args)
    except BrokenPipeError:  # e.g. `tinygrad-loss losses | head`
        sys.stderr.close()
        return 0
