"""``tinygrad-loss train``: train a small model on a real data set, end to end.

A run writes into its output folder:
  model.safetensors       the final weights (loadable by PyTorch with the same names)
  checkpoint.safetensors  weights + optimizer state + progress after the last finished epoch
                          (``--resume`` continues from it, bit-identically)
  metrics.json            the options and per-epoch train/test loss and accuracy (or R²)
  curves.png              loss and accuracy curves
  grad_flow.png           with --grad-flow: per-layer gradient norms over training
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import nn, optim
from .data import DATASETS, DataLoader, TensorDataset, train_test_split
from .engine import no_grad
from .factories import generator, manual_seed
from .nn import functional as F
from .serialization import CheckpointError, load, save
from .tensor import Tensor

# ------------------------------------------------------------------------------ losses


@dataclass(frozen=True)
class LossChoice:
    """How one loss of the catalogue is used for a task: which tasks it fits, how many outputs
    the model needs, and how to turn the model's output and the labels into the loss."""

    tasks: tuple[str, ...]
    outputs: str  # "classes" (one logit per class) or "one" (a single score or value)
    compute: Callable[[Tensor, Tensor], Tensor]


def _score(out: Tensor) -> Tensor:
    return out.reshape(-1)


def _as_float(y: Tensor) -> Tensor:
    return y.astype("float32") if y.dtype.kind != "f" else y


LOSS_CHOICES: dict[str, LossChoice] = {
    "cross_entropy": LossChoice(("multiclass", "binary"), "classes", lambda out, y: F.cross_entropy(out, y)),
    "nll": LossChoice(("multiclass", "binary"), "classes", lambda out, y: F.nll_loss(out.log_softmax(1), y)),
    "multi_margin": LossChoice(("multiclass", "binary"), "classes", lambda out, y: F.multi_margin_loss(out, y)),
    "focal": LossChoice(("binary",), "one",
                        lambda out, y: F.sigmoid_focal_loss(_score(out), _as_float(y), reduction="mean")),
    "bce_with_logits": LossChoice(("binary",), "one",
                                  lambda out, y: F.binary_cross_entropy_with_logits(_score(out), _as_float(y))),
    "hinge": LossChoice(("binary",), "one", lambda out, y: F.hinge_loss(_score(out), y)),
    "squared_hinge": LossChoice(("binary",), "one", lambda out, y: F.hinge_loss(_score(out), y, squared=True)),
    "soft_margin": LossChoice(("binary",), "one", lambda out, y: F.soft_margin_loss(_score(out), 2 * _as_float(y) - 1)),
    "mse": LossChoice(("regression",), "one", lambda out, y: F.mse_loss(_score(out), y)),
    "l1": LossChoice(("regression",), "one", lambda out, y: F.l1_loss(_score(out), y)),
    "huber": LossChoice(("regression",), "one", lambda out, y: F.huber_loss(_score(out), y)),
    "smooth_l1": LossChoice(("regression",), "one", lambda out, y: F.smooth_l1_loss(_score(out), y)),
    "log_cosh": LossChoice(("regression",), "one", lambda out, y: F.log_cosh_loss(_score(out), y)),
    "rmse": LossChoice(("regression",), "one", lambda out, y: F.rmse_loss(_score(out), y, eps=1e-12)),
}

OPTIMIZERS = {"sgd": optim.SGD, "momentum": optim.Momentum, "adam": optim.Adam, "adamw": optim.AdamW,
              "rmsprop": optim.RMSprop, "adagrad": optim.Adagrad}
MODELS = ("linear", "mlp", "cnn")


@dataclass
class TrainConfig:
    dataset: str = "digits"
    model: str = "mlp"
    loss: str = "cross_entropy"
    optimizer: str = "adam"
    lr: float = 1e-2
    epochs: int = 30
    batch_size: int = 64
    seed: int = 0
    hidden: int = 64
    test_size: float = 0.2
    out: str = "runs/digits-mlp"
    grad_flow: bool = False


def task_of(dataset: str) -> str:
    info = DATASETS[dataset]
    if info.task == "regression":
        return "regression"
    return "binary" if info.num_classes == 2 else "multiclass"


def check_config(config: TrainConfig) -> None:
    """Refuse unknown or unfitting choices before any work starts, saying what would fit."""
    if config.dataset not in DATASETS:
        raise ValueError(f"unknown dataset {config.dataset!r}; choose one of {', '.join(DATASETS)}")
    if config.model not in MODELS:
        raise ValueError(f"unknown model {config.model!r}; choose one of {', '.join(MODELS)}")
    if config.optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {config.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
    if config.loss not in LOSS_CHOICES:
        raise ValueError(f"unknown loss {config.loss!r}; choose one of {', '.join(LOSS_CHOICES)}")
    task = task_of(config.dataset)
    if task not in LOSS_CHOICES[config.loss].tasks:
        fitting = [name for name, choice in LOSS_CHOICES.items() if task in choice.tasks]
        raise ValueError(f"loss {config.loss!r} does not fit {config.dataset!r} (a {task} task); "
                         f"losses that fit: {', '.join(fitting)}")
    if config.model == "cnn" and config.dataset != "digits":
        raise ValueError("model 'cnn' needs images: only the 'digits' data set has them")
    for name in ("lr", "epochs", "batch_size", "hidden"):
        if getattr(config, name) <= 0:
            raise ValueError(f"--{name.replace('_', '-')} must be positive, got {getattr(config, name)}")
    if not 0 < config.test_size < 1:
        raise ValueError(f"--test-size must be between 0 and 1, got {config.test_size}")


def build_model(config: TrainConfig) -> nn.Module:
    info = DATASETS[config.dataset]
    outputs = info.num_outputs if LOSS_CHOICES[config.loss].outputs == "classes" else 1
    if config.model == "linear":
        return nn.Sequential(nn.Linear(info.num_features, outputs))
    if config.model == "mlp":
        return nn.Sequential(nn.Linear(info.num_features, config.hidden), nn.ReLU(),
                             nn.Linear(config.hidden, config.hidden), nn.ReLU(),
                             nn.Linear(config.hidden, outputs))
    return nn.Sequential(  # digits as (N, 1, 8, 8) images
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 2 * 2, 64), nn.ReLU(), nn.Linear(64, outputs))


# ---------------------------------------------------------------------------- metrics


def predictions(out: np.ndarray, choice: LossChoice, task: str) -> np.ndarray:
    if task == "regression":
        return out.reshape(-1)
    if choice.outputs == "classes":
        return out.argmax(axis=1)
    return (out.reshape(-1) > 0).astype(np.int64)


def quality(pred: np.ndarray, y: np.ndarray, task: str) -> float:
    """Accuracy for classification, R² (1 - SSE/SST) for regression."""
    if task == "regression":
        return float(1 - ((pred - y) ** 2).sum() / ((y - y.mean()) ** 2).sum())
    return float((pred == y).mean())


@dataclass
class History:
    epochs: list[dict[str, float]] = field(default_factory=list)


def evaluate(model: nn.Module, X: Tensor, y: Tensor, choice: LossChoice, task: str) -> tuple[float, float]:
    model.eval()
    with no_grad():
        out = model(X)
        loss = choice.compute(out, y).item()
    model.train()
    return loss, quality(predictions(out.data, choice, task), y.data, task)


# ------------------------------------------------------------------------- checkpoints


def _flat_optimizer_state(state: dict[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """An optimizer's state_dict as arrays (for safetensors) plus the rest as JSON-able data."""
    arrays, scalars = {}, {}
    for index, entries in state["state"].items():
        for key, value in entries.items():
            if isinstance(value, (np.ndarray, Tensor)):
                arrays[f"optimizer.{index}.{key}"] = np.asarray(value.data if isinstance(value, Tensor) else value)
            else:
                scalars[f"{index}.{key}"] = value
    return arrays, {"scalars": scalars, "param_groups": state["param_groups"], "arrays": sorted(arrays)}


def _unflat_optimizer_state(arrays: dict[str, Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(meta.get("scalars"), dict) or not isinstance(meta.get("param_groups"), list):
        raise ValueError("the optimizer record is damaged")
    missing = sorted(set(meta.get("arrays", [])) - set(arrays))
    if missing:
        raise ValueError(f"the optimizer arrays {missing} are missing")
    state: dict[int, dict[str, Any]] = {}
    for name, value in arrays.items():
        _, index, key = name.split(".", 2)
        state.setdefault(int(index), {})[key] = value.data.copy()
    for name, value in meta["scalars"].items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    return {"state": state, "param_groups": meta["param_groups"]}


def save_checkpoint(path: Path, model: nn.Module, optimizer: optim.Optimizer, epoch: int, history: History,
                    config: TrainConfig) -> None:
    arrays, optimizer_meta = _flat_optimizer_state(optimizer.state_dict())
    tensors = {f"model.{k}": v.data for k, v in model.state_dict().items()} | arrays
    progress = {"epoch": epoch, "history": history.epochs, "config": asdict(config),
                "optimizer": optimizer_meta, "generator": generator().bit_generator.state}
    tensors["progress"] = np.frombuffer(json.dumps(progress, default=_jsonable).encode(), dtype=np.uint8)
    save(tensors, str(path))


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in a checkpoint")


def load_checkpoint(path: Path) -> tuple[dict[str, Tensor], dict[str, Tensor], dict[str, Any]]:
    """The model weights, optimizer arrays and progress record of a training checkpoint,
    checked for shape and sense; anything wrong raises CheckpointError naming the file."""
    tensors = load(str(path))
    if "progress" not in tensors:
        raise CheckpointError(f"{path} is not a training checkpoint of tinygrad-loss train (no progress record)")
    try:
        progress = json.loads(tensors.pop("progress").data.tobytes().decode())
    except (UnicodeDecodeError, ValueError) as error:
        raise CheckpointError(f"{path}: the progress record is damaged ({error})") from None
    expected = {"epoch": int, "history": list, "config": dict, "optimizer": dict, "generator": dict}
    if not isinstance(progress, dict) or any(not isinstance(progress.get(k), t) for k, t in expected.items()):
        raise CheckpointError(f"{path}: the progress record is damaged (expected {sorted(expected)})")
    model_state = {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}
    optimizer_arrays = {k: v for k, v in tensors.items() if k.startswith("optimizer.")}
    for name, value in {**model_state, **optimizer_arrays}.items():
        if value.dtype.kind == "f" and not np.isfinite(value.data).all():
            raise CheckpointError(f"{path}: {name!r} holds NaN or Inf values; the checkpoint is damaged "
                                  "(or the run had already diverged)")
    return model_state, optimizer_arrays, progress


def _restore(path: str, model: nn.Module, optimizer: optim.Optimizer, model_state: dict,
             optimizer_arrays: dict, progress: dict) -> None:
    """Put a checkpoint's state back; a mismatch with the model or optimizer names the file."""
    try:
        model.load_state_dict(model_state)
        optimizer.load_state_dict(_unflat_optimizer_state(optimizer_arrays, progress["optimizer"]))
        generator().bit_generator.state = progress["generator"]
    except (KeyError, ValueError, TypeError, IndexError) as error:
        raise CheckpointError(f"{path}: does not fit this model and optimizer ({error})") from None


# ------------------------------------------------------------------------------- training


def train(config: TrainConfig, resume: str | None = None, progress_bar: bool = True,
          log: Callable[[str], None] = print) -> History:
    """Train as configured (or continue the run in checkpoint ``resume``); returns the history."""
    from tqdm import tqdm

    start_epoch, history = 0, History()
    if resume:
        model_state, optimizer_arrays, progress = load_checkpoint(Path(resume))
        config = TrainConfig(**{**progress["config"], "epochs": config.epochs, "out": config.out})
    check_config(config)
    task, choice = task_of(config.dataset), LOSS_CHOICES[config.loss]
    manual_seed(config.seed)
    X, y = DATASETS[config.dataset].loader(**({"images": True} if config.model == "cnn" else {}))
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=config.test_size, seed=config.seed)
    model = build_model(config)
    optimizer = OPTIMIZERS[config.optimizer](model.parameters(), lr=config.lr)
    if resume:
        _restore(resume, model, optimizer, model_state, optimizer_arrays, progress)
        start_epoch, history = progress["epoch"], History(progress["history"])
        log(f"resumed {resume} after epoch {start_epoch}")
    out_dir = Path(config.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    flow = None
    if config.grad_flow:
        from .diagnostics import GradFlow

        flow = GradFlow()
    dataset = TensorDataset(X_train, y_train)
    batches = math.ceil(len(dataset) / config.batch_size)
    bar = tqdm(total=(config.epochs - start_epoch) * batches, disable=not progress_bar, unit="batch",
               desc=f"{config.model} on {config.dataset}")
    for epoch in range(start_epoch, config.epochs):
        # a loader per epoch, seeded by (seed, epoch): a resumed run sees the same batches
        loader = DataLoader(dataset, config.batch_size, shuffle=True, seed=config.seed * 100_003 + epoch)
        total, count = 0.0, 0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = choice.compute(model(xb), yb)
            if not np.isfinite(loss.item()):
                raise ValueError(f"the loss became {loss.item()} in epoch {epoch + 1}: training diverged "
                                 f"(try a smaller --lr than {config.lr})")
            loss.backward()
            if flow is not None:
                flow.record(model)
            optimizer.step()
            total, count = total + loss.item() * len(yb), count + len(yb)
            bar.update()
            bar.set_postfix(loss=f"{loss.item():.4f}")
        train_loss, train_quality = evaluate(model, X_train, y_train, choice, task)
        test_loss, test_quality = evaluate(model, X_test, y_test, choice, task)
        metric = "r2" if task == "regression" else "accuracy"
        history.epochs.append({"epoch": epoch + 1, "train_loss": train_loss, "test_loss": test_loss,
                               f"train_{metric}": train_quality, f"test_{metric}": test_quality,
                               "mean_batch_loss": total / count})
        line = (f"epoch {epoch + 1:3d}/{config.epochs}  train loss {train_loss:.4f}  {metric} {train_quality:.4f}"
                f"  |  test loss {test_loss:.4f}  {metric} {test_quality:.4f}")
        (bar.write if progress_bar else log)(line)  # above the progress bar, or to the caller's log
        save_checkpoint(out_dir / "checkpoint.safetensors", model, optimizer, epoch + 1, history, config)
    bar.close()
    save(model.state_dict(), str(out_dir / "model.safetensors"))
    (out_dir / "metrics.json").write_text(json.dumps({"config": asdict(config), "epochs": history.epochs}, indent=2))
    title = f"{config.model} on {config.dataset}, {config.loss}, {config.optimizer}"
    plot_curves(history, out_dir / "curves.png", title)
    written = ["model.safetensors", "checkpoint.safetensors", "metrics.json", "curves.png"]
    if flow is not None:
        flow.plot(str(out_dir / "grad_flow.png"))
        log(flow.summary())
        written.append("grad_flow.png")
    log(f"wrote {', '.join(str(out_dir / name) for name in written)}")
    return history


def plot_curves(history: History, path: Path, title: str) -> None:
    from matplotlib.figure import Figure  # no pyplot: leaves the notebook backend alone

    epochs = [e["epoch"] for e in history.epochs]
    metric = "accuracy" if "test_accuracy" in history.epochs[0] else "r2"
    fig = Figure(figsize=(11, 4))
    left, right = fig.subplots(1, 2)
    for split, style in (("train", "-"), ("test", "--")):
        left.plot(epochs, [e[f"{split}_loss"] for e in history.epochs], style, label=split, linewidth=2)
        right.plot(epochs, [e[f"{split}_{metric}"] for e in history.epochs], style, label=split, linewidth=2)
    left.set(title="loss", xlabel="epoch")
    right.set(title="accuracy" if metric == "accuracy" else "R² (1 = perfect, 0 = predicting the mean)",
              xlabel="epoch")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend(frameon=False)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
