"""Convolution and max pooling, each as ONE graph node: numpy arrays in, numpy arrays out.

Built from the small ops, a convolution is pad, sliding windows, permute, reshape, matmul,
reshape, permute and a bias add: eight nodes, each with its Python overhead and most with a
copy. Here the whole layer is one op:

* ``Conv2d``: forward is im2col (one copy of a strided view of the padded image) and ONE matrix
  product; backward is two matrix products and col2im (one vectorised slice-add per kernel
  offset, never a loop over pixels).
* ``MaxPool2d``: forward is the same im2col copy (of the image padded with -inf) and a max over
  each window's column entries; backward sends each window's gradient to its first maximum.

Memory layout: the images these ops make (outputs and input gradients) are *batch-last* in
memory, (C, H, W, N), and handed out as (N, C, H, W) views, so a network sees the usual shapes.
With the batch innermost, every im2col, pooling and col2im copy runs its inner loop over the
whole batch rather than over rows of 4 or 8 pixels (the hand-written numpy floor in
benchmarks/numpy_floor.py does the same). Inputs may come in any layout.

Under ``create_graph=True`` backward receives Tensors, and the same backward code runs on them:
it only uses operators, ``np.transpose``/``reshape``/slicing (which Tensor implements) and the
helpers below that dispatch to recorded ops (``ops.windows``, ``ops.add_windows``, ``Pad``), so
the gradients are themselves differentiable.
"""

from __future__ import annotations

import numpy as np

from .ops import Op, Pad, _is_array, add_windows, windows

#: (N, C, H, W) <-> (C, H, W, N): the axis orders between the logical and the in-memory layout
TO_BATCH_LAST = (1, 2, 3, 0)
FROM_BATCH_LAST = (3, 0, 1, 2)


def _pad(x, padding: tuple[int, int], value: float = 0.0):
    """x (N, C, H, W) surrounded by ``value``: a batch-last copy for an array, a recorded Pad
    for a Tensor (create_graph)."""
    ph, pw = padding
    if (ph, pw) == (0, 0):
        return x
    if not _is_array(x):
        return Pad.apply(x, pad_width=((0, 0), (0, 0), (ph, ph), (pw, pw)), value=value)
    n, c, h, w = x.shape
    padded = np.full((c, h + 2 * ph, w + 2 * pw, n), value, dtype=x.dtype)
    padded[:, ph:ph + h, pw:pw + w] = np.transpose(x, TO_BATCH_LAST)
    return padded.transpose(FROM_BATCH_LAST)


def _lowest(dtype: np.dtype) -> float | int | bool:
    """The padding no value of ``dtype`` is below (what max pooling pads with): -inf for floats,
    the type's minimum for integers (-inf does not fit in them)."""
    if dtype.kind == "f":
        return -np.inf
    return False if dtype.kind == "b" else np.iinfo(dtype).min


def _unpad(x, padding: tuple[int, int]):
    """The inside of a padded (N, C, H, W) image: the adjoint of ``_pad``."""
    ph, pw = padding
    if (ph, pw) == (0, 0):
        return x
    return x[:, :, ph:x.shape[2] - ph, pw:x.shape[3] - pw]


def _columns(patches):
    """Windows (N, C, OH, OW, KH, KW) as columns (C·KH·KW, OH·OW·N): one copy.

    The rows run over (channel, kernel row, kernel column), as a flattened weight does; the
    columns over (output row, output column, sample), the batch innermost."""
    n, c, oh, ow, kh, kw = patches.shape
    return np.transpose(patches, (1, 4, 5, 2, 3, 0)).reshape(c * kh * kw, oh * ow * n)


def _im2col(x, kernel: tuple[int, int], stride: tuple[int, int], padding: tuple[int, int], fill: float = 0.0):
    """Every kernel-sized window of x padded with ``fill``, as one column each."""
    return _columns(windows(_pad(x, padding, fill), kernel, stride))


def _col2im(columns, input_shape: tuple, kernel: tuple[int, int], stride: tuple[int, int],
            padding: tuple[int, int], out_size: tuple[int, int]):
    """The adjoint of ``_im2col``: add every column back onto the pixels its window covers."""
    n, c, h, w = input_shape
    (kh, kw), (ph, pw), (oh, ow) = kernel, padding, out_size
    patches = np.transpose(columns.reshape(c, kh, kw, oh, ow, n), (5, 0, 3, 4, 1, 2))  # (N, C, OH, OW, KH, KW)
    return _unpad(add_windows(patches, (n, c, h + 2 * ph, w + 2 * pw), kernel, stride), padding)


def _out_size(size: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int],
              padding: tuple[int, int]) -> tuple[int, int]:
    return tuple((s + 2 * p - k) // st + 1 for s, k, st, p in zip(size, kernel, stride, padding))


class Conv2d(Op):
    """2-d convolution (cross-correlation, as PyTorch) of x (N, C, H, W) with weight
    (F, C, KH, KW), zero padding and an optional bias (F,): out (N, F, OH, OW).

    Every window of the padded input, flattened, is a column; the flattened kernels are rows;
    one matrix product ``weight (F, C·KH·KW) @ columns (C·KH·KW, OH·OW·N)`` computes every
    output value at once.
    """

    promotes_dtypes = True  # an integer image takes the weight's float dtype
    formula = "out[n, f, i, j] = Σ_c,p,q x[n, c, i·sh + p - ph, j·sw + q - pw]·weight[f, c, p, q] + bias[f]"
    derivative = ("d/dx = weightᵀ @ grad's columns, added back onto their windows (col2im); "
                  "d/dweight = grad's rows @ x's columnsᵀ; d/dbias = Σ grad over n, i, j")

    @staticmethod
    def forward(ctx, x, weight, bias=None, stride=(1, 1), padding=(0, 0)):
        n = x.shape[0]
        f, c, kh, kw = weight.shape
        ctx.kernel, ctx.stride, ctx.padding = (kh, kw), tuple(stride), tuple(padding)
        ctx.out_size = _out_size(x.shape[2:], ctx.kernel, ctx.stride, ctx.padding)
        columns = _im2col(x, ctx.kernel, ctx.stride, ctx.padding)
        out = weight.reshape(f, c * kh * kw) @ columns  # (F, OH·OW·N): the one product
        if bias is not None:
            out += bias[:, None]  # in place: out is a fresh array
        ctx.save_for_backward(x, weight, columns)
        return out.reshape(f, *ctx.out_size, n).transpose(FROM_BATCH_LAST)  # (N, F, OH, OW), batch-last

    @staticmethod
    def backward(ctx, grad):
        x, weight, columns = ctx.saved_tensors
        needs = ctx.needs_input_grad
        f, c, kh, kw = weight.shape
        (oh, ow), n = ctx.out_size, x.shape[0]
        if not _is_array(grad):
            # create_graph: the columns again, recorded from x, so that d/dw can be differentiated in x
            columns = _im2col(x, ctx.kernel, ctx.stride, ctx.padding)
        g = np.transpose(grad, TO_BATCH_LAST).reshape(f, oh * ow * n)  # (F, OH·OW·N), as the forward's product
        grad_x = grad_w = grad_b = None
        if needs[0]:
            grad_columns = np.transpose(weight.reshape(f, c * kh * kw)) @ g
            grad_x = _col2im(grad_columns, x.shape, ctx.kernel, ctx.stride, ctx.padding, ctx.out_size)
        if needs[1]:
            # (columns @ gᵀ)ᵀ rather than g @ columnsᵀ: the same product, which OpenBLAS computes
            # 1.6-2x faster in this orientation on the benchmark's shapes (as numpy_floor notes)
            grad_w = np.transpose(columns @ np.transpose(g)).reshape(weight.shape)
        if len(needs) == 2:
            return grad_x, grad_w
        if needs[2]:
            grad_b = g.sum(axis=1)
        return grad_x, grad_w, grad_b


class MaxPool2d(Op):
    """Largest value of each kernel-sized window of x (N, C, H, W) padded with -inf:
    out (N, C, OH, OW). The gradient goes to the first maximum of each window only (PyTorch's
    rule; ReLU's zeros make ties common), and a NaN counts as the maximum (as in ``np.argmax``).

    The windows are copied once as columns, as for a convolution, viewed (C, KH·KW, OH·OW·N):
    the max is taken over the middle axis, and backward is col2im of the gradient placed at
    each window's first maximum.
    """

    formula = "out[n, c, i, j] = max_p,q x[n, c, i·sh + p - ph, j·sw + q - pw] (-inf outside x)"
    derivative = "d/dx = 1 at the (first) maximum of each window, 0 elsewhere (summed over windows)"

    @staticmethod
    def forward(ctx, x, kernel=(2, 2), stride=(2, 2), padding=(0, 0)):
        n, c, h, w = x.shape
        (kh, kw), stride, padding = kernel, tuple(stride), tuple(padding)
        ctx.kernel, ctx.stride, ctx.padding, ctx.input_shape = (kh, kw), stride, padding, x.shape
        # windows that tile the image are a reshape of it (no strided view); backward then puts
        # each pixel's gradient back without adding anything up (see ops._add_windows)
        ctx.tiles = stride == (kh, kw) and padding == (0, 0) and h % kh == 0 and w % kw == 0
        if ctx.tiles:
            patches = x.reshape(n, c, h // kh, kh, w // kw, kw).transpose(0, 1, 2, 4, 3, 5)
        else:
            patches = windows(_pad(x, padding, _lowest(x.dtype)), kernel, stride)  # (N, C, OH, OW, KH, KW)
        ctx.out_size = oh, ow = patches.shape[2:4]
        values = _columns(patches).reshape(c, kh * kw, oh * ow * n)
        out = values.max(axis=1, keepdims=True)
        is_max = (values == out) | (values != values)  # NaN != NaN: np.argmax takes a NaN as the maximum
        # ties go to the first offset: rank the offsets, first highest, and keep the best-ranked maximum
        rank = is_max * np.arange(kh * kw, 0, -1, dtype=np.min_scalar_type(kh * kw))[:, None]
        ctx.save_for_backward(rank == rank.max(axis=1, keepdims=True))
        return out.reshape(c, *ctx.out_size, n).transpose(FROM_BATCH_LAST)

    @staticmethod
    def backward(ctx, grad):
        (is_first_max,) = ctx.saved_tensors
        n, c, _, _ = ctx.input_shape
        oh, ow = ctx.out_size
        columns = np.transpose(grad, TO_BATCH_LAST).reshape(c, 1, oh * ow * n) * is_first_max  # (C, KH·KW, OH·OW·N)
        return _col2im(columns, ctx.input_shape, ctx.kernel, ctx.stride, ctx.padding, ctx.out_size)
