"""A hook sees the gradient as ``.grad`` holds it: in the value's dtype and as an array
(0-d for one number), as in PyTorch, even where float64 constants carry a float64
gradient through a float32 graph. A hook that returns None changes nothing: the
gradient passes on as it came."""

import glassgrad as gg
import numpy as np
import pytest
from glassgrad import Tensor

WEIGHTS = np.array([1.0, 2.0, 3.0])  # float64: promotes the float32 graph after it


def _forward(x):
    h = x * 2.0  # float32
    return h, (h * WEIGHTS).sum()


@pytest.mark.parametrize("on", ["leaf", "op output"])
def test_a_hook_on_a_float32_value_sees_a_float32_gradient(on):
    x = Tensor(np.array([0.5, 1.0, 1.5], np.float32), requires_grad=True)
    h, loss = _forward(x)
    seen = []
    (x if on == "leaf" else h).register_hook(seen.append)
    loss.backward()
    (g,) = seen
    assert type(g) is np.ndarray and g.dtype == np.float32 and g.shape == (3,)
    # ∂L/∂h = w, ∂L/∂x = 2w
    np.testing.assert_array_equal(g, WEIGHTS * (2.0 if on == "leaf" else 1.0))


def test_a_hook_on_one_number_sees_a_0d_array_of_its_dtype():
    b = Tensor(np.float32(0.5), requires_grad=True)
    seen = []
    b.register_hook(seen.append)
    ((Tensor(np.ones(3, np.float32)) + b) * WEIGHTS).sum().backward()
    (g,) = seen
    assert type(g) is np.ndarray and g.dtype == np.float32 and g.shape == ()
    assert g == 6.0  # Σ w


def test_an_observing_hook_changes_no_gradient():
    # The float64 gradient reaching h passes on unrounded whether or not a hook saw it.
    x = Tensor(np.array([0.1, 0.2, 0.3], np.float32), requires_grad=True)
    third = np.array([1 / 3, 1 / 7, 1 / 9])  # not representable in float32

    def loss_of(hooked):
        x.grad = None
        h = x * 1.0
        if hooked:
            h.register_hook(lambda g: None)
        (gg.exp(h * third)).sum().backward()
        return x.grad.copy()

    np.testing.assert_array_equal(loss_of(True), loss_of(False))


def test_a_replacement_is_taken_in_the_values_dtype():
    x = Tensor(np.array([0.5, 1.0, 1.5], np.float32), requires_grad=True)
    h, loss = _forward(x)
    h.register_hook(lambda g: g * 3)
    loss.backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, 6 * WEIGHTS)
