"""The loss catalogue against PyTorch, reference formulas, finite differences and hand values.

Per case of ``loss_catalogue.CASES`` (one loss with one set of options):

* values and gradients w.r.t. every float input against the reference in float64
  (rtol 1e-10, atol 1e-12), for each reduction, backpropagating a random upstream gradient;
* one float32 pass (rtol 1e-5) that also checks the result and gradient dtypes;
* ``gradcheck`` in float64 for each reduction;
* the module form (``nn.XxxLoss(**options)``) equals the function.

Then: hand-computed values, numerical stability at logits of ±1e4, error types and messages,
module options and repr, the docstrings' four sections, and a hypothesis property test of
cross_entropy against PyTorch.
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from loss_catalogue import (
    ALL_LOSSES,
    CASES,
    MODULES,
    TORCH_LOSSES,
    W3,
    LossCase,
    ref_sigmoid_focal,
    tl_args,
    tl_kwargs,
    torch_args,
    torch_kwargs,
)

import tinygrad_loss as tl
from tinygrad_loss import nn
from tinygrad_loss.autograd import gradcheck
from tinygrad_loss.errors import DTypeError, IndexOutOfRangeError, ShapeError
from tinygrad_loss.nn import functional as F  # noqa: N812 (PyTorch's spelling)

TORCH_MISSING = "PyTorch not installed: loss reference tests skipped"

RTOL64, ATOL64 = 1e-10, 1e-12
RTOL32, ATOL32 = 1e-5, 1e-6


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch", reason=TORCH_MISSING)


def _grads(case: LossCase, reduction: str, dtype, salt: str = ""):
    """(our value, our grads, torch value, torch grads) for one case, reduction and dtype."""
    import torch

    arrays = case.arrays(salt)
    diff = case.diff_args(arrays)
    kwargs = {**case.kwargs, "reduction": reduction}
    ours_in = tl_args(arrays, diff, dtype)
    ref_in = torch_args(arrays, diff, dtype)
    out = case.fn()(*ours_in, **tl_kwargs(kwargs, dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's notes on 'mean' for kl_div, broadcast targets
        ref = case.torch_fn()(*ref_in, **torch_kwargs(kwargs, dtype))
    upstream = np.random.default_rng(len(case.name)).normal(size=out.shape).astype(dtype)
    ours_g = tl.autograd.grad(out, [ours_in[i] for i in diff], tl.Tensor(upstream), allow_unused=True)
    ref_g = torch.autograd.grad(ref, [ref_in[i] for i in diff], torch.tensor(upstream), allow_unused=True)
    shapes = [arrays[i].shape for i in diff]
    ours_g = [np.zeros(s) if g is None else g for g, s in zip(ours_g, shapes, strict=True)]
    ref_g = [np.zeros(s) if g is None else g.detach().numpy() for g, s in zip(ref_g, shapes, strict=True)]
    return out, ours_g, ref.detach().numpy(), ref_g, diff


def _case_params(cases, reductions=True):
    if not reductions:
        return [pytest.param(c, id=c.name) for c in cases]
    return [pytest.param(c, r, id=f"{c.name}-{r}") for c in cases for r in c.reductions]


# ----------------------------------------------------------------------------- catalogue coverage


# PyTorch 2.x's legacy size_average/reduce are not part of the API; torch >= 2.8 also gives
# mse_loss, l1_loss and huber_loss a ``weight`` that API.md does not list
LEGACY = {"size_average", "reduce"}
NOT_IN_API = {"mse_loss": {"weight"}, "l1_loss": {"weight"}, "huber_loss": {"weight"}}


@pytest.mark.parametrize("name", TORCH_LOSSES)
def test_signature_matches_torch(torch, name):
    import inspect

    theirs = [(k, p.default) for k, p in inspect.signature(getattr(torch.nn.functional, name)).parameters.items()
              if k not in LEGACY | NOT_IN_API.get(name, set())]
    ours = [(k, p.default) for k, p in inspect.signature(getattr(F, name)).parameters.items()]
    assert ours == theirs


def test_catalogue_covers_every_loss():
    assert {c.loss for c in CASES} == set(ALL_LOSSES)
    assert set(ALL_LOSSES) <= set(F.__all__)
    for name in TORCH_LOSSES:
        assert any(c.in_torch for c in CASES if c.loss == name), name


# ----------------------------------------------------------------------------- against the reference


@pytest.mark.parametrize("case, reduction", _case_params(CASES))
def test_float64_matches_reference(torch, case, reduction):
    out, ours_g, ref, ref_g, diff = _grads(case, reduction, np.float64)
    assert out.dtype == np.float64
    assert out.shape == ref.shape, f"{case.name}: shape {out.shape}, torch {ref.shape}"
    np.testing.assert_allclose(out.data, ref, rtol=RTOL64, atol=ATOL64, err_msg=f"{case.name} value")
    for i, g, r in zip(diff, ours_g, ref_g, strict=True):
        assert g.shape == r.shape
        np.testing.assert_allclose(np.asarray(g.data if isinstance(g, tl.Tensor) else g), r, rtol=RTOL64,
                                   atol=ATOL64, err_msg=f"{case.name}: gradient of input {i}")


@pytest.mark.parametrize("case", _case_params(CASES, reductions=False))
def test_float32_matches_reference(torch, case):
    reduction = case.reductions[0]
    out, ours_g, ref, ref_g, diff = _grads(case, reduction, np.float32, salt="f32")
    assert out.dtype == np.float32, f"{case.name}: result dtype {out.dtype}"
    assert ref.dtype == np.float32
    np.testing.assert_allclose(out.data, ref, rtol=RTOL32, atol=ATOL32, err_msg=f"{case.name} value")
    for i, g, r in zip(diff, ours_g, ref_g, strict=True):
        if isinstance(g, tl.Tensor):
            assert g.dtype == np.float32, f"{case.name}: gradient dtype {g.dtype} of input {i}"
            g = g.data
        np.testing.assert_allclose(g, r, rtol=RTOL32, atol=ATOL32, err_msg=f"{case.name}: gradient of input {i}")


# Python lists are float32 data (API.md's rule for lists of floats), so a list weight must not
# turn a float32 loss into a float64 one
X32 = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]], dtype=np.float32)
P32 = np.array([[0.2, 0.7, 0.4], [0.9, 0.1, 0.5]], dtype=np.float32)
LIST_WEIGHT = [
    ("cross_entropy weight", lambda x: F.cross_entropy(x, i64([0, 2]), weight=[0.5, 2.0, 1.0])),
    ("cross_entropy probabilities weight", lambda x: F.cross_entropy(x, tl.tensor(P32), weight=[0.5, 2.0, 1.0])),
    ("nll_loss weight", lambda x: F.nll_loss(x, i64([0, 2]), weight=[0.5, 2.0, 1.0])),
    ("binary_cross_entropy weight", lambda x: F.binary_cross_entropy(x.sigmoid(), tl.tensor(P32),
                                                                     weight=[0.5, 2.0, 1.0])),
    ("bce_with_logits weight", lambda x: F.binary_cross_entropy_with_logits(x, tl.tensor(P32), weight=[0.5, 2.0, 1.0])),
    ("bce_with_logits pos_weight", lambda x: F.binary_cross_entropy_with_logits(x, tl.tensor(P32),
                                                                                pos_weight=[3.0, 1.0, 0.5])),
    ("multi_margin_loss weight", lambda x: F.multi_margin_loss(x, i64([0, 2]), weight=[0.5, 2.0, 1.0])),
    ("multilabel_soft_margin_loss weight", lambda x: F.multilabel_soft_margin_loss(x, tl.tensor(P32),
                                                                                   weight=[0.5, 2.0, 1.0])),
    ("cost_sensitive_cross_entropy list costs", lambda x: F.cost_sensitive_cross_entropy(
        x, i64([0, 2]), [[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 0.0]])),
]


@pytest.mark.parametrize("fn", [pytest.param(f, id=n) for n, f in LIST_WEIGHT])
def test_float32_stays_float32_with_list_options(fn):
    x = tl.tensor(X32, requires_grad=True)
    out = fn(x)
    assert out.dtype == np.float32, f"result dtype {out.dtype}"
    out.backward()
    assert x.grad.dtype == np.float32, f"gradient dtype {x.grad.dtype}"


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_multilabel_soft_margin_weight_gradient(torch, reduction):
    # the one loss whose class weight PyTorch differentiates (its weight is an ordinary factor)
    rng = np.random.default_rng(7)
    x, y, w = rng.normal(0, 2, (4, 3)), (rng.random((4, 3)) < 0.5).astype(np.float64), rng.uniform(0.5, 2, 3)
    upstream = rng.normal(size=(4,) if reduction == "none" else ())
    ours_w = tl.tensor(w, requires_grad=True)
    out = F.multilabel_soft_margin_loss(tl.tensor(x), tl.tensor(y), weight=ours_w, reduction=reduction)
    (g,) = tl.autograd.grad(out, ours_w, tl.tensor(upstream))
    ref_w = torch.tensor(w, requires_grad=True)
    ref = torch.nn.functional.multilabel_soft_margin_loss(torch.tensor(x), torch.tensor(y), weight=ref_w,
                                                          reduction=reduction)
    (ref_g,) = torch.autograd.grad(ref, ref_w, torch.tensor(upstream))
    np.testing.assert_allclose(g.data, ref_g.numpy(), rtol=RTOL64, atol=ATOL64)


# ----------------------------------------------------------------------------- gradcheck


@pytest.mark.parametrize("case, reduction", _case_params(CASES))
def test_gradcheck(case, reduction):
    arrays = case.arrays("gradcheck")
    checked = case.gradcheck_args(arrays)
    assert checked, case.name
    inputs = tl_args(arrays, checked, np.float64)
    kwargs = tl_kwargs({**case.kwargs, "reduction": reduction}, np.float64)
    assert gradcheck(lambda *xs: case.fn()(*xs, **kwargs), inputs)


# ----------------------------------------------------------------------------- module forms


@pytest.mark.parametrize("case", _case_params(CASES, reductions=False))
def test_module_form_equals_function(case):
    arrays = case.arrays("module")
    module_cls = getattr(nn, MODULES[case.loss])
    for reduction in case.reductions:
        kwargs = tl_kwargs({**case.kwargs, "reduction": reduction}, np.float64)
        module = module_cls(**kwargs)
        got = module(*tl_args(arrays, (), np.float64))
        want = case.fn()(*tl_args(arrays, (), np.float64), **kwargs)
        assert isinstance(got, tl.Tensor)
        assert got.shape == want.shape
        np.testing.assert_array_equal(got.data, want.data)


@pytest.mark.parametrize("loss", ALL_LOSSES)
def test_module_exists_and_rejects_unknown_option(loss):
    module_cls = getattr(nn, MODULES[loss])
    assert MODULES[loss] in nn.__all__
    with pytest.raises(TypeError, match=MODULES[loss]):
        module_cls(not_an_option=1)
    with pytest.raises(TypeError):
        module_cls(reduce="mean")  # PyTorch's deprecated spelling is not an option here


@pytest.mark.parametrize("module, options, shown, hidden", [
    (nn.MSELoss(), {}, [], ["reduction"]),
    (nn.MSELoss(reduction="sum"), {}, ["reduction='sum'"], []),
    (nn.HuberLoss(delta=2.0), {}, ["delta=2.0"], ["reduction"]),
    (nn.CrossEntropyLoss(label_smoothing=0.1, ignore_index=3), {}, ["label_smoothing=0.1", "ignore_index=3"],
     ["reduction", "weight"]),
    (nn.TripletMarginLoss(margin=0.5, swap=True), {}, ["margin=0.5", "swap=True"], ["eps", "(p=", " p="]),
    (nn.SigmoidFocalLoss(alpha=-1), {}, ["alpha=-1"], ["gamma", "reduction"]),
    (nn.KLDivLoss(reduction="batchmean", log_target=True), {}, ["reduction='batchmean'", "log_target=True"], []),
])
def test_module_repr_shows_non_default_options(module, options, shown, hidden):
    text = repr(module)
    assert text.startswith(type(module).__name__ + "(")
    for s in shown:
        assert s in text, text
    for h in hidden:
        assert h not in text, text


def test_module_repr_of_defaults_is_bare():
    assert repr(nn.MSELoss()) == "MSELoss()"
    assert repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"


# ----------------------------------------------------------------------------- hand-computed values

LN2 = math.log(2.0)


def t(values, dtype=np.float64):
    return tl.tensor(np.asarray(values, dtype=dtype))


def i64(values):
    return tl.tensor(np.asarray(values, dtype=np.int64))


HAND = [
    # mse of [1, 2] vs [0, 4] = (1 + 4)/2 = 2.5; sum = 5
    ("mse mean", lambda: F.mse_loss(t([1, 2]), t([0, 4])), 2.5),
    ("mse sum", lambda: F.mse_loss(t([1, 2]), t([0, 4]), reduction="sum"), 5.0),
    ("mse none", lambda: F.mse_loss(t([1, 2]), t([0, 4]), reduction="none"), [1.0, 4.0]),
    # l1: (1 + 2)/2 = 1.5
    ("l1 mean", lambda: F.l1_loss(t([1, 2]), t([0, 4])), 1.5),
    # huber delta=1: d = 0.5 -> ½·0.25 = 0.125; d = 3 -> 1·(3 - ½) = 2.5
    ("huber delta=1", lambda: F.huber_loss(t([0.5, 3]), t([0, 0]), reduction="none"), [0.125, 2.5]),
    # huber delta=2: 0.125; 2·(3 - 1) = 4
    ("huber delta=2", lambda: F.huber_loss(t([0.5, 3]), t([0, 0]), reduction="none", delta=2.0), [0.125, 4.0]),
    # smooth_l1 beta=2: ½·0.25/2 = 0.0625; 3 - 1 = 2
    ("smooth_l1 beta=2", lambda: F.smooth_l1_loss(t([0.5, 3]), t([0, 0]), reduction="none", beta=2.0), [0.0625, 2.0]),
    # smooth_l1 beta=0 is L1: |0.5| + |3| = 3.5
    ("smooth_l1 beta=0", lambda: F.smooth_l1_loss(t([0.5, -3]), t([0, 0]), reduction="sum", beta=0.0), 3.5),
    # cross_entropy([[2,0,0]], [0]) = -ln(e²/(e² + 2)) = ln(1 + 2e⁻²)
    ("ce", lambda: F.cross_entropy(t([[2, 0, 0]]), i64([0])), math.log(1 + 2 * math.exp(-2))),
    # uniform logits: ln 2 per sample; weights [1, 3] over targets [0, 1]: (1·ln2 + 3·ln2)/(1 + 3) = ln 2
    ("ce weight mean", lambda: F.cross_entropy(t([[0, 0], [0, 0]]), i64([0, 1]), weight=t([1, 3])), LN2),
    # ... sum: 4 ln 2
    ("ce weight sum", lambda: F.cross_entropy(t([[0, 0], [0, 0]]), i64([0, 1]), weight=t([1, 3]), reduction="sum"),
     4 * LN2),
    # softmax([0, ln 3]) = [1/4, 3/4]; target 0 with smoothing 0.5 over 2 classes -> q = [3/4, 1/4]:
    # -(3/4·ln(1/4) + 1/4·ln(3/4)) = 3/4·ln 4 + 1/4·ln(4/3)
    ("ce label_smoothing", lambda: F.cross_entropy(t([[0, math.log(3)]]), i64([0]), label_smoothing=0.5),
     0.75 * math.log(4) + 0.25 * math.log(4 / 3)),
    # ignore_index: only the second sample counts: -ln(3/4) = ln(4/3)
    ("ce ignore_index", lambda: F.cross_entropy(t([[5, 1], [0, math.log(3)]]), i64([-100, 1])), math.log(4 / 3)),
    # probability targets [1/2, 1/2] on softmax [1/4, 3/4]: ½ln4 + ½ln(4/3)
    ("ce probabilities", lambda: F.cross_entropy(t([[0, math.log(3)]]), t([[0.5, 0.5]])),
     0.5 * math.log(4) + 0.5 * math.log(4 / 3)),
    # nll picks -x[y]: 1.5; weight [2, 4]: mean (4·1.5)/4 = 1.5, sum 6
    ("nll", lambda: F.nll_loss(t([[-0.5, -1.5]]), i64([1])), 1.5),
    ("nll weight sum", lambda: F.nll_loss(t([[-0.5, -1.5]]), i64([1]), weight=t([2, 4]), reduction="sum"), 6.0),
    # nll mean with weights: (2·0.5 + 4·1.5)/(2 + 4) = 7/6
    ("nll weight mean", lambda: F.nll_loss(t([[-0.5, -1.5], [-0.5, -1.5]]), i64([0, 1]), weight=t([2, 4])), 7 / 6),
    # bce(0.8, 1) = -ln 0.8; bce(0.5, 0) = ln 2
    ("bce", lambda: F.binary_cross_entropy(t([0.8, 0.5]), t([1, 0]), reduction="none"), [-math.log(0.8), LN2]),
    # weight 3: 3·ln 2
    ("bce weight", lambda: F.binary_cross_entropy(t([0.5]), t([0]), weight=t([3])), 3 * LN2),
    # bce_with_logits(0, 1) = ln 2; pos_weight 3 -> 3 ln 2; (0, 0) with pos_weight 3 -> ln 2
    ("bce logits", lambda: F.binary_cross_entropy_with_logits(t([0]), t([1])), LN2),
    ("bce logits pos_weight", lambda: F.binary_cross_entropy_with_logits(
        t([0, 0]), t([1, 0]), pos_weight=t([3]), reduction="none"), [3 * LN2, LN2]),
    # kl_div with x = ln[½, ½], y = [¼, ¾]: ¼·ln(¼/½) + ¾·ln(¾/½) = ¼ln½ + ¾ln1.5
    ("kl sum", lambda: F.kl_div(t([[math.log(0.5), math.log(0.5)]]), t([[0.25, 0.75]]), reduction="sum"),
     0.25 * math.log(0.5) + 0.75 * math.log(1.5)),
    # batchmean over 2 identical rows: the same value; mean over 4 elements: half of it
    ("kl batchmean", lambda: F.kl_div(t([[math.log(0.5)] * 2] * 2), t([[0.25, 0.75]] * 2), reduction="batchmean"),
     0.25 * math.log(0.5) + 0.75 * math.log(1.5)),
    ("kl mean", lambda: F.kl_div(t([[math.log(0.5)] * 2] * 2), t([[0.25, 0.75]] * 2)),
     (0.25 * math.log(0.5) + 0.75 * math.log(1.5)) / 2),
    # log_target: y = ln[¼, ¾] gives the same value
    ("kl log_target", lambda: F.kl_div(t([[math.log(0.5)] * 2]), t([[math.log(0.25), math.log(0.75)]]),
                                       reduction="sum", log_target=True),
     0.25 * math.log(0.5) + 0.75 * math.log(1.5)),
    # poisson log_input: exp(0) - 2·0 = 1
    ("poisson", lambda: F.poisson_nll_loss(t([0]), t([2])), 1.0),
    # log_input=False: 2 - 2·ln(2 + 1e-8)
    ("poisson rate", lambda: F.poisson_nll_loss(t([2]), t([2]), log_input=False), 2 - 2 * math.log(2 + 1e-8)),
    # full: 1 + (3 ln 3 - 3 + ½ ln(6π)) for y = 3 (> 1)
    ("poisson full", lambda: F.poisson_nll_loss(t([0]), t([3]), full=True),
     1 + 3 * math.log(3) - 3 + 0.5 * math.log(6 * math.pi)),
    # full with y = 1: Stirling term masked -> exp(0) - 1·0 = 1
    ("poisson full y=1", lambda: F.poisson_nll_loss(t([0]), t([1]), full=True), 1.0),
    # gaussian: ½(ln 1 + 1/1) = 0.5; var 4, d 2: ½(ln 4 + 1); full adds ½ ln 2π
    ("gaussian", lambda: F.gaussian_nll_loss(t([1]), t([0]), t([1])), 0.5),
    ("gaussian var 4", lambda: F.gaussian_nll_loss(t([2]), t([0]), t([4])), 0.5 * (math.log(4) + 1)),
    ("gaussian full", lambda: F.gaussian_nll_loss(t([1]), t([0]), t([1]), full=True),
     0.5 + 0.5 * math.log(2 * math.pi)),
    # gaussian eps=0.5 clamps var 0.1 -> ½(ln 0.5 + 1/0.5)
    ("gaussian eps", lambda: F.gaussian_nll_loss(t([1]), t([0]), t([0.1]), eps=0.5), 0.5 * (math.log(0.5) + 2)),
    # hinge_embedding: y=1 -> x = 0.3; y=-1 -> max(0, 1 - 0.3) = 0.7
    ("hinge_embedding", lambda: F.hinge_embedding_loss(t([0.3, 0.3]), t([1, -1]), reduction="none"), [0.3, 0.7]),
    # margin 0.2: max(0, 0.2 - 0.3) = 0
    ("hinge_embedding margin", lambda: F.hinge_embedding_loss(t([0.3, 0.3]), t([1, -1]), margin=0.2,
                                                              reduction="none"), [0.3, 0.0]),
    # margin_ranking: max(0, -1·(1 - 2) + 0.5) = 1.5
    ("margin_ranking", lambda: F.margin_ranking_loss(t([1]), t([2]), t([1]), margin=0.5), 1.5),
    # y = -1: max(0, (1 - 2) + 0.5) = 0
    ("margin_ranking y=-1", lambda: F.margin_ranking_loss(t([1]), t([2]), t([-1]), margin=0.5), 0.0),
    # soft_margin: ln(1 + e⁰) = ln 2; ln(1 + e²) for x = 2, y = -1
    ("soft_margin", lambda: F.soft_margin_loss(t([0, 2]), t([1, -1]), reduction="none"),
     [LN2, math.log(1 + math.exp(2))]),
    # multi_margin, x = [.1, .2, .4, .8], y = 3: (max(0, 1 - .8 + .1) + (1 - .8 + .2) + (1 - .8 + .4))/4
    # = (.3 + .4 + .6)/4 = 0.325
    ("multi_margin p=1", lambda: F.multi_margin_loss(t([[0.1, 0.2, 0.4, 0.8]]), i64([3])), 0.325),
    # p=2: (.09 + .16 + .36)/4 = 0.1525
    ("multi_margin p=2", lambda: F.multi_margin_loss(t([[0.1, 0.2, 0.4, 0.8]]), i64([3]), p=2), 0.1525),
    # margin 0.5: (0 + 0 + 0.1)/4 = 0.025; weight[3] = 2 doubles it
    ("multi_margin margin", lambda: F.multi_margin_loss(t([[0.1, 0.2, 0.4, 0.8]]), i64([3]), margin=0.5), 0.025),
    ("multi_margin weight", lambda: F.multi_margin_loss(t([[0.1, 0.2, 0.4, 0.8]]), i64([3]), margin=0.5,
                                                        weight=t([1, 1, 1, 2])), 0.05),
    # multilabel_soft_margin([[0, 0]], [[1, 0]]) = (ln 2 + ln 2)/2 = ln 2
    ("multilabel_soft_margin", lambda: F.multilabel_soft_margin_loss(t([[0, 0]]), t([[1, 0]])), LN2),
    # cosine_embedding: orthogonal, y = 1: 1 - 0 = 1
    ("cosine_embedding", lambda: F.cosine_embedding_loss(t([[1, 0]]), t([[0, 1]]), t([1])), 1.0),
    # cos 45° = 1/√2, y = -1, margin 0.5: 1/√2 - 0.5, with PyTorch's 1e-12 under the root:
    # 1/√((1 + 1e-12)(2 + 1e-12)) - 0.5 (the 1e-12 moves the result by 2.6e-12 relative)
    ("cosine_embedding y=-1", lambda: F.cosine_embedding_loss(t([[1, 0]]), t([[1, 1]]), t([-1]), margin=0.5),
     1 / math.sqrt((1 + 1e-12) * (2 + 1e-12)) - 0.5),
    # triplet, eps=0: d(a, p) = 1, d(a, n) = 1.5: max(0, 1 - 1.5 + 1) = 0.5
    ("triplet", lambda: F.triplet_margin_loss(t([[0, 0]]), t([[1, 0]]), t([[0, 1.5]]), eps=0.0), 0.5),
    # p=1: d(a, p) = 2, d(a, n) = 1.5: 2 - 1.5 + 1 = 1.5
    ("triplet p=1", lambda: F.triplet_margin_loss(t([[0, 0]]), t([[1, 1]]), t([[0, 1.5]]), p=1, eps=0.0), 1.5),
    # swap: d(p, n) = ‖(1, -1.5)‖ = √3.25 > 1.5, so d_neg stays 1.5 -> 0.5;
    # with n = (1, 0.5): d(a, n) = √1.25, d(p, n) = 0.5 -> 1 - 0.5 + 1 = 1.5
    ("triplet swap", lambda: F.triplet_margin_loss(t([[0, 0]]), t([[1, 0]]), t([[1, 0.5]]), eps=0.0, swap=True), 1.5),
    # rmse([3, 0], [0, 4]) = √((9 + 16)/2) = √12.5; sum: √25 = 5
    ("rmse", lambda: F.rmse_loss(t([3, 0]), t([0, 4])), math.sqrt(12.5)),
    ("rmse sum", lambda: F.rmse_loss(t([3, 0]), t([0, 4]), reduction="sum"), 5.0),
    # hinge: [max(0, 1 - .5), max(0, 1 - 2), max(0, 1 + 1)] = [.5, 0, 2]
    ("hinge", lambda: F.hinge_loss(t([0.5, 2, -1]), t([1, 1, 1]), reduction="none"), [0.5, 0.0, 2.0]),
    # {0, 1} labels: [1, 0] -> [+1, -1]: [max(0, 1 - .5), max(0, 1 + 2)] = [.5, 3]; squared [.25, 9]
    ("hinge 0/1", lambda: F.hinge_loss(t([0.5, 2]), i64([1, 0]), reduction="none"), [0.5, 3.0]),
    ("hinge squared", lambda: F.hinge_loss(t([0.5, 2]), i64([1, 0]), squared=True, reduction="none"), [0.25, 9.0]),
    # margin 2: [max(0, 2 - .5)] = 1.5
    ("hinge margin", lambda: F.hinge_loss(t([0.5]), t([1]), margin=2.0), 1.5),
    # log_cosh(1) = ln((e + e⁻¹)/2)
    ("log_cosh", lambda: F.log_cosh_loss(t([1]), t([0])), math.log((math.e + 1 / math.e) / 2)),
    # focal(0, 1): p_t = ½, ce = ln 2: 0.25·(½)²·ln 2 = ln2/16; alpha=-1: ln2/4
    ("focal", lambda: F.sigmoid_focal_loss(t([0]), t([1])), [LN2 / 16]),
    ("focal alpha=-1", lambda: F.sigmoid_focal_loss(t([0]), t([1]), alpha=-1), [LN2 / 4]),
    # target 0: alpha_t = 0.75: 0.75·¼·ln 2
    ("focal y=0", lambda: F.sigmoid_focal_loss(t([0]), t([0])), [0.75 * 0.25 * LN2]),
    # dice: perfect -> 1 - (2 + 1)/(1 + 1 + 1) = 0; [½, ½] vs [1, 0]: 1 - (1 + 1)/(1 + 1 + 1) = 1/3
    ("dice perfect", lambda: F.dice_loss(t([[1, 0]]), t([[1, 0]])), 0.0),
    ("dice half", lambda: F.dice_loss(t([[0.5, 0.5]]), t([[1, 0]])), 1 / 3),
    # per sample: [0, 1/3], mean 1/6, sum 1/3
    ("dice none", lambda: F.dice_loss(t([[1, 0], [0.5, 0.5]]), t([[1, 0], [1, 0]]), reduction="none"), [0.0, 1 / 3]),
    ("dice sum", lambda: F.dice_loss(t([[1, 0], [0.5, 0.5]]), t([[1, 0], [1, 0]]), reduction="sum"), 1 / 3),
    # smooth=0: 1 - 2·0.5/(1 + 1) = 0.5
    ("dice smooth=0", lambda: F.dice_loss(t([[0.5, 0.5]]), t([[1, 0]]), smooth=0.0), 0.5),
    # contrastive: d = ‖(.3, .4)‖ = .5; label 0: (1 - .5)² = .25; label 1: d² = .25
    ("contrastive", lambda: F.contrastive_loss(t([[0, 0], [0, 0]]), t([[0.3, 0.4], [0.3, 0.4]]), t([0, 1]),
                                               reduction="none"), [0.25, 0.25]),
    # margin 2: (2 - .5)² = 2.25; beyond the margin: 0
    ("contrastive margin", lambda: F.contrastive_loss(t([[0, 0], [0, 0]]), t([[0.3, 0.4], [3, 4]]), t([0, 0]),
                                                      margin=2.0, reduction="none"), [2.25, 0.0]),
    # cost-sensitive: softmax([0, 0]) = [½, ½], true class 1: ½·10 + ½·0 = 5
    ("cost_sensitive", lambda: F.cost_sensitive_cross_entropy(t([[0, 0]]), i64([1]), [[0, 1], [10, 0]]), 5.0),
    # true class 0: ½·0 + ½·1 = 0.5; mean of the two: 2.75
    ("cost_sensitive mean", lambda: F.cost_sensitive_cross_entropy(t([[0, 0], [0, 0]]), i64([1, 0]),
                                                                   [[0, 1], [10, 0]]), 2.75),
]


@pytest.mark.parametrize("fn, expected", [pytest.param(f, e, id=n) for n, f, e in HAND])
def test_hand_computed_value(fn, expected):
    out = fn()
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-14)


HAND_GRADS = [
    # mse mean: d/dx = 2(x - y)/n = [2·1/2, 2·(-2)/2] = [1, -2]
    ("mse", lambda x: F.mse_loss(x, t([0, 4])), [1, 2], [1.0, -2.0]),
    # l1 sum: sign(x - y) = [1, -1]
    ("l1", lambda x: F.l1_loss(x, t([0, 4]), reduction="sum"), [1, 2], [1.0, -1.0]),
    # huber sum: inside d = 0.5, outside delta·sign = -1
    ("huber", lambda x: F.huber_loss(x, t([0, 0]), reduction="sum"), [0.5, -3], [0.5, -1.0]),
    # ce: softmax - onehot = [e²/(e²+2) - 1, 1/(e²+2), 1/(e²+2)]
    ("ce", lambda x: F.cross_entropy(x, i64([0])), [[2, 0, 0]],
     [[math.exp(2) / (math.exp(2) + 2) - 1, 1 / (math.exp(2) + 2), 1 / (math.exp(2) + 2)]]),
    # bce_with_logits: σ(0) - 1 = -½
    ("bce logits", lambda x: F.binary_cross_entropy_with_logits(x, t([1])), [0], [-0.5]),
    # hinge sum: -y where y·x < 1: [-1, 0, -1]
    ("hinge", lambda x: F.hinge_loss(x, t([1, 1, 1]), reduction="sum"), [0.5, 2, -1], [-1.0, 0.0, -1.0]),
    # cost_sensitive: p·(C[y] - loss) = ½·(10 - 5), ½·(0 - 5) = [2.5, -2.5]
    ("cost_sensitive", lambda x: F.cost_sensitive_cross_entropy(x, i64([1]), [[0, 1], [10, 0]]), [[0, 0]],
     [[2.5, -2.5]]),
    # log_cosh: tanh(1)
    ("log_cosh", lambda x: F.log_cosh_loss(x, t([0])), [1], [math.tanh(1)]),
]


@pytest.mark.parametrize("fn, x, expected", [pytest.param(f, x, e, id=n) for n, f, x, e in HAND_GRADS])
def test_hand_computed_gradient(fn, x, expected):
    x = tl.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    fn(x).backward()
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-12, atol=1e-14)


IGNORED_SHAPES = [  # (id, input shape, target: every entry ignore_index, given as a function of it)
    ("batched (N, C)", (2, 3), lambda ignore: [ignore, ignore]),
    ("unbatched (C,)", (3,), lambda ignore: ignore),
    ("K-dim (N, C, d1, d2)", (2, 3, 2, 2), lambda ignore: np.full((2, 2, 2), ignore)),
]
IGNORED_OPTIONS = [  # (id, loss, options); label_smoothing is cross_entropy's only
    ("cross_entropy", "cross_entropy", {}),
    ("cross_entropy weight", "cross_entropy", {"weight": W3}),
    ("cross_entropy label_smoothing", "cross_entropy", {"label_smoothing": 0.3}),
    ("cross_entropy weight+label_smoothing", "cross_entropy", {"weight": W3, "label_smoothing": 0.3}),
    ("cross_entropy ignore_index=1", "cross_entropy", {"ignore_index": 1}),
    ("nll_loss", "nll_loss", {}),
    ("nll_loss weight", "nll_loss", {"weight": W3}),
    ("nll_loss ignore_index=1 weight", "nll_loss", {"ignore_index": 1, "weight": W3}),
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape, make_target", [pytest.param(s, m, id=i) for i, s, m in IGNORED_SHAPES])
@pytest.mark.parametrize("name, options", [pytest.param(n, o, id=i) for i, n, o in IGNORED_OPTIONS])
def test_every_target_ignored(torch, name, options, shape, make_target, reduction):
    # 'mean' is 0/0 = NaN in PyTorch; 'sum' is 0 and 'none' all zeros; the gradient is exactly
    # zero for every reduction: one all-padding batch must not turn the parameters into NaN
    x = np.random.default_rng(11).normal(size=shape)
    target = np.asarray(make_target(options.get("ignore_index", -100)), dtype=np.int64)
    upstream = np.linspace(0.5, 1.5, target.size).reshape(target.shape) if reduction == "none" else np.array(1.0)
    ours = tl.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 0/0 in 'mean'
        out = getattr(F, name)(ours, tl.tensor(target), reduction=reduction, **tl_kwargs(options, np.float64))
    out.backward(tl.tensor(upstream))
    ref_x = torch.tensor(x, requires_grad=True)
    ref = getattr(torch.nn.functional, name)(ref_x, torch.tensor(target), reduction=reduction,
                                             **torch_kwargs(options, np.float64))
    ref.backward(torch.tensor(upstream))
    np.testing.assert_array_equal(out.data, ref.detach().numpy())  # NaN where torch has NaN
    assert (np.isnan(out.data) if reduction == "mean" else out.data == 0).all()
    np.testing.assert_array_equal(ref_x.grad.numpy(), np.zeros(shape))
    np.testing.assert_array_equal(ours.grad.data, np.zeros(shape))


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_every_target_ignored_zero_gradient_under_create_graph(name):
    # the recorded backward (for second derivatives) gives the same zeros
    x = tl.tensor(np.random.default_rng(12).normal(size=(2, 3)), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = getattr(F, name)(x, i64([-100, -100]))
    (g,) = tl.autograd.grad(out, [x], create_graph=True)
    assert math.isnan(out.item())
    np.testing.assert_array_equal(g.data, np.zeros((2, 3)))


@pytest.mark.parametrize("name, options", [pytest.param(n, o, id=i) for i, n, o in IGNORED_OPTIONS])
def test_all_but_one_ignored_is_unchanged(torch, name, options):
    # the zero-gradient case is only "every target ignored": one kept sample gets the full mean gradient
    x = np.random.default_rng(13).normal(size=(3, 3))
    ignore = options.get("ignore_index", -100)
    target = np.array([ignore, 2, ignore], dtype=np.int64)
    ours = tl.tensor(x, requires_grad=True)
    getattr(F, name)(ours, tl.tensor(target), **tl_kwargs(options, np.float64)).backward()
    ref_x = torch.tensor(x, requires_grad=True)
    getattr(torch.nn.functional, name)(ref_x, torch.tensor(target), **torch_kwargs(options, np.float64)).backward()
    np.testing.assert_allclose(ours.grad.data, ref_x.grad.numpy(), rtol=RTOL64, atol=ATOL64)
    assert np.abs(ours.grad.data[1]).sum() > 0


# ----------------------------------------------------------------------------- numerical stability

BIG = 1e4
STABLE = [
    # (name, fn(x) with x = logits [[1e4, -1e4, 0], [-1e4, 1e4, 0]], expected value or None)
    # ce: sample 0 target 1: logsumexp ≈ 1e4, minus -1e4 -> 2e4; sample 1 target 1 -> 0. mean 1e4
    ("cross_entropy", lambda x: F.cross_entropy(x, i64([1, 1])), 1e4),
    ("cross_entropy label_smoothing", lambda x: F.cross_entropy(x, i64([1, 1]), label_smoothing=0.1), None),
    ("cross_entropy probabilities", lambda x: F.cross_entropy(x, t([[0, 1, 0], [0.5, 0.5, 0]], x.dtype)), None),
    # bce_with_logits = softplus(x) - y·x per element: (1e4, 0) -> 1e4; (-1e4, 1) -> 1e4; (0, ·) -> ln 2;
    # (-1e4, 0) -> 0; (1e4, 1) -> 0: sum 2e4 + 2 ln 2
    ("bce_with_logits", lambda x: F.binary_cross_entropy_with_logits(x, t([[0, 1, 0], [0, 1, 1]], x.dtype),
                                                                     reduction="sum"), 2e4 + LN2 * 2),
    ("bce_with_logits pos_weight", lambda x: F.binary_cross_entropy_with_logits(
        x, t([[0, 1, 0], [0, 1, 1]], x.dtype), pos_weight=t([2, 2, 2], x.dtype)), None),
    # soft_margin: ln(1 + exp(-y·x)): y = -1 on 1e4 -> 1e4
    ("soft_margin", lambda x: F.soft_margin_loss(x, t([[-1, -1, 1], [1, 1, 1]], x.dtype), reduction="sum"),
     1e4 + 0 + LN2 + 1e4 + 0 + LN2),
    ("multilabel_soft_margin", lambda x: F.multilabel_soft_margin_loss(x, t([[0, 0, 1], [1, 1, 1]], x.dtype)), None),
    ("sigmoid_focal", lambda x: F.sigmoid_focal_loss(x, t([[0, 0, 1], [1, 1, 1]], x.dtype), reduction="sum"), None),
    # log_cosh at d = ±1e4: |d| - ln 2
    ("log_cosh", lambda x: F.log_cosh_loss(x, t(np.zeros((2, 3)), x.dtype), reduction="none"),
     [[1e4 - LN2, 1e4 - LN2, 0], [1e4 - LN2, 1e4 - LN2, 0]]),
    ("cost_sensitive_cross_entropy", lambda x: F.cost_sensitive_cross_entropy(x, i64([1, 0]), np.ones((3, 3))
                                                                              - np.eye(3)), 1.0),
    ("hinge", lambda x: F.hinge_loss(x, t([[1, 1, -1], [-1, 1, 1]], x.dtype), reduction="none"),
     [[0, 1e4 + 1, 1], [0, 0, 1]]),
    ("hinge squared", lambda x: F.hinge_loss(x, t([[1, 1, -1], [-1, 1, 1]], x.dtype), squared=True), None),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("fn, expected", [pytest.param(f, e, id=n) for n, f, e in STABLE])
def test_stable_at_large_logits(fn, expected, dtype):
    x = tl.tensor(np.array([[BIG, -BIG, 0.0], [-BIG, BIG, 0.0]], dtype=dtype), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow inside numpy either
        out = fn(x)
        assert out.dtype == dtype
        assert np.isfinite(out.data).all(), out.data
        out.backward(tl.tensor(np.ones(out.shape, dtype=dtype)))
    assert np.isfinite(x.grad.data).all(), x.grad.data
    if expected is not None:
        np.testing.assert_allclose(out.data, expected, rtol=1e-6)


def test_log_cosh_gradient_at_large_difference():
    # d/dd ln cosh d = tanh d = ±1 at d = ±1e4
    x = tl.tensor(np.array([1e4, -1e4]), requires_grad=True)
    F.log_cosh_loss(x, t([0, 0]), reduction="sum").backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, -1.0])


def test_cross_entropy_gradient_at_large_logits(torch):
    x = np.array([[BIG, -BIG, 0.0], [-BIG, BIG, 0.0]])
    ours = tl.tensor(x, requires_grad=True)
    F.cross_entropy(ours, i64([1, 1])).backward()
    ref = torch.tensor(x, requires_grad=True)
    torch.nn.functional.cross_entropy(ref, torch.tensor([1, 1])).backward()
    np.testing.assert_allclose(ours.grad.data, ref.grad.numpy(), rtol=RTOL64, atol=ATOL64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_at_exact_0_and_1(torch, dtype, reduction):
    # p = 0 or 1: the logs are clamped at -100, so a wrong certain prediction costs 100
    p = np.array([0.0, 0.0, 1.0, 1.0, 0.5], dtype=dtype)
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.3], dtype=dtype)
    ours = tl.tensor(p, requires_grad=True)
    out = F.binary_cross_entropy(ours, tl.tensor(y), reduction=reduction)
    assert np.isfinite(out.data).all()
    if reduction == "none":
        np.testing.assert_allclose(out.data[:4], [100.0, 0.0, 100.0, 0.0], rtol=1e-6)
    upstream = np.linspace(0.5, 1.5, out.data.size).reshape(out.shape).astype(dtype)
    out.backward(tl.tensor(upstream))
    assert np.isfinite(ours.grad.data).all()
    ref_p = torch.tensor(p, requires_grad=True)
    ref = torch.nn.functional.binary_cross_entropy(ref_p, torch.tensor(y), reduction=reduction)
    ref.backward(torch.tensor(upstream))
    rtol, atol = (RTOL64, ATOL64) if dtype == np.float64 else (RTOL32, ATOL32)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(ours.grad.data, ref_p.grad.numpy(), rtol=rtol, atol=atol)


# ----------------------------------------------------------------------------- sigmoid focal loss at saturation
# (1 - p_t)^γ has an infinite slope at 1 - p_t = 0 when γ < 1, where a saturated logit puts it;
# the loss itself behaves like e^{-(1+γ)|x|} there, so its true gradient is finite (and tiny)

FOCAL_GAMMAS = [0.0, 0.5, 1.0, 1.5, 2.0]
SATURATED = np.array([1e4, -1e4, 800.0, -800.0, 50.0, -50.0, 37.5, -37.5, 0.3, -0.3])


def _focal_hard_reference(x: np.ndarray, y: np.ndarray, alpha: float, gamma: float) -> tuple:
    """Value and d/dx for 0/1 targets, derived by hand. With z = x for y = 0 and z = -x for y = 1
    (the logit of the wrong class), ce = softplus(z) and 1 - p_t = σ(z), so
        loss = α_t·softplus(z)·σ(z)^γ,   d loss/dz = α_t·σ(z)^γ·(σ(z) + γ·σ(-z)·softplus(z))
    and d loss/dx = ±d loss/dz. numpy's logaddexp keeps each factor exact at any z."""
    z = np.where(y == 1, -x, x)
    alpha_t = np.where(y == 1, alpha, 1 - alpha)
    softplus_z = np.logaddexp(0, z)
    sigma_z, sigma_minus_z = np.exp(-np.logaddexp(0, -z)), np.exp(-np.logaddexp(0, z))
    sigma_z_gamma = np.exp(-gamma * np.logaddexp(0, -z))
    value = alpha_t * softplus_z * sigma_z_gamma
    slope = alpha_t * sigma_z_gamma * (sigma_z + gamma * sigma_minus_z * softplus_z)
    return value, np.where(y == 1, -slope, slope)


@pytest.mark.parametrize("gamma", FOCAL_GAMMAS)
def test_sigmoid_focal_saturated_logits_match_the_hand_derived_limit(gamma):
    x = np.concatenate([SATURATED, SATURATED])
    y = np.repeat([1.0, 0.0], len(SATURATED))
    ours = tl.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow or 0·∞ inside numpy either
        out = F.sigmoid_focal_loss(ours, t(y), gamma=gamma)
        out.sum().backward()
    value, slope = _focal_hard_reference(x, y, 0.25, gamma)
    assert np.isfinite(out.data).all() and np.isfinite(ours.grad.data).all(), (out.data, ours.grad.data)
    np.testing.assert_allclose(out.data, value, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(ours.grad.data, slope, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("soft", [False, True], ids=["0/1 targets", "soft targets"])
@pytest.mark.parametrize("gamma", FOCAL_GAMMAS)
def test_sigmoid_focal_finite_at_saturation_and_matches_torch_where_torch_is_finite(torch, gamma, soft, dtype):
    # the API contract: finite loss and gradients (logits and targets) at logits of ±1e4, every γ.
    # torchvision's 1 - p_t rounds to 0 at |x| ≳ 37 (float64): its value there is 0 where ours is
    # the tiny exact one (within atol), and for γ < 1 its gradient is NaN (not compared)
    x = SATURATED.astype(dtype)
    y = (np.linspace(0.05, 0.95, len(x)) if soft else np.arange(len(x)) % 2 * 1.0).astype(dtype)
    ours_x, ours_y = tl.tensor(x, requires_grad=True), tl.tensor(y, requires_grad=True)
    upstream = np.linspace(0.5, 1.5, len(x)).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        out = F.sigmoid_focal_loss(ours_x, ours_y, gamma=gamma)
        out.backward(tl.tensor(upstream))
    assert out.dtype == ours_x.grad.dtype == ours_y.grad.dtype == dtype
    for name, a in (("value", out.data), ("input gradient", ours_x.grad.data), ("target gradient", ours_y.grad.data)):
        assert np.isfinite(a).all(), f"{name}: {a}"
    ref_x, ref_y = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    ref = ref_sigmoid_focal(ref_x, ref_y, gamma=gamma)
    ref.backward(torch.tensor(upstream))
    # atol scaled by the 1e4-sized terms, which can cancel down to rounding noise: with γ = 1, target 1
    # and x = -1e4, the target gradient is (2α - 1)·1e4 from α_t plus α_t·2e4 from the rest = 0
    rtol, atol = (RTOL64, ATOL64 * BIG) if dtype == np.float64 else (RTOL32, ATOL32 * BIG)
    for ours, theirs in ((out.data, ref.detach().numpy()), (ours_x.grad.data, ref_x.grad.numpy()),
                         (ours_y.grad.data, ref_y.grad.numpy())):
        finite = np.isfinite(theirs)
        assert finite.all() or (gamma < 1 and not soft)
        np.testing.assert_allclose(ours[finite], theirs[finite], rtol=rtol, atol=atol)


@pytest.mark.parametrize("soft", [False, True], ids=["0/1 targets", "soft targets"])
@pytest.mark.parametrize("gamma", FOCAL_GAMMAS)
def test_sigmoid_focal_gradcheck_from_moderate_to_large_logits(gamma, soft):
    x = np.array([-40.0, -20.0, -6.0, -1.0, -0.2, 0.2, 1.0, 6.0, 20.0, 40.0])
    y = np.linspace(0.05, 0.95, len(x)) if soft else np.arange(len(x)) % 2 * 1.0
    # 0/1 targets sit on the edge of the targets' domain [0, 1]: not perturbed
    inputs = [tl.tensor(x, requires_grad=True), tl.tensor(y, requires_grad=soft)]
    assert gradcheck(lambda a, b: F.sigmoid_focal_loss(a, b, gamma=gamma, reduction="none"), inputs)


@pytest.mark.parametrize("soft", [False, True], ids=["0/1 targets", "soft targets"])
@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_sigmoid_focal_second_derivatives_match_torch(torch, gamma, soft):
    # backward is written with Tensor-compatible numpy, so create_graph=True records it
    rng = np.random.default_rng(5)
    x, v = rng.normal(0, 2, 6), rng.normal(size=6)
    y = rng.uniform(0.05, 0.95, 6) if soft else np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0])
    ours_x, ours_y = tl.tensor(x, requires_grad=True), tl.tensor(y, requires_grad=soft)
    wrt = [ours_x, ours_y] if soft else [ours_x]
    first = tl.autograd.grad(F.sigmoid_focal_loss(ours_x, ours_y, gamma=gamma, reduction="sum"), wrt,
                             create_graph=True)
    second = tl.autograd.grad(sum((g * tl.tensor(v)).sum() for g in first), wrt)
    ref_x, ref_y = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=soft)
    ref_wrt = [ref_x, ref_y] if soft else [ref_x]
    ref_first = torch.autograd.grad(ref_sigmoid_focal(ref_x, ref_y, gamma=gamma).sum(), ref_wrt,
                                    create_graph=True)
    ref_second = torch.autograd.grad(sum((g * torch.tensor(v)).sum() for g in ref_first), ref_wrt)
    for ours, theirs in zip(second, ref_second, strict=True):
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=RTOL64, atol=ATOL64)


# ----------------------------------------------------------------------------- errors


def x23():
    return tl.tensor(np.zeros((2, 3)))


def probs23():
    return tl.tensor(np.full((2, 3), 0.5))


ERRORS = [
    # (id, call, exception type, function name the message must contain)
    ("mse target shape", lambda: F.mse_loss(x23(), t(np.zeros(4))), ShapeError, "mse_loss"),
    ("mse target would broadcast input", lambda: F.mse_loss(x23(), t(np.zeros((4, 2, 3)))), ShapeError, "mse_loss"),
    ("l1 target shape", lambda: F.l1_loss(x23(), t(np.zeros((3, 2)))), ShapeError, "l1_loss"),
    ("cross_entropy target shape", lambda: F.cross_entropy(x23(), i64([0, 1, 2])), ShapeError, "cross_entropy"),
    ("cross_entropy K-dim target shape", lambda: F.cross_entropy(t(np.zeros((2, 3, 4))), i64(np.zeros((2, 3)))),
     ShapeError, "cross_entropy"),
    ("cross_entropy probability target shape", lambda: F.cross_entropy(x23(), t(np.full((2, 4), 0.25))),
     ShapeError, "cross_entropy"),
    ("cross_entropy unbatched target shape", lambda: F.cross_entropy(t(np.zeros(3)), i64([0])),
     ShapeError, "cross_entropy"),
    ("bce target shape", lambda: F.binary_cross_entropy(probs23(), t(np.zeros((2, 4)))), ShapeError,
     "binary_cross_entropy"),
    ("bce_with_logits target shape", lambda: F.binary_cross_entropy_with_logits(x23(), t(np.zeros(2))), ShapeError,
     "binary_cross_entropy_with_logits"),
    ("cross_entropy class index too large", lambda: F.cross_entropy(x23(), i64([0, 3])), IndexOutOfRangeError,
     "cross_entropy"),
    ("cross_entropy class index negative", lambda: F.cross_entropy(x23(), i64([-1, 0])), IndexOutOfRangeError,
     "cross_entropy"),
    ("cross_entropy negative index is not ignore_index", lambda: F.cross_entropy(x23(), i64([-2, 0]), ignore_index=-1),
     IndexOutOfRangeError, "cross_entropy"),
    ("nll class index too large", lambda: F.nll_loss(x23(), i64([5, 0])), IndexOutOfRangeError, "nll_loss"),
    ("nll class index negative", lambda: F.nll_loss(x23(), i64([0, -3])), IndexOutOfRangeError, "nll_loss"),
    ("multi_margin class index", lambda: F.multi_margin_loss(x23(), i64([0, 3])), IndexOutOfRangeError,
     "multi_margin_loss"),
    ("cost_sensitive class index", lambda: F.cost_sensitive_cross_entropy(x23(), i64([0, 3]), np.ones((3, 3))),
     IndexOutOfRangeError, "cost_sensitive_cross_entropy"),
    ("nll float targets", lambda: F.nll_loss(x23(), t([0.0, 1.0])), DTypeError, "nll_loss"),
    ("multi_margin float targets", lambda: F.multi_margin_loss(x23(), t([0.0, 1.0])), DTypeError, "multi_margin_loss"),
    ("cost_sensitive float targets", lambda: F.cost_sensitive_cross_entropy(x23(), t([0.0, 1.0]), np.ones((3, 3))),
     DTypeError, "cost_sensitive_cross_entropy"),
    ("bce int targets", lambda: F.binary_cross_entropy(probs23(), i64(np.ones((2, 3)))), DTypeError,
     "binary_cross_entropy"),
    ("bce_with_logits int targets", lambda: F.binary_cross_entropy_with_logits(x23(), i64(np.ones((2, 3)))),
     DTypeError, "binary_cross_entropy_with_logits"),
    ("kl_div int targets", lambda: F.kl_div(x23(), i64(np.ones((2, 3)))), DTypeError, "kl_div"),
    ("cross_entropy int targets of the input's shape", lambda: F.cross_entropy(x23(), i64(np.ones((2, 3)))),
     (ShapeError, DTypeError), "cross_entropy"),
    ("cross_entropy int input", lambda: F.cross_entropy(i64(np.zeros((2, 3))), i64([0, 1])), DTypeError,
     "cross_entropy"),
    ("mse int input", lambda: F.mse_loss(i64([1, 2]), t([1, 2])), DTypeError, "mse_loss"),
    ("cost matrix shape", lambda: F.cost_sensitive_cross_entropy(x23(), i64([0, 1]), np.ones((2, 2))), ShapeError,
     "cost_sensitive_cross_entropy"),
    ("cost matrix not square", lambda: F.cost_sensitive_cross_entropy(x23(), i64([0, 1]), np.ones((3, 2))),
     ShapeError, "cost_sensitive_cross_entropy"),
    ("hinge_embedding labels 0/1", lambda: F.hinge_embedding_loss(x23(), t(np.array([[0, 1, 1], [1, 0, 1]]))),
     ValueError, "hinge_embedding_loss"),
    ("hinge_embedding labels 2", lambda: F.hinge_embedding_loss(x23(), t(np.full((2, 3), 2.0))), ValueError,
     "hinge_embedding_loss"),
    ("soft_margin labels", lambda: F.soft_margin_loss(x23(), t(np.full((2, 3), 0.5))), ValueError,
     "soft_margin_loss"),
    ("margin_ranking labels", lambda: F.margin_ranking_loss(t([1.0]), t([2.0]), t([0.0])), ValueError,
     "margin_ranking_loss"),
    ("cosine_embedding labels", lambda: F.cosine_embedding_loss(x23(), x23(), t([1.0, 0.0])), ValueError,
     "cosine_embedding_loss"),
    ("hinge labels", lambda: F.hinge_loss(t([1.0, 2.0]), t([2.0, 1.0])), ValueError, "hinge_loss"),
    ("contrastive labels", lambda: F.contrastive_loss(x23(), x23(), t([1.0, -1.0])), ValueError, "contrastive_loss"),
    ("label_smoothing negative", lambda: F.cross_entropy(x23(), i64([0, 1]), label_smoothing=-0.1), ValueError,
     "cross_entropy"),
    ("label_smoothing above 1", lambda: F.cross_entropy(x23(), i64([0, 1]), label_smoothing=1.5), ValueError,
     "cross_entropy"),
    ("cross_entropy weight length", lambda: F.cross_entropy(x23(), i64([0, 1]), weight=t([1.0, 2.0])), ShapeError,
     "cross_entropy"),
    ("cross_entropy probabilities weight length", lambda: F.cross_entropy(x23(), t(np.full((2, 3), 1 / 3)),
                                                                          weight=t(np.ones(4))),
     ShapeError, "cross_entropy"),
    ("nll weight length", lambda: F.nll_loss(x23(), i64([0, 1]), weight=t(np.ones(4))), ShapeError, "nll_loss"),
    ("multi_margin weight length", lambda: F.multi_margin_loss(x23(), i64([0, 1]), weight=t(np.ones(2))), ShapeError,
     "multi_margin_loss"),
    ("bce weight shape", lambda: F.binary_cross_entropy(probs23(), probs23(), weight=t(np.ones(4))), ShapeError,
     "binary_cross_entropy"),
    ("bce_with_logits pos_weight shape", lambda: F.binary_cross_entropy_with_logits(x23(), probs23(),
                                                                                    pos_weight=t(np.ones(2))),
     ShapeError, "binary_cross_entropy_with_logits"),
    ("multilabel weight shape", lambda: F.multilabel_soft_margin_loss(x23(), probs23(), weight=t(np.ones(5))),
     ShapeError, "multilabel_soft_margin_loss"),
    ("bce probabilities out of [0, 1]", lambda: F.binary_cross_entropy(t([1.5, 0.5]), t([1.0, 0.0])), ValueError,
     "binary_cross_entropy"),
    ("gaussian var shape", lambda: F.gaussian_nll_loss(x23(), x23(), t(np.ones((3, 2)))), ShapeError,
     "gaussian_nll_loss"),
    ("gaussian negative var", lambda: F.gaussian_nll_loss(x23(), x23(), t(-np.ones((2, 3)))), ValueError,
     "gaussian_nll_loss"),
    ("triplet shapes", lambda: F.triplet_margin_loss(x23(), x23(), t(np.zeros((2, 4)))), ShapeError,
     "triplet_margin_loss"),
    ("huber delta", lambda: F.huber_loss(x23(), x23(), delta=0.0), ValueError, "huber_loss"),
    ("smooth_l1 beta", lambda: F.smooth_l1_loss(x23(), x23(), beta=-1.0), ValueError, "smooth_l1_loss"),
    ("multi_margin p", lambda: F.multi_margin_loss(x23(), i64([0, 1]), p=3), ValueError, "multi_margin_loss"),
    ("contrastive label shape", lambda: F.contrastive_loss(x23(), x23(), t([1.0, 0.0, 1.0])), ShapeError,
     "contrastive_loss"),
    ("cost_sensitive logits ndim", lambda: F.cost_sensitive_cross_entropy(t(np.zeros(3)), i64(0), np.ones((3, 3))),
     ShapeError, "cost_sensitive_cross_entropy"),
    ("focal targets above 1", lambda: F.sigmoid_focal_loss(x23(), t(np.full((2, 3), 1.5))), ValueError,
     "sigmoid_focal_loss"),
    ("focal targets below 0", lambda: F.sigmoid_focal_loss(x23(), t(np.full((2, 3), -0.5))), ValueError,
     "sigmoid_focal_loss"),
    ("focal NaN targets", lambda: F.sigmoid_focal_loss(x23(), t(np.full((2, 3), np.nan))), ValueError,
     "sigmoid_focal_loss"),
]


@pytest.mark.parametrize("call, error, name", [pytest.param(c, e, n, id=i) for i, c, e, n in ERRORS])
def test_error(call, error, name):
    with pytest.raises(error) as info:
        call()
    assert name in str(info.value), str(info.value)


def _none_params():
    """(loss, position) for every positional argument of every loss (its first catalogue case)."""
    params = []
    for name in ALL_LOSSES:
        case = next(c for c in CASES if c.loss == name)
        params += [pytest.param(case, i, id=f"{name}-arg{i}") for i in range(len(case.arrays()))]
    return params


@pytest.mark.parametrize("case, position", _none_params())
def test_none_argument_is_refused(case, position):
    # numpy would turn None into a NaN tensor (mse_loss(x, None) was a silent NaN): a DTypeError
    # (a TypeError) naming the function, the argument and what was given
    import inspect

    args = tl_args(case.arrays(), (), np.float64)
    args[position] = None
    with pytest.raises(DTypeError) as info:
        case.fn()(*args, **tl_kwargs(case.kwargs, np.float64))
    argument = list(inspect.signature(case.fn()).parameters)[position]
    message = str(info.value)
    assert case.loss in message and f"{argument} must be" in message and "got None" in message, message
    assert isinstance(info.value, TypeError)


def test_mse_loss_target_none_raises_also_through_the_module():
    with pytest.raises(TypeError, match=r"mse_loss: target must be a tensor or an array of numbers, got None"):
        F.mse_loss(tl.zeros(2, 3), None)
    with pytest.raises(TypeError, match="mse_loss"):
        nn.MSELoss()(tl.zeros(2, 3), None)


def _call_with_reduction(case: LossCase, reduction: str):
    arrays = case.arrays()
    kwargs = tl_kwargs({**case.kwargs, "reduction": reduction}, np.float64)
    return case.fn()(*tl_args(arrays, (), np.float64), **kwargs)


@pytest.mark.parametrize("case", _case_params([next(c for c in CASES if c.loss == name) for name in ALL_LOSSES],
                                              reductions=False))
@pytest.mark.parametrize("reduction", ["avg", "Mean", "elementwise_mean", None])
def test_bad_reduction(case, reduction):
    with pytest.raises(ValueError, match=re.escape(case.loss)) as info:
        _call_with_reduction(case, reduction)
    assert "reduction" in str(info.value)


def test_error_classes_are_builtin_ones():
    assert issubclass(ShapeError, ValueError)
    assert issubclass(DTypeError, TypeError)
    assert issubclass(IndexOutOfRangeError, IndexError)


# ----------------------------------------------------------------------------- docstrings

DOC_NAMES = [n for n in F.__all__ if n.endswith("_loss") or n in (
    "cross_entropy", "nll_loss", "kl_div", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "cost_sensitive_cross_entropy")]


def test_doc_names_cover_every_loss():
    assert set(ALL_LOSSES) <= set(DOC_NAMES)


@pytest.mark.parametrize("name", DOC_NAMES)
def test_docstring_sections(name):
    doc = getattr(F, name).__doc__
    assert doc, name
    positions = []
    for section in ("Formula:", "When to use:", "Gradient:", "Example:"):
        assert section in doc, f"{name}: no {section!r} section"
        positions.append(doc.index(section))
    assert positions == sorted(positions), f"{name}: sections out of order"
    example = doc[doc.index("Example:"):]
    assert ">>> " in example and f"{name}(" in example, f"{name}: the example has no doctest calling it"


# ----------------------------------------------------------------------------- hypothesis


@st.composite
def ce_problem(draw):
    n = draw(st.integers(1, 6))
    c = draw(st.integers(2, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, draw(st.sampled_from([0.1, 1.0, 5.0, 30.0])), (n, c))
    target = rng.integers(0, c, n)
    ignore_index = draw(st.sampled_from([-100, 0, c - 1]))
    if draw(st.booleans()):
        target[rng.random(n) < 0.3] = ignore_index
    if draw(st.integers(0, 4)) == 0:  # every target ignored: 'mean' is 0/0 = NaN in both, the gradient 0
        target[:] = ignore_index
    weight = rng.uniform(0.1, 3.0, c) if draw(st.booleans()) else None
    label_smoothing = draw(st.sampled_from([0.0, 0.0, 0.05, 0.3, 0.9]))
    reduction = draw(st.sampled_from(["mean", "sum", "none"]))
    return logits, target, weight, ignore_index, label_smoothing, reduction


@settings(max_examples=30, deadline=None)
@given(ce_problem())
def test_cross_entropy_property_matches_torch(torch, problem):
    logits, target, weight, ignore_index, label_smoothing, reduction = problem
    x = tl.tensor(logits, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 0/0 when every target is ignored
        out = F.cross_entropy(x, tl.tensor(target), weight=None if weight is None else tl.tensor(weight),
                              ignore_index=ignore_index, label_smoothing=label_smoothing, reduction=reduction)
    rx = torch.tensor(logits, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(rx, torch.tensor(target),
                                            weight=None if weight is None else torch.tensor(weight),
                                            ignore_index=ignore_index, label_smoothing=label_smoothing,
                                            reduction=reduction)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=RTOL64, atol=ATOL64)
    upstream = np.linspace(-1.0, 2.0, out.data.size).reshape(out.shape)
    out.backward(tl.tensor(upstream))
    ref.backward(torch.tensor(upstream))
    np.testing.assert_allclose(x.grad.data, rx.grad.numpy(), rtol=RTOL64, atol=ATOL64)
