"""The "numpy floor": the benchmarked computations written by hand in plain numpy.

Each function does the same arithmetic as the autograd frameworks, with the backward pass
written out by hand and without any graph, so its time is what numpy itself costs: the floor
tinygrad_loss (which runs on numpy) can approach but not beat. It is meant to be written well:
BLAS for every product, one im2col copy and ONE matrix product per convolution, fused
softmax-cross-entropy, in-place updates, no per-pixel Python loops.

Layouts: weights are in PyTorch's layout (Linear (out, in), Conv2d (F, C, KH, KW)); images are
indexed (N, C, H, W), whatever their order in memory (see "images" below).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

# ----------------------------------------------------------------------------- losses


def softmax_cross_entropy(logits: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of (N, C) logits against N class indices, and its gradient
    (softmax − onehot) / N, fused: log-sum-exp forward, one temporary of the logits' size."""
    n = logits.shape[0]
    rows = np.arange(n)
    shifted = logits - logits.max(axis=1, keepdims=True)
    picked = shifted[rows, target]
    exp = np.exp(shifted, out=shifted)
    total = exp.sum(axis=1, keepdims=True)
    loss = (np.log(total).sum() - picked.sum()) / n
    exp *= (1.0 / n) / total  # softmax / N
    exp[rows, target] -= 1.0 / n
    return float(loss), exp


# ----------------------------------------------------------------------------- dense layers


def dense_forward(x: np.ndarray, layers: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """x @ Wᵀ + b for each (W, b), ReLU (in place) between layers; returns every activation,
    x first and the logits last."""
    acts = [x]
    for i, (w, b) in enumerate(layers):
        h = acts[-1] @ w.T
        h += b
        if i < len(layers) - 1:
            np.maximum(h, 0, out=h)
        acts.append(h)
    return acts


def dense_backward(acts: list[np.ndarray], layers: list[tuple[np.ndarray, np.ndarray]], grad: np.ndarray,
                   need_input: bool) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Backward of ``dense_forward`` from d(loss)/d(logits): the gradients [gW, gb, gW, gb, ...]
    in parameter order, and d(loss)/d(x) if ``need_input``."""
    grads: list[np.ndarray] = []
    for i in reversed(range(len(layers))):
        grads += [grad.sum(axis=0), grad.T @ acts[i]]  # gb, gW (reversed below)
        if i == 0 and not need_input:
            return grads[::-1], None
        grad = grad @ layers[i][0]
        if i:
            grad *= acts[i] > 0  # ReLU: its output is positive exactly where its input was
    return grads[::-1], grad


# ----------------------------------------------------------------------------- images
# Images are indexed (N, C, H, W) but may sit in memory in another order: the CNN below keeps
# them batch-last, (C, H, W, N) in memory, so that every im2col copy and pooling copy runs its
# inner loop over the 64 samples rather than over 4 or 8 pixels. Each function keeps its input's
# memory order for its output.


def memory_order(x: np.ndarray) -> tuple[int, ...]:
    """x's axes from the outermost to the innermost in memory (by decreasing stride)."""
    return tuple(sorted(range(x.ndim), key=lambda axis: -x.strides[axis]))


def zeros_in_order(shape: tuple[int, ...], order: tuple[int, ...], dtype: Any) -> np.ndarray:
    """Zeros of ``shape``, laid out in memory in the given axis order. Written out with np.full, not
    taken from np.zeros: np.zeros hands out lazily zeroed pages, and faulting them in during the
    strided `+=` of col2im made conv2d's backward several times slower."""
    return np.full([shape[axis] for axis in order], 0, dtype).transpose(np.argsort(order))


def windows(x: np.ndarray, kernel: int, stride: int) -> np.ndarray:
    """Every kernel×kernel window of x (N, C, H, W), any strides, as a view (N, C, OH, OW, K, K)."""
    n, c, h, w = x.shape
    sn, sc, sh, sw = x.strides
    oh, ow = (h - kernel) // stride + 1, (w - kernel) // stride + 1
    return as_strided(x, (n, c, oh, ow, kernel, kernel), (sn, sc, sh * stride, sw * stride, sh, sw), writeable=False)


def _in_order(array: np.ndarray, labels: tuple[int, ...]) -> np.ndarray:
    """A (…) array whose axes are `labels` (logical axis numbers), viewed in logical order."""
    return array.transpose(np.argsort(labels))


def conv2d_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
                   padding: int) -> tuple[np.ndarray, np.ndarray]:
    """Stride-1 convolution (cross-correlation): im2col as one copy of a strided view, then
    one BLAS product. Returns the output (N, F, OH, OW), laid out as x, and the columns."""
    f, c, k, _ = weight.shape
    n, _, h, w = x.shape
    padded = zeros_in_order((n, c, h + 2 * padding, w + 2 * padding), memory_order(x), x.dtype)
    padded[:, :, padding:padding + h, padding:padding + w] = x
    win = windows(padded, k, 1)  # (N, C, OH, OW, KH, KW)
    rest = tuple(a for a in memory_order(padded) if a != 1)  # N, OH, OW in memory order
    cols = win.transpose(1, 4, 5, *rest).reshape(c * k * k, -1)  # im2col: (C·K·K, N·OH·OW), the copy
    out = weight.reshape(f, -1) @ cols  # (F, N·OH·OW): the one product
    if bias is not None:
        out += bias[:, None]
    return _in_order(out.reshape(f, *[win.shape[a] for a in rest]), (1, *rest)), cols


def conv2d_backward(grad: np.ndarray, cols: np.ndarray, weight: np.ndarray, x: np.ndarray, padding: int,
                    need_input: bool, need_bias: bool = True) -> tuple[Any, np.ndarray, Any]:
    """Gradients of ``conv2d_forward(x, ...)`` for input (col2im: a loop over the K·K kernel
    offsets), weight and bias, from d(loss)/d(output)."""
    f, c, k, _ = weight.shape
    n, _, h, w = x.shape
    rest = tuple(a for a in memory_order(x) if a != 1)  # as in the forward pass
    g = grad.transpose(1, *rest).reshape(f, -1)  # (F, N·OH·OW): a view in the forward's layout
    grad_w = (cols @ g.T).T.reshape(weight.shape)  # 4x faster in OpenBLAS than g @ cols.T (long inner axis)
    grad_b = g.sum(axis=1) if need_bias else None
    if not need_input:
        return None, grad_w, grad_b
    oh, ow = grad.shape[2:]
    dims = {0: n, 2: oh, 3: ow}
    grad_cols = (weight.reshape(f, -1).T @ g).reshape(c, k, k, *[dims[a] for a in rest])
    grad_win = _in_order(grad_cols, (1, 4, 5, *rest))  # (N, C, OH, OW, KH, KW)
    grad_padded = zeros_in_order((n, c, h + 2 * padding, w + 2 * padding), memory_order(x), grad.dtype)
    for i in range(k):
        for j in range(k):
            grad_padded[:, :, i:i + oh, j:j + ow] += grad_win[..., i, j]
    return grad_padded[:, :, padding:padding + h, padding:padding + w], grad_w, grad_b


def max_pool2d_forward(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """k×k max pooling, stride k (H and W divisible by k): windows + argmax, on one copy of the
    windows with the window axis first (the rest in x's memory order)."""
    order = memory_order(x)
    win = windows(x, k, k)
    flat = win.transpose(4, 5, *order).reshape(k * k, *[win.shape[a] for a in order])
    return _in_order(flat.max(axis=0), order), _in_order(flat.argmax(axis=0), order)


def max_pool2d_backward(grad: np.ndarray, index: np.ndarray, x: np.ndarray, k: int) -> np.ndarray:
    """Each window's gradient goes to its (first) maximum: one pass per window offset."""
    grad_x = zeros_in_order(x.shape, memory_order(x), grad.dtype)
    for i in range(k):
        for j in range(k):
            np.multiply(grad, index == i * k + j, out=grad_x[:, :, i::k, j::k])
    return grad_x


# ----------------------------------------------------------------------------- optimizer


class Adam:
    """PyTorch's Adam (no weight decay), updating the parameter arrays in place:
    m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)."""

    def __init__(self, params: list[np.ndarray], lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        self.params, self.lr, self.betas, self.eps, self.t = params, lr, betas, eps, 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.scratch = [np.empty_like(p) for p in params]

    def step(self, grads: list[np.ndarray]) -> None:
        self.t += 1
        beta1, beta2 = self.betas
        root = math.sqrt(1 - beta2 ** self.t)  # √(1−β₂ᵗ), folded into ε and the step size
        step_size = self.lr / (1 - beta1 ** self.t) * root
        for p, g, m, v, tmp in zip(self.params, grads, self.m, self.v, self.scratch, strict=True):
            np.multiply(g, 1 - beta1, out=tmp)
            m *= beta1
            m += tmp
            np.multiply(g, g, out=tmp)
            tmp *= 1 - beta2
            v *= beta2
            v += tmp
            np.sqrt(v, out=tmp)
            tmp += self.eps * root
            np.divide(m, tmp, out=tmp)
            tmp *= step_size
            p -= tmp


# ----------------------------------------------------------------------------- the benchmarked computations


def matmul_grads(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """c = a @ b, then the gradients for an upstream gradient of ones: the three GEMMs."""
    c = a @ b
    g = np.ones_like(c)
    return g @ b.T, a.T @ g


def cross_entropy_grads(logits: np.ndarray, target: np.ndarray) -> tuple[np.ndarray]:
    return (softmax_cross_entropy(logits, target)[1],)


def conv2d_grads(x: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Padding-1 convolution without bias, then the gradients for an upstream gradient of ones."""
    out, cols = conv2d_forward(x, weight, None, 1)
    grad_x, grad_w, _ = conv2d_backward(np.ones_like(out), cols, weight, x, 1, need_input=True, need_bias=False)
    return grad_x, grad_w


def _pairs(params: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    return list(zip(params[::2], params[1::2], strict=True))


def mlp_step(params: list[np.ndarray], adam: Adam, x: np.ndarray, y: np.ndarray) -> float:
    """One training step of Linear-ReLU-...-Linear with cross-entropy and Adam; returns the loss."""
    layers = _pairs(params)
    acts = dense_forward(x, layers)
    loss, grad = softmax_cross_entropy(acts[-1], y)
    grads, _ = dense_backward(acts, layers, grad, need_input=False)
    adam.step(grads)
    return loss


def cnn_step(params: list[np.ndarray], adam: Adam, x: np.ndarray, y: np.ndarray) -> float:
    """One training step of Conv(3, pad 1)-ReLU-MaxPool(2), twice, Flatten, Linear-ReLU-Linear,
    with cross-entropy and Adam; returns the loss. Runs batch-last: x is copied to (C, H, W, N)
    memory order first."""
    w1, b1, w2, b2, *head = params
    x = x.transpose(1, 2, 3, 0).copy().transpose(3, 0, 1, 2)
    h1, cols1 = conv2d_forward(x, w1, b1, 1)
    np.maximum(h1, 0, out=h1)
    p1, index1 = max_pool2d_forward(h1, 2)
    h2, cols2 = conv2d_forward(p1, w2, b2, 1)
    np.maximum(h2, 0, out=h2)
    p2, index2 = max_pool2d_forward(h2, 2)
    layers = _pairs(head)
    acts = dense_forward(p2.reshape(len(x), -1), layers)  # a copy in PyTorch's Flatten order (C, H, W)
    loss, grad = softmax_cross_entropy(acts[-1], y)
    head_grads, grad = dense_backward(acts, layers, grad, need_input=True)
    grad = max_pool2d_backward(grad.reshape(p2.shape), index2, h2, 2)
    grad *= h2 > 0
    grad, grad_w2, grad_b2 = conv2d_backward(grad, cols2, w2, p1, 1, need_input=True)
    grad = max_pool2d_backward(grad, index1, h1, 2)
    grad *= h1 > 0
    _, grad_w1, grad_b1 = conv2d_backward(grad, cols1, w1, x, 1, need_input=False)
    adam.step([grad_w1, grad_b1, grad_w2, grad_b2, *head_grads])
    return loss
