"""Adam and AdamW against their published update equations, parameter groups, and the
optimizers' state dicts."""

import math

import numpy as np
import pytest
from glassgrad import Scalar, Tensor
from glassgrad.optim import SGD, Adam, AdamW, StepDecay
from hypothesis import given, settings
from hypothesis import strategies as st


def adam_reference(theta, grads, lr, betas, eps, weight_decay, decoupled):
    """Kingma & Ba's Algorithm 1 with PyTorch's weight decay: L2 (Adam) or decoupled
    (AdamW, Loshchilov & Hutter), one given gradient per step."""
    theta = np.array(theta, dtype=np.float64)
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    beta1, beta2 = betas
    for t, g in enumerate(grads, start=1):
        g = np.array(g, dtype=np.float64)
        if decoupled:
            theta = theta - lr * weight_decay * theta
        else:
            g = g + weight_decay * theta
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
    return theta


floats = st.floats(-3, 3, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    theta=st.lists(floats, min_size=3, max_size=3),
    grads=st.lists(st.lists(floats, min_size=3, max_size=3), min_size=5, max_size=5),
    lr=st.floats(1e-4, 0.5),
    betas=st.sampled_from([(0.9, 0.999), (0.5, 0.9), (0.0, 0.99)]),
    eps=st.sampled_from([1e-8, 1e-3]),
    weight_decay=st.sampled_from([0.0, 0.01, 0.3]),
    decoupled=st.booleans(),
)
def test_the_first_five_steps_follow_the_published_equations(theta, grads, lr, betas, eps, weight_decay, decoupled):
    p = Tensor(np.array(theta), requires_grad=True)
    opt = (AdamW if decoupled else Adam)([p], lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
    for k, g in enumerate(grads):
        p.grad = np.array(g)
        opt.step()
        expected = adam_reference(theta, grads[: k + 1], lr, betas, eps, weight_decay, decoupled)
        np.testing.assert_allclose(p.data, expected, rtol=1e-12, atol=1e-12)


def test_the_defaults_are_pytorchs():
    p = Tensor([1.0], requires_grad=True)
    adam, adamw = Adam([p]), AdamW([p])
    for opt, decay in ((adam, 0.0), (adamw, 1e-2)):
        group = opt.param_groups[0]
        assert (opt.lr, group["betas"], group["eps"], group["weight_decay"]) == (1e-3, (0.9, 0.999), 1e-8, decay)


def test_the_first_adam_step_moves_each_parameter_by_lr():
    # m̂ = g and v̂ = g² after one step: θ moves by lr·g/(|g| + ε) ≈ lr·sign(g), whatever |g|
    p = Tensor([1.0, 1.0, 1.0], requires_grad=True)
    p.grad = np.array([1e-3, -5.0, 200.0])
    Adam([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [0.9, 1.1, 0.9], rtol=2e-6)  # ε/|g| = 1e-5 of 0.1


def test_decoupled_decay_shrinks_theta_even_without_gradient_signal():
    # g = 0: Adam's update is 0 whatever the L2 term does through m/√v... except that
    # the L2 term *is* the gradient, so Adam moves by lr; AdamW shrinks by lr·λ·θ only.
    a, b = Tensor([2.0], requires_grad=True), Tensor([2.0], requires_grad=True)
    a.grad, b.grad = np.zeros(1), np.zeros(1)
    Adam([a], lr=0.1, weight_decay=0.5).step()
    AdamW([b], lr=0.1, weight_decay=0.5).step()
    assert a.data[0] == pytest.approx(2.0 - 0.1)
    assert b.data[0] == pytest.approx(2.0 * (1 - 0.1 * 0.5))


def test_each_parameter_counts_its_own_steps():
    a, b = Tensor([1.0], requires_grad=True), Tensor([1.0], requires_grad=True)
    opt = Adam([a, b], lr=0.1)
    a.grad = np.array([1.0])
    opt.step()  # b has no gradient: skipped, its step count stays 0
    b.grad = np.array([1.0])
    opt.step()
    assert opt.state[id(a)]["step"] == 2 and opt.state[id(b)]["step"] == 1
    assert b.data[0] == pytest.approx(0.9)  # a first step again: exactly lr


def test_parameter_groups_have_their_own_learning_rates():
    head, body = Tensor([1.0], requires_grad=True), Tensor([1.0], requires_grad=True)
    opt = Adam([{"params": [head], "lr": 0.5}, {"params": [body]}], lr=0.01)
    head.grad, body.grad = np.array([1.0]), np.array([1.0])
    opt.step()
    assert head.data[0] == pytest.approx(0.5) and body.data[0] == pytest.approx(0.99)
    sgd = SGD([{"params": [head], "lr": StepDecay(1.0, step_size=1, gamma=0.5)}, {"params": [body]}], lr=0.1)
    for _ in range(2):
        head.grad, body.grad = np.array([1.0]), np.array([1.0])
        sgd.step()
    assert head.data[0] == pytest.approx(0.5 - 1.0 - 0.5) and body.data[0] == pytest.approx(0.99 - 0.2)


def test_groups_refuse_unknown_hyperparameters_and_repeated_parameters():
    p = Tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"Adam: unknown hyperparameters \['momentum'\]"):
        Adam([{"params": [p], "momentum": 0.9}])
    with pytest.raises(ValueError, match="appears twice"):
        Adam([{"params": [p]}, {"params": [p]}])
    with pytest.raises(ValueError, match="empty"):
        AdamW([])


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"lr": 0.0}, "lr"),
        ({"betas": (0.9, 1.0)}, "betas"),
        ({"betas": (-0.1, 0.9)}, "betas"),
        ({"betas": (0.9,)}, "betas"),
        ({"eps": -1e-8}, "eps"),
        ({"weight_decay": float("nan")}, "weight_decay"),
    ],
)
def test_bad_hyperparameters_are_refused(kw, match):
    with pytest.raises(ValueError, match=match):
        Adam([Tensor([1.0], requires_grad=True)], **kw)


def _train(opt, p, grads):
    for g in grads:
        p.grad = np.array(g)
        opt.step()


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: Adam(ps, lr=0.1, weight_decay=0.1),
        lambda ps: AdamW(ps, lr=0.1),
        lambda ps: SGD(ps, lr=StepDecay(0.1, step_size=2), momentum=0.9),
    ],
)
def test_a_restored_state_dict_continues_exactly_where_the_run_left_off(make):
    grads = np.random.default_rng(0).normal(size=(6, 3))
    a = Tensor(np.ones(3), requires_grad=True)
    opt_a = make([a])
    _train(opt_a, a, grads)  # six steps without a break

    b = Tensor(np.ones(3), requires_grad=True)
    opt_b = make([b])
    _train(opt_b, b, grads[:3])
    saved, theta = opt_b.state_dict(), b.data.copy()
    _train(opt_b, b, grads[3:4])  # the saved state is a copy: later steps leave it alone

    c = Tensor(theta, requires_grad=True)  # a fresh optimizer on the parameters of step 3
    opt_c = make([c])
    opt_c.load_state_dict(saved)
    _train(opt_c, c, grads[3:])
    np.testing.assert_array_equal(c.data, a.data)
    assert opt_c.steps == opt_a.steps == 6


def test_load_state_dict_refuses_other_shapes_and_groups():
    p = Tensor(np.ones(3), requires_grad=True)
    opt = Adam([p])
    p.grad = np.ones(3)
    opt.step()
    saved = opt.state_dict()
    assert saved["state"][0]["step"] == 1 and saved["param_groups"][0]["params"] == [0]
    with pytest.raises(ValueError, match=r"'exp_avg' of parameter 0 is float64\[3\] but the parameter is float64\[2\]"):
        Adam([Tensor(np.ones(2), requires_grad=True)]).load_state_dict(saved)
    two = Adam([Tensor(np.ones(3), requires_grad=True), Tensor(np.ones(3), requires_grad=True)])
    with pytest.raises(ValueError, match=r"groups of \[1\] parameters, this optimizer \[2\]"):
        two.load_state_dict(saved)


def test_float32_and_scalars():
    w = Tensor(np.ones(4, np.float32), requires_grad=True)
    opt = AdamW([w], lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
    assert w.dtype == np.float32 and opt.state[id(w)]["exp_avg"].dtype == np.float32
    x = Scalar(3.0)
    opt = Adam([x], lr=0.5)
    for _ in range(200):
        opt.zero_grad()
        (x * x).backward()
        opt.step()
    assert type(x.data) is float and math.isclose(x.data, 0.0, abs_tol=0.05)
