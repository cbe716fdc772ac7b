"""The exceptions tinygrad_loss raises for user mistakes.

Each subclasses the built-in exception a Python or PyTorch user would catch (``ValueError``,
``TypeError``, ``IndexError``, ``RuntimeError``), so ordinary ``except`` clauses keep working,
and every message names the function, what was given and what was expected.
"""


class TinygradLossError(Exception):
    """Base class of every error raised on purpose by tinygrad_loss."""


class ShapeError(TinygradLossError, ValueError):
    """Shapes that do not fit together (broadcasting, matmul, reshape, a loss's target)."""


class DTypeError(TinygradLossError, TypeError):
    """A dtype that is unknown or not allowed here (e.g. an integer tensor requiring grad)."""


class IndexOutOfRangeError(TinygradLossError, IndexError):
    """An index or axis outside a tensor's shape, or a class index outside the valid range."""


class GraphError(TinygradLossError, RuntimeError):
    """Misuse of the autograd graph: backward twice through a freed graph, in-place on a leaf..."""


class AnomalyError(TinygradLossError, RuntimeError):
    """Raised under ``detect_anomaly()`` at the first NaN or Inf, naming the op and the user's line."""


class GradcheckError(TinygradLossError, RuntimeError):
    """An analytic gradient disagrees with finite differences."""
