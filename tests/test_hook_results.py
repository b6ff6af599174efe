"""A hook may replace a gradient only with one of the value's shape: anything else is
refused, naming the value, rather than broadcast into ``.grad`` or through the ops
before it. What a hook returns is taken as a ``backward(gradient)`` is."""

import numpy as np
import pytest
from glassgrad import GradError, Scalar, Tensor, grad


@pytest.mark.parametrize(
    "replace", [lambda g: g.sum(), lambda g: g[:1], lambda g: np.ones((2, 3))], ids=["total", "part", "wider"]
)
@pytest.mark.parametrize("on_leaf", [True, False], ids=["leaf", "op output"])
def test_a_hook_returning_another_shape_is_refused(replace, on_leaf):
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True, name="x")
    v = x if on_leaf else x * 1.0
    v.register_hook(replace)
    with pytest.raises(GradError, match=r"a hook on Tensor .*f64\[3\] returned a gradient that does not fit"):
        (v * v).sum().backward()
    assert x.grad is None


def test_a_hook_may_return_a_list_or_a_graph_value_of_the_right_shape():
    x = Tensor([1.0, 2.0], requires_grad=True)
    m = x * 1.0
    m.register_hook(lambda g: [1, 10])
    (m * 3.0).sum().backward()
    assert type(x.grad) is np.ndarray
    np.testing.assert_array_equal(x.grad, [1.0, 10.0])
    y = Tensor([1.0, 2.0], requires_grad=True)
    y.register_hook(lambda g: Tensor(g) * 2)  # a graph value in a pass that records nothing
    (y * y).sum().backward()
    assert type(y.grad) is np.ndarray
    np.testing.assert_array_equal(y.grad, [4.0, 8.0])


def test_a_hook_on_a_scalar_must_return_one_number():
    s = Scalar(2.0)
    s.register_hook(lambda g: [g, g])
    with pytest.raises(GradError, match="a hook on Scalar"):
        (s * s).backward()


def test_hooks_under_create_graph_still_differentiate():
    x = Tensor([1.0, 2.0], requires_grad=True)
    m = x * x
    m.register_hook(lambda g: g * 3.0)
    (g,) = grad(m.sum(), x, create_graph=True)
    np.testing.assert_array_equal(g.data, [6.0, 12.0])
    (h,) = grad(g.sum(), x)
    np.testing.assert_array_equal(h, [6.0, 6.0])
