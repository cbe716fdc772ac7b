"""Data: datasets, mini-batches, a seeded train/test split, and small real and toy data sets.

The pieces mirror ``torch.utils.data`` and ``sklearn``:

* ``TensorDataset(X, y)`` pairs tensors sample by sample; ``DataLoader`` cuts it into
  mini-batches (one ``numpy.take`` per tensor per batch, no per-sample Python loop).
* ``train_test_split(X, y)`` holds out a seeded random 20 % for testing.
* ``load_digits``, ``load_iris``, ``load_breast_cancer``, ``load_diabetes`` read the copies
  shipped inside scikit-learn (nothing is downloaded) and return ``(X, y)`` Tensors, X float32,
  y int64 class indices (float32 targets for the regression set ``diabetes``).
* ``make_moons`` and ``make_spirals`` generate 2-D toy problems with numpy alone.
* ``DATASETS`` lists them all with their task, number of classes and features.

    >>> import numpy as np
    >>> X, y = make_moons(10, seed=0)
    >>> loader = DataLoader(TensorDataset(X, y), batch_size=4, shuffle=True, seed=0)
    >>> len(loader), [tuple(xb.shape) for xb, yb in loader]
    (3, [(4, 2), (4, 2), (2, 2)])

Random choices with ``seed=None`` are drawn from the generator ``tinygrad_loss.manual_seed``
resets, so one ``manual_seed(...)`` at the top of a script makes a whole run repeatable.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from . import factories
from .errors import ShapeError
from .tensor import Tensor, _to_array

__all__ = [
    "TensorDataset", "DataLoader", "train_test_split",
    "load_digits", "load_iris", "load_breast_cancer", "load_diabetes",
    "make_moons", "make_spirals", "DatasetInfo", "DATASETS", "load_dataset",
]


# ---------------------------------------------------------------------------- helpers

def _array(x: Any, where: str) -> np.ndarray:
    """The numpy data of a Tensor, array or nested list (lists follow Tensor's dtype rules)."""
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, np.ndarray):
        return x
    return _to_array(x, None, where)


def _const(array: np.ndarray) -> Tensor:
    """A constant (no-grad) Tensor wrapping ``array`` without copying it."""
    return Tensor._make(np.asarray(array), False, None)


def _rng(seed: int | None) -> np.random.Generator:
    """``default_rng(seed)``; with ``seed=None`` a generator seeded from tinygrad_loss's own
    generator, so ``tinygrad_loss.manual_seed`` makes the result repeatable."""
    if seed is None:
        seed = int(factories.generator().integers(2**63))
    return np.random.default_rng(seed)


def _check_int(value: Any, name: str, where: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{where}: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


# ---------------------------------------------------------------------------- datasets

class TensorDataset:
    """Tensors that share their first axis, indexed together: ``ds[i] == (X[i], y[i])``.

    Args:
        *tensors: Tensors (or arrays / lists, converted with ``Tensor``'s dtype rules) whose
            first dimension is the number of samples.

    ``len(ds)`` is the number of samples; ``ds[i]`` (an int, slice or index array) returns a
    tuple with one Tensor per stored tensor. ``ds.tensors`` is the tuple of stored tensors.

        >>> ds = TensorDataset([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [0, 1, 0])
        >>> len(ds), ds[1]
        (3, (Tensor([3., 4.]), Tensor(1)))
    """

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset: give at least one tensor, e.g. TensorDataset(X, y)")
        converted = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)
        for i, t in enumerate(converted):
            if t.ndim == 0:
                raise ShapeError(f"TensorDataset: tensor {i} is 0-d; every tensor needs a first (sample) axis")
        lengths = [t.shape[0] for t in converted]
        if len(set(lengths)) != 1:
            shapes = ", ".join(str(tuple(t.shape)) for t in converted)
            raise ShapeError(f"TensorDataset: all tensors must have the same number of samples (first dimension); "
                             f"got shapes {shapes}")
        self.tensors: tuple[Tensor, ...] = converted

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{tuple(t.shape)} {t.dtype}" for t in self.tensors)
        return f"TensorDataset({len(self)} samples: {shapes})"


class DataLoader:
    """Iterate over a dataset in mini-batches: ``for xb, yb in DataLoader(ds, batch_size=32)``.

    Args:
        dataset: a ``TensorDataset`` (fast path: each batch is one ``numpy.take`` per tensor),
            or any object with ``__len__`` and ``__getitem__(i)`` returning a tuple of
            Tensors/arrays/numbers (or a single one); samples are then stacked field by field.
        batch_size: samples per batch (the last batch may be smaller, see ``drop_last``).
        shuffle: visit the samples in a new random order every epoch (every ``iter(loader)``).
        drop_last: skip the final batch when it would be smaller than ``batch_size``.
        seed: seed of the loader's own ``numpy.random.default_rng``, which draws one
            permutation per epoch: the same seed gives the same sequence of batch orders on
            every run, and successive epochs differ. ``None`` takes the seed from the
            generator ``tinygrad_loss.manual_seed`` resets.

    Batches are constant Tensors (they do not require grad), copies of the dataset's data.
    ``len(loader)`` is the number of batches per epoch.
    """

    def __init__(self, dataset: Any, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 seed: int | None = None) -> None:
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"DataLoader: dataset must support len() and indexing (e.g. a TensorDataset), "
                            f"got {type(dataset).__name__}")
        self.dataset = dataset
        self.batch_size = _check_int(batch_size, "batch_size", "DataLoader", 1)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self._generator = _rng(seed)

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        n = len(self.dataset)
        order = self._generator.permutation(n) if self.shuffle else np.arange(n)
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            yield self._batch(order[start:start + self.batch_size])

    def _batch(self, indices: np.ndarray) -> Any:
        if isinstance(self.dataset, TensorDataset):
            return tuple(_const(np.take(t.data, indices, axis=0)) for t in self.dataset.tensors)
        return _collate([self.dataset[int(i)] for i in indices])

    def __repr__(self) -> str:
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.seed})")


def _collate(samples: list[Any]) -> Any:
    """Stack a list of samples: tuples field by field, single values directly."""
    first = samples[0]
    if isinstance(first, (tuple, list)):
        if any(not isinstance(s, (tuple, list)) or len(s) != len(first) for s in samples):
            raise ShapeError("DataLoader: every sample must have the same number of fields")
        return tuple(_collate_field([s[k] for s in samples], k) for k in range(len(first)))
    return _collate_field(samples, 0)


def _collate_field(values: list[Any], field: int) -> Tensor:
    arrays = [_array(v, "DataLoader") for v in values]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ShapeError(f"DataLoader: field {field} of the samples has different shapes {sorted(shapes)}; "
                         f"samples of one batch must have equal shapes")
    return _const(np.stack(arrays))


# ---------------------------------------------------------------------------- splitting

def train_test_split(X: Any, y: Any, test_size: float | int = 0.2,
                     seed: int | None = 0) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Randomly split ``X`` and ``y`` into a training part and a held-out test part.

    Args:
        X, y: Tensors or arrays with the same number of samples (first dimension).
        test_size: a fraction in (0, 1) (the test part gets ``ceil(test_size * n)`` samples,
            as in scikit-learn) or a whole number of test samples.
        seed: seed of the permutation; the same seed always gives the same split.
            ``None`` draws from the generator ``tinygrad_loss.manual_seed`` resets.

    Returns:
        ``(X_train, X_test, y_train, y_test)`` as constant Tensors (copies, in shuffled order).
        No sample is in both parts. The split is not stratified.

        >>> X_train, X_test, y_train, y_test = train_test_split(np.arange(10.0), np.arange(10))
        >>> len(X_train), len(X_test)
        (8, 2)
    """
    x_data, y_data = _array(X, "train_test_split"), _array(y, "train_test_split")
    if x_data.ndim == 0 or y_data.ndim == 0:
        raise ShapeError("train_test_split: X and y need a first (sample) axis, got a 0-d value")
    n = x_data.shape[0]
    if y_data.shape[0] != n:
        raise ShapeError(f"train_test_split: X has {n} samples but y has {y_data.shape[0]} "
                         f"(shapes {x_data.shape} and {y_data.shape})")
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise ValueError(f"train_test_split: test_size must be a fraction or a count, got {test_size!r}")
    if isinstance(test_size, numbers.Integral):
        n_test = int(test_size)
    elif 0.0 < test_size < 1.0:
        n_test = math.ceil(test_size * n)
    else:
        raise ValueError(f"train_test_split: a fractional test_size must be in (0, 1), got {test_size}")
    if not 1 <= n_test <= n - 1:
        raise ValueError(f"train_test_split: test_size={test_size!r} gives {n_test} test and {n - n_test} "
                         f"training samples out of {n}; both parts need at least one sample")
    permutation = _rng(seed).permutation(n)
    test, train = permutation[:n_test], permutation[n_test:]
    return (_const(np.take(x_data, train, axis=0)), _const(np.take(x_data, test, axis=0)),
            _const(np.take(y_data, train, axis=0)), _const(np.take(y_data, test, axis=0)))


# ---------------------------------------------------------------------------- real data sets

@functools.cache
def _sklearn_raw(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Raw (X, y) of a scikit-learn bundled data set, read once per process (read-only arrays)."""
    from sklearn import datasets  # lazy: scikit-learn is only needed for the real data sets

    if name == "diabetes":
        bunch = datasets.load_diabetes(scaled=False)
    else:
        bunch = getattr(datasets, f"load_{name}")()
    X, y = np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target)
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


def _standardise(values: np.ndarray) -> np.ndarray:
    """(values - mean) / std along axis 0 (population std; a constant column becomes 0)."""
    std = values.std(axis=0)
    return (values - values.mean(axis=0)) / np.where(std > 0, std, 1.0)


def _classification(name: str, scaled: bool) -> tuple[Tensor, Tensor]:
    X, y = _sklearn_raw(name)
    X = _standardise(X) if scaled else X
    return _const(X.astype(np.float32)), _const(y.astype(np.int64))


def load_digits(images: bool = False, scaled: bool = True) -> tuple[Tensor, Tensor]:
    """Handwritten digits 0-9: 1797 images of 8x8 pixels (scikit-learn's bundled copy of UCI).

    Args:
        images: ``False`` gives X of shape (1797, 64) for MLPs; ``True`` gives
            (1797, 1, 8, 8) (N, channels, height, width) for convolutional networks.
        scaled: divide the pixel intensities (whole numbers 0..16) by 16 so X lies in [0, 1].

    Returns:
        ``(X, y)``: X float32, y int64 class indices 0..9 (about 180 of each).
    """
    X, y = _sklearn_raw("digits")
    X = X / 16.0 if scaled else X
    X = X.reshape(-1, 1, 8, 8) if images else X
    return _const(X.astype(np.float32)), _const(y.astype(np.int64))


def load_iris(scaled: bool = True) -> tuple[Tensor, Tensor]:
    """Fisher's iris flowers: 150 samples, 4 measurements (cm), 3 species (50 each).

    Args:
        scaled: standardise each feature to mean 0 and standard deviation 1 over the whole
            data set (the statistics include the samples you may later hold out, a small leak
            that is harmless for learning; pass ``scaled=False`` to scale on a training split).

    Returns:
        ``(X, y)``: X float32 (150, 4), y int64 class indices 0..2.
    """
    return _classification("iris", scaled)


def load_breast_cancer(scaled: bool = True) -> tuple[Tensor, Tensor]:
    """Wisconsin breast-cancer diagnosis: 569 tumours, 30 cell-nucleus features, 2 classes
    (0 = malignant, 212 samples; 1 = benign, 357 samples).

    Args:
        scaled: standardise each feature to mean 0 and standard deviation 1 over the whole
            data set (the raw features range from 0.001 to 4254, which gradient descent hates).

    Returns:
        ``(X, y)``: X float32 (569, 30), y int64 class indices 0..1.
    """
    return _classification("breast_cancer", scaled)


def load_diabetes(scaled: bool = True) -> tuple[Tensor, Tensor]:
    """Diabetes progression (regression): 442 patients, 10 features (age, sex, BMI, blood
    pressure, six blood serum measurements), target = disease progression one year later.

    Args:
        scaled: standardise each feature AND the target to mean 0, standard deviation 1 over
            the whole data set. The raw target (25..346) has mean 152.13 and standard deviation
            77.01, so ``y * 77.01 + 152.13`` converts a prediction back; R² is the same in
            either unit, and an MSE of 1.0 on the scaled target is what predicting the mean
            scores. ``scaled=False`` gives the raw features (age in years, BMI, ...) and target.

    Returns:
        ``(X, y)``: X float32 (442, 10), y float32 (442,).
    """
    X, y = _sklearn_raw("diabetes")
    y = y.astype(np.float64)
    if scaled:
        X, y = _standardise(X), _standardise(y)
    return _const(X.astype(np.float32)), _const(y.astype(np.float32))


# ---------------------------------------------------------------------------- toy data sets

def make_moons(n: int = 200, noise: float = 0.1, seed: int | None = 0) -> tuple[Tensor, Tensor]:
    """Two interleaving half circles, a problem no straight line separates (like scikit-learn's).

    Class 0 is the upper half circle of radius 1 around (0, 0), class 1 the lower one around
    (1, 0.5); ``n // 2`` points are class 0, the rest class 1. Gaussian noise of standard
    deviation ``noise`` is added to every coordinate, and the samples are shuffled.

    Returns:
        ``(X, y)``: X float32 (n, 2), y int64 in {0, 1}.

        >>> X, y = make_moons(100, seed=1)
        >>> X.shape, int(y.sum())
        ((100, 2), 50)
    """
    n = _check_int(n, "n", "make_moons", 2)
    if not noise >= 0:
        raise ValueError(f"make_moons: noise must be >= 0, got {noise}")
    rng = _rng(seed)
    n_out, n_in = n // 2, n - n // 2
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    X = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], axis=1),
                        np.stack([1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5], axis=1)])
    y = np.concatenate([np.zeros(n_out, np.int64), np.ones(n_in, np.int64)])
    X = X + rng.normal(scale=noise, size=X.shape) if noise > 0 else X
    order = rng.permutation(n)
    return _const(X[order].astype(np.float32)), _const(y[order])


def make_spirals(n: int = 300, classes: int = 3, seed: int | None = 0,
                 noise: float = 0.2) -> tuple[Tensor, Tensor]:
    """The classic cs231n spiral: ``classes`` arms winding out from the origin, one per class.

    Class ``j`` has points at radius ``r`` in [0, 1] and angle ``4 j + 4 r`` radians (plus
    Gaussian angle noise of standard deviation ``noise``), i.e. ``(r sin t, r cos t)``.
    The classes get ``n // classes`` points each (the first ``n % classes`` one more) and
    the samples are shuffled. A linear classifier reaches about 50 %; a small MLP ~99 %.

    Returns:
        ``(X, y)``: X float32 (n, 2) within the unit disc, y int64 in 0..classes-1.

        >>> X, y = make_spirals(300, classes=3)
        >>> X.shape, np.bincount(y.numpy()).tolist()
        ((300, 2), [100, 100, 100])
    """
    classes = _check_int(classes, "classes", "make_spirals", 1)
    n = _check_int(n, "n", "make_spirals", classes)
    if not noise >= 0:
        raise ValueError(f"make_spirals: noise must be >= 0, got {noise}")
    rng = _rng(seed)
    points, labels = [], []
    for j in range(classes):
        count = n // classes + (j < n % classes)
        r = np.linspace(0.0, 1.0, count)
        t = np.linspace(4.0 * j, 4.0 * (j + 1), count) + rng.normal(scale=noise, size=count)
        points.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
        labels.append(np.full(count, j, np.int64))
    order = rng.permutation(n)
    return _const(np.concatenate(points)[order].astype(np.float32)), _const(np.concatenate(labels)[order])


# ---------------------------------------------------------------------------- registry

@dataclass(frozen=True)
class DatasetInfo:
    """What a data set is: its loader and the facts a model needs to fit it.

    ``loader()`` returns ``(X, y)`` with the defaults; ``task`` is ``'classification'`` or
    ``'regression'``; ``num_classes`` is ``None`` for regression (one output then);
    ``num_features`` is the width of X as a flat (N, features) matrix.
    """

    name: str
    loader: Callable[..., tuple[Tensor, Tensor]]
    task: str
    num_classes: int | None
    num_features: int
    num_samples: int
    description: str

    @property
    def num_outputs(self) -> int:
        """Width of a model's last layer: the number of classes, or 1 for regression."""
        return self.num_classes if self.num_classes is not None else 1


DATASETS: Mapping[str, DatasetInfo] = MappingProxyType({info.name: info for info in (
    DatasetInfo("digits", load_digits, "classification", 10, 64, 1797,
                "8x8 handwritten digits, pixels scaled to [0, 1] (images=True for (N, 1, 8, 8))"),
    DatasetInfo("iris", load_iris, "classification", 3, 4, 150,
                "iris flower measurements, standardised"),
    DatasetInfo("breast_cancer", load_breast_cancer, "classification", 2, 30, 569,
                "breast tumour features (0 = malignant, 1 = benign), standardised"),
    DatasetInfo("diabetes", load_diabetes, "regression", None, 10, 442,
                "diabetes progression after one year; features and target standardised"),
    DatasetInfo("moons", make_moons, "classification", 2, 2, 200,
                "two interleaving half circles (generated, noise 0.1)"),
    DatasetInfo("spirals", make_spirals, "classification", 3, 2, 300,
                "three interleaved spiral arms (generated, cs231n)"),
)})


def load_dataset(name: str, **kwargs: Any) -> tuple[Tensor, Tensor]:
    """``(X, y)`` of the data set called ``name`` (a key of ``DATASETS``; ``-`` may stand for
    ``_``, as in ``breast-cancer``); keyword arguments go to its loader.

        >>> X, y = load_dataset("moons", n=50)
        >>> X.shape
        (50, 2)
    """
    key = name.strip().lower().replace("-", "_") if isinstance(name, str) else name
    if key not in DATASETS:
        raise ValueError(f"load_dataset: unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    return DATASETS[key].loader(**kwargs)
