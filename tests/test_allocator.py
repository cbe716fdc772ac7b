"""``tinygrad_loss.allocator``: glibc keeps freed memory, so repeated training steps don't
page-fault their arrays back in, and Python's garbage collector doesn't walk a recorded graph
again and again (see the module's docstring for the measurements)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from tinygrad_loss import allocator

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
needs_glibc = pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's; elsewhere keep_freed_memory() returns False")

# a "training step": eight 1 MiB arrays, written, then all freed; minor page faults per step
STEPS = """
import resource
import numpy as np

def step():
    arrays = [np.full(1 << 18, 1.0, np.float32) for _ in range(8)]
    return sum(float(a[0]) for a in arrays)

for _ in range(5):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(40):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 40)
"""


def faults_per_step(first_line: str) -> float:
    env = {k: v for k, v in os.environ.items() if k not in allocator.GLIBC_VARIABLES}
    done = subprocess.run([sys.executable, "-c", first_line + "\n" + STEPS], capture_output=True, text=True,
                          env=env, check=True)
    return float(done.stdout)


@needs_glibc
def test_steps_do_not_page_fault_once_tinygrad_loss_is_imported():
    assert faults_per_step("import numpy") > 500  # glibc's default: 8 MiB handed back and faulted in each step
    assert faults_per_step("import tinygrad_loss") < 5


@needs_glibc
def test_keep_freed_memory_takes_effect_on_glibc():
    assert allocator.keep_freed_memory() is True


def test_the_users_allocator_variables_win(monkeypatch):
    calls = []
    monkeypatch.setattr(allocator, "keep_freed_memory", lambda *args: calls.append(args) or True)
    for name in allocator.GLIBC_VARIABLES:
        monkeypatch.setenv(name, "65536")
        assert allocator.keep_freed_memory_unless_configured() is False
        monkeypatch.delenv(name)
    assert calls == []
    assert allocator.keep_freed_memory_unless_configured() is True
    assert calls == [()]


def test_nothing_to_do_without_glibc(monkeypatch):
    class NoMallopt:  # a C library without mallopt (musl's has one that does nothing; macOS none)
        pass

    monkeypatch.setattr(allocator.ctypes, "CDLL", lambda name: NoMallopt())
    assert allocator.keep_freed_memory() is False
    monkeypatch.setattr(sys, "platform", "darwin")
    assert allocator.keep_freed_memory() is False


# ----------------------------------------------------------------------------- the garbage collector

THRESHOLDS_AFTER_IMPORT = "import gc, tinygrad_loss; print(*gc.get_threshold())"


def thresholds_after_import(first_line: str = "") -> tuple[int, ...]:
    done = subprocess.run([sys.executable, "-c", first_line + "\n" + THRESHOLDS_AFTER_IMPORT],
                          capture_output=True, text=True, check=True)
    return tuple(int(n) for n in done.stdout.split())


@pytest.mark.skipif(sys.version_info[:2] not in ((3, 10), (3, 11), (3, 12)),
                    reason="CPython 3.10-3.12's defaults are (700, 10, 10); other versions are left alone")
def test_import_makes_the_collector_run_less_often():
    assert thresholds_after_import() == allocator.GC_THRESHOLDS


def test_thresholds_someone_chose_are_left_alone():
    assert thresholds_after_import("import gc; gc.set_threshold(500, 5, 5)") == (500, 5, 5)


def test_collect_less_often_only_replaces_the_defaults(monkeypatch):
    chosen = []
    monkeypatch.setattr(allocator.gc, "set_threshold", lambda *t: chosen.append(t))
    monkeypatch.setattr(allocator.gc, "get_threshold", lambda: allocator.DEFAULT_GC_THRESHOLDS)
    assert allocator.collect_less_often() is True
    assert chosen == [allocator.GC_THRESHOLDS]
    monkeypatch.setattr(allocator.gc, "get_threshold", lambda: (2000, 10, 0))  # e.g. a newer CPython's
    assert allocator.collect_less_often() is False
    assert chosen == [allocator.GC_THRESHOLDS]


FULL_COLLECTIONS_WHILE_RECORDING = """
import gc, tinygrad_loss as tl
full = []
gc.callbacks.append(lambda phase, info: full.append(1) if phase == "start" and info["generation"] == 2 else None)
y = tl.tensor([1.0], requires_grad=True)
for _ in range(100_000):
    y = y * 1.0001
print(len(full))
"""


def full_collections_while_recording(first_line: str = "") -> int:
    script = FULL_COLLECTIONS_WHILE_RECORDING.replace("y = tl.tensor", first_line + "\ny = tl.tensor")
    return int(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout)


def test_a_recorded_graph_triggers_no_full_collection():
    """100,000 recorded ops: with CPython's default thresholds the collector walks the whole graph
    (generation 2) several times while it is built; with ours, not once."""
    assert full_collections_while_recording() == 0
    assert full_collections_while_recording("gc.set_threshold(700, 10, 10)") >= 2
