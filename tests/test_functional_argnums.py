"""``grad(f, argnums=...)`` with an argument named twice gives that argument's gradient
twice, as plain data for plain data (not graph values, as for a traced argument)."""

import glassgrad as ag
import numpy as np


def test_an_argument_named_twice_gets_its_gradient_twice_as_plain_data():
    x = np.array([1.0, 2.0])
    g0, g1 = ag.grad(lambda a: (a * a).sum(), argnums=(0, 0))(x)
    assert type(g0) is np.ndarray and type(g1) is np.ndarray
    np.testing.assert_array_equal(g0, [2.0, 4.0])
    np.testing.assert_array_equal(g1, [2.0, 4.0])
    value, (d0, d1, d2) = ag.value_and_grad(lambda a, b: a * b + b, argnums=(1, 0, 1))(2.0, 5.0)
    assert (value, d0, d1, d2) == (15.0, 3.0, 5.0, 3.0)
