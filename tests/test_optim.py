"""tinygrad_loss.optim against torch.optim: every optimizer and option, step for step.

Each optimizer runs 50 steps on a small nonconvex function from the same float64 start; the
gradients come from tinygrad_loss's own autograd on one side and torch's on the other, and
the parameter trajectories must agree to rtol 1e-10 at every step. Also: param groups,
zero_grad, state_dict round trips (ours and torch's format), schedulers, and the errors.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest

import tinygrad_loss as tl
from tinygrad_loss import optim
from tinygrad_loss.optim import lr_scheduler

START = {
    "w1": [0.5, -1.2, 2.0],
    "w2": [[0.3, -0.7, 1.1], [-1.5, 0.8, 0.2]],
    "b": 0.4,
}
STEPS = 50
RTOL = 1e-10


def objective(w1, w2, b):
    """Nonconvex but bounded below, broadcasting, a 0-d parameter; the same code runs on
    tinygrad_loss and torch."""
    return ((w1.sin() * w2 ** 2).sum() + 0.25 * (w2 ** 4).sum() + 0.1 * (w1 ** 4).sum()
            + (w2 @ w1).tanh().sum() * b.cos())


def negated(w1, w2, b):
    """−f: maximizing it must walk the same downhill path as minimizing f."""
    return -objective(w1, w2, b)


def tl_params():
    return [tl.tensor(np.array(v, dtype=np.float64), requires_grad=True, name=k) for k, v in START.items()]


def torch_params(torch):
    return [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in START.values()]


def flat(params):
    return np.concatenate([np.array(p.detach().numpy(), dtype=np.float64).ravel() for p in params])


def run(opt, params, steps=STEPS, scheduler=None, f=objective):
    """``steps`` training steps on ``f``; returns the flattened parameters after each one."""
    trajectory = []
    for _ in range(steps):
        opt.zero_grad()
        f(*params).backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
        trajectory.append(flat(params))
    return np.array(trajectory)


def assert_same_trajectory(ours, theirs, rtol=RTOL):
    assert ours.shape == theirs.shape
    for step, (a, b) in enumerate(zip(ours, theirs, strict=True), 1):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=0, err_msg=f"trajectories differ after step {step}")


# (our optimizer, torch's optimizer, our keyword arguments, extra keyword arguments for torch only)
CASES = [
    ("SGD", "SGD", {"lr": 0.05}, {}),
    ("SGD", "SGD", {"lr": 0.05, "momentum": 0.9}, {}),
    ("SGD", "SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3}, {}),
    ("SGD", "SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}, {}),
    ("SGD", "SGD", {"lr": 0.05, "weight_decay": 0.1}, {}),
    ("SGD", "SGD", {"lr": 0.02, "maximize": True}, {}),
    ("SGD", "SGD", {"lr": 0.02, "momentum": 0.5, "weight_decay": 0.1, "maximize": True}, {}),
    ("Momentum", "SGD", {"lr": 0.05}, {"momentum": 0.9}),
    ("Momentum", "SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True}, {}),
    ("Adam", "Adam", {"lr": 0.05}, {}),
    ("Adam", "Adam", {"lr": 0.05, "weight_decay": 0.1}, {}),
    ("Adam", "Adam", {"lr": 0.05, "amsgrad": True}, {}),
    ("Adam", "Adam", {"lr": 0.05, "betas": (0.3, 0.9), "eps": 1e-6, "maximize": True}, {}),
    ("AdamW", "AdamW", {"lr": 0.05}, {}),
    ("AdamW", "AdamW", {"lr": 0.05, "weight_decay": 0.3}, {}),
    ("AdamW", "AdamW", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True}, {}),
    ("RMSprop", "RMSprop", {"lr": 0.01}, {}),
    ("RMSprop", "RMSprop", {"lr": 0.01, "momentum": 0.9}, {}),
    ("RMSprop", "RMSprop", {"lr": 0.01, "centered": True}, {}),
    ("RMSprop", "RMSprop", {"lr": 0.01, "weight_decay": 0.1}, {}),
    ("RMSprop", "RMSprop", {"lr": 0.01, "alpha": 0.9, "momentum": 0.5, "centered": True, "maximize": True}, {}),
    ("Adagrad", "Adagrad", {"lr": 0.1}, {}),
    ("Adagrad", "Adagrad", {"lr": 0.1, "lr_decay": 0.05}, {}),
    ("Adagrad", "Adagrad", {"lr": 0.1, "weight_decay": 0.1}, {}),
    ("Adagrad", "Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.5}, {}),
]


def case_id(case):
    ours, _, kwargs, _ = case
    return ours + "(" + ", ".join(f"{k}={v}" for k, v in kwargs.items()) + ")"


def torch_optimizer(torch, name, params, **kwargs):
    return getattr(torch.optim, name)(params, foreach=False, **kwargs)


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_trajectory_matches_torch(torch, case):
    ours_name, torch_name, kwargs, torch_extra = case
    f = negated if kwargs.get("maximize") else objective
    params = tl_params()
    ours = run(getattr(optim, ours_name)(params, **kwargs), params, f=f)
    tparams = torch_params(torch)
    theirs = run(torch_optimizer(torch, torch_name, tparams, **kwargs, **torch_extra), tparams, f=f)
    assert np.abs(ours[-1] - flat(tl_params())).max() > 1e-3  # the parameters really moved
    assert_same_trajectory(ours, theirs)


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_same_gradients_give_the_same_updates(torch, case):
    """Both optimizers get torch's gradient each step: only the update arithmetic can differ."""
    ours_name, torch_name, kwargs, torch_extra = case
    f = negated if kwargs.get("maximize") else objective
    params, tparams = tl_params(), torch_params(torch)
    opt = getattr(optim, ours_name)(params, **kwargs)
    topt = torch_optimizer(torch, torch_name, tparams, **kwargs, **torch_extra)
    for step in range(1, STEPS + 1):
        topt.zero_grad()
        f(*tparams).backward()
        for p, tp in zip(params, tparams, strict=True):
            p.grad = tp.grad.numpy().copy()
        opt.step()
        topt.step()
        np.testing.assert_allclose(flat(params), flat(tparams), rtol=1e-12, atol=0, err_msg=f"step {step}")


GROUP_CASES = [
    ("SGD", {"momentum": 0.9}, {"momentum": 0.5, "nesterov": True}),
    ("Adam", {}, {"betas": (0.8, 0.99), "amsgrad": True}),
    ("AdamW", {}, {"weight_decay": 0.5}),
    ("RMSprop", {"momentum": 0.9}, {"centered": True}),
    ("Adagrad", {}, {"lr_decay": 0.1}),
]


@pytest.mark.parametrize("name, defaults, overrides", GROUP_CASES, ids=[c[0] for c in GROUP_CASES])
def test_param_groups_with_different_options_match_torch(torch, name, defaults, overrides):
    def groups(w1, w2, b):
        return [{"params": [w1], "lr": 0.1}, {"params": [w2, b], **overrides}]

    params = tl_params()
    opt = getattr(optim, name)(groups(*params), lr=0.01, **defaults)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    assert all(opt.param_groups[1][k] == v for k, v in overrides.items())
    ours = run(opt, params)
    tparams = torch_params(torch)
    theirs = run(torch_optimizer(torch, name, groups(*tparams), lr=0.01, **defaults), tparams)
    assert_same_trajectory(ours, theirs)


def test_sgd_one_step_by_hand():
    # f(w) = w², f'(1) = 2, so w ← 1 − 0.1·2 = 0.8
    w = tl.tensor(np.array(1.0), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    (w ** 2).backward()
    opt.step()
    assert w.item() == 0.8
    assert w.is_leaf and w.grad_fn is None and w.requires_grad  # the update recorded no graph


def test_momentum_by_hand():
    # f(w) = w²: b₁ = g₁ = 2, w₁ = 1 − 0.1·2 = 0.8; g₂ = 1.6, b₂ = 0.9·2 + 1.6 = 3.4, w₂ = 0.8 − 0.34
    w = tl.tensor(np.array(1.0), requires_grad=True)
    opt = optim.Momentum([w], lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        (w ** 2).backward()
        opt.step()
    assert w.item() == pytest.approx(0.46, rel=1e-14)
    assert opt.state[w]["momentum_buffer"] == pytest.approx(3.4, rel=1e-14)


def test_adam_first_step_is_lr_times_sign():
    # after bias correction, m̂ = g and v̂ = g², so the first step is lr·g/(|g| + ε) ≈ lr·sign(g)
    w = tl.tensor(np.array([3.0, -2.0]), requires_grad=True)
    opt = optim.Adam([w], lr=0.01)
    (w ** 2).sum().backward()
    opt.step()
    np.testing.assert_allclose(w.data, [2.99, -1.99], rtol=1e-9)


def test_float32_parameters_stay_float32():
    w = tl.tensor([1.0, -2.0], requires_grad=True)
    for cls in (optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop, optim.Adagrad):
        opt = cls([w], lr=0.01)
        w.grad = None
        (w ** 2).sum().backward()
        opt.step()
        assert w.dtype == np.float32
        assert all(v.dtype == np.float32 for v in opt.state[w].values() if isinstance(v, np.ndarray))


def test_works_with_module_parameters():
    nn = pytest.importorskip("tinygrad_loss.nn")
    w = nn.Parameter(np.array([1.0, 2.0]))
    opt = optim.SGD([w], lr=0.5)
    (w * w).sum().backward()
    opt.step()
    np.testing.assert_array_equal(w.data, [0.0, 0.0])


# --------------------------------------------------------------------------- zero_grad, step


def test_zero_grad_sets_to_none_and_step_skips_missing_grads():
    w1, w2, b = tl_params()
    opt = optim.Adam([w1, w2, b], lr=0.1)
    objective(w1, w2, b).backward()
    opt.zero_grad()
    assert w1.grad is None and w2.grad is None and b.grad is None
    before = flat([w1, w2, b])
    opt.step()  # no gradients: nothing moves, no state is made
    np.testing.assert_array_equal(flat([w1, w2, b]), before)
    assert len(opt.state) == 0

    (w1 ** 2).sum().backward()  # only w1 gets a gradient
    opt.step()
    assert not np.array_equal(w1.data, before[:3])
    np.testing.assert_array_equal(flat([w2, b]), before[3:])
    assert w1 in opt.state and w2 not in opt.state


def test_zero_grad_set_to_none_false_zeroes_in_place():
    w1, w2, b = tl_params()
    opt = optim.SGD([w1, w2, b], lr=0.1)
    objective(w1, w2, b).backward()
    grad = w1.grad
    opt.zero_grad(set_to_none=False)
    assert w1.grad is grad
    np.testing.assert_array_equal(grad.data, np.zeros(3))
    np.testing.assert_array_equal(w2.grad.data, np.zeros((2, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the engine's "gradients accumulate" teaching warning
        objective(w1, w2, b).backward()
    w1_again = tl_params()[0]
    objective(w1_again, *tl_params()[1:]).backward()
    np.testing.assert_allclose(w1.grad.data, w1_again.grad.data, rtol=1e-15)  # zeros + fresh grad


def test_step_with_closure_returns_the_loss():
    w1, w2, b = tl_params()
    opt = optim.SGD([w1, w2, b], lr=0.01)

    def closure():
        opt.zero_grad()
        loss = objective(w1, w2, b)
        loss.backward()
        return loss

    with tl.no_grad():  # the closure runs with gradients enabled even so
        loss = opt.step(closure)
    assert loss.item() == pytest.approx(objective(*tl_params()).item())
    assert not np.array_equal(flat([w1, w2, b]), flat(tl_params()))


def test_state_is_keyed_by_identity_not_by_value():
    a = tl.tensor(np.zeros(2), requires_grad=True)
    b = tl.tensor(np.zeros(2), requires_grad=True)  # equal values, different parameters
    opt = optim.SGD([a, b], lr=0.1, momentum=0.9)
    (a.sum() + 2 * b.sum()).backward()
    opt.step()
    np.testing.assert_array_equal(opt.state[a]["momentum_buffer"], [1.0, 1.0])
    np.testing.assert_array_equal(opt.state[b]["momentum_buffer"], [2.0, 2.0])
    assert list(opt.state) == [a, b] and len(opt.state) == 2


def test_add_param_group_and_repr():
    w1, w2, b = tl_params()
    opt = optim.SGD([w1], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": [w2, b], "lr": 0.01})
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["lr"] == 0.01
    assert "Parameter Group 1" in repr(opt) and "lr: 0.01" in repr(opt)


def test_deepcopy_keeps_state():
    w = tl.tensor(np.array([1.0, 2.0]), requires_grad=True)
    opt = optim.Adam([w], lr=0.1)
    (w ** 2).sum().backward()
    opt.step()
    clone = copy.deepcopy(opt)
    w_clone = clone.param_groups[0]["params"][0]
    assert w_clone is not w
    np.testing.assert_array_equal(clone.state[w_clone]["exp_avg"], opt.state[w]["exp_avg"])


# --------------------------------------------------------------------------- state_dict

ROUND_TRIP = [
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("Momentum", {"lr": 0.05, "nesterov": True}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("AdamW", {"lr": 0.05}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05}),
]


@pytest.mark.parametrize("name, kwargs", ROUND_TRIP, ids=[c[0] for c in ROUND_TRIP])
def test_state_dict_round_trip(name, kwargs):
    cls = getattr(optim, name)

    def make(params):
        w1, w2, b = params
        return cls([{"params": [w1]}, {"params": [w2, b], "lr": kwargs["lr"] / 2}], **kwargs)

    straight = tl_params()
    expected = run(make(straight), straight, steps=20)

    first = tl_params()
    opt = make(first)
    run(opt, first, steps=10)
    saved = opt.state_dict()
    frozen = copy.deepcopy(saved)
    run(opt, first, steps=3)  # later steps must not change the saved state
    for index, state in frozen["state"].items():
        for key, value in state.items():
            np.testing.assert_array_equal(saved["state"][index][key], value)

    resumed = tl_params()
    sizes = np.cumsum([0] + [p.data.size for p in resumed])
    for p, lo, hi in zip(resumed, sizes[:-1], sizes[1:], strict=True):  # the parameters after 10 steps
        p.data[...] = expected[9][lo:hi].reshape(p.shape)
    fresh = make(resumed)
    fresh.load_state_dict(saved)
    assert [g["params"] for g in saved["param_groups"]] == [[0], [1, 2]]
    np.testing.assert_array_equal(run(fresh, resumed, steps=10), expected[10:])


def test_load_state_dict_maps_saved_ids_by_position():
    w1, w2, b = tl_params()
    opt = optim.SGD([{"params": [w1, w2]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    objective(w1, w2, b).backward()
    opt.step()
    saved = opt.state_dict()
    renumbered = {  # PyTorch only promises ids, not 0, 1, 2: match them by position in the groups
        "state": {30: saved["state"][2], 10: saved["state"][0], 20: saved["state"][1]},
        "param_groups": [{**saved["param_groups"][0], "params": [10, 20]},
                         {**saved["param_groups"][1], "params": [30]}],
    }
    fresh_params = tl_params()
    fresh = optim.SGD([{"params": fresh_params[:2]}, {"params": fresh_params[2:]}], lr=0.1, momentum=0.9)
    fresh.load_state_dict(renumbered)
    for p, q in zip(fresh_params, (w1, w2, b), strict=True):
        np.testing.assert_array_equal(fresh.state[p]["momentum_buffer"], opt.state[q]["momentum_buffer"])
    assert fresh.param_groups[1]["lr"] == 0.5 and fresh.param_groups[1]["params"][0] is fresh_params[2]
    assert fresh.state_dict()["param_groups"][1]["params"] == [2]  # saved again: our own numbering


def test_load_state_dict_errors():
    w1, w2, b = tl_params()
    opt = optim.Adam([w1, w2, b])
    two_groups = optim.Adam([{"params": [w1]}, {"params": [w2, b]}]).state_dict()
    with pytest.raises(ValueError, match="2 parameter groups"):
        opt.load_state_dict(two_groups)
    with pytest.raises(ValueError, match="group 0 has 2 parameters"):
        opt.load_state_dict(optim.Adam([w1, w2]).state_dict())
    bad = opt.state_dict()
    bad["state"] = {0: {"step": 1, "exp_avg": np.zeros(5), "exp_avg_sq": np.zeros(3)}}
    with pytest.raises(ValueError, match="'exp_avg' of parameter 0 has shape"):
        opt.load_state_dict(bad)


TORCH_STATE = [
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True}),
    ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.1}),
]


@pytest.mark.parametrize("name, kwargs", TORCH_STATE, ids=[c[0] for c in TORCH_STATE])
def test_state_dict_has_torchs_structure_and_loads_torchs(torch, name, kwargs):
    def groups(w1, w2, b):
        return [{"params": [w1, w2]}, {"params": [b], "lr": 0.02}]

    params, tparams = tl_params(), torch_params(torch)
    opt = getattr(optim, name)(groups(*params), **kwargs)
    topt = torch_optimizer(torch, name, groups(*tparams), **kwargs)
    run(opt, params, steps=10)
    run(topt, tparams, steps=10)
    ours, theirs = opt.state_dict(), topt.state_dict()
    assert [g["params"] for g in ours["param_groups"]] == [g["params"] for g in theirs["param_groups"]]
    for g, tg in zip(ours["param_groups"], theirs["param_groups"], strict=True):
        assert {k: tg[k] for k in g} == g  # every option of ours is torch's, with torch's value
    assert sorted(ours["state"]) == sorted(theirs["state"])
    for index, state in ours["state"].items():
        assert set(state) == set(theirs["state"][index])
        for key, value in state.items():
            np.testing.assert_allclose(value, np.asarray(theirs["state"][index][key].numpy()), rtol=1e-10)

    # torch's state dict (torch tensors inside) loads into a fresh optimizer and continues as torch does
    resumed = tl_params()
    for p, tp in zip(resumed, tparams, strict=True):
        p.data[...] = tp.detach().numpy()
    fresh = getattr(optim, name)(groups(*resumed), **kwargs)
    fresh.load_state_dict(theirs)
    assert_same_trajectory(run(fresh, resumed, steps=10), run(topt, tparams, steps=10))


# --------------------------------------------------------------------------- schedulers

SCHEDULERS = [
    ("StepLR", {"step_size": 7, "gamma": 0.5}),
    ("StepLR", {"step_size": 1}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 10}),
    ("CosineAnnealingLR", {"T_max": 7, "eta_min": 0.001}),
]


def sched_id(case):
    return case[0] + "(" + ", ".join(f"{k}={v}" for k, v in case[1].items()) + ")"


def lr_sequence(opt, scheduler, steps=30):
    lrs = [scheduler.get_last_lr()]
    for _ in range(steps):
        opt.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr())
        assert scheduler.get_last_lr() == [g["lr"] for g in opt.param_groups]
    return np.array(lrs)


def two_groups(params):
    return [{"params": params[:1], "lr": 0.1}, {"params": params[1:], "lr": 0.03}]


@pytest.mark.parametrize("name, kwargs", SCHEDULERS, ids=[sched_id(c) for c in SCHEDULERS])
def test_scheduler_lrs_match_torch(torch, name, kwargs):
    opt = optim.SGD(two_groups(tl_params()))
    ours = getattr(lr_scheduler, name)(opt, **kwargs)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.03] and ours.base_lrs == [0.1, 0.03]
    topt = torch.optim.SGD(two_groups(torch_params(torch)))
    theirs = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    np.testing.assert_allclose(lr_sequence(opt, ours), lr_sequence(topt, theirs), rtol=1e-12, atol=0)
    assert ours.last_epoch == theirs.last_epoch == 30


def test_cosine_annealing_by_hand():
    opt = optim.SGD([tl.tensor(np.zeros(1), requires_grad=True)], lr=1.0)
    scheduler = lr_scheduler.CosineAnnealingLR(opt, T_max=4)
    lrs = lr_sequence(opt, scheduler, steps=8)[:, 0]
    # (1 + cos(πt/4))/2 for t = 0..8: down to 0 at T_max, back up to 1 at 2·T_max
    np.testing.assert_allclose(lrs, (1 + np.cos(np.pi * np.arange(9) / 4)) / 2, atol=1e-15)


def test_scheduler_with_optimizer_matches_torch(torch):
    params = tl_params()
    opt = optim.SGD(params, lr=0.05, momentum=0.9)
    ours = run(opt, params, steps=30, scheduler=lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=0.005))
    tparams = torch_params(torch)
    topt = torch.optim.SGD(tparams, lr=0.05, momentum=0.9, foreach=False)
    theirs = run(topt, tparams, steps=30, scheduler=torch.optim.lr_scheduler.CosineAnnealingLR(topt, 10, 0.005))
    assert_same_trajectory(ours, theirs)


def test_chained_schedulers_match_torch(torch):
    opt = optim.Adam(two_groups(tl_params()))
    steps = [lr_scheduler.StepLR(opt, step_size=5, gamma=0.5), lr_scheduler.ExponentialLR(opt, gamma=0.95)]
    topt = torch.optim.Adam(two_groups(torch_params(torch)))
    tsteps = [torch.optim.lr_scheduler.StepLR(topt, step_size=5, gamma=0.5),
              torch.optim.lr_scheduler.ExponentialLR(topt, gamma=0.95)]
    for _ in range(30):
        opt.step()
        topt.step()
        for s, ts in zip(steps, tsteps, strict=True):
            s.step()
            ts.step()
        np.testing.assert_allclose([g["lr"] for g in opt.param_groups], [g["lr"] for g in topt.param_groups],
                                   rtol=1e-12)


def test_scheduler_state_dict_round_trip():
    opt = optim.SGD(two_groups(tl_params()))
    scheduler = lr_scheduler.CosineAnnealingLR(opt, T_max=8, eta_min=0.01)
    expected = lr_sequence(opt, scheduler, steps=20)

    opt = optim.SGD(two_groups(tl_params()))
    scheduler = lr_scheduler.CosineAnnealingLR(opt, T_max=8, eta_min=0.01)
    lr_sequence(opt, scheduler, steps=12)
    saved_opt, saved = opt.state_dict(), scheduler.state_dict()
    assert "optimizer" not in saved and saved["last_epoch"] == 12

    opt = optim.SGD(two_groups(tl_params()))
    scheduler = lr_scheduler.CosineAnnealingLR(opt, T_max=8, eta_min=0.01)
    opt.load_state_dict(saved_opt)  # after creating the scheduler, which resets the lrs
    scheduler.load_state_dict(saved)
    np.testing.assert_array_equal(lr_sequence(opt, scheduler, steps=8)[1:], expected[13:])


def test_scheduler_step_before_optimizer_step_warns():
    opt = optim.SGD(tl_params(), lr=0.1)
    scheduler = lr_scheduler.StepLR(opt, step_size=1)
    with pytest.warns(UserWarning, match="before optimizer.step"):
        scheduler.step()


# --------------------------------------------------------------------------- errors


def w():
    return [tl.tensor(np.zeros(2), requires_grad=True)]


BAD_HYPERPARAMETERS = [
    (lambda: optim.SGD(w(), lr=-0.1), r"SGD: invalid lr=-0.1; expected a number >= 0"),
    (lambda: optim.SGD(w(), lr="fast"), r"SGD: invalid lr='fast'"),
    (lambda: optim.SGD(w(), lr=0.1, momentum=-0.5), r"SGD: invalid momentum=-0.5"),
    (lambda: optim.SGD(w(), lr=0.1, weight_decay=-1e-4), r"SGD: invalid weight_decay=-0.0001"),
    (lambda: optim.SGD(w(), lr=0.1, nesterov=True), r"SGD: invalid nesterov=True; expected momentum > 0"),
    (lambda: optim.SGD(w(), lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), r"dampening = 0"),
    (lambda: optim.SGD([{"params": w(), "lr": -1.0}], lr=0.1), r"SGD: invalid lr=-1.0"),
    (lambda: optim.Momentum(w(), lr=0.1, momentum=0), r"Momentum: invalid momentum=0; expected a number > 0"),
    (lambda: optim.Momentum(w(), lr=-0.1), r"Momentum: invalid lr=-0.1"),
    (lambda: optim.Adam(w(), lr=-1e-3), r"Adam: invalid lr=-0.001"),
    (lambda: optim.Adam(w(), betas=(1.0, 0.999)), r"Adam: invalid betas\[0\]=1.0; expected a number in \[0, 1\)"),
    (lambda: optim.Adam(w(), betas=(0.9, -0.1)), r"Adam: invalid betas\[1\]=-0.1"),
    (lambda: optim.Adam(w(), betas=0.9), r"Adam: invalid betas=0.9; expected a pair"),
    (lambda: optim.Adam(w(), eps=-1e-8), r"Adam: invalid eps=-1e-08"),
    (lambda: optim.Adam(w(), weight_decay=-0.1), r"Adam: invalid weight_decay=-0.1"),
    (lambda: optim.AdamW(w(), weight_decay=-0.01), r"AdamW: invalid weight_decay=-0.01"),
    (lambda: optim.AdamW(w(), betas=(0.9, 1.0)), r"AdamW: invalid betas\[1\]=1.0"),
    (lambda: optim.RMSprop(w(), lr=-0.01), r"RMSprop: invalid lr=-0.01"),
    (lambda: optim.RMSprop(w(), alpha=-0.5), r"RMSprop: invalid alpha=-0.5"),
    (lambda: optim.RMSprop(w(), momentum=-0.9), r"RMSprop: invalid momentum=-0.9"),
    (lambda: optim.RMSprop(w(), eps=-1.0), r"RMSprop: invalid eps=-1.0"),
    (lambda: optim.Adagrad(w(), lr=-0.01), r"Adagrad: invalid lr=-0.01"),
    (lambda: optim.Adagrad(w(), lr_decay=-1), r"Adagrad: invalid lr_decay=-1"),
    (lambda: optim.Adagrad(w(), initial_accumulator_value=-0.1), r"Adagrad: invalid initial_accumulator_value"),
    (lambda: optim.Adagrad(w(), eps=-1e-10), r"Adagrad: invalid eps"),
    (lambda: optim.SGD([], lr=0.1), r"SGD: got an empty parameter list"),
    (lambda: optim.SGD([{"lr": 0.1}], lr=0.1), r"needs a 'params' entry"),
    (lambda: optim.SGD(w() * 2, lr=0.1), r"appears twice"),
    (lambda: optim.SGD([tl.tensor([1.0], requires_grad=True) * 2], lr=0.1), r"non-leaf"),
    (lambda: lr_scheduler.StepLR(optim.SGD(w()), step_size=0), r"StepLR: invalid step_size=0"),
    (lambda: lr_scheduler.CosineAnnealingLR(optim.SGD(w()), T_max=0), r"CosineAnnealingLR: invalid T_max=0"),
]


@pytest.mark.parametrize("make, message", BAD_HYPERPARAMETERS, ids=[m for _, m in BAD_HYPERPARAMETERS])
def test_bad_hyperparameters_raise_clear_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_params_raise_type_errors():
    t = tl.tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(TypeError, match="single Tensor; wrap it in a list"):
        optim.SGD(t, lr=0.1)
    with pytest.raises(TypeError, match=r"params\[0\] is a list"):
        optim.SGD([[t]], lr=0.1)
    with pytest.raises(TypeError, match="not a set"):
        optim.SGD([{"params": {t}}], lr=0.1)
    with pytest.raises(TypeError, match="dtype int64"):
        optim.SGD([tl.tensor([1, 2])], lr=0.1)
    with pytest.raises(TypeError, match="expected a tinygrad_loss.optim optimizer"):
        lr_scheduler.StepLR(object(), step_size=1)
    opt = optim.SGD([t], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [t]})
