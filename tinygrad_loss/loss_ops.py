"""Ops fused for numerics and speed: cross-entropy, binary cross-entropy, log-sigmoid and the
sigmoid focal loss.

Most losses are a few Tensor operations (see ``nn/functional.py``). These have their own
forward and backward because composing them from smaller ops would either be unstable
(log of a sigmoid that rounded to 0; focal's (1 - p_t)^γ, whose slope is infinite where a
saturated logit makes 1 - p_t = 0) or slow (cross-entropy's backward is just "softmax minus
one-hot", far cheaper than backpropagating through log_softmax and indexing).
"""

from __future__ import annotations

import numpy as np

from .ops import Op, _is_array, _sigmoid

BCE_LOG_CLAMP = -100.0  # PyTorch clamps BCE's logs at -100 so that p = 0 or 1 stays finite
BCE_EPS = float(np.float32(1e-12))  # ... and its backward divides by max(p(1 - p), 1e-12 as a float32)


def _log_sigmoid(x):
    # ln σ(x) = -(max(-x, 0) + ln(1 + exp(-|x|))): exp never sees a positive argument
    return -(np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x))))


class LogSigmoid(Op):
    formula = "out = ln σ(x) = -(max(-x, 0) + ln(1 + exp(-|x|)))"
    derivative = "d/dx = 1 - σ(x) = σ(-x)"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _log_sigmoid(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (_sigmoid(-x) if _is_array(x) else (-x).sigmoid())


class CrossEntropy(Op):
    """Cross-entropy of (M, C) logits against M class indices, with PyTorch's options.

    Per sample (w = class weights, ε = label smoothing, p = softmax(logits)):
        loss_i = (1 - ε)·w[y_i]·(-ln p[i, y_i]) + (ε/C)·Σ_c w_c·(-ln p[i, c])
    'mean' divides the sum by Σ_i w[y_i] over the samples not ignored; if every target is ignored
    that is 0/0 = NaN (as in PyTorch) while the gradient is 0: ignored samples send none.
    Backward (the fused part): d loss_i / d logits[i, k] = a_i·p[i, k] - b[i, k] with
        a_i = (1 - ε)·w[y_i] + (ε/C)·Σ_c w_c,   b[i, k] = (1 - ε)·w[y_i]·[k = y_i] + (ε/C)·w_k
    which without weights or smoothing is the famous "softmax minus one-hot".
    """

    formula = "loss_i = -w[y_i]·ln softmax(x_i)[y_i] (plus label smoothing)"
    derivative = "d/dx_i = w[y_i]·(softmax(x_i) - onehot(y_i)) (scaled by the reduction)"

    @staticmethod
    def forward(ctx, logits, target, weight=None, ignore_index=-100, label_smoothing=0.0, reduction="mean"):
        n, classes = logits.shape
        keep = target != ignore_index
        safe_target = np.where(keep, target, 0)
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        log_total = np.log(total)
        w = None if weight is None else weight.astype(logits.dtype, copy=False)  # None: every class weighs 1
        w_target = keep.astype(logits.dtype) if w is None else w[safe_target] * keep  # 0 for ignored samples
        loss = -(1 - label_smoothing) * w_target * (shifted[np.arange(n), safe_target] - log_total[:, 0])
        if label_smoothing:
            log_p = shifted - log_total
            loss = loss - (label_smoothing / classes) * _class_sum(log_p, w) * keep
        denominator = w_target.sum() if reduction == "mean" else 1
        exp *= 1.0 / total  # the softmax, kept for backward
        ctx.save_for_backward(logits, exp, w, w_target, keep, safe_target, denominator)
        if reduction == "none":
            return loss
        return loss.sum() / denominator

    @staticmethod
    def backward(ctx, grad):
        logits, p, w, w_target, keep, target, denominator = ctx.saved_tensors
        eps = ctx.kwargs.get("label_smoothing", 0.0)
        classes = logits.shape[1]
        if grad.ndim:  # 'none': one upstream gradient per sample
            scale = grad.reshape(-1, 1)
        elif keep.any():
            scale = grad / denominator
        else:  # every target ignored: a_i = b[i, k] = 0 on every row, so the gradient is 0 (as in
            scale = grad  # PyTorch) — though 'mean' is 0/0 = NaN, and grad / 0 would make it 0·∞
        class_w = 1 if w is None else w  # w_c: 1 for every class when unweighted
        hot = (1 - eps) * w_target if eps else w_target  # b's one-hot part: (1 - ε)·w[y_i]
        w_sum = classes if w is None else w.sum()
        a = (hot + (eps / classes) * w_sum * keep if eps else hot)[:, None]  # a_i of the docstring
        if not _is_array(logits):  # create_graph: the softmax as a recorded op, one-hot as constants
            b = np.zeros(p.shape, dtype=p.dtype)
            b[np.arange(len(b)), target] = hot
            if eps:
                b += (eps / classes) * class_w * keep[:, None]
            return (a * logits.softmax(axis=1) - b) * scale, None
        grad_logits = p * (a * scale)  # a fresh array: subtract the one-hot part in place
        grad_logits[np.arange(len(p)), target] -= hot * scale.reshape(-1)
        if eps:
            grad_logits -= (eps / classes) * class_w * (keep[:, None] * scale)
        return grad_logits, None


def _class_sum(x, w):
    """Σ_c w_c·x[..., c] over the last (class) axis; ``w`` None means every weight is 1."""
    return (x if w is None else x * w).sum(axis=-1)


class BinaryCrossEntropy(Op):
    """-w·[y·ln p + (1 - y)·ln(1 - p)] with both logs clamped at -100, as PyTorch does.

    Backward with respect to p is PyTorch's w·(p - y) / max(p(1 - p), 1e-12), finite even at
    p = 0 or 1; with respect to y (if it requires grad) it is w·(ln(1 - p) - ln p).
    """

    formula = "out = -w·[y·ln p + (1 - y)·ln(1 - p)], logs clamped at -100"
    derivative = "d/dp = w·(p - y) / max(p·(1 - p), 1e-12)"

    @staticmethod
    def forward(ctx, p, y, w=1.0):
        ctx.save_for_backward(p, y, w)
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(p), BCE_LOG_CLAMP)
            log_1mp = np.maximum(np.log1p(-p), BCE_LOG_CLAMP)
        return -w * (y * log_p + (1 - y) * log_1mp)

    @staticmethod
    def backward(ctx, grad):
        p, y, w = ctx.saved_tensors
        needs_p, needs_y, _ = ctx.needs_input_grad
        grad_p = grad_y = None
        if needs_p:
            grad_p = grad * w * (p - y) / np.maximum(p * (1 - p), BCE_EPS)
        if needs_y:
            with np.errstate(divide="ignore"):
                grad_y = grad * w * (np.maximum(np.log1p(-p), BCE_LOG_CLAMP) - np.maximum(np.log(p), BCE_LOG_CLAMP))
        return grad_p, grad_y, None


def _logaddexp(a, b):
    # np.logaddexp spelt out in ufuncs a Tensor records, so that create_graph works through it:
    # ln(e^a + e^b) = max(a, b) + ln(1 + e^-|a - b|); a term of -inf (e^a = 0) drops out exactly
    return np.maximum(a, b) + np.log1p(np.exp(-np.abs(a - b)))


def _focal_parts(x, y):
    """ln σ(x), ln σ(-x), BCE-with-logits ce and ln(1 - p_t) of the focal loss, all from log-sigmoids:
    finite for any finite x (with a 0/1 target, ln y or ln(1 - y) is -inf and its term drops out)."""
    log_p, log_not_p = _log_sigmoid(x), _log_sigmoid(-x)
    ce = -(y * log_p + (1 - y) * log_not_p)
    with np.errstate(divide="ignore"):
        log_q = _logaddexp(np.log(y) + log_not_p, np.log1p(-y) + log_p)
    return log_p, log_not_p, ce, log_q


class SigmoidFocal(Op):
    """torchvision's focal term ce·(1 - p_t)^γ, without α_t (a plain factor, applied outside).

    With p = σ(x) and targets y in [0, 1]:
        ce = BCE_with_logits(x, y) = -(y·ln σ(x) + (1 - y)·ln σ(-x))
        1 - p_t = 1 - (p·y + (1 - p)·(1 - y)) = y·σ(-x) + (1 - y)·σ(x)
        ln(1 - p_t) = logaddexp(ln y + ln σ(-x), ln(1 - y) + ln σ(x)),   out = ce·exp(γ·ln(1 - p_t))
    Backward, with k = ce·(1 - p_t)^(γ-1) computed as exp(ln ce + (γ - 1)·ln(1 - p_t)):
        d out/dx = (1 - p_t)^γ·(σ(x) - y) + γ·k·(1 - 2y)·σ(x)·σ(-x)
        d out/dy = γ·k·(σ(-x) - σ(x)) - (1 - p_t)^γ·x
    Composed from Tensor ops, a logit beyond ±37 (float64) rounds 1 - p_t to 0, where (1 - p_t)^γ
    has slope γ·0^(γ-1) = ∞ for γ < 1, and the chain rule gives ∞·0 = NaN. Here every factor
    stays finite: k = (ce / (1 - p_t))·(1 - p_t)^γ, and ce/(1 - p_t) is bounded (both vanish
    together); where ce underflows to 0, ln ce = -inf gives k = 0, never 0·∞.
    """

    formula = "out = ce·(1 - p_t)^γ, ln(1 - p_t) = ln(y·σ(-x) + (1 - y)·σ(x)) from log-sigmoids"
    derivative = "d/dx = (1 - p_t)^γ·(σ(x) - y) + γ·ce·(1 - p_t)^(γ-1)·(1 - 2y)·σ(x)·σ(-x)"

    @staticmethod
    def forward(ctx, x, y, gamma=2.0):
        ctx.save_for_backward(x, y)
        _, _, ce, log_q = _focal_parts(x, y)
        return ce * np.exp(gamma * log_q)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors  # recomputed from x and y, so create_graph records all of it
        gamma = ctx.kwargs.get("gamma", 2.0)
        needs_x, needs_y = ctx.needs_input_grad
        log_p, log_not_p, ce, log_q = _focal_parts(x, y)
        factor = np.exp(gamma * log_q)  # (1 - p_t)^γ
        with np.errstate(divide="ignore"):  # ce that underflowed to 0: ln 0 = -inf, so k = 0
            k = np.exp(np.log(ce) + (gamma - 1) * log_q)  # ce·(1 - p_t)^(γ-1)
        grad_x = grad_y = None
        if needs_x:
            ce_slope = (1 - y) * np.exp(log_p) - y * np.exp(log_not_p)  # σ(x) - y, exact for y = 0 or 1
            q_slope = (1 - 2 * y) * np.exp(log_p + log_not_p)  # d(1 - p_t)/dx = (1 - 2y)·σ(x)·σ(-x)
            grad_x = grad * (factor * ce_slope + gamma * k * q_slope)
        if needs_y:  # d(1 - p_t)/dy = σ(-x) - σ(x) = -tanh(x/2), d ce/dy = -x
            grad_y = grad * (-gamma * k * np.tanh(x / 2) - factor * x)
        return grad_x, grad_y
