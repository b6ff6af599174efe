"""Hyperparameters given as NumPy numbers: the buffers and the update keep the
parameter's dtype, as with Python numbers (and as in PyTorch)."""

import math

import numpy as np
import pytest
from glassgrad import Tensor
from glassgrad.optim import SGD, Adam, AdamW, StepDecay

GRADS = np.random.default_rng(1).normal(size=(3, 4)).astype(np.float32)


def _float32_sgd(theta, lr, momentum):
    """torch.optim.SGD's momentum update in float32 (Python numbers beside float32
    arrays keep them float32)."""
    buf = None
    for g in GRADS:
        buf = g.copy() if buf is None else momentum * buf + g
        theta = theta - lr * buf
    return theta, buf


def _float32_adam(theta, lr, beta1, beta2, eps):
    m = v = np.zeros_like(theta)
    for t, g in enumerate(GRADS, start=1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * (g * g)
        theta = theta - (lr / (1 - beta1**t)) * (m / (v**0.5 / (1 - beta2**t) ** 0.5 + eps))
    return theta, m, v


def _run(opt, p):
    for g in GRADS:
        p.grad = g
        opt.step()


def test_numpy_float64_momentum_keeps_a_float32_buffer_and_its_state_loads():
    p = Tensor(np.ones(4, np.float32), requires_grad=True)
    opt = SGD([p], lr=np.float64(0.1), momentum=np.float64(0.9))
    _run(opt, p)
    theta, buf = _float32_sgd(np.ones(4, np.float32), 0.1, 0.9)
    assert opt.state[id(p)]["momentum_buffer"].dtype == np.float32
    np.testing.assert_allclose(opt.state[id(p)]["momentum_buffer"], buf, rtol=1e-6)
    np.testing.assert_allclose(p.data, theta, rtol=1e-6)
    SGD([p], lr=0.1, momentum=0.9).load_state_dict(opt.state_dict())  # refused as float64 before


@pytest.mark.parametrize("kind", [Adam, AdamW])
def test_numpy_float64_betas_keep_float32_moments_and_their_state_loads(kind):
    p = Tensor(np.ones(4, np.float32), requires_grad=True)
    numbers = {"lr": np.float64(0.1), "betas": (np.float64(0.8), np.float64(0.99)), "eps": np.float64(1e-6)}
    opt = kind([p], weight_decay=np.float64(0.0), **numbers)
    _run(opt, p)
    theta, m, v = _float32_adam(np.ones(4, np.float32), 0.1, 0.8, 0.99, 1e-6)
    state = opt.state[id(p)]
    assert state["exp_avg"].dtype == state["exp_avg_sq"].dtype == np.float32
    np.testing.assert_allclose(state["exp_avg"], m, rtol=1e-6)
    np.testing.assert_allclose(state["exp_avg_sq"], v, rtol=1e-6)
    np.testing.assert_allclose(p.data, theta, rtol=1e-6)
    kind([p], lr=0.1, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.0).load_state_dict(opt.state_dict())
    assert opt.param_groups[0]["betas"] == (0.8, 0.99) and type(opt.param_groups[0]["betas"][0]) is float


def test_numpy_float32_numbers_are_numbers_too():
    p = Tensor(np.ones(2, np.float32), requires_grad=True)
    opt = SGD([p], lr=np.float32(0.5), momentum=np.float32(0.5))
    assert opt.param_groups[0]["momentum"] == 0.5 and type(opt.lr) is float
    schedule = StepDecay(np.float32(0.5), step_size=2, gamma=np.float32(0.5))
    assert schedule.lr_at(2) == 0.25 and type(schedule.lr_at(2)) is float


def test_a_numpy_number_set_as_a_groups_lr_is_used():
    # The PyTorch way of changing the rate by hand, with a rate NumPy computed.
    p = Tensor(np.zeros(2, np.float32), requires_grad=True)
    opt = SGD([p], lr=0.1)
    opt.param_groups[0]["lr"] = np.float32(0.25)
    assert opt.lr == 0.25 and type(opt.lr) is float
    p.grad = np.array([1.0, -2.0], np.float32)
    opt.step()
    np.testing.assert_array_equal(p.data, np.array([-0.25, 0.5], np.float32))


def test_a_tensor_of_another_dtype_assigned_as_grad_is_cast_as_an_array_is():
    p = Tensor(np.ones(3, np.float32), requires_grad=True)
    opt = Adam([p], lr=0.1)
    p.grad = Tensor(np.array([1.0, -2.0, 0.5]))  # float64
    assert p.grad.dtype == np.float32
    opt.step()
    state = opt.state[id(p)]
    assert state["exp_avg"].dtype == state["exp_avg_sq"].dtype == np.float32
    np.testing.assert_allclose(p.data, [0.9, 1.1, 0.9], rtol=1e-6)  # the first step moves by lr·sign(g)
    Adam([p], lr=0.1).load_state_dict(opt.state_dict())


@pytest.mark.parametrize(
    ("make", "name", "value"),
    [
        (lambda ps: SGD(ps, lr=0.1, momentum=0.9), "momentum", np.float64(0.8)),
        (lambda ps: Adam(ps, lr=0.1), "betas", (np.float64(0.85), np.float64(0.99))),
    ],
    ids=["sgd-momentum", "adam-betas"],
)
def test_numpy_numbers_set_by_hand_keep_float32_buffers(make, name, value):
    # As PyTorch's OneCycleLR cycles the momentum: set in param_groups between steps.
    p = Tensor(np.ones(4, np.float32), requires_grad=True)
    opt = make([p])
    p.grad = GRADS[0]
    opt.step()
    opt.param_groups[0][name] = value
    p.grad = GRADS[1]
    opt.step()
    assert p.dtype == np.float32
    assert all(v.dtype == np.float32 for v in opt.state[id(p)].values() if isinstance(v, np.ndarray))


def test_numpy_float32_betas_set_by_hand_are_not_float32_arithmetic():
    # β₁ᵗ of a NumPy float32 β₁ is a float32: the bias corrections of a float64
    # parameter lost half their digits. The hand formula uses the same β as Python floats.
    beta1, beta2 = np.float32(0.8), np.float32(0.99)
    p = Tensor(np.ones(4), requires_grad=True)
    opt = Adam([p], lr=0.1, betas=(0.5, 0.9))
    opt.param_groups[0]["betas"] = (beta1, beta2)
    grads = GRADS.astype(np.float64)
    for g in grads:
        p.grad = g
        opt.step()
    b1, b2 = float(beta1), float(beta2)
    theta, m, v = np.ones(4), np.zeros(4), np.zeros(4)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        theta = theta - (0.1 / (1 - b1**t)) * (m / (np.sqrt(v) / math.sqrt(1 - b2**t) + 1e-8))
    np.testing.assert_allclose(p.data, theta, rtol=1e-13)
