"""Speed and memory of tinygrad_loss against a hand-written numpy floor, PyTorch and micrograd.

    python benchmarks/run.py                        # full run, writes benchmarks/RESULTS.md
    python benchmarks/run.py --quick                # fewer repetitions
    python benchmarks/run.py --only mlp_64,cnn_64   # selected cases (printed, RESULTS.md untouched)
    python benchmarks/run.py --profile cnn_64       # cProfile one repetition of tinygrad_loss

The benchmark is a registry of cases × implementations. A case (``CASES``) names, for each
family of implementations, a function that builds a ``Workload`` -- a step to repeat and a
sanity value to compare -- and how to measure it (time per step, or memory over many steps).
The implementations (``IMPLS``) are tinygrad_loss and PyTorch (the "tensor" family: one shared
piece of code per case drives both through their common PyTorch-style API), the hand-written
numpy floor (``numpy_floor.py``) and micrograd (scalars only).

Every (case, implementation) pair runs in its own subprocess -- this script re-invoked with
``--case NAME --impl IMPL`` -- which prints one JSON line with its measurements: the check value
after the case's check steps, then one discarded warm-up repetition, then the measured ones,
whose median is reported. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import itertools
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import numpy_floor  # benchmarks/numpy_floor.py: this script's directory is sys.path[0]

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "RESULTS.md"
CHILD_TIMEOUT = 600  # seconds, per subprocess
DIGITS_ENV = "TINYGRAD_LOSS_BENCH_DIGITS"  # the parent loads the digits once and passes them as an .npz
GC_ENV = "TINYGRAD_LOSS_BENCH_GC"  # the garbage collector's thresholds every child sets first

# ----------------------------------------------------------------------------- implementations


@dataclass(frozen=True)
class Backend:
    """What the cases need from an implementation. The scalar cases (tiny ops, chain) only use
    leaf / clear_grad / total / grad_sum, which micrograd can provide too; the others use the
    PyTorch-style module ``lib`` (``lib.tensor``, ``lib.nn``, ``lib.optim``, ...)."""

    leaf: Callable[[tuple[int, ...], float], Any] | None = None  # (shape, value) -> leaf that requires grad
    clear_grad: Callable[[Any], None] | None = None
    total: Callable[[Any], Any] | None = None  # z -> the scalar to call .backward() on
    grad_sum: Callable[[Any], float] | None = None  # leaf -> sum of its gradient (a sanity check)
    lib: Any = None  # tinygrad_loss or torch
    conv2d: Callable[..., Any] | None = None  # functional conv2d(x, weight, padding=...)
    threads: int | None = None


def _set_grad_none(t: Any) -> None:
    t.grad = None


def _tensor_backend(lib: Any, conv2d: Callable[..., Any], threads: int | None = None) -> Backend:
    return Backend(leaf=lambda shape, v: lib.tensor(np.full(shape, v, np.float32), requires_grad=True),
                   clear_grad=_set_grad_none, total=lambda z: z.sum(), grad_sum=lambda t: float(t.grad.sum()),
                   lib=lib, conv2d=conv2d, threads=threads)


def _tinygrad_loss() -> Backend:
    sys.path.insert(0, str(REPO))  # measure this working tree, not some other installed copy
    import tinygrad_loss as tl
    from tinygrad_loss.nn.layers_functional import conv2d

    return _tensor_backend(tl, conv2d)


def _torch(threads: int | None) -> Backend:
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    return _tensor_backend(torch, torch.nn.functional.conv2d, torch.get_num_threads())


def _numpy() -> Backend:
    return Backend()  # the floor's code (numpy_floor.py) needs nothing more


def _micrograd() -> Backend:
    from micrograd.engine import Value

    sys.setrecursionlimit(1_000_000)  # Value.backward sorts the graph recursively

    def leaf(shape: tuple[int, ...], v: float) -> Any:
        if shape not in ((), (1,)):
            raise ValueError("micrograd has scalars only")
        return Value(v)

    def clear_grad(v: Any) -> None:
        v.grad = 0  # micrograd accumulates with +=, so 0 rather than None

    return Backend(leaf=leaf, clear_grad=clear_grad, total=lambda z: z, grad_sum=lambda v: float(v.grad))


@dataclass(frozen=True)
class Impl:
    title: str
    package: str  # distribution name, for the version and the "not installed" note
    family: str  # which of a case's workloads it runs: "tensor", "numpy" or "scalar"
    load: Callable[[], Backend]


IMPLS: dict[str, Impl] = {
    "tinygrad_loss": Impl("tinygrad_loss", "tinygrad-loss", "tensor", _tinygrad_loss),
    "numpy": Impl("numpy floor", "numpy", "numpy", _numpy),
    "torch": Impl("PyTorch", "torch", "tensor", lambda: _torch(None)),
    "torch1": Impl("PyTorch (1 thread)", "torch", "tensor", lambda: _torch(1)),
    "micrograd": Impl("micrograd", "micrograd", "scalar", _micrograd),
}
TORCH_IMPLS = ("torch", "torch1")


# ----------------------------------------------------------------------------- inputs
# Every implementation gets the same numbers (seeded numpy), so their sanity values agree.


def _random(*shape: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)


def _digits() -> tuple[np.ndarray, np.ndarray]:
    """load_digits' X (1797, 64) float32 in [0, 1] and y int64, from the parent's .npz when
    there is one (so that children do not import scikit-learn, which would inflate their RSS)."""
    path = os.environ.get(DIGITS_ENV)
    if path:
        with np.load(path) as saved:
            return saved["X"], saved["y"]
    sys.path.insert(0, str(REPO))
    from tinygrad_loss.data import load_digits

    X, y = load_digits()
    return X.numpy(), y.numpy()


BATCH_POOL = 16  # distinct random batches, cycled through


def digit_batches(batch: int, images: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    X, y = _digits()
    rng = np.random.default_rng(1)
    picks = [rng.choice(len(X), batch, replace=False) for _ in range(BATCH_POOL)]
    shape = (-1, 1, 8, 8) if images else (-1, 64)
    return [(X[i].reshape(shape), y[i]) for i in picks]


def init_params(shapes: list[tuple[int, ...]], seed: int = 0) -> list[np.ndarray]:
    """PyTorch's default Linear/Conv2d init, U(±1/√fan_in), for weights and the bias after each."""
    rng = np.random.default_rng(seed)
    params, bound = [], 1.0
    for shape in shapes:
        if len(shape) > 1:
            bound = 1 / math.sqrt(math.prod(shape[1:]))
        params.append(rng.uniform(-bound, bound, shape).astype(np.float32))
    return params


def sum_of_squares(arrays: Any) -> float:
    return float(sum(np.square(np.asarray(a, dtype=np.float64)).sum() for a in arrays))


# ----------------------------------------------------------------------------- workloads


@dataclass(frozen=True)
class Workload:
    """One implementation's take on a case, inputs built: ``step()`` is the measured unit;
    ``check(a step's result)`` a number every implementation must agree on."""

    step: Callable[[], Any]
    check: Callable[[Any], float]


def tiny_ops(bk: Backend, shape: tuple[int, ...]) -> Workload:
    """`z = (a*b + c).sum(); z.backward()` on tiny leaves, resetting the grads every time."""
    a, b, c = bk.leaf(shape, 1.5), bk.leaf(shape, 2.0), bk.leaf(shape, 0.5)

    def step() -> Any:
        for t in (a, b, c):
            bk.clear_grad(t)
        z = bk.total(a * b + c)
        z.backward()
        return z

    return Workload(step, lambda _: bk.grad_sum(a))


def chain(bk: Backend, length: int) -> Workload:
    """Forward and backward through `y = y * 1.0001`, `length` times, from one leaf."""
    x = bk.leaf((1,), 1.0)

    def step() -> Any:
        bk.clear_grad(x)
        y = x
        for _ in range(length):
            y = y * 1.0001
        bk.total(y).backward()
        return y  # the graph is torn down after the clock stops

    return Workload(step, lambda _: bk.grad_sum(x))


class TensorAndFloor:
    """A computation written twice: once for the tensor family (tinygrad_loss and PyTorch share
    the code), once by hand in numpy."""

    def tensor(self, bk: Backend) -> Workload:
        raise NotImplementedError

    def numpy(self, bk: Backend) -> Workload:
        raise NotImplementedError

    @property
    def workloads(self) -> dict[str, Callable[[Backend], Workload]]:
        return {"tensor": self.tensor, "numpy": self.numpy}


@dataclass(frozen=True)
class Gradients(TensorAndFloor):
    """A forward + backward of one function: `leaves` require grad, `constants` do not; a
    non-scalar output gets an upstream gradient of ones. The check is Σ grad² over the leaves."""

    inputs: Callable[[], tuple[list[np.ndarray], list[np.ndarray]]]  # -> (leaves, constants)
    forward: Callable[..., Any]  # (backend, *leaves, *constants) -> output tensor
    floor: Callable[..., tuple[np.ndarray, ...]]  # (*leaves, *constants) -> gradients of the leaves

    def tensor(self, bk: Backend) -> Workload:
        arrays, constants = self.inputs()
        leaves = [bk.lib.tensor(a, requires_grad=True) for a in arrays]
        constants = [bk.lib.tensor(c) for c in constants]

        def step() -> Any:
            for t in leaves:
                t.grad = None
            out = self.forward(bk, *leaves, *constants)
            out.backward(bk.lib.ones_like(out) if out.ndim else None)
            return out

        return Workload(step, lambda _: sum_of_squares(t.grad for t in leaves))

    def numpy(self, bk: Backend) -> Workload:
        arrays, constants = self.inputs()
        return Workload(lambda: self.floor(*arrays, *constants), sum_of_squares)


MLP_SHAPES = [(64, 64), (64,), (64, 64), (64,), (10, 64), (10,)]
CNN_SHAPES = [(16, 1, 3, 3), (16,), (32, 16, 3, 3), (32,), (64, 128), (64,), (10, 64), (10,)]


def mlp_model(nn: Any) -> Any:
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))


def cnn_model(nn: Any) -> Any:
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


@dataclass(frozen=True)
class Training(TensorAndFloor):
    """One training step on a random digits batch: zero_grad, forward, cross-entropy, backward,
    Adam step. Every implementation starts from the same weights and sees the same batches;
    the check is the step's loss."""

    model: Callable[[Any], Any]  # (nn) -> the network, its parameters in `shapes` order
    shapes: list[tuple[int, ...]]
    floor: Callable[..., float]  # numpy_floor.mlp_step or cnn_step
    batch: int
    images: bool
    lr: float = 1e-2

    def tensor(self, bk: Backend) -> Workload:
        lib = bk.lib
        model = self.model(lib.nn)
        params = list(model.parameters())
        if [tuple(p.shape) for p in params] != self.shapes:
            raise AssertionError(f"parameter shapes {[tuple(p.shape) for p in params]} != {self.shapes}")
        with lib.no_grad():
            for p, value in zip(params, init_params(self.shapes), strict=True):
                p.copy_(lib.tensor(value))
        opt = lib.optim.Adam(params, lr=self.lr)
        batches = itertools.cycle([(lib.tensor(x), lib.tensor(y)) for x, y in digit_batches(self.batch, self.images)])
        cross_entropy = lib.nn.functional.cross_entropy

        def step() -> Any:
            x, y = next(batches)
            opt.zero_grad()
            loss = cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss

        return Workload(step, lambda loss: float(loss.item()))

    def numpy(self, bk: Backend) -> Workload:
        params = init_params(self.shapes)
        adam = numpy_floor.Adam(params, lr=self.lr)
        batches = itertools.cycle(digit_batches(self.batch, self.images))
        return Workload(lambda: self.floor(params, adam, *next(batches)), float)


# ----------------------------------------------------------------------------- measurements
# A measurement runs `iterations` steps of a workload and returns named numbers.


def _proc_status_mb(field_name: str) -> float:
    """VmRSS (now) or VmHWM (the peak) of this process, in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / 1024  # kB
    raise OSError(f"no {field_name} in /proc/self/status")


def measure_time(work: Workload, iterations: int) -> dict[str, float]:
    """Seconds per step. The last step's result (a graph, maybe) is freed after the clock stops."""
    start = time.perf_counter()
    for _ in range(iterations):
        out = work.step()
    seconds = time.perf_counter() - start
    del out
    return {"time": seconds / iterations}


RSS_FROM = 100  # growth is measured from this step to the last


def measure_rss(work: Workload, iterations: int) -> dict[str, float]:
    """Peak RSS of the process after `iterations` steps, and RSS growth from step RSS_FROM to the end."""
    rss_from = 0.0
    for i in range(1, iterations + 1):
        work.step()
        if i == RSS_FROM:
            rss_from = _proc_status_mb("VmRSS")
    rss_end = _proc_status_mb("VmRSS")
    return {"peak": _proc_status_mb("VmHWM"), "growth_mb": rss_end - rss_from,
            "growth": 100 * (rss_end - rss_from) / rss_from}


# ----------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Metric:
    key: str  # in the measurement's dict
    unit: str
    scale: float = 1.0  # reported = median * scale
    label: str = ""  # appended to the case's title when a case reports several metrics
    ratios: bool = True  # whether tinygrad_loss / others makes sense


def per_step(unit: str) -> Metric:
    return Metric("time", unit, {"µs": 1e6, "ms": 1e3, "s": 1.0}[unit.split("/")[0]])


@dataclass(frozen=True)
class Case:
    title: str
    workloads: dict[str, Callable[[Backend], Workload]]  # family -> builder; families absent: "–"
    metrics: tuple[Metric, ...]
    iterations: int  # steps per repetition
    reps: int = 7
    quick_reps: int = 3
    measure: Callable[[Workload, int], dict[str, float]] = measure_time
    warmup: bool = True
    check_steps: int = 1  # steps before the warm-up; the last one's check value is compared
    detail: str = ""  # one line for RESULTS.md


TINY_ITERATIONS = 2000
CHAIN_LENGTH = 100_000
CHECK_STEPS = 20  # training: compare the loss after this many steps (float rounding steers runs apart later)
RSS_STEPS = 1000


def scalar_or_tensor(build: Callable[[Backend], Workload]) -> dict[str, Callable[[Backend], Workload]]:
    return {"tensor": build, "scalar": build}


MATMUL = Gradients(inputs=lambda: ([_random(1024, 1024, seed=1), _random(1024, 1024, seed=2)], []),
                   forward=lambda bk, a, b: a @ b, floor=numpy_floor.matmul_grads)
CROSS_ENTROPY = Gradients(
    inputs=lambda: ([_random(4096, 1000, seed=3)], [np.random.default_rng(4).integers(0, 1000, 4096)]),
    forward=lambda bk, logits, y: bk.lib.nn.functional.cross_entropy(logits, y),
    floor=numpy_floor.cross_entropy_grads)
CONV = Gradients(inputs=lambda: ([_random(64, 16, 28, 28, seed=5), _random(16, 16, 3, 3, seed=6) / 12], []),
                 forward=lambda bk, x, w: bk.conv2d(x, w, padding=1), floor=numpy_floor.conv2d_grads)
MLP_64 = Training(mlp_model, MLP_SHAPES, numpy_floor.mlp_step, batch=64, images=False)
MLP_512 = Training(mlp_model, MLP_SHAPES, numpy_floor.mlp_step, batch=512, images=False)
CNN_64 = Training(cnn_model, CNN_SHAPES, numpy_floor.cnn_step, batch=64, images=True)
TRAIN = {"metrics": (per_step("ms/step"),), "check_steps": CHECK_STEPS}
GROWTH = f"RSS growth step {RSS_FROM}→{RSS_STEPS}"

CASES: dict[str, Case] = {
    "tiny_1": Case("tiny ops, shape (1,)", scalar_or_tensor(lambda bk: tiny_ops(bk, (1,))), (per_step("µs/iter"),),
                   TINY_ITERATIONS, detail="`z = (a*b + c).sum(); z.backward()`, grads reset every time"),
    "tiny_16": Case("tiny ops, shape (16,)", {"tensor": lambda bk: tiny_ops(bk, (16,))}, (per_step("µs/iter"),),
                    TINY_ITERATIONS),
    "chain_100k": Case(f"{CHAIN_LENGTH:,}-op chain fwd+bwd", scalar_or_tensor(lambda bk: chain(bk, CHAIN_LENGTH)),
                       (per_step("s"),), 1, reps=3, quick_reps=1,
                       detail="`y = y * 1.0001` from one leaf of shape (1,), then backward"),
    "matmul_1024": Case("1024×1024 matmul fwd+bwd", MATMUL.workloads, (per_step("ms"),), 3, reps=5, quick_reps=2,
                        detail="`c = a @ b`, backward with ones, float32 (3 GEMMs)"),
    "mlp_64": Case("digits MLP train step, batch 64", MLP_64.workloads, iterations=200, **TRAIN,
                   detail="64-64-64-10 ReLU MLP, cross-entropy, Adam lr 1e-2: zero_grad + forward + loss + "
                   "backward + step on a random batch of load_digits"),
    "mlp_512": Case("digits MLP train step, batch 512", MLP_512.workloads, iterations=50, **TRAIN),
    "cnn_64": Case("digits CNN train step, batch 64", CNN_64.workloads, iterations=40, **TRAIN,
                   detail="Conv(1→16, 3, pad 1)-ReLU-MaxPool(2)-Conv(16→32)-ReLU-MaxPool(2)-Flatten-"
                   "Linear(128→64)-ReLU-Linear(64→10) on (64, 1, 8, 8) digits images, cross-entropy, Adam lr 1e-2"),
    "xent_4096": Case("cross-entropy fwd+bwd (4096, 1000)", CROSS_ENTROPY.workloads, (per_step("ms"),), 10,
                      detail="float32 logits, int64 class targets, mean reduction"),
    "conv_28": Case("conv2d fwd+bwd (64,16,28,28) * (16,16,3,3)", CONV.workloads, (per_step("ms"),), 5,
                    detail="padding 1, no bias, float32; backward with ones to input and weight"),
    "rss_1000": Case(f"digits MLP, {RSS_STEPS} steps of batch 64", MLP_64.workloads,
                     (Metric("peak", "MB", label="peak RSS"),
                      Metric("growth_mb", "MB", label=GROWTH, ratios=False),
                      Metric("growth", "%", label=GROWTH, ratios=False)),
                     RSS_STEPS, reps=1, quick_reps=1, measure=measure_rss, warmup=False, check_steps=CHECK_STEPS,
                     detail="VmHWM (peak) and VmRSS from /proc/self/status of a fresh process, no warm-up "
                     "repetition"),
}


@dataclass(frozen=True)
class Target:
    """A goal from the project's issue: tinygrad_loss's number (over PyTorch's or the floor's,
    or on its own) against a limit, for every listed row."""

    text: str
    rows: tuple[tuple[str, str], ...]  # (case, metric key)
    limit: float
    versus: str  # "torch", "numpy" or "value"
    strict: bool = False  # "<" rather than "<="

    def met(self, value: float) -> bool:
        return value < self.limit if self.strict else value <= self.limit

    @property
    def unit(self) -> str:
        """The unit of the compared number: a ratio, or the row's own unit."""
        if self.versus != "value":
            return "x"
        case, key = self.rows[0]
        return next(m.unit for m in CASES[case].metrics if m.key == key)

    def show(self, value: float) -> str:
        return f"{value:.2f}x" if self.versus != "value" else f"{fmt(value)} {self.unit}"

    @property
    def short(self) -> str:
        sign = "<" if self.strict else "≤"
        if self.versus == "value":
            return f"{sign} {self.limit:g} {self.unit}"
        return f"{sign} {self.limit:g}x {'PyTorch' if self.versus == 'torch' else 'floor'}"


def _time(*cases: str) -> tuple[tuple[str, str], ...]:
    return tuple((case, "time") for case in cases)


TARGETS: list[Target] = [
    Target("tiny-op overhead ≤ 0.3x PyTorch", _time("tiny_1", "tiny_16"), 0.3, "torch"),
    Target("tiny-op overhead ≤ 0.5x PyTorch (the earlier target)", _time("tiny_1", "tiny_16"), 0.5, "torch"),
    Target("100k-op chain ≤ 0.35x PyTorch", _time("chain_100k"), 0.35, "torch"),
    Target("100k-op chain ≤ 0.5x PyTorch (the earlier target)", _time("chain_100k"), 0.5, "torch"),
    Target("digits-MLP step at batch 64 ≤ 1.3x numpy floor", _time("mlp_64"), 1.3, "numpy"),
    Target("1024 matmul ≤ 1.10x numpy floor", _time("matmul_1024"), 1.10, "numpy"),
    Target("digits-MLP step at batch 512 ≤ 1.10x numpy floor", _time("mlp_512"), 1.10, "numpy"),
    Target("cross-entropy ≤ 1.10x numpy floor", _time("xent_4096"), 1.10, "numpy"),
    Target("small-CNN step ≤ 1.0x PyTorch", _time("cnn_64"), 1.0, "torch"),
    Target(f"RSS growth from step {RSS_FROM} to {RSS_STEPS} < 5%", (("rss_1000", "growth"),), 5.0, "value",
           strict=True),
]

# ----------------------------------------------------------------------------- child process


def run_child(case_name: str, impl_name: str, reps: int) -> dict[str, Any]:
    """Inside the subprocess: one warm-up repetition, then `reps` measured ones."""
    impl, case = IMPLS[impl_name], CASES[case_name]
    if os.environ.get(GC_ENV):
        gc.set_threshold(*(int(n) for n in os.environ[GC_ENV].split(",")))
    try:
        bk = impl.load()
    except ImportError as error:
        return {"unavailable": f"{type(error).__name__}: {error}"}
    work = case.workloads[impl.family](bk)
    for _ in range(case.check_steps):
        out = work.step()
    check = work.check(out)
    del out
    if case.warmup:
        case.measure(work, case.iterations)  # imports, lazy initialisation, allocator, caches
    samples = []
    for _ in range(reps):
        gc.collect()  # start each repetition from the same heap; gc stays on while measuring
        samples.append(case.measure(work, case.iterations))
    return {"samples": samples, "check": check, "threads": bk.threads}


def profile(case_name: str, impl_name: str, top: int = 30) -> None:
    """cProfile one repetition of a case (after a warm-up) in this process, by own time."""
    import cProfile
    import pstats

    impl, case = IMPLS[impl_name], CASES[case_name]
    work = case.workloads[impl.family](impl.load())
    case.measure(work, case.iterations)
    profiler = cProfile.Profile()
    profiler.runcall(case.measure, work, case.iterations)
    pstats.Stats(profiler).strip_dirs().sort_stats("tottime").print_stats(top)


# ----------------------------------------------------------------------------- parent process


@dataclass
class Result:
    values: dict[str, float] = field(default_factory=dict)  # metric key -> median, in the metric's unit
    check: float | None = None
    threads: int | None = None
    note: str = ""  # why there are no values


def spawn(case_name: str, impl_name: str, reps: int, env: dict[str, str]) -> Result:
    """Run one pair in a fresh interpreter and parse the JSON line it prints."""
    command = [sys.executable, str(Path(__file__).resolve()), "--case", case_name, "--impl", impl_name,
               "--reps", str(reps)]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=CHILD_TIMEOUT, env=env)
    except subprocess.TimeoutExpired:
        return Result(note=f"timed out after {CHILD_TIMEOUT} s")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return Result(note=f"failed (exit {proc.returncode}): {tail}")
    data = json.loads(lines[-1])
    if "unavailable" in data:
        return Result(note=f"not importable ({data['unavailable']})")
    samples = data["samples"]
    values = {m.key: statistics.median(s[m.key] for s in samples) * m.scale for m in CASES[case_name].metrics}
    return Result(values=values, check=data["check"], threads=data["threads"])


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def version(package: str, missing: dict[str, str]) -> str:
    """`package version`, flagged when the benchmark could not import it."""
    try:
        text = f"{package} {metadata.version(package)}"
    except metadata.PackageNotFoundError:
        return f"{package} not installed"
    unusable = any(IMPLS[name].package == package for name in missing)
    return text + " (not importable)" if unusable else text


def fmt(value: float | None) -> str:
    """Three significant digits, no exponent."""
    if value is None:
        return "n/a"
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    return f"{value:.{max(0, 2 - math.floor(math.log10(abs(value))))}f}"


Row = dict[str, Result]  # impl -> result, for one case


def ratio(row: Row, key: str, versus: str) -> float | None:
    """tinygrad_loss's value over the floor's, or over the faster PyTorch variant's; None if missing."""
    mine = row["tinygrad_loss"].values.get(key) if "tinygrad_loss" in row else None
    names = TORCH_IMPLS if versus == "torch" else (versus,)
    others = [row[n].values[key] for n in names if n in row and key in row[n].values]
    return mine / min(others) if mine is not None and others and min(others) > 0 else None


def target_value(target: Target, results: dict[str, Row], case: str, key: str) -> float | None:
    if case not in results:
        return None
    if target.versus == "value":
        row = results[case]
        return row["tinygrad_loss"].values.get(key) if "tinygrad_loss" in row else None
    return ratio(results[case], key, target.versus)


def target_lines(results: dict[str, Row]) -> list[str]:
    """One line per target whose cases ran: met only if every row under it (that ran) met it."""
    lines = []
    for target in TARGETS:
        rows = [(case, key) for case, key in target.rows if case in results]
        if not rows:
            continue
        values = [target_value(target, results, case, key) for case, key in rows]
        if any(v is None for v in values):
            status = "n/a (missing a measurement)"
        else:
            status = "met" if all(target.met(v) for v in values) else "MISSED"
        shown = ", ".join(f"{case}: {'n/a' if v is None else target.show(v)}"
                          for (case, _), v in zip(rows, values, strict=True))
        lines.append(f"- {target.text}: **{status}** ({shown})")
    return lines


def build_table(results: dict[str, Row], impls: list[str]) -> list[str]:
    """Markdown lines: a row per (case, metric), a column per implementation, then the ratios
    and the targets that apply to the row."""
    titles = []
    for name in impls:
        title = IMPLS[name].title
        if name == "torch":
            threads = {r.threads for r in (row.get(name) for row in results.values()) if r and r.threads}
            title += f" ({', '.join(map(str, sorted(threads)))} threads, default)" if threads else " (default threads)"
        titles.append(title)
    header = ["case", "unit", *titles, "tinygrad_loss / numpy floor", "tinygrad_loss / best PyTorch", "targets"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * (len(header) - 3)) + "|---|"]
    for case_name, row in results.items():
        case = CASES[case_name]
        for metric in case.metrics:
            title = f"{case.title}: {metric.label}" if metric.label else case.title
            cells = [title, metric.unit]
            cells += [fmt(row[n].values.get(metric.key)) if n in row else "–" for n in impls]
            for versus in ("numpy", "torch"):
                r = ratio(row, metric.key, versus) if metric.ratios else None
                cells.append("–" if r is None else f"{r:.2f}x")
            goals = []
            for target in TARGETS:
                if (case_name, metric.key) in target.rows:
                    value = target_value(target, results, case_name, metric.key)
                    status = "n/a" if value is None else "met" if target.met(value) else "**missed**"
                    goals.append(f"{target.short}: {status}")
            cells.append("; ".join(goals) or "–")
            lines.append("| " + " | ".join(cells) + " |")
    return lines


# Every child, whatever it measures, runs with glibc's allocator and Python's garbage collector
# set as `import tinygrad_loss` sets them for itself (tinygrad_loss/allocator.py: arrays below
# 32 MiB from the heap, up to 128 MiB of freed heap kept; a young collection after 50,000 new
# objects). The numpy floor frees and re-allocates big arrays every step too, and without this
# would pay page faults tinygrad_loss doesn't (~450 per digits-CNN step); PyTorch's allocators
# avoid them on their own; micrograd's graphs are Python objects too.
def allocator_environment() -> dict[str, str]:
    sys.path.insert(0, str(REPO))  # this working tree's settings, as in the children
    from tinygrad_loss.allocator import ENVIRONMENT, GC_THRESHOLDS

    return {**ENVIRONMENT, GC_ENV: ",".join(map(str, GC_THRESHOLDS))}


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine_lines(quick: bool, missing: dict[str, str], cases: list[str], load_before: str) -> list[str]:
    cores = os.cpu_count()
    allocator = " ".join(f"{k}={os.environ.get(k, v)}" for k, v in allocator_environment().items())
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return [
        f"- date: {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        f"- machine: {cpu_model()}, {cores} logical cores ({usable} usable), {platform.machine()}, "
        f"{platform.system()} {platform.release()}",
        f"- python {platform.python_version()}, "
        + ", ".join(version(p, missing) for p in ("numpy", "torch", "micrograd", "tinygrad-loss")),
        f"- allocator: every child runs with {allocator} (glibc serves arrays below that size from its heap "
        "and keeps that much freed memory, instead of returning it to the OS and faulting it back in next "
        "step; the garbage collector's thresholds are set to those numbers first; `import tinygrad_loss` "
        "sets the same for itself)",
        f"- load average (1, 5, 15 min) before the run: {load_before}; after: {load_average()} "
        "(others running on the machine make the numbers noisy)",
        f"- mode: {'--quick' if quick else 'full'}; median of "
        + ", ".join(f"{CASES[c].quick_reps if quick else CASES[c].reps} ({c})" for c in cases)
        + " repetitions after 1 warm-up repetition"
        + "".join(f" (none for {c})" for c in cases if not CASES[c].warmup)
        + f" and the check steps ({CHECK_STEPS} for training, else 1); each case and implementation in its own "
        "process",
    ]


def case_lines(cases: list[str]) -> list[str]:
    lines = []
    for name in cases:
        case = CASES[name]
        steps = f"{case.iterations} step{'s' if case.iterations != 1 else ''}"
        per = "" if case.measure is measure_rss else f" ({steps} per repetition)"
        if case.detail:
            lines.append(f"- {name} — {case.title}: {case.detail}{per}")
        else:
            lines.append(f"- {name} — {case.title}{per}")
    return lines


def write_digits(directory: str) -> str:
    """Load the digits once (this imports scikit-learn) and save them for the children."""
    path = os.path.join(directory, "digits.npz")
    X, y = _digits()
    np.savez(path, X=X, y=y)
    return path


def run_all(quick: bool, cases: list[str]) -> str:
    started, load_before = time.perf_counter(), load_average()
    results: dict[str, Row] = {}
    missing: dict[str, str] = {}  # impl -> why it could not run at all
    with tempfile.TemporaryDirectory() as tmp:
        env = {**allocator_environment(), **os.environ, DIGITS_ENV: write_digits(tmp)}
        for case_name in cases:
            case = CASES[case_name]
            results[case_name] = {}
            for impl_name, impl in IMPLS.items():
                if impl_name in missing or impl.family not in case.workloads:
                    continue
                print(f"  {case_name:<12} {impl_name:<14}", end="", flush=True, file=sys.stderr)
                result = spawn(case_name, impl_name, case.quick_reps if quick else case.reps, env)
                shown = ", ".join(f"{fmt(result.values[m.key])} {m.unit}" for m in case.metrics)
                print(shown if result.values else result.note, file=sys.stderr)
                if result.note.startswith("not importable"):
                    missing[impl_name] = result.note
                    continue
                results[case_name][impl_name] = result

    impls = [name for name in IMPLS if name not in missing]
    notes: list[str] = []
    for case_name, row in results.items():
        check_agreement(case_name, row, notes)
        notes += [f"{case_name}: {IMPLS[name].title} {r.note}" for name, r in row.items() if not r.values]
    notes += [
        "numpy floor: the same computation hand-written in numpy with its backward written out "
        "(benchmarks/numpy_floor.py); numpy's BLAS uses its default thread count for it and for tinygrad_loss.",
        "Ratios: tinygrad_loss / the numpy floor, and tinygrad_loss / the faster of the two PyTorch columns.",
        "micrograd runs the scalar cases only (its Value objects have no shape): – elsewhere.",
        "Lower is better everywhere.",
    ]
    notes += [f"{IMPLS[name].title} is {why}." for name, why in missing.items()]

    lines = ["# tinygrad_loss benchmarks", "", *machine_lines(quick, missing, cases, load_before), "",
             *case_lines(cases), "", *build_table(results, impls), "", "Targets from the project's issue:", "",
             *target_lines(results), "", *[f"- {note}" for note in notes],
             "", f"Total wall time: {time.perf_counter() - started:.0f} s.", ""]
    return "\n".join(lines)


def check_agreement(case_name: str, row: Row, notes: list[str]) -> None:
    """Every implementation must have computed the same sanity value (float32: within 1%; the
    training cases compare the loss after CHECK_STEPS steps, before float rounding has had time
    to steer the trajectories apart)."""
    checks = {name: r.check for name, r in row.items() if r.check is not None}
    reference = checks.get("tinygrad_loss")
    for name, value in checks.items():
        if reference is not None and abs(value - reference) > 1e-2 * abs(reference) + 1e-12:
            notes.append(f"WARNING: {case_name}: {name} computed check value {value:.6g}, "
                         f"tinygrad_loss {reference:.6g}")


def parse_only(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in CASES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown case(s) {', '.join(unknown) or '(none given)'}; "
                                         f"choose from {', '.join(CASES)}")
    return names


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--only", type=parse_only, metavar="NAME[,NAME]",
                        help=f"run only these cases (RESULTS.md is not written): {', '.join(CASES)}")
    parser.add_argument("--profile", choices=CASES, metavar="NAME",
                        help="cProfile one repetition of a case in this process (with --impl, default "
                        "tinygrad_loss), sorted by own time; nothing is timed or written")
    parser.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)  # internal: child mode
    parser.add_argument("--impl", choices=IMPLS, help="with --profile: the implementation to profile")
    parser.add_argument("--reps", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.profile:
        profile(args.profile, args.impl or "tinygrad_loss")
        return
    if args.case or args.impl:
        if not (args.case and args.impl):
            parser.error("--case and --impl go together")
        print(json.dumps(run_child(args.case, args.impl, args.reps)))
        return
    report = run_all(args.quick, args.only or list(CASES))
    print(report)
    if args.only:
        print("(--only: not written to RESULTS.md)")
    else:
        RESULTS.write_text(report, encoding="utf-8")
        print(f"(written to {RESULTS.relative_to(REPO)})")


if __name__ == "__main__":
    main()
