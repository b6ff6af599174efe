"""SGD against PyTorch's update rule written out by hand, and the learning-rate schedules."""

import math

import numpy as np
import pytest
from glassgrad import Scalar, Tensor
from glassgrad.errors import InPlaceError
from glassgrad.optim import SCHEDULES, SGD, Constant, Cosine, Exponential, InverseTime, StepDecay, schedule_for
from hypothesis import given, settings
from hypothesis import strategies as st


def torch_sgd_reference(theta, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    """torch.optim.SGD's documented algorithm, step by step, with a given gradient per step."""
    theta = np.array(theta, dtype=np.float64)
    buf = None
    for t, g in enumerate(grads):
        g = np.array(g, dtype=np.float64)
        if weight_decay != 0:
            g = g + weight_decay * theta
        if momentum != 0:
            buf = g.copy() if t == 0 else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        theta = theta - lr * g
    return theta


def run_ours(theta0, grads, **kw):
    p = Tensor(np.array(theta0, dtype=np.float64), requires_grad=True)
    opt = SGD([p], **kw)
    for g in grads:
        p.grad = np.array(g, dtype=np.float64)
        opt.step()
    return p.data


floats = st.floats(-3, 3, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    theta=st.lists(floats, min_size=3, max_size=3),
    grads=st.lists(st.lists(floats, min_size=3, max_size=3), min_size=1, max_size=5),
    lr=st.floats(1e-3, 1.0),
    momentum=st.sampled_from([0.0, 0.5, 0.9]),
    dampening=st.sampled_from([0.0, 0.3]),
    weight_decay=st.sampled_from([0.0, 0.01, 0.5]),
    nesterov=st.booleans(),
)
def test_sgd_matches_pytorch_formulas(theta, grads, lr, momentum, dampening, weight_decay, nesterov):
    if nesterov and (momentum == 0 or dampening != 0):
        return  # PyTorch refuses this combination too (tested below)
    kw = {"lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay, "nesterov": nesterov}
    np.testing.assert_allclose(
        run_ours(theta, grads, **kw), torch_sgd_reference(theta, grads, **kw), rtol=1e-12, atol=1e-12
    )


def test_sgd_nesterov_three_steps_by_hand():
    # θ0 = 1, g = 2θ (from x²) is not used: fixed gradients 1, 2, 3, μ = 0.9, lr = 0.1
    # b1 = 1; g = 1 + 0.9 = 1.9; θ = 0.81
    # b2 = 0.9 + 2 = 2.9; g = 2 + 2.61 = 4.61; θ = 0.349
    # b3 = 2.61 + 3 = 5.61; g = 3 + 5.049 = 8.049; θ = -0.4559
    assert run_ours([1.0], [[1.0], [2.0], [3.0]], lr=0.1, momentum=0.9, nesterov=True)[0] == pytest.approx(-0.4559)


def test_step_skips_params_without_grad_and_zero_grad_sets_none():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0], requires_grad=True)
    opt = SGD([a, b], lr=0.5)
    (a * a).sum().backward()
    opt.step()
    np.testing.assert_allclose(a.data, [0.0, 0.0])  # a - 0.5·2a
    np.testing.assert_allclose(b.data, [3.0])
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_step_is_in_place_and_bumps_the_version():
    w = Tensor([1.0, -1.0], requires_grad=True)
    buffer = w.numpy()
    y = (w * w).sum()  # saves w for backward
    y.backward(retain_graph=True)
    SGD([w], lr=0.1).step()
    assert np.shares_memory(w.data, buffer) and buffer[0] != 1.0  # updated in place
    with pytest.raises(InPlaceError):
        y.backward()


def test_float32_parameters_stay_float32():
    w = Tensor(np.ones(4, np.float32), requires_grad=True)
    opt = SGD([w], lr=0.1, momentum=0.9, weight_decay=0.01)
    for _ in range(3):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
    assert w.dtype == np.float32 and w.grad.dtype == np.float32


def test_sgd_on_a_scalar_minimizes_x_squared():
    x = Scalar(8.0)
    opt = SGD([x], lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        (x * x).backward()
        opt.step()
    assert x.data == pytest.approx(8.0 * 0.8**3)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"lr": 0.0}, "lr"),
        ({"lr": -1.0}, "lr"),
        ({"lr": float("nan")}, "lr"),
        ({"lr": 0.1, "momentum": -0.1}, "momentum"),
        ({"lr": 0.1, "weight_decay": -1.0}, "weight_decay"),
        ({"lr": 0.1, "nesterov": True}, "Nesterov"),
        ({"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": True}, "Nesterov"),
    ],
)
def test_bad_hyperparameters_are_refused(kw, match):
    with pytest.raises(ValueError, match=match):
        SGD([Tensor([1.0], requires_grad=True)], **kw)


def test_parameters_must_be_trainable_leaves():
    with pytest.raises(TypeError, match="requires_grad"):
        SGD([Tensor([1.0])], lr=0.1)
    with pytest.raises(ValueError, match="empty"):
        SGD([], lr=0.1)


@given(t=st.integers(0, 10_000), lr=st.floats(1e-4, 10.0))
def test_schedules_follow_their_formulas(t, lr):
    assert Constant(lr).lr_at(t) == lr
    assert StepDecay(lr, step_size=7, gamma=0.5).lr_at(t) == pytest.approx(lr * 0.5 ** (t // 7))
    assert Exponential(lr, gamma=0.999).lr_at(t) == pytest.approx(lr * 0.999**t)
    assert InverseTime(lr, decay=0.01).lr_at(t) == pytest.approx(lr / (1 + 0.01 * t))


def test_sgd_uses_the_schedule_by_step_count():
    w = Tensor([0.0], requires_grad=True)
    opt = SGD([w], lr=StepDecay(1.0, step_size=2, gamma=0.1))
    seen = []
    for _ in range(5):
        seen.append(opt.lr)
        w.grad = np.array([1.0])
        opt.step()
    np.testing.assert_allclose(seen, [1.0, 1.0, 0.1, 0.1, 0.01])
    assert w.data[0] == pytest.approx(-(1 + 1 + 0.1 + 0.1 + 0.01))


def test_schedules_take_numpy_integers():
    assert StepDecay(0.1, step_size=np.int64(2)).lr_at(2) == pytest.approx(0.01)
    assert Cosine(0.1, total_steps=np.int64(4)).lr_at(4) == 0.0


def test_bad_schedules_are_refused():
    with pytest.raises(ValueError, match="step_size"):
        StepDecay(0.1, step_size=0)
    with pytest.raises(ValueError, match="gamma"):
        Exponential(0.1, gamma=0.0)
    with pytest.raises(ValueError, match="decay"):
        InverseTime(0.1, decay=-1.0)
    assert math.isfinite(InverseTime(0.1, decay=0.0).lr_at(10**9))


@pytest.mark.parametrize("schedule", [Exponential(0.1, gamma=1.1), StepDecay(0.1, step_size=1, gamma=10.0)])
def test_a_growing_schedule_past_the_largest_float_is_refused_by_name(schedule):
    # γ^t past 1.8e308: the rate is infinite, as in PyTorch, and no step is taken with it.
    assert schedule.lr_at(8_000) == math.inf
    w = Tensor([1.0], requires_grad=True)
    opt = SGD([w], lr=schedule)
    opt.steps = 8_000
    w.grad = np.array([1.0])
    with pytest.raises(ValueError, match=r"SGD: the learning rate of .* at step 8000 is inf"):
        opt.step()
    assert w.data[0] == 1.0


def test_a_finite_schedule_times_a_large_lr_that_overflows_is_refused():
    w = Tensor([1.0], requires_grad=True)
    opt = SGD([w], lr=Exponential(1e308, gamma=1.5))
    opt.steps = 2
    w.grad = np.array([1.0])
    with pytest.raises(ValueError, match="is inf"):
        opt.step()
    with pytest.raises(ValueError, match="is inf"):
        opt.lr


def test_named_schedules_scale_to_the_run_length():
    total = 400
    assert schedule_for("constant", 0.3, total).lr_at(total) == 0.3
    step = schedule_for("step", 0.3, total)
    assert step.lr_at(299) == 0.3 and step.lr_at(300) == pytest.approx(0.03)
    assert schedule_for("exponential", 0.3, total).lr_at(total) == pytest.approx(0.003)
    assert schedule_for("inverse-time", 0.3, total).lr_at(total) == pytest.approx(0.3 / 11)
    cosine = schedule_for("cosine", 0.3, total)
    assert cosine.lr_at(0) == 0.3 and cosine.lr_at(total // 2) == pytest.approx(0.15)
    assert cosine.lr_at(total) == pytest.approx(0.0, abs=1e-15)
    assert set(SCHEDULES) == {"constant", "step", "exponential", "inverse-time", "cosine"}
    with pytest.raises(ValueError, match="unknown schedule"):
        schedule_for("linear", 0.3, total)


@settings(max_examples=50, deadline=None)
@given(st.floats(1e-4, 10), st.integers(1, 10_000), st.integers(0, 20_000))
def test_cosine_falls_from_lr_to_zero_and_stays_there(lr, total, t):
    cosine = Cosine(lr, total_steps=total)
    assert 0.0 <= cosine.lr_at(t + 1) <= cosine.lr_at(t) <= lr
    assert cosine.lr_at(t) == pytest.approx(lr * (1 + math.cos(math.pi * min(t, total) / total)) / 2, abs=1e-12)
    if t >= total:
        assert cosine.lr_at(t) == pytest.approx(0.0, abs=1e-12)


def test_cosine_refuses_a_run_without_steps():
    for bad in (0, -3, 2.5):
        with pytest.raises(ValueError, match="Cosine: total_steps"):
            Cosine(0.1, total_steps=bad)
