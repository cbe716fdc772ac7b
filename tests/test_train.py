"""`tinygrad-loss train`: quality bars on real data, determinism, resume, outputs and errors."""

import json
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss.train import LOSS_CHOICES, TrainConfig, check_config, train


def quiet_train(tmp_path, resume=None, **options):
    config = TrainConfig(out=str(tmp_path), **options)
    return train(config, resume=resume, progress_bar=False, log=lambda _: None)


def final(history, key):
    return history.epochs[-1][key]


@pytest.mark.slow
def test_digits_mlp_reaches_95_percent(tmp_path):
    history = quiet_train(tmp_path, dataset="digits", model="mlp", epochs=20)
    assert final(history, "test_accuracy") >= 0.95


@pytest.mark.slow
def test_digits_cnn_reaches_97_percent(tmp_path):
    history = quiet_train(tmp_path, dataset="digits", model="cnn", epochs=20)
    assert final(history, "test_accuracy") >= 0.97


@pytest.mark.slow
def test_breast_cancer_with_hinge_loss_reaches_95_percent(tmp_path):
    history = quiet_train(tmp_path, dataset="breast_cancer", model="mlp", loss="hinge", epochs=30)
    assert final(history, "test_accuracy") >= 0.95


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["mse", "huber"])
def test_diabetes_regression_beats_predicting_the_mean(tmp_path, loss):
    history = quiet_train(tmp_path, dataset="diabetes", model="linear", loss=loss, lr=0.01, epochs=60)
    assert final(history, "test_r2") >= 0.4  # R² = 0 is predicting the mean


def test_outputs_are_written_and_loadable(tmp_path):
    quiet_train(tmp_path, dataset="iris", model="mlp", epochs=2, hidden=8)
    for name in ("model.safetensors", "checkpoint.safetensors", "metrics.json", "curves.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert [e["epoch"] for e in metrics["epochs"]] == [1, 2]
    assert {"train_loss", "test_loss", "train_accuracy", "test_accuracy"} <= set(metrics["epochs"][0])
    weights = tl.load(str(tmp_path / "model.safetensors"))
    assert list(weights) == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    assert weights["0.weight"].shape == (8, 4)
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_same_seed_gives_bit_identical_results(tmp_path):
    a = quiet_train(tmp_path / "a", dataset="iris", epochs=3, hidden=16, seed=7)
    b = quiet_train(tmp_path / "b", dataset="iris", epochs=3, hidden=16, seed=7)
    assert a.epochs == b.epochs
    wa, wb = tl.load(str(tmp_path / "a/model.safetensors")), tl.load(str(tmp_path / "b/model.safetensors"))
    assert all(np.array_equal(wa[k].data, wb[k].data) for k in wa)
    c = quiet_train(tmp_path / "c", dataset="iris", epochs=3, hidden=16, seed=8)
    assert c.epochs != a.epochs


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_resumed_run_ends_with_the_same_weights(tmp_path, optimizer):
    straight = quiet_train(tmp_path / "straight", dataset="digits", epochs=3, optimizer=optimizer, lr=0.01)
    quiet_train(tmp_path / "killed", dataset="digits", epochs=1, optimizer=optimizer, lr=0.01)
    resumed = quiet_train(tmp_path / "killed", resume=str(tmp_path / "killed/checkpoint.safetensors"), epochs=3)
    assert resumed.epochs == straight.epochs
    a = tl.load(str(tmp_path / "straight/model.safetensors"))
    b = tl.load(str(tmp_path / "killed/model.safetensors"))
    assert all(np.array_equal(a[k].data, b[k].data) for k in a)


def test_every_fitting_loss_trains_on_its_task(tmp_path):
    for name, choice in LOSS_CHOICES.items():
        dataset = {"multiclass": "iris", "binary": "breast_cancer", "regression": "diabetes"}[choice.tasks[0]]
        history = quiet_train(tmp_path / name, dataset=dataset, model="linear", loss=name, epochs=2, lr=0.01)
        assert np.isfinite(final(history, "train_loss")), name


@pytest.mark.parametrize("options, message", [
    ({"dataset": "diabetes", "loss": "hinge"}, "does not fit 'diabetes'"),
    ({"dataset": "iris", "loss": "focal"}, "does not fit 'iris'"),
    ({"dataset": "nope"}, "unknown dataset 'nope'"),
    ({"model": "transformer"}, "unknown model"),
    ({"optimizer": "lbfgs"}, "unknown optimizer"),
    ({"loss": "wasserstein"}, "unknown loss"),
    ({"model": "cnn", "dataset": "iris"}, "needs images"),
    ({"lr": -1.0}, "--lr must be positive"),
])
def test_unfitting_choices_are_refused_with_the_alternatives(options, message):
    with pytest.raises(ValueError, match=message):
        check_config(TrainConfig(**options))


def test_cli_train_runs_and_reports_each_epoch(tmp_path):
    result = subprocess.run([sys.executable, "-m", "tinygrad_loss", "train", "--dataset", "iris", "--epochs", "2",
                             "--out", str(tmp_path), "--quiet"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "epoch   2/2" in result.stdout and "test loss" in result.stdout
    assert (tmp_path / "model.safetensors").exists()


def test_cli_train_unfitting_loss_is_a_clear_error(tmp_path):
    result = subprocess.run([sys.executable, "-m", "tinygrad_loss", "train", "--dataset", "diabetes", "--loss", "hinge",
                             "--out", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "does not fit 'diabetes'" in result.stderr and "mse" in result.stderr


def test_cli_train_unknown_option_and_missing_resume_file(tmp_path):
    unknown = subprocess.run([sys.executable, "-m", "tinygrad_loss", "train", "--colour", "red"],
                             capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 2 and "unrecognized arguments: --colour" in unknown.stderr
    missing = subprocess.run([sys.executable, "-m", "tinygrad_loss", "train", "--resume", str(tmp_path / "none"),
                              "--out", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "none" in missing.stderr


def test_grad_flow_records_every_layer_and_plots(tmp_path):
    result = subprocess.run([sys.executable, "-m", "tinygrad_loss", "train", "--dataset", "iris", "--epochs", "2",
                             "--grad-flow", "--out", str(tmp_path), "--quiet"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "grad_flow.png").read_bytes()[:4] == b"\x89PNG"
    for name in ("0.weight", "2.weight", "4.weight"):
        assert name in result.stdout
