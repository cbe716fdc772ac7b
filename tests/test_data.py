"""tinygrad_loss.data: TensorDataset, DataLoader, train_test_split, the bundled and toy data sets."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import data
from tinygrad_loss.data import (
    DATASETS,
    DataLoader,
    TensorDataset,
    load_breast_cancer,
    load_dataset,
    load_diabetes,
    load_digits,
    load_iris,
    make_moons,
    make_spirals,
    train_test_split,
)
from tinygrad_loss.errors import ShapeError
from tinygrad_loss.tensor import Tensor


def _toy(n: int = 10) -> tuple[Tensor, Tensor]:
    X = tl.tensor(np.arange(n * 3, dtype=np.float32).reshape(n, 3))
    y = tl.tensor(np.arange(n, dtype=np.int64))
    return X, y


def _epoch_order(loader: DataLoader) -> list[int]:
    """The sample ids visited in one epoch (the toy y is the sample id)."""
    return [int(v) for _, yb in loader for v in yb.numpy()]


# ---------------------------------------------------------------------------- TensorDataset

def test_tensor_dataset_len_and_indexing():
    X, y = _toy(5)
    ds = TensorDataset(X, y)
    assert len(ds) == 5
    xi, yi = ds[2]
    assert isinstance(xi, Tensor) and isinstance(yi, Tensor)
    np.testing.assert_array_equal(xi.numpy(), [6.0, 7.0, 8.0])
    assert yi.item() == 2
    xs, ys = ds[1:3]
    assert xs.shape == (2, 3) and ys.tolist() == [1, 2]
    assert "5 samples" in repr(ds)


def test_tensor_dataset_accepts_arrays_and_checks_lengths():
    ds = TensorDataset(np.zeros((4, 2)), [0, 1, 0, 1])
    assert len(ds) == 4 and ds.tensors[1].dtype == np.int64
    with pytest.raises(ShapeError, match=r"same number of samples.*\(4, 2\).*\(3,\)"):
        TensorDataset(np.zeros((4, 2)), np.zeros(3))
    with pytest.raises(ShapeError, match="0-d"):
        TensorDataset(np.zeros(4), np.float32(1.0))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()


# ---------------------------------------------------------------------------- DataLoader

def test_loader_batches_in_order_without_shuffle():
    X, y = _toy(10)
    loader = DataLoader(TensorDataset(X, y), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 == len(batches)
    assert [tuple(xb.shape) for xb, _ in batches] == [(4, 3), (4, 3), (2, 3)]
    assert _epoch_order(loader) == list(range(10))
    xb, yb = batches[1]
    np.testing.assert_array_equal(xb.numpy(), X.numpy()[4:8])
    assert xb.dtype == np.float32 and yb.dtype == np.int64
    assert not xb.requires_grad


def test_loader_batches_are_copies():
    X, y = _toy(4)
    xb, _ = next(iter(DataLoader(TensorDataset(X, y), batch_size=2)))
    xb.data[...] = -1.0
    assert X.numpy().min() >= 0.0


def test_drop_last():
    X, y = _toy(10)
    loader = DataLoader(TensorDataset(X, y), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [len(yb) for _, yb in loader] == [4, 4]
    exact = DataLoader(TensorDataset(X, y), batch_size=5, drop_last=True)
    assert len(exact) == 2 and sum(len(yb) for _, yb in exact) == 10
    assert len(DataLoader(TensorDataset(X, y), batch_size=20, drop_last=True)) == 0
    assert list(DataLoader(TensorDataset(X, y), batch_size=20, drop_last=True)) == []


def test_batch_size_validation():
    ds = TensorDataset(*_toy(3))
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="batch_size"):
            DataLoader(ds, batch_size=bad)
    with pytest.raises(TypeError, match="len"):
        DataLoader(42)


def test_seeded_shuffle_is_repeatable_and_differs_between_epochs():
    ds = TensorDataset(*_toy(20))
    a = DataLoader(ds, batch_size=6, shuffle=True, seed=123)
    b = DataLoader(ds, batch_size=6, shuffle=True, seed=123)
    epochs_a = [_epoch_order(a) for _ in range(3)]
    epochs_b = [_epoch_order(b) for _ in range(3)]
    assert epochs_a == epochs_b  # same seed -> same batch order, epoch by epoch
    assert all(sorted(order) == list(range(20)) for order in epochs_a)  # each epoch: a permutation
    assert epochs_a[0] != epochs_a[1] != epochs_a[2]  # the generator advances once per epoch
    assert _epoch_order(DataLoader(ds, batch_size=6, shuffle=True, seed=124)) != epochs_a[0]
    assert epochs_a[0] != list(range(20))


def test_unseeded_shuffle_follows_manual_seed():
    ds = TensorDataset(*_toy(20))
    tl.manual_seed(7)
    first = _epoch_order(DataLoader(ds, batch_size=5, shuffle=True))
    tl.manual_seed(7)
    second = _epoch_order(DataLoader(ds, batch_size=5, shuffle=True))
    assert first == second


def test_shuffled_batches_pair_x_with_y():
    X, y = _toy(12)
    for xb, yb in DataLoader(TensorDataset(X, y), batch_size=5, shuffle=True, seed=0):
        np.testing.assert_array_equal(xb.numpy(), X.numpy()[yb.numpy()])


def test_loader_uses_one_take_per_tensor(monkeypatch):
    X, y = _toy(8)
    calls = []
    real_take = np.take

    def counting_take(*args, **kwargs):
        calls.append(1)
        return real_take(*args, **kwargs)

    monkeypatch.setattr(data.np, "take", counting_take)
    batches = list(DataLoader(TensorDataset(X, y), batch_size=4, shuffle=True, seed=0))
    assert len(batches) == 2 and len(calls) == 4  # 2 batches x 2 tensors, no per-sample loop


def test_loader_over_a_generic_dataset():
    class Squares:
        def __len__(self) -> int:
            return 5

        def __getitem__(self, i: int):
            return np.array([i, i * i], dtype=np.float32), i

    loader = DataLoader(Squares(), batch_size=2)
    batches = list(loader)
    assert len(batches) == 3
    xb, yb = batches[1]
    np.testing.assert_array_equal(xb.numpy(), [[2, 4], [3, 9]])
    assert yb.tolist() == [2, 3] and yb.dtype == np.int64


# ---------------------------------------------------------------------------- train_test_split

def test_train_test_split_sizes_and_no_overlap():
    X, y = _toy(50)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, seed=0)
    assert (len(X_train), len(X_test), len(y_train), len(y_test)) == (40, 10, 40, 10)
    assert all(isinstance(t, Tensor) for t in (X_train, X_test, y_train, y_test))
    train_ids, test_ids = set(y_train.tolist()), set(y_test.tolist())
    assert not train_ids & test_ids and train_ids | test_ids == set(range(50))
    np.testing.assert_array_equal(X_train.numpy(), X.numpy()[y_train.numpy()])  # rows stay paired
    assert X_train.dtype == np.float32 and y_train.dtype == np.int64


def test_train_test_split_is_deterministic_and_seeded():
    X, y = _toy(30)
    first = train_test_split(X, y, seed=3)
    again = train_test_split(X.numpy(), y.numpy(), seed=3)  # arrays work too
    other = train_test_split(X, y, seed=4)
    assert first[3].tolist() == again[3].tolist()
    assert first[3].tolist() != other[3].tolist()


def test_train_test_split_sizes_and_errors():
    X, y = _toy(10)
    assert len(train_test_split(X, y, test_size=0.25)[1]) == 3  # ceil(2.5)
    assert len(train_test_split(X, y, test_size=4)[1]) == 4
    with pytest.raises(ShapeError, match="10 samples but y has 9"):
        train_test_split(X, y[:9])
    for bad in (0.0, 1.0, 1.5, 0, 10):
        with pytest.raises(ValueError, match="test_size"):
            train_test_split(X, y, test_size=bad)


# ---------------------------------------------------------------------------- bundled data sets

@pytest.mark.parametrize("loader, n, features, classes", [
    (load_digits, 1797, 64, 10), (load_iris, 150, 4, 3), (load_breast_cancer, 569, 30, 2),
])
def test_classification_sets(loader, n, features, classes):
    X, y = loader()
    assert X.shape == (n, features) and y.shape == (n,)
    assert X.dtype == np.float32 and y.dtype == np.int64
    assert np.isfinite(X.numpy()).all()
    counts = np.bincount(y.numpy())
    assert len(counts) == classes and counts.min() > 0


def test_digits_scaling_and_images():
    X, y = load_digits()
    assert X.numpy().min() == 0.0 and X.numpy().max() == 1.0
    images, y_images = load_digits(images=True)
    assert images.shape == (1797, 1, 8, 8) and images.dtype == np.float32
    np.testing.assert_array_equal(images.numpy().reshape(1797, 64), X.numpy())
    np.testing.assert_array_equal(y_images.numpy(), y.numpy())
    raw, _ = load_digits(scaled=False)
    assert raw.numpy().max() == 16.0


@pytest.mark.parametrize("loader", [load_iris, load_breast_cancer, load_diabetes])
def test_standardised_features(loader):
    X, _ = loader()
    np.testing.assert_allclose(X.numpy().mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(X.numpy().std(axis=0), 1.0, atol=1e-4)
    raw, _ = loader(scaled=False)
    assert np.abs(raw.numpy().mean(axis=0)).max() > 1.0  # the raw features are not centred


def test_diabetes_regression_target():
    X, y = load_diabetes()
    assert X.shape == (442, 10) and y.shape == (442,)
    assert X.dtype == np.float32 and y.dtype == np.float32
    assert abs(float(y.numpy().mean())) < 1e-5 and abs(float(y.numpy().std()) - 1.0) < 1e-5
    _, raw = load_diabetes(scaled=False)
    assert raw.numpy().min() == 25.0 and raw.numpy().max() == 346.0
    np.testing.assert_allclose(y.numpy() * 77.0057 + 152.1335, raw.numpy(), atol=1e-2)


def test_diabetes_is_learnable_by_a_linear_model():
    """The R^2 a linear least-squares fit reaches on the default split: the bar models must clear."""
    X, y = load_diabetes()
    X_train, X_test, y_train, y_test = train_test_split(X, y, seed=0)
    A = np.c_[X_train.numpy(), np.ones(len(X_train))]
    w = np.linalg.lstsq(A, y_train.numpy(), rcond=None)[0]
    pred = np.c_[X_test.numpy(), np.ones(len(X_test))] @ w
    r2 = 1 - ((pred - y_test.numpy()) ** 2).sum() / ((y_test.numpy() - y_test.numpy().mean()) ** 2).sum()
    assert r2 > 0.45


def test_loaders_return_fresh_copies():
    X, _ = load_iris()
    X.data[...] = 0.0
    assert np.abs(load_iris()[0].numpy()).max() > 0.0


# ---------------------------------------------------------------------------- toy data sets

def test_make_moons():
    X, y = make_moons(200, noise=0.1, seed=0)
    assert X.shape == (200, 2) and X.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y.numpy()).tolist() == [100, 100]
    assert np.bincount(make_moons(7, seed=0)[1].numpy()).tolist() == [3, 4]
    clean, labels = make_moons(100, noise=0.0)
    upper = clean.numpy()[labels.numpy() == 0]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, atol=1e-6)  # on the unit circle
    again, _ = make_moons(200, noise=0.1, seed=0)
    np.testing.assert_array_equal(X.numpy(), again.numpy())
    assert not np.array_equal(X.numpy(), make_moons(200, noise=0.1, seed=1)[0].numpy())
    assert set(y.numpy()[:20]) == {0, 1}  # shuffled, not sorted by class


def test_make_spirals():
    X, y = make_spirals(300, classes=3, seed=0)
    assert X.shape == (300, 2) and X.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y.numpy()).tolist() == [100, 100, 100]
    assert np.hypot(*X.numpy().T).max() <= 1.0 + 1e-6
    assert np.bincount(make_spirals(10, classes=4)[1].numpy()).tolist() == [3, 3, 2, 2]
    np.testing.assert_array_equal(X.numpy(), make_spirals(300, classes=3, seed=0)[0].numpy())
    with pytest.raises(ValueError, match="n must be"):
        make_spirals(2, classes=3)


# ---------------------------------------------------------------------------- registry

def test_datasets_registry_matches_the_loaders():
    assert set(DATASETS) == {"digits", "iris", "breast_cancer", "diabetes", "moons", "spirals"}
    for name, info in DATASETS.items():
        X, y = info.loader()
        assert info.name == name
        assert X.shape == (info.num_samples, info.num_features)
        if info.task == "classification":
            assert y.dtype == np.int64 and int(y.numpy().max()) + 1 == info.num_classes == info.num_outputs
        else:
            assert info.task == "regression" and info.num_classes is None and info.num_outputs == 1
            assert y.dtype == np.float32
    with pytest.raises(TypeError):
        DATASETS["new"] = DATASETS["iris"]  # read-only


def test_load_dataset_by_name():
    X, y = load_dataset("breast-cancer")
    assert X.shape == (569, 30)
    assert load_dataset("moons", n=20)[0].shape == (20, 2)
    with pytest.raises(ValueError, match="unknown data set 'mnist'.*digits"):
        load_dataset("mnist")
