"""The command line, run as a user would: through subprocesses."""

import subprocess
import sys

import pytest

from tinygrad_loss import loss_catalogue
from tinygrad_loss.nn import functional as F


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinygrad_loss", *args], capture_output=True, text=True, timeout=120)


def test_demo_prints_gradients_that_match_the_chain_rule():
    result = run("demo")
    assert result.returncode == 0, result.stderr
    assert "w.grad" in result.stdout and "b.grad" in result.stdout
    assert "matches backward(): True True" in result.stdout
    assert "gradcheck: passed" in result.stdout


def test_losses_lists_every_loss_with_its_formula():
    result = run("losses")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for name in loss_catalogue.LOSSES:
        assert any(line.startswith(name + " ") for line in lines), name
    assert any("loss_i = (x_i - y_i)²" in line for line in lines)


def test_catalogue_covers_every_loss_function():
    functions = {e.function for e in loss_catalogue.LOSSES.values()}
    losses = {getattr(F, n) for n in F.__all__ if n.endswith("_loss") or n in ("cross_entropy", "kl_div")}
    assert losses <= functions


def test_losses_explains_one_loss_from_its_docstring():
    result = run("losses", "huber")
    assert result.returncode == 0, result.stderr
    assert "huber_loss" in result.stdout
    for part in ("Formula:", "When to use:", "Gradient:"):
        assert part in result.stdout
    assert "delta·sign(x_i - y_i)" in result.stdout


def test_losses_accepts_function_names_too():
    assert loss_catalogue.find("sigmoid_focal_loss").name == "focal"
    assert loss_catalogue.find("mse_loss").name == "mse"


def test_unknown_loss_is_a_clear_error():
    result = run("losses", "nope")
    assert result.returncode == 2
    assert "unknown loss 'nope'" in result.stderr and "mse" in result.stderr


def test_plot_writes_a_png(tmp_path):
    out = tmp_path / "losses.png"
    result = run("losses", "mse,l1,huber,cross_entropy,hinge,focal", "--plot", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 20_000


def test_plot_refuses_a_loss_without_a_single_number_axis(tmp_path):
    result = run("losses", "triplet_margin", "--plot", str(tmp_path / "x.png"))
    assert result.returncode == 2
    assert "cannot plot 'triplet_margin'" in result.stderr


@pytest.mark.parametrize("name", [n for n, e in loss_catalogue.LOSSES.items() if e.curve is not None])
def test_plotted_gradient_is_the_derivative_of_the_plotted_loss(name):
    import numpy as np

    z = np.linspace(-3, 3, 61) + 0.0123  # off the kinks at 0 and ±1
    (kind, loss, grad), = loss_catalogue.curves([name], z).values()
    h = 1e-6
    (_, plus, _), = loss_catalogue.curves([name], z + h).values()
    (_, minus, _), = loss_catalogue.curves([name], z - h).values()
    np.testing.assert_allclose(grad, (plus - minus) / (2 * h), rtol=1e-5, atol=1e-6)
    assert kind in ("regression", "classification")


def test_console_script_is_installed_next_to_the_interpreter():
    from pathlib import Path

    script = Path(sys.executable).parent / "tinygrad-loss"
    assert script.exists(), "pip install -e . should install the tinygrad-loss console script"
    result = subprocess.run([str(script), "losses", "mse"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "mse_loss" in result.stdout
