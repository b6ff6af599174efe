"""An optimizer's state survives pickling, deep copies and state dicts, and its learning
rate may be set the PyTorch way (a number in ``param_groups``)."""

import copy
import pickle

import numpy as np
import pytest
from glassgrad import Tensor
from glassgrad.optim import SGD, Adam, StepDecay

GRADS = np.random.default_rng(0).normal(size=(4, 3))


def _train(opt, p, grads):
    for g in grads:
        p.grad = g.copy()
        opt.step()


@pytest.mark.parametrize("copier", [lambda x: pickle.loads(pickle.dumps(x)), copy.deepcopy], ids=["pickle", "deepcopy"])
@pytest.mark.parametrize(
    "make",
    [lambda ps: SGD(ps, lr=0.1, momentum=0.9), lambda ps: Adam(ps, lr=0.1)],
    ids=["sgd-momentum", "adam"],
)
def test_a_copied_optimizer_continues_with_its_buffers(make, copier):
    a = Tensor(np.ones(3), requires_grad=True)
    opt_a = make([a])
    _train(opt_a, a, GRADS[:2])
    b, opt_b = copier((a, opt_a))
    _train(opt_a, a, GRADS[2:])
    _train(opt_b, b, GRADS[2:])
    # Momentum from θ = 1, g₁ = GRADS[0], g₂ = GRADS[1]: the buffer after step 2 is
    # 0.9·g₁ + g₂; a copy that lost it would restart the buffer from g₃.
    np.testing.assert_array_equal(b.data, a.data)
    assert opt_b.steps == 4
    assert set(opt_b.state) == {id(b)}


def test_a_number_set_as_the_learning_rate_is_used_from_the_next_step():
    p = Tensor(np.zeros(2), requires_grad=True)
    opt = SGD([p], lr=StepDecay(1.0, step_size=1))
    opt.param_groups[0]["lr"] = 0.25  # how PyTorch users change the learning rate by hand
    assert opt.lr == 0.25
    _train(opt, p, [np.array([1.0, -2.0])])
    np.testing.assert_array_equal(p.data, [-0.25, 0.5])


def test_a_state_dict_with_a_number_as_learning_rate_loads():
    p = Tensor(np.zeros(2), requires_grad=True)
    opt = SGD([p], lr=0.1, momentum=0.5)
    _train(opt, p, [np.array([1.0, -2.0])])  # θ = (−0.1, 0.2), buffer (1, −2)
    saved = opt.state_dict()
    saved["param_groups"][0]["lr"] = 0.5  # as torch.optim lays it out: a float
    restored = SGD([p], lr=0.1, momentum=0.5)
    restored.load_state_dict(saved)
    _train(restored, p, [np.array([1.0, 0.0])])  # buffer 0.5·(1, −2) + (1, 0) = (1.5, −1)
    np.testing.assert_allclose(p.data, [-0.1 - 0.75, 0.2 + 0.5], rtol=0, atol=1e-15)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda s: s["param_groups"][0].update(momentum=-1.0), "momentum must be a finite number ≥ 0"),
        (lambda s: s["param_groups"][0].update(lr="fast"), "lr must be a finite number > 0"),
        (lambda s: s["param_groups"][0].update(betas=(0.9, 0.999)), r"unknown hyperparameters \['betas'\]"),
        (lambda s: s["state"][0].update(momentum_buffer=5.0), r"'momentum_buffer' of parameter 0 is float64\[\]"),
    ],
    ids=["out-of-range", "not-a-rate", "another-optimizer", "scalar-buffer"],
)
def test_load_state_dict_refuses_what_this_optimizer_cannot_use_and_changes_nothing(edit, match):
    p = Tensor(np.ones(3), requires_grad=True)
    opt = SGD([p], lr=0.1, momentum=0.9)
    _train(opt, p, GRADS[:1])
    saved = opt.state_dict()
    edit(saved)
    before = copy.deepcopy((opt.param_groups[0]["momentum"], opt.state[id(p)], opt.steps))
    with pytest.raises(ValueError, match=match):
        opt.load_state_dict(saved)
    after = (opt.param_groups[0]["momentum"], opt.state[id(p)], opt.steps)
    assert after[0] == before[0] and after[2] == before[2]
    np.testing.assert_array_equal(after[1]["momentum_buffer"], before[1]["momentum_buffer"])
