"""``nn.Module`` against ``torch.nn.Module``: names of parameters and modules, train/eval,
zero_grad, state_dict / load_state_dict, repr, and a small CNN end to end (training with manual
SGD, and forward + backward equal to PyTorch's with copied weights).

Tests that need PyTorch take the ``torch`` fixture of conftest.py (skipped cleanly without it).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from helpers import to_f64

import tinygrad_loss as tl
from tinygrad_loss import nn
from tinygrad_loss.errors import ShapeError
from tinygrad_loss.nn import functional as F  # noqa: N812 - PyTorch's convention

F64_TOL = {"rtol": 1e-10, "atol": 1e-12}


# --------------------------------------------------------------------------- models


class Net(nn.Module):
    """Sequential inside a custom Module, an own Parameter, BatchNorm buffers and Dropout."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(np.full(1, 2.0, np.float32))
        self.body = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Dropout(0.5))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(4 * 3 * 3, 5))

    def forward(self, x):
        return self.head(self.body(x)) * self.scale


def torch_net(torch):
    class TorchNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.full((1,), 2.0))
            self.body = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4),
                                            torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Dropout(0.5))
            self.head = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4 * 3 * 3, 5))

        def forward(self, x):
            return self.head(self.body(x)) * self.scale

    return TorchNet()


def copy_into_torch(torch, ours, theirs):
    targets = theirs.state_dict(keep_vars=True)
    with torch.no_grad():
        for name, value in ours.state_dict().items():
            targets[name].copy_(torch.tensor(value.data))
    return theirs


def cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 4 * 4, 3))


def torch_cnn(torch):
    return torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                               torch.nn.Flatten(), torch.nn.Linear(4 * 4 * 4, 3))


# --------------------------------------------------------------------------- traversal


def test_named_parameters_like_torch(torch):
    ours, theirs = Net(), torch_net(torch)
    names = [n for n, _ in ours.named_parameters()]
    assert names == [n for n, _ in theirs.named_parameters()]
    assert names == ["scale", "body.0.weight", "body.0.bias", "body.1.weight", "body.1.bias",
                     "head.1.weight", "head.1.bias"]
    params = list(ours.parameters())
    assert [p.shape for p in params] == [tuple(p.shape) for p in theirs.parameters()]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in params)
    assert params[1] is ours.body[0].weight
    assert sum(p.numel() for p in params) == sum(p.numel() for p in theirs.parameters())


def test_children_and_modules_like_torch(torch):
    ours, theirs = Net(), torch_net(torch)
    assert [type(m).__name__ for m in ours.children()] == [type(m).__name__ for m in theirs.children()]
    assert list(ours.children()) == [ours.body, ours.head]
    assert [type(m).__name__ for m in ours.modules()][1:] == [type(m).__name__ for m in theirs.modules()][1:]
    assert len(list(ours.modules())) == len(list(theirs.modules())) == 10
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert next(iter(ours.modules())) is ours
    assert [n for n, _ in ours.named_children()] == ["body", "head"]


def test_shared_parameter_listed_once_like_torch(torch):
    shared = nn.Linear(3, 3)
    ours = nn.Sequential(shared, nn.ReLU(), shared)
    t_shared = torch.nn.Linear(3, 3)
    theirs = torch.nn.Sequential(t_shared, torch.nn.ReLU(), t_shared)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert len(list(ours.parameters())) == 2


def test_parameter_registration():
    m = nn.Module()
    m.w = nn.Parameter(np.ones(3))
    m.not_a_param = tl.tensor(np.ones(2), requires_grad=True)  # a plain Tensor is not registered (as torch)
    m.sub = nn.Linear(2, 2)
    assert [n for n, _ in m.named_parameters()] == ["w", "sub.weight", "sub.bias"]
    m.w = None
    assert [n for n, _ in m.named_parameters()] == ["sub.weight", "sub.bias"]
    p = nn.Parameter(np.zeros(2))
    assert p.requires_grad and p.is_leaf
    assert repr(p).startswith("Parameter containing:\n")


def test_deleting_a_parameter_unregisters_it(torch):
    ours, theirs = nn.Linear(2, 2), torch.nn.Linear(2, 2)
    del ours.bias
    del theirs.bias
    assert [n for n, _ in theirs.named_parameters()] == ["weight"]
    assert [n for n, _ in ours.named_parameters()] == ["weight"]
    assert list(ours.state_dict()) == ["weight"]


def test_module_needs_super_init_and_forward():
    class NoInit(nn.Module):
        def __init__(self):
            self.lin = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match="super"):
        NoInit()

    class NoForward(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match="NoForward"):
        NoForward()(tl.zeros(2))


def test_sequential_container():
    layers = [nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)]
    seq = nn.Sequential(*layers)
    assert len(seq) == 3 and seq[0] is layers[0] and seq[-1] is layers[2]
    assert list(seq) == layers
    x = tl.tensor(np.random.default_rng(0).standard_normal((4, 2)))
    np.testing.assert_allclose(seq(x).data, layers[2](layers[1](layers[0](x))).data, rtol=1e-6)
    with pytest.raises(TypeError, match="argument 1"):
        nn.Sequential(nn.ReLU(), lambda x: x)


# --------------------------------------------------------------------------- train / eval


def test_train_eval_propagate_to_every_module(torch):
    ours = Net()
    assert all(m.training for m in ours.modules())
    assert ours.eval() is ours
    assert not any(m.training for m in ours.modules())
    assert ours.train() is ours
    assert all(m.training for m in ours.modules())
    ours.train(False)
    assert not ours.body[4].training and not ours.body[1].training
    ours.body.train()  # a submodule alone
    assert ours.body[4].training and not ours.training and not ours.head.training


def test_train_eval_change_dropout_and_batchnorm_behaviour(torch):
    rng = np.random.default_rng(1)
    ours = to_f64(Net())
    for p in ours.parameters():
        p.data[...] = rng.uniform(-1, 1, p.shape)
    theirs = copy_into_torch(torch, ours, torch_net(torch).double())
    x = rng.standard_normal((6, 1, 6, 6))
    tl.manual_seed(0)
    a, b = ours(tl.tensor(x)).data, ours(tl.tensor(x)).data
    assert not np.array_equal(a, b), "training: a new dropout mask per call"
    assert not np.allclose(ours.body[1].running_mean.data, 0.0), "training updates the running mean"
    ours.eval()
    theirs.eval()
    # copy the running statistics (updated twice above) and compare deterministic eval outputs
    copy_into_torch(torch, ours, theirs)
    stats = ours.body[1].running_mean.data.copy()
    e1, e2 = ours(tl.tensor(x)).data, ours(tl.tensor(x)).data
    np.testing.assert_array_equal(e1, e2)
    np.testing.assert_allclose(e1, theirs(torch.tensor(x)).detach().numpy(), **F64_TOL)
    np.testing.assert_array_equal(ours.body[1].running_mean.data, stats)


def test_running_stats_after_training_steps_match_torch(torch):
    rng = np.random.default_rng(2)
    ours = to_f64(Net())
    ours.body[4].p = 0.0  # no dropout: deterministic
    theirs = copy_into_torch(torch, ours, torch_net(torch).double())
    theirs.body[4].p = 0.0
    for _ in range(3):
        x = rng.standard_normal((5, 1, 6, 6)) * 2 + 1
        np.testing.assert_allclose(ours(tl.tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), **F64_TOL)
    np.testing.assert_allclose(ours.body[1].running_mean.data, theirs.body[1].running_mean.numpy(), **F64_TOL)
    np.testing.assert_allclose(ours.body[1].running_var.data, theirs.body[1].running_var.numpy(), **F64_TOL)


# --------------------------------------------------------------------------- zero_grad


def _backward_once(model, rng):
    tl.manual_seed(0)  # the same dropout mask every time
    model(tl.tensor(rng.standard_normal((3, 1, 6, 6)).astype(np.float32))).sum().backward()


def test_zero_grad_sets_to_none_by_default():
    rng = np.random.default_rng(3)
    model = Net()
    _backward_once(model, rng)
    assert all(p.grad is not None for p in model.parameters())
    assert any(np.abs(p.grad.data).sum() > 0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_zero_grad_in_place():
    rng = np.random.default_rng(4)
    model = Net()
    _backward_once(model, rng)
    grads = {n: p.grad for n, p in model.named_parameters()}
    model.zero_grad(set_to_none=False)
    for n, p in model.named_parameters():
        assert p.grad is grads[n], "set_to_none=False zeros the same gradient tensor in place"
        np.testing.assert_array_equal(p.grad.data, np.zeros(p.shape))
        assert p.grad.dtype == p.dtype
    # then accumulation starts from zero: the gradient equals a fresh one
    rng2 = np.random.default_rng(5)
    _backward_once(model, rng2)
    accumulated = {n: p.grad.data.copy() for n, p in model.named_parameters()}
    model.zero_grad()
    _backward_once(model, np.random.default_rng(5))
    for n, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.data, accumulated[n], rtol=1e-6, atol=1e-7, err_msg=n)


def test_gradients_accumulate_without_zero_grad():
    lin = to_f64(nn.Linear(2, 1))
    x = tl.tensor(np.array([[1.0, 2.0]]))
    lin(x).sum().backward()
    lin(x).sum().backward()
    np.testing.assert_array_equal(lin.weight.grad.data, [[2.0, 4.0]])
    np.testing.assert_array_equal(lin.bias.grad.data, [2.0])


# --------------------------------------------------------------------------- state_dict


def test_state_dict_keys_like_torch(torch):
    ours, theirs = Net().state_dict(), torch_net(torch).state_dict()
    assert set(ours) == set(theirs)
    assert {"body.1.running_mean", "body.1.running_var", "body.1.num_batches_tracked"} <= set(ours)
    for k in ours:
        assert ours[k].shape == tuple(theirs[k].shape), k
        assert ours[k].dtype == (np.int64 if theirs[k].dtype == torch.int64 else np.float32), k


def test_state_dict_key_order_like_torch(torch):
    """PyTorch orders the state dict module by module (a module's parameters, then its buffers)."""
    assert list(Net().state_dict()) == list(torch_net(torch).state_dict())


def test_state_dict_values_are_detached_views():
    model = Net()
    state = model.state_dict()
    for name, p in model.named_parameters():
        assert not state[name].requires_grad
        assert np.shares_memory(state[name].data, p.data)  # as PyTorch: not a copy
    np.testing.assert_array_equal(state["body.1.running_var"].data, np.ones(4))


def test_load_state_dict_copies_values():
    tl.manual_seed(0)
    a = Net()
    tl.manual_seed(1)
    b = Net()
    assert not np.array_equal(a.body[0].weight.data, b.body[0].weight.data)
    a.body[1].running_mean.data[...] = [1.0, 2.0, 3.0, 4.0]
    weight_object = b.body[0].weight
    result = b.load_state_dict(a.state_dict())
    assert tuple(result) == ([], [])
    assert b.body[0].weight is weight_object, "parameters are filled in place, not replaced"
    for (name, pa), (_, pb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        np.testing.assert_array_equal(pa.data, pb.data, err_msg=name)
        assert not np.shares_memory(pa.data, pb.data), name
    a.body[0].weight.data[...] = 0.0  # later changes of the source do not leak into the copy
    assert np.abs(b.body[0].weight.data).sum() > 0
    np.testing.assert_array_equal(b.body[1].running_mean.data, [1.0, 2.0, 3.0, 4.0])


def test_load_state_dict_from_torch_then_same_outputs(torch):
    rng = np.random.default_rng(6)
    theirs = torch_net(torch).double()
    theirs.body[1].running_mean.uniform_(-1, 1)
    theirs.body[1].running_var.uniform_(0.5, 2)
    theirs.body[1].num_batches_tracked.fill_(7)
    ours = to_f64(Net())
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert int(ours.body[1].num_batches_tracked.data) == 7
    ours.load_state_dict(theirs.state_dict())  # torch tensors themselves are accepted too (np.asarray)
    ours.eval()
    theirs.eval()
    x = rng.standard_normal((2, 1, 6, 6))
    np.testing.assert_allclose(ours(tl.tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), **F64_TOL)


def test_load_state_dict_without_num_batches_tracked_like_torch(torch):
    """An older state dict without BatchNorm's counter loads strictly and leaves the counter as it was,
    as PyTorch does for a plain dict (no version metadata)."""
    ours, theirs = Net(), torch_net(torch)
    ours.body[1].num_batches_tracked.data[...] = 3
    theirs.body[1].num_batches_tracked.fill_(3)
    state = {k: v.data + 1 for k, v in ours.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert ours.load_state_dict(state) == ([], [])
    result = theirs.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    assert (result.missing_keys, result.unexpected_keys) == ([], [])
    assert int(ours.body[1].num_batches_tracked.data) == int(theirs.body[1].num_batches_tracked) == 3
    np.testing.assert_array_equal(ours.body[1].running_var.data, theirs.body[1].running_var.numpy())
    with pytest.raises(KeyError, match=r"missing keys \['body\.1\.running_mean'\]"):
        ours.load_state_dict({k: v for k, v in state.items() if k != "body.1.running_mean"})


def test_load_state_dict_keeps_dtype():
    model = Net()  # float32
    state = {k: v.data.astype(np.float64) + 1 for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    assert all(p.dtype == np.float32 for p in model.parameters())
    np.testing.assert_allclose(model.scale.data, [3.0])


def test_load_state_dict_strict_missing_and_unexpected():
    model = Net()
    state = dict(model.state_dict())
    del state["head.1.bias"]
    with pytest.raises(KeyError, match="head.1.bias"):
        model.load_state_dict(state)
    state = dict(model.state_dict())
    state["head.2.weight"] = np.zeros((2, 2))
    with pytest.raises(KeyError, match=r"head\.2\.weight"):
        model.load_state_dict(state)
    state = dict(model.state_dict())
    del state["body.1.running_var"]
    with pytest.raises(KeyError, match="body.1.running_var"):
        model.load_state_dict(state)


def test_load_state_dict_wrong_shape():
    model = Net()
    state = dict(model.state_dict())
    state["head.1.weight"] = np.zeros((5, 35))
    with pytest.raises(ShapeError, match=r"head\.1\.weight.*\(5, 35\).*\(5, 36\)") as info:
        model.load_state_dict(state)
    assert isinstance(info.value, ValueError)
    with pytest.raises(ValueError, match=r"head\.1\.weight"):
        model.load_state_dict(state, strict=False)  # a wrong shape is an error even when not strict


def test_load_state_dict_not_strict_returns_missing_and_unexpected(torch):
    model = Net()
    state = {k: v.data + 1 for k, v in model.state_dict().items() if k != "scale"}
    state["extra.weight"] = np.ones(3)
    before_scale = model.scale.data.copy()
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert missing == ["scale"]
    assert unexpected == ["extra.weight"]
    np.testing.assert_array_equal(model.scale.data, before_scale)
    np.testing.assert_array_equal(model.head[1].bias.data, state["head.1.bias"])
    # the same result as PyTorch
    theirs = torch_net(torch)
    tstate = {k: torch.tensor(v) for k, v in state.items()}
    tres = theirs.load_state_dict(tstate, strict=False)
    assert (missing, unexpected) == (tres.missing_keys, tres.unexpected_keys)


# --------------------------------------------------------------------------- repr

UNSUPPORTED_OPTIONS = re.compile(r", (dilation=1|ceil_mode=False|inplace=False)|(?<=affine=True), bias=True")


def torch_repr_without_unsupported(module) -> str:
    """PyTorch's repr minus options tinygrad_loss does not have (dilation, ceil_mode, inplace, LayerNorm's bias)."""
    return UNSUPPORTED_OPTIONS.sub("", repr(module))


def test_repr_of_cnn_like_torch(torch):
    ours = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 14 * 14, 10))
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                 torch.nn.Flatten(), torch.nn.Linear(4 * 14 * 14, 10))
    text = repr(ours)
    assert text.splitlines()[0] == "Sequential("
    assert "  (0): Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))" in text
    assert "  (1): ReLU()" in text
    assert "  (2): MaxPool2d(kernel_size=2, stride=2, padding=0" in text
    assert "  (4): Linear(in_features=784, out_features=10, bias=True)" in text
    assert text.endswith("\n)")
    assert text == torch_repr_without_unsupported(theirs)


def test_repr_of_nested_model_like_torch(torch):
    ours = repr(Net()).splitlines()
    theirs = torch_repr_without_unsupported(torch_net(torch)).splitlines()
    assert ours[0] == "Net(" and theirs[0] == "TorchNet("
    assert len(ours) == len(theirs)
    indent = [len(line) - len(line.lstrip()) for line in ours]
    assert indent == [len(line) - len(line.lstrip()) for line in theirs]
    assert [line.split(":")[0] for line in ours[1:]] == [line.split(":")[0] for line in theirs[1:]]


@pytest.mark.parametrize("make", [
    lambda nn: nn.Linear(3, 2, bias=False),
    lambda nn: nn.Conv2d(2, 3, 3),
    lambda nn: nn.Conv2d(2, 3, (3, 2), stride=(2, 1), padding=(1, 0), bias=False),
    lambda nn: nn.AvgPool2d(3, 2, 1),
    lambda nn: nn.Flatten(0, 2),
    lambda nn: nn.Dropout(0.25),
    lambda nn: nn.BatchNorm1d(5),
    lambda nn: nn.BatchNorm2d(4, momentum=None, track_running_stats=False),
    lambda nn: nn.LayerNorm((3, 4)),
    lambda nn: nn.Embedding(10, 3),
    lambda nn: nn.GELU(approximate="tanh"),
    lambda nn: nn.LeakyReLU(0.2),
    lambda nn: nn.Softmax(dim=1),
    lambda nn: nn.LogSoftmax(dim=0),
    lambda nn: nn.Sigmoid(),
], ids=["Linear", "Conv2d", "Conv2d-rect-nobias", "AvgPool2d", "Flatten", "Dropout", "BatchNorm1d", "BatchNorm2d-none",
        "LayerNorm", "Embedding", "GELU", "LeakyReLU", "Softmax", "LogSoftmax", "Sigmoid"])
def test_layer_repr_like_torch(torch, make):
    assert repr(make(nn)) == torch_repr_without_unsupported(make(torch.nn))


# --------------------------------------------------------------------------- end to end


def test_cnn_trains_with_manual_sgd():
    tl.manual_seed(0)
    rng = np.random.default_rng(7)
    model = cnn()
    x = tl.tensor(rng.standard_normal((24, 1, 8, 8)).astype(np.float32))
    y = tl.tensor(rng.integers(0, 3, 24))
    losses = []
    lr = 0.1
    for _ in range(15):
        model.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        losses.append(loss.item())
        with tl.no_grad():
            for p in model.parameters():
                p -= lr * p.grad
    assert all(np.isfinite(losses))
    assert losses[-1] < 0.8 * losses[0], losses
    assert sum(b < a for a, b in zip(losses[:-1], losses[1:], strict=True)) >= 12, losses
    assert all(p.dtype == np.float32 and p.is_leaf and p.requires_grad for p in model.parameters())
    # it has learnt something about this data: accuracy above chance
    assert (model(x).data.argmax(axis=1) == y.data).mean() > 0.5


def test_cnn_forward_backward_matches_torch(torch):
    rng = np.random.default_rng(8)
    ours = to_f64(cnn())
    theirs = copy_into_torch(torch, ours, torch_cnn(torch).double())
    x_np = rng.standard_normal((5, 1, 8, 8))
    target = rng.integers(0, 3, 5)
    x, tx = tl.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    out, ref = ours(x), theirs(tx)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), **F64_TOL)
    loss = F.cross_entropy(out, tl.tensor(target))
    tloss = torch.nn.functional.cross_entropy(ref, torch.tensor(target))
    np.testing.assert_allclose(loss.item(), tloss.item(), **F64_TOL)
    loss.backward()
    tloss.backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), **F64_TOL)
    tparams = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.data, tparams[name].grad.numpy(), **F64_TOL, err_msg=name)


def test_deeper_cnn_with_batchnorm_and_avgpool_matches_torch(torch):
    """Conv → BatchNorm2d → ReLU → MaxPool2d → strided Conv → AvgPool2d → Flatten → Linear → LogSoftmax,
    two SGD steps in both frameworks: same losses, gradients, parameters and running statistics."""
    rng = np.random.default_rng(9)
    ours = to_f64(nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                                nn.Conv2d(4, 3, (3, 2), stride=2, padding=(1, 0)), nn.AvgPool2d(2, 1, 1),
                                nn.Flatten(), nn.Linear(3 * 3 * 3, 4), nn.LogSoftmax(dim=1)))
    theirs = copy_into_torch(torch, ours, torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(4, 3, (3, 2), stride=2, padding=(1, 0)), torch.nn.AvgPool2d(2, 1, 1),
        torch.nn.Flatten(), torch.nn.Linear(3 * 3 * 3, 4), torch.nn.LogSoftmax(dim=1)).double())
    x_np, target = rng.standard_normal((6, 2, 8, 8)), rng.integers(0, 4, 6)
    tparams = dict(theirs.named_parameters())
    for _ in range(2):
        ours.zero_grad()
        theirs.zero_grad()
        loss = F.nll_loss(ours(tl.tensor(x_np)), tl.tensor(target))
        tloss = torch.nn.functional.nll_loss(theirs(torch.tensor(x_np)), torch.tensor(target))
        np.testing.assert_allclose(loss.item(), tloss.item(), **F64_TOL)
        loss.backward()
        tloss.backward()
        for name, p in ours.named_parameters():
            np.testing.assert_allclose(p.grad.data, tparams[name].grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
        with tl.no_grad():
            for p in ours.parameters():
                p -= 0.1 * p.grad
        with torch.no_grad():
            for p in theirs.parameters():
                p -= 0.1 * p.grad
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.data, tparams[name].detach().numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(ours[1].running_var.data, theirs[1].running_var.numpy(), **F64_TOL)


def test_assigning_a_tensor_to_a_buffer_keeps_it_a_buffer_like_torch(torch):
    bn, bn_t = tl.nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    bn.running_mean = tl.tensor([1.0, 2.0, 3.0])
    bn_t.running_mean = torch.tensor([1.0, 2.0, 3.0])
    assert list(bn.state_dict()) == list(bn_t.state_dict())
    np.testing.assert_array_equal(bn.state_dict()["running_mean"].data, [1.0, 2.0, 3.0])
    bn.eval()
    out = bn(tl.tensor([[1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(out.data, [[0.0, 0.0, 0.0]], atol=1e-6)  # normalised by the new running mean
