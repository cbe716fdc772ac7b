"""Keep freed memory in the process instead of handing it back to the OS after every step.

A training step allocates the same big arrays every time (activations, im2col columns,
gradients) and frees them at its end. glibc's malloc serves arrays from 128 KiB up with their own
``mmap`` and unmaps them when they are freed, and gives the freed top of its heap back to the
operating system: the next step asks for the same memory again and gets every 4 KiB page back
through a page fault. Measured on the digits CNN training step: ~600 page faults per step, about
30% of its time (PyTorch's own allocators avoid this). Two glibc settings remove them: arrays up
to 32 MiB come from the heap, and up to 128 MiB of freed heap stays in the process.

``import tinygrad_loss`` does this once on Linux with glibc, unless you have set one of glibc's
``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` / ``MALLOC_TOP_PAD_`` environment
variables yourself (your choice wins). It only decides when freed memory goes back to the OS;
nothing else about allocation changes.

The same import also makes Python's cyclic garbage collector run less often (``collect_less_often``):
a recorded graph is about three container objects per op (tensor, node, tuple of inputs) that all
live until backward, and with CPython's default threshold a young collection runs every ~200 ops
and a full one, walking every object in the process, every ~20,000: measured on a 100,000-op
chain, 30% of its time, spent re-checking objects that are in no reference cycle and that the
collector can never free. This too is left alone if you have changed the thresholds yourself.
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys

# glibc's mallopt() parameters
M_TRIM_THRESHOLD = -1  # free memory at the top of the heap beyond this goes back to the OS
M_MMAP_THRESHOLD = -3  # allocations from this size up get their own mmap (unmapped when freed)
MMAP_THRESHOLD = 32 << 20  # the largest value glibc accepts on 64-bit machines
TRIM_THRESHOLD = 128 << 20
GLIBC_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")
#: the same two settings as glibc environment variables, for a process that doesn't import us
ENVIRONMENT = {"MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD), "MALLOC_TRIM_THRESHOLD_": str(TRIM_THRESHOLD)}


def keep_freed_memory(trim_threshold: int = TRIM_THRESHOLD) -> bool:
    """Serve arrays below 32 MiB from malloc's heap and keep up to ``trim_threshold`` bytes of
    freed heap in the process (glibc's ``mallopt``). Returns whether both settings took effect:
    False on platforms without glibc, where there is nothing to do."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(M_TRIM_THRESHOLD, int(trim_threshold)) == 1


def keep_freed_memory_unless_configured() -> bool:
    """What ``import tinygrad_loss`` runs: ``keep_freed_memory()``, unless the environment already
    sets glibc's allocator variables."""
    if any(name in os.environ for name in GLIBC_VARIABLES):
        return False
    return keep_freed_memory()


#: CPython's own thresholds (3.10 to 3.12): a young collection after 700 net new container objects
DEFAULT_GC_THRESHOLDS = (700, 10, 10)
#: ours: a young collection after 50,000 (about 12,000 recorded ops), the older generations half
#: as often as by default (the widely quoted advice; mypy uses 200,000)
GC_THRESHOLDS = (50_000, 20, 20)


def collect_less_often() -> bool:
    """Make Python's cyclic garbage collector run less often (``GC_THRESHOLDS``), if the
    thresholds are still CPython's defaults (yours, or another library's, win). Returns whether it
    changed them; ``gc.set_threshold(700, 10, 10)`` undoes it. Garbage in reference cycles (which
    tinygrad_loss does not make) is then found a little later; nothing else changes."""
    if gc.get_threshold() != DEFAULT_GC_THRESHOLDS:
        return False
    gc.set_threshold(*GC_THRESHOLDS)
    return True
