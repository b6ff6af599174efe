"""Second derivatives through the ops with kinks (relu, abs, clip), for both
kinds of value: their backward multiplies by a comparison, which on a Scalar is a
Python bool, and recording it (create_graph) must take it as 0 or 1."""

import glassgrad as ag
import numpy as np
import pytest
from glassgrad import Scalar, Tensor
from hypothesis import given, settings
from hypothesis import strategies as st

FUNCTIONS = {
    "relu(x)·x": lambda x: x.relu() * x,
    "|x|·x": lambda x: abs(x) * x,
    "clip(x, -1, 1)·x": lambda x: x.clip(-1.0, 1.0) * x,
}
KINKS = (-1.0, 0.0, 1.0)

away_from_kinks = st.floats(-3, 3).filter(lambda v: min(abs(v - k) for k in KINKS) > 1e-3)


def _first_derivative(f, v):
    return float(ag.grad(f)(v))


@pytest.mark.parametrize("f", FUNCTIONS.values(), ids=FUNCTIONS.keys())
@settings(max_examples=25, deadline=None, database=None)
@given(v=away_from_kinks)
def test_second_derivative_matches_central_differences_of_the_first(f, v):
    h = 1e-6  # within 1e-3 of v the first derivative is smooth
    expected = (_first_derivative(f, v + h) - _first_derivative(f, v - h)) / (2 * h)
    x = Scalar(v)
    (g,) = ag.grad(f(x), [x], create_graph=True)
    (second,) = ag.grad(g, [x])
    assert second == pytest.approx(expected, abs=1e-5)
    t = Tensor([v], requires_grad=True)  # the same formulas on an array
    (gt,) = ag.grad(f(t).sum(), [t], create_graph=True)
    np.testing.assert_allclose(ag.grad(gt.sum(), [t])[0], [expected], atol=1e-5)


def test_a_python_bool_operand_is_a_number_as_in_python():
    x = Scalar(2.0)
    y = x * True + False
    y.backward()
    assert (y.data, x.grad) == (2.0, 1.0)
