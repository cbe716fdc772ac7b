"""The "numpy floor": the benchmarked computations written by hand in plain numpy.

Each function does the same arithmetic as the autograd frameworks, with the backward pass
written out by hand and without any graph, so its time is what numpy itself costs: the floor
tinygrad_loss (which runs on numpy) can approach but not beat. It is meant to be written well:
BLAS for every product, one im2col copy and ONE matrix product per convolution, fused
softmax-cross-entropy, in-place updates, no per-pixel Python loops.

Layouts: weights are in PyTorch's layout (Linear (out, in), Conv2d (F, C, KH, KW)); images are
(N, C, H, W). A convolution's result is an (F, N, OH, OW) array seen as (N, F, OH, OW) through a
transposed view, which is what one matrix product naturally gives; the backward pass accepts
any layout.
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


def windows(x: np.ndarray, kernel: int, stride: int) -> np.ndarray:
    """Every kernel×kernel window of x (N, C, H, W), any strides, as a view (N, C, OH, OW, K, K)."""
    n, c, h, w = x.shape
    sn, sc, sh, sw = x.strides
    oh, ow = (h - kernel) // stride + 1, (w - kernel) // stride + 1
    return as_strided(x, (n, c, oh, ow, kernel, kernel), (sn, sc, sh * stride, sw * stride, sh, sw), writeable=False)


def conv2d_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
                   padding: int) -> tuple[np.ndarray, np.ndarray]:
    """Stride-1 convolution (cross-correlation): im2col as one copy of a strided view, then
    one BLAS product. Returns the output (N, F, OH, OW) and the columns backward needs."""
    f, c, k, _ = weight.shape
    n, _, h, w = x.shape
    padded = np.zeros((n, c, h + 2 * padding, w + 2 * padding), x.dtype)
    padded[:, :, padding:padding + h, padding:padding + w] = x
    win = windows(padded, k, 1)
    oh, ow = win.shape[2:4]
    cols = win.transpose(1, 4, 5, 0, 2, 3).reshape(c * k * k, n * oh * ow)  # im2col: (C·K·K, N·OH·OW)
    out = weight.reshape(f, -1) @ cols  # (F, N·OH·OW)
    if bias is not None:
        out += bias[:, None]
    return out.reshape(f, n, oh, ow).transpose(1, 0, 2, 3), cols


def conv2d_backward(grad: np.ndarray, cols: np.ndarray, weight: np.ndarray, x_shape: tuple[int, ...], padding: int,
                    need_input: bool, need_bias: bool = True) -> tuple[Any, np.ndarray, Any]:
    """Gradients of ``conv2d_forward`` for input (col2im: a loop over the K·K kernel offsets),
    weight and bias, from d(loss)/d(output)."""
    f, c, k, _ = weight.shape
    n, _, h, w = x_shape
    oh, ow = grad.shape[2:]
    g = grad.transpose(1, 0, 2, 3).reshape(f, -1)  # (F, N·OH·OW): a view in conv2d_forward's layout
    grad_w = (cols @ g.T).T.reshape(weight.shape)  # 4x faster in OpenBLAS than g @ cols.T (long inner axis)
    grad_b = g.sum(axis=1) if need_bias else None
    if not need_input:
        return None, grad_w, grad_b
    grad_cols = (weight.reshape(f, -1).T @ g).reshape(c, k, k, n, oh, ow)
    grad_padded = np.zeros((c, n, h + 2 * padding, w + 2 * padding), grad.dtype)
    for i in range(k):
        for j in range(k):
            grad_padded[:, :, i:i + oh, j:j + ow] += grad_cols[:, i, j]
    grad_x = grad_padded[:, :, padding:padding + h, padding:padding + w].transpose(1, 0, 2, 3)
    return grad_x, grad_w, grad_b


def max_pool2d_forward(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """k×k max pooling, stride k (H and W divisible by k): windows + argmax."""
    flat = windows(x, k, k).reshape(x.shape[:2] + (x.shape[2] // k, x.shape[3] // k, k * k))
    index = flat.argmax(axis=-1)[..., None]
    return np.take_along_axis(flat, index, axis=-1)[..., 0], index


def max_pool2d_backward(grad: np.ndarray, index: np.ndarray, k: int) -> np.ndarray:
    """Each window's gradient goes to its (first) maximum."""
    n, c, oh, ow = grad.shape
    flat = np.zeros((n, c, oh, ow, k * k), grad.dtype)
    np.put_along_axis(flat, index, grad[..., None], axis=-1)
    return flat.reshape(n, c, oh, ow, k, k).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, oh * k, ow * k)


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
    grad_x, grad_w, _ = conv2d_backward(np.ones_like(out), cols, weight, x.shape, 1, need_input=True, need_bias=False)
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
    with cross-entropy and Adam; returns the loss."""
    w1, b1, w2, b2, *head = params
    h1, cols1 = conv2d_forward(x, w1, b1, 1)
    np.maximum(h1, 0, out=h1)
    p1, index1 = max_pool2d_forward(h1, 2)
    h2, cols2 = conv2d_forward(p1, w2, b2, 1)
    np.maximum(h2, 0, out=h2)
    p2, index2 = max_pool2d_forward(h2, 2)
    layers = _pairs(head)
    acts = dense_forward(p2.reshape(len(x), -1), layers)  # p2 is C-contiguous: PyTorch's Flatten order
    loss, grad = softmax_cross_entropy(acts[-1], y)
    head_grads, grad = dense_backward(acts, layers, grad, need_input=True)
    grad = max_pool2d_backward(grad.reshape(p2.shape), index2, 2)
    grad *= h2 > 0
    grad, grad_w2, grad_b2 = conv2d_backward(grad, cols2, w2, p1.shape, 1, need_input=True)
    grad = max_pool2d_backward(grad, index1, 2)
    grad *= h1 > 0
    _, grad_w1, grad_b1 = conv2d_backward(grad, cols1, w1, x.shape, 1, need_input=False)
    adam.step([grad_w1, grad_b1, grad_w2, grad_b2, *head_grads])
    return loss
