"""tinygrad_loss: a small, honest autograd framework on numpy, for learning what loss
functions do and which gradients they send back.

    >>> import tinygrad_loss as tl
    >>> x = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> loss = (x ** 2).sum()
    >>> loss.backward()
    >>> x.grad
    Tensor([2., 4., 6.])
"""

from . import allocator, autograd, data, dtypes, errors, nn, optim
from .dtypes import (
                     bool_,
                     device,
                     double,
                     float16,
                     float32,
                     float64,
                     half,
                     int8,
                     int16,
                     int32,
                     int64,
                     long,
                     short,
                     uint8,
)
from .engine import detect_anomaly, enable_grad, is_grad_enabled, keep_grads, no_grad
from .factories import (
                     arange,
                     empty,
                     eye,
                     full,
                     full_like,
                     linspace,
                     logspace,
                     manual_seed,
                     ones,
                     ones_like,
                     rand,
                     rand_like,
                     randint,
                     randn,
                     randn_like,
                     zeros,
                     zeros_like,
)
from .functions import *  # noqa: F403 - exp, sum, relu, ... as free functions
from .functions import __all__ as _function_names
from .serialization import load, save
from .tensor import (
                     Tensor,
                     Variable,
                     as_tensor,
                     cat,
                     concat,
                     concatenate,
                     matmul,
                     maximum,
                     minimum,
                     stack,
                     tensor,
                     where,
)

bool = bool_  # noqa: A001 - PyTorch's dtype name, tinygrad_loss.bool
float = float32  # noqa: A001
int = int32  # noqa: A001
Function = autograd.Function

__version__ = "0.1.0"

# every training step frees and re-allocates the same big arrays: keep freed memory in the
# process so that they don't come back through page faults; and a recorded graph is many objects
# that the cyclic garbage collector would walk again and again (see allocator.py)
allocator.keep_freed_memory_unless_configured()
allocator.collect_less_often()

__all__ = [
    "Tensor", "Variable", "tensor", "as_tensor", "Function", "autograd", "dtypes", "errors", "data", "nn", "optim",
    "save", "load",
    "no_grad", "enable_grad", "keep_grads", "detect_anomaly", "is_grad_enabled",
    "cat", "concat", "concatenate", "stack", "where", "maximum", "minimum", "matmul",
    "zeros", "ones", "full", "empty", "arange", "linspace", "logspace", "eye", "randn", "rand",
    "randint", "zeros_like", "ones_like", "full_like", "randn_like", "rand_like", "manual_seed",
    "float16", "half", "float32", "float", "float64", "double", "int8", "int16", "short", "int32",
    "int", "int64", "long", "uint8", "bool", "device", *_function_names,
]
