"""``tinygrad_loss.allocator``: glibc keeps freed memory, so repeated training steps don't
page-fault their arrays back in (see the module's docstring for the measurements)."""

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
