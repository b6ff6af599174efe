"""gradcheck of elements far smaller than its step: where f varies on an element's own
scale (a bump 1/((c·x)² + 1) with c·x ≈ 1e3 at x ≈ 1e-17), the step h = ∛ε moves x by
10¹¹ times itself, and φ looks flat (a right gradient failed as a MISMATCH) or jumping
(a DISCONTINUITY, which passed a wrong gradient). Steps on the element's own scale,
∛ε·|x|, judge it instead. And in fast mode, elements of sizes far apart (1e200
beside 1) share no step: the element table judges them. And the Taylor test's noise
floor is rounding, not a steep function's own higher terms.

Central differences in float64 are the oracle; hypothesis draws the scale and the point.
"""

import numpy as np
from glassgrad.testing import gradcheck
from hypothesis import given, settings
from hypothesis import strategies as st


def _bump(c):
    return lambda x: np.sum(1.0 / ((c * x) ** 2 + 1.0))


def _bump_grad(c, factor=1.0):
    return lambda x: factor * -2 * c**2 * x / ((c * x) ** 2 + 1.0) ** 2


@settings(max_examples=15, deadline=None)
@given(st.floats(-30, -5), st.floats(0.5, 4), st.sampled_from([-1.0, 1.0]), st.sampled_from([2.0, -1.0, 1.01]))
def test_a_function_varying_on_a_tiny_elements_own_scale_is_judged(log_x, log_cx, sign, factor):
    x = sign * 10.0**log_x
    c = 10.0**log_cx / abs(x)  # c·|x| from 3 to 1e4: f is ~1e-8 to 0.1 and steep
    point = np.array([x, 0.5])
    assert gradcheck(_bump(c), point, grad=_bump_grad(c)).ok
    wrong = gradcheck(_bump(c), point, grad=_bump_grad(c, factor), raise_exception=False)
    assert "jacobian" in wrong.failures


def test_steps_on_an_elements_own_scale_decide_only_where_they_resolve_it():
    # Moved by ∛ε·|x| = 3e-254, the other elements' 1e-191 swamp φ's differences (an
    # error of 1e48): that step says nothing, and the wrong 2.2 fails as it did at h.
    x = np.array([-4.7e-249, -2.1e-248, -3.5e-191])
    assert gradcheck(lambda x: np.sum(x + x), x, grad=lambda x: np.full_like(x, 2.0)).ok
    wrong = gradcheck(lambda x: np.sum(x + x), x, grad=lambda x: np.array([2.2, 2.0, 2.0]), raise_exception=False)
    assert "jacobian" in wrong.failures


def _lifted(x):
    """Σ exp(tanh(log(x² + 1))): smooth, and flat beyond |x| of a few."""
    with np.errstate(over="ignore"):
        return np.sum(np.exp(np.tanh(np.log(x * x + 1.0))))


def _lifted_grad(x):
    with np.errstate(over="ignore"):
        t = np.tanh(np.log(x * x + 1.0))
        return np.exp(t) * (1 - t * t) * 2 * x / (x * x + 1.0)


@settings(max_examples=5, deadline=None)
@given(st.floats(4, 300), st.sampled_from([0.0, 2.0, -1.0]))
def test_fast_mode_compares_small_elements_beside_huge_ones(log_top, factor):
    # One direction's step, sized for 1e200, moved the elements of size 1 out of sight:
    # a gradient wrong on all of them passed.
    x = np.where(np.arange(300) % 2 == 0, 10.0**log_top, np.linspace(-2, 2, 300))
    assert gradcheck(_lifted, x, grad=_lifted_grad).ok
    wrong = gradcheck(
        _lifted,
        x,
        grad=lambda x: np.where(np.abs(x) > 3, _lifted_grad(x), factor * _lifted_grad(x)),
        raise_exception=False,
    )
    assert "jacobian" in wrong.failures


@settings(max_examples=15, deadline=None)
@given(st.floats(0.05, 0.3), st.sampled_from([8, 10, 12]), st.sampled_from([1.1, 0.9, -1.0, 2.0]))
def test_a_tiny_gradient_of_a_steep_power_off_by_10_percent_fails(x, k, factor):
    # x¹² over the Taylor test's ±1e-2 bends far from a parabola (1e-13 at 0.12); taken
    # for rounding noise, that floor hid every slope error below it.
    point = np.array([x])
    assert gradcheck(lambda x: np.sum(x**k), point, grad=lambda x: k * x ** (k - 1)).ok
    wrong = gradcheck(lambda x: np.sum(x**k), point, grad=lambda x: factor * k * x ** (k - 1), raise_exception=False)
    assert "jacobian" in wrong.failures
