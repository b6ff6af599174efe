"""Ties: a max whose backward gives every tied element the whole gradient must fail.

At a tie each element alone sits at a kink, where any value between its one-sided
slopes passes; moving the tied elements together keeps the tie, and along that
direction max is smooth with slope 1, so the gradients of the tied elements must sum
to the upstream gradient (split evenly or to the first one: both are right).
"""

import numpy as np
import pytest
from glassgrad import Function, Tensor, relu
from glassgrad import abs as abs_
from glassgrad import max as amax
from glassgrad.ops import maximum
from glassgrad.testing import GradientCheckFailure, check_gradients, gradcheck
from glassgrad.testing.opinfo import OpCase, op_table
from glassgrad.testing.strategies import arrays, tensors
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


class GreedyMax(Function):
    """y = max x, with a backward that gives every tied maximum the whole g (wrong at ties)."""

    @staticmethod
    def forward(ctx, x):
        return np.max(x)

    @staticmethod
    def backward(ctx, g, y, x):
        return (g * (x == y),)


class FirstMax(GreedyMax):
    """y = max x, with a backward that gives the first maximal element g (right)."""

    @staticmethod
    def backward(ctx, g, y, x):
        out = np.zeros_like(x)
        out[np.unravel_index(np.argmax(x), x.shape)] = g
        return (out,)


def _greedy_max_grad(x):
    return (x == x.max()).astype(float)


def _first_max_grad(x):
    out = np.zeros_like(x)
    out[np.argmax(x)] = 1.0
    return out


TIED = [1.0, 3.0, 3.0, -2.0]


def test_a_max_that_gives_every_tied_element_the_whole_gradient_fails_and_is_named():
    r = gradcheck(GreedyMax.apply, Tensor(TIED, requires_grad=True, name="x"), raise_exception=False)
    assert "jacobian" in r.failures
    row = r.rows[0]
    assert row.verdict == "MISMATCH" and row.index == "(1,) + (2,) together"
    assert row.analytic == pytest.approx(2 * row.numeric)
    assert r.localization.culprit.op == "greedymax"
    assert "moved together" in r.report()


def test_the_same_slip_inside_a_function_and_in_a_hand_written_gradient_fails():
    x = Tensor(TIED, requires_grad=True)
    r = gradcheck(lambda t: GreedyMax.apply(2.0 * t + 1.0).exp(), x, raise_exception=False)
    assert "jacobian" in r.failures and r.localization.culprit.op == "greedymax"
    assert not gradcheck(np.max, np.array(TIED), grad=_greedy_max_grad, raise_exception=False)
    three = np.array([3.0, 3.0, 3.0])  # the whole gradient three times over
    assert not gradcheck(np.max, three, grad=_greedy_max_grad, raise_exception=False)


@pytest.mark.parametrize(
    "call",
    [
        lambda x: gradcheck(FirstMax.apply, Tensor(x, requires_grad=True)),
        lambda x: gradcheck(amax, Tensor(x, requires_grad=True)),  # split evenly
        lambda x: gradcheck(lambda t: amax(t.reshape((2, 2)), axis=1), Tensor(x, requires_grad=True)),
        lambda x: gradcheck(maximum, Tensor(x, requires_grad=True), Tensor(x[::-1], requires_grad=True)),
        lambda x: gradcheck(np.max, np.array(x), grad=_first_max_grad),
        lambda x: gradcheck(relu, Tensor(np.zeros(4), requires_grad=True)),  # kinks that are not ties
        lambda x: gradcheck(lambda t: relu(t).sum() + amax(t), Tensor([0.0, 0.0, 2.0, 2.0], requires_grad=True)),
    ],
    ids=["first-index", "built-in", "rows", "maximum", "hand-written", "relu", "relu-and-max"],
)
def test_right_conventions_at_ties_pass(call):
    assert call([3.0, 1.0, 3.0, 3.0])


def test_a_greedy_max_fails_in_fast_mode_too():
    x = np.linspace(-1.0, 1.0, 1000)
    x[[17, 517]] = 1.0  # tied with x[999] = 1 at the maximum
    assert not gradcheck(GreedyMax.apply, Tensor(x, requires_grad=True), raise_exception=False, mode="fast")
    assert gradcheck(FirstMax.apply, Tensor(x, requires_grad=True), mode="fast")


def test_the_strategies_users_get_draw_ties_and_check_gradients_finds_the_slip():
    with pytest.raises(GradientCheckFailure, match="together"):
        check_gradients(GreedyMax.apply, tensors(shape=(4,)), max_examples=50)
    with pytest.raises(GradientCheckFailure, match="together"):
        check_gradients(np.max, arrays((4,)), grad=_greedy_max_grad, max_examples=50)
    check_gradients(FirstMax.apply, tensors(shape=(4,)), max_examples=50)


TIE_OPS = sorted(name for name, info in op_table().items() if "ties" in info.fn.kinks)


@pytest.mark.parametrize("name", TIE_OPS)
@given(data=st.data())
def test_built_in_ops_are_right_at_ties(name, data):
    # The op suite draws these ops' inputs without ties; here every input is 0, 1 or 2.
    info = op_table()[name]
    shapes, params = data.draw(info.cases(), label="case")
    few = st.sampled_from([0.0, 1.0, 2.0])
    case = OpCase(info, tuple(data.draw(hnp.arrays(np.float64, s, elements=few)) for s in shapes), params)
    gradcheck(case, *case.tensors())


def _scaled_max(a):
    def f(x):
        return max(a * x[0], x[1])

    return f


def _greedy_scaled_max_grad(a):
    def grad(x):
        top = max(a * x[0], x[1])
        return np.array([a * (a * x[0] == top), 1.0 * (x[1] == top)])

    return grad


@given(st.sampled_from([0.25, 0.5, 2.0, 3.0, -2.0]), st.floats(0.0, 1.0))
def test_a_tie_along_a_scaled_direction_is_found_in_a_hand_written_max(a, share):
    # max(a·x₀, x₁) at x₁ = a·x₀: the tie holds along d = (1/|a|·sign, 1), not along e₀ + e₁
    # (its values differ, so no group of equal values moves together either), and the
    # greedy gradient, the whole of it to both branches, passed as two kinks.
    f, x = _scaled_max(a), np.array([1.0, a])
    assert not gradcheck(f, x, grad=_greedy_scaled_max_grad(a), raise_exception=False)
    assert gradcheck(f, x, grad=lambda x: np.array([share * a, 1.0 - share]))  # any share is right


@pytest.mark.parametrize("near", [5.9605e-08, 1e-9, 3e-11])
def test_kinked_elements_at_different_points_are_no_tie(near):
    # |x| at x₀ = 2.8e-229 and x₁ = near, both within the step of 0: moved together
    # they cross two kinks, one at each point, and the stencil straddles both; the
    # direction is not smooth at any step the check resolves, so it gives no verdict
    # (a central difference across both read 0.13 where the slope between them is 0.26).
    x = Tensor([2.7798e-229, near, 0.0], requires_grad=True)
    gradcheck(abs_, x)
