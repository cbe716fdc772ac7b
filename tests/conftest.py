"""Shared test fixtures and helpers.

* ``torch`` (fixture): the PyTorch module, the test-time reference; tests that use it are
  skipped cleanly (with a reason) when PyTorch is not installed.
* ``optional_torch`` (fixture): the PyTorch module or ``None``, for tests that fall back to
  another check (e.g. ``gradcheck``) when PyTorch is missing.
* Hypothesis profiles: ``default`` (25 examples, no deadline: numpy and torch warm-up times
  vary too much for a per-example deadline) and ``thorough`` (``HYPOTHESIS_PROFILE=thorough``).
"""

from __future__ import annotations

import importlib
import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=25, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=300, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

TORCH_MISSING = "PyTorch not installed: reference tests skipped"


def import_torch_or_skip():
    """The torch module, or skip the calling test (clean skip with a reason)."""
    return pytest.importorskip("torch", reason=TORCH_MISSING)


def torch_or_none():
    """The torch module if it is installed (and imports), else None."""
    try:
        return importlib.import_module("torch")
    except ImportError:
        return None


@pytest.fixture(scope="session")
def torch():
    """PyTorch, the reference implementation (skips the test when it is not installed)."""
    return import_torch_or_skip()


@pytest.fixture(scope="session")
def optional_torch():
    """PyTorch, or None when it is not installed (for tests with a fallback check)."""
    return torch_or_none()
