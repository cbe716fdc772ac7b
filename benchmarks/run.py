"""Speed of tinygrad_loss against PyTorch (and micrograd, when installed).

    python benchmarks/run.py            # full run, writes benchmarks/RESULTS.md
    python benchmarks/run.py --quick    # fewer repetitions

Every (case, implementation) pair runs in its own subprocess -- this script re-invoked with
``--case NAME --impl IMPL`` -- which prints one JSON line with its timings. One warm-up
repetition is discarded, the median of the others is reported. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "RESULTS.md"
CHILD_TIMEOUT = 600  # seconds, per subprocess


# ----------------------------------------------------------------------------- implementations


@dataclass(frozen=True)
class Backend:
    """What a case needs from an implementation: leaves, grad reset, reduction to a scalar."""

    leaf: Callable[[tuple[int, ...], float], Any]  # (shape, value) -> leaf that requires grad
    clear_grad: Callable[[Any], None]
    total: Callable[[Any], Any]  # z -> the scalar to call .backward() on
    grad_sum: Callable[[Any], float]  # leaf -> sum of its gradient (a sanity check)
    threads: int | None = None


def _set_grad_none(t: Any) -> None:
    t.grad = None


def _tinygrad_loss() -> Backend:
    sys.path.insert(0, str(REPO))  # measure this working tree, not some other installed copy
    import numpy as np

    import tinygrad_loss as tl

    return Backend(leaf=lambda shape, v: tl.tensor(np.full(shape, v, np.float32), requires_grad=True),
                   clear_grad=_set_grad_none, total=lambda z: z.sum(), grad_sum=lambda t: float(t.grad.sum()))


def _torch(threads: int | None) -> Backend:
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    return Backend(leaf=lambda shape, v: torch.full(shape, v, dtype=torch.float32, requires_grad=True),
                   clear_grad=_set_grad_none, total=lambda z: z.sum(), grad_sum=lambda t: float(t.grad.sum()),
                   threads=torch.get_num_threads())


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
    load: Callable[[], Backend]


IMPLS: dict[str, Impl] = {
    "tinygrad_loss": Impl("tinygrad_loss", "tinygrad-loss", _tinygrad_loss),
    "torch": Impl("PyTorch", "torch", lambda: _torch(None)),
    "torch1": Impl("PyTorch (1 thread)", "torch", lambda: _torch(1)),
    "micrograd": Impl("micrograd", "micrograd", _micrograd),
}
TORCH_IMPLS = ("torch", "torch1")


# ----------------------------------------------------------------------------- cases
# A case function builds its inputs, times only the work being measured, and returns
# (seconds, sum of a leaf's gradient). Tearing the graph down happens after the clock stops.


def tiny_ops(bk: Backend, shape: tuple[int, ...], iterations: int) -> tuple[float, float]:
    """`z = (a*b + c).sum(); z.backward()` on tiny leaves, resetting the grads every time."""
    a, b, c = bk.leaf(shape, 1.5), bk.leaf(shape, 2.0), bk.leaf(shape, 0.5)
    start = time.perf_counter()
    for _ in range(iterations):
        bk.clear_grad(a)
        bk.clear_grad(b)
        bk.clear_grad(c)
        z = bk.total(a * b + c)
        z.backward()
    return time.perf_counter() - start, bk.grad_sum(a)


def chain(bk: Backend, length: int) -> tuple[float, float]:
    """Forward and backward through `y = y * 1.0001`, `length` times, from one leaf."""
    x = bk.leaf((1,), 1.0)
    start = time.perf_counter()
    y = x
    for _ in range(length):
        y = y * 1.0001
    bk.total(y).backward()
    return time.perf_counter() - start, bk.grad_sum(x)


@dataclass(frozen=True)
class Case:
    title: str
    run: Callable[[Backend], tuple[float, float]]  # one repetition
    unit: str
    per_rep: float  # a repetition's seconds * per_rep = the reported number
    reps: int
    quick_reps: int
    target: str
    scalar: bool  # only scalar leaves: micrograd can run it too


TINY_ITERATIONS = 2000
CHAIN_LENGTH = 100_000

CASES: dict[str, Case] = {
    "tiny_1": Case("tiny ops, shape (1,)", lambda bk: tiny_ops(bk, (1,), TINY_ITERATIONS),
                   "µs/iter", 1e6 / TINY_ITERATIONS, reps=7, quick_reps=3, target="tiny", scalar=True),
    "tiny_16": Case("tiny ops, shape (16,)", lambda bk: tiny_ops(bk, (16,), TINY_ITERATIONS),
                    "µs/iter", 1e6 / TINY_ITERATIONS, reps=7, quick_reps=3, target="tiny", scalar=False),
    "chain_100k": Case(f"{CHAIN_LENGTH:,}-op chain fwd+bwd", lambda bk: chain(bk, CHAIN_LENGTH),
                       "s", 1.0, reps=3, quick_reps=1, target="chain", scalar=True),
}

# From the project's issue: tinygrad_loss time / best PyTorch time must be at most this.
TARGETS: dict[str, tuple[float, str]] = {
    "tiny": (0.5, "tiny-op overhead <= 0.5x PyTorch eager"),
    "chain": (0.5, "100k-op chain <= 0.5x PyTorch"),
}


# ----------------------------------------------------------------------------- child process


def run_child(case_name: str, impl_name: str, reps: int) -> dict[str, Any]:
    """Inside the subprocess: one warm-up repetition, then `reps` timed ones."""
    try:
        bk = IMPLS[impl_name].load()
    except ImportError as error:
        return {"unavailable": f"{type(error).__name__}: {error}"}
    case = CASES[case_name]
    case.run(bk)  # warm-up: imports, lazy initialisation, allocator, caches
    times, check = [], 0.0
    for _ in range(reps):
        gc.collect()  # start each repetition from the same heap; gc stays on while timing
        seconds, check = case.run(bk)
        times.append(seconds)
    return {"times": times, "check": check, "threads": bk.threads}


# ----------------------------------------------------------------------------- parent process


@dataclass
class Result:
    value: float | None = None  # the median, in the case's unit
    check: float | None = None
    threads: int | None = None
    note: str = ""  # why there is no value


def spawn(case_name: str, impl_name: str, reps: int) -> Result:
    """Run one pair in a fresh interpreter and parse the JSON line it prints."""
    command = [sys.executable, str(Path(__file__).resolve()), "--case", case_name, "--impl", impl_name,
               "--reps", str(reps)]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=CHILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        return Result(note=f"timed out after {CHILD_TIMEOUT} s")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return Result(note=f"failed (exit {proc.returncode}): {tail}")
    data = json.loads(lines[-1])
    if "unavailable" in data:
        return Result(note=f"not importable ({data['unavailable']})")
    value = statistics.median(data["times"]) * CASES[case_name].per_rep
    return Result(value=value, check=data["check"], threads=data["threads"])


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


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    return f"{value:.1f}" if unit == "µs/iter" else f"{value:.3f}"


def check_agreement(case_name: str, row: dict[str, Result], notes: list[str]) -> None:
    """Every implementation must have computed the same gradient (float32 vs float64: 1%)."""
    checks = {name: r.check for name, r in row.items() if r.check is not None}
    reference = checks.get("tinygrad_loss")
    for name, value in checks.items():
        if reference is not None and abs(value - reference) > 1e-2 * max(abs(reference), 1.0):
            notes.append(f"WARNING: {case_name}: {name} computed grad sum {value:.6g}, "
                         f"tinygrad_loss {reference:.6g}")


def ratio_to_torch(row: dict[str, Result]) -> float | None:
    """tinygrad_loss's time over the faster PyTorch variant's, None if either is missing."""
    mine = row["tinygrad_loss"].value if "tinygrad_loss" in row else None
    torch_values = [row[n].value for n in TORCH_IMPLS if n in row and row[n].value is not None]
    return mine / min(torch_values) if mine is not None and torch_values else None


def target_lines(results: dict[str, dict[str, Result]]) -> list[str]:
    """One line per target: met only if every case under it met it."""
    lines = []
    for key, (limit, text) in TARGETS.items():
        ratios = [ratio_to_torch(row) for name, row in results.items() if CASES[name].target == key]
        if any(r is None for r in ratios):
            status = "n/a (missing a measurement)"
        else:
            status = "met" if all(r <= limit for r in ratios) else "missed"
        shown = ", ".join("n/a" if r is None else f"{r:.2f}x" for r in ratios)
        lines.append(f"- target {text}: **{status}** ({shown})")
    return lines


def build_table(results: dict[str, dict[str, Result]], impls: list[str]) -> list[str]:
    """Markdown lines: one row per case, a column per implementation, then ratio and target."""
    have_torch = any(name in impls for name in TORCH_IMPLS)
    titles = []
    for name in impls:
        title = IMPLS[name].title
        if name == "torch":
            threads = {r.threads for r in (row.get(name) for row in results.values()) if r and r.threads}
            title += f" ({', '.join(map(str, sorted(threads)))} threads, default)" if threads else " (default threads)"
        titles.append(title)
    header = ["case", "unit", *titles]
    if have_torch:
        header += ["tinygrad_loss / best PyTorch", "target", "status"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * (len(header) - 2)) + "|"]
    for case_name, row in results.items():
        case = CASES[case_name]
        cells = [case.title, case.unit] + [fmt(row[n].value, case.unit) if n in row else "–" for n in impls]
        if have_torch:
            ratio, limit = ratio_to_torch(row), TARGETS[case.target][0]
            if ratio is None:
                cells += ["n/a", f"<= {limit}x", "n/a"]
            else:
                cells += [f"{ratio:.2f}x", f"<= {limit}x", "met" if ratio <= limit else "missed"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def machine_lines(quick: bool, missing: dict[str, str]) -> list[str]:
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return [
        f"- date: {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        f"- machine: {cpu_model()}, {cores} logical cores ({usable} usable), {platform.machine()}, "
        f"{platform.system()} {platform.release()}",
        f"- python {platform.python_version()}, "
        + ", ".join(version(p, missing) for p in ("numpy", "torch", "micrograd", "tinygrad-loss")),
        f"- load average before the run: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (others running "
        "on the machine make the numbers noisy)",
        f"- mode: {'--quick' if quick else 'full'}; median of "
        + ", ".join(f"{c.quick_reps if quick else c.reps} ({name})" for name, c in CASES.items())
        + " repetitions after 1 warm-up, each case and implementation in its own process",
        f"- tiny ops: {TINY_ITERATIONS} iterations per repetition; chain: one leaf of shape (1,), float32",
    ]


def run_all(quick: bool) -> str:
    started = time.perf_counter()
    results: dict[str, dict[str, Result]] = {}
    missing: dict[str, str] = {}  # impl -> why it could not run at all
    for case_name, case in CASES.items():
        results[case_name] = {}
        for impl_name in IMPLS:
            if impl_name in missing or (impl_name == "micrograd" and not case.scalar):
                continue
            print(f"  {case_name:<11} {impl_name:<14}", end="", flush=True, file=sys.stderr)
            result = spawn(case_name, impl_name, case.quick_reps if quick else case.reps)
            print(fmt(result.value, case.unit) + f" {case.unit}" if result.value is not None else result.note,
                  file=sys.stderr)
            if result.note.startswith("not importable"):
                missing[impl_name] = result.note
                continue
            results[case_name][impl_name] = result

    impls = [name for name in IMPLS if name not in missing]
    notes: list[str] = []
    for case_name, row in results.items():
        check_agreement(case_name, row, notes)
        notes += [f"{case_name}: {IMPLS[name].title} {r.note}" for name, r in row.items() if r.value is None]
    if all(name in missing for name in TORCH_IMPLS):
        notes.append(f"PyTorch is {missing['torch']}: only the tinygrad_loss column (no ratios, no targets).")
    else:
        notes.append("Ratio = tinygrad_loss / the faster of the two PyTorch columns; targets from the "
                     "project's issue: " + "; ".join(text for _, text in TARGETS.values()) + ".")
    if "micrograd" in missing:
        notes.append(f"micrograd is {missing['micrograd']} (`pip install micrograd` to add its column).")
    else:
        notes.append("micrograd runs the scalar cases only (its Value objects have no shape): – elsewhere.")
    notes.append("Lower is better everywhere.")

    lines = ["# tinygrad_loss benchmarks", "", *machine_lines(quick, missing), "", *build_table(results, impls), ""]
    if not all(name in missing for name in TORCH_IMPLS):
        lines += [*target_lines(results), ""]
    lines += [f"- {note}" for note in notes]
    lines += ["", f"Total wall time: {time.perf_counter() - started:.0f} s.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)  # internal: child mode
    parser.add_argument("--impl", choices=IMPLS, help=argparse.SUPPRESS)
    parser.add_argument("--reps", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case or args.impl:
        if not (args.case and args.impl):
            parser.error("--case and --impl go together")
        print(json.dumps(run_child(args.case, args.impl, args.reps)))
        return
    report = run_all(args.quick)
    RESULTS.write_text(report, encoding="utf-8")
    print(report)
    print(f"(written to {RESULTS.relative_to(REPO)})")


if __name__ == "__main__":
    main()
