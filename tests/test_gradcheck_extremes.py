"""gradcheck at the ends of the float range and on unusual arrays: near the largest
float it judges (a wrong gradient fails, a right one passes) instead of overflowing;
where rounding leaves it nothing to judge by it says so; a long double gradient is
held to float64's tolerance, not float16's; a masked array is refused.

Central differences in float64 are the oracle; hypothesis draws the magnitudes.
"""

import numpy as np
import pytest
from glassgrad import Tensor
from glassgrad.testing import gradcheck, tolerances_for
from hypothesis import given, settings
from hypothesis import strategies as st

#: Magnitudes from where h² overflows (|x| past 1e154) up to the largest float.
_HUGE = st.floats(1e154, 1.7e308)


def _repeated(x):
    """f(x) = (x₀, x₀, x₁, x₂): its Σ vᵀf overflows where x₀ is near the largest float."""
    return np.stack([x[0], x[0], x[1], x[2]])


def _vjp(doubled):
    return lambda x, v: np.array([v[0] + (2 if doubled else 1) * v[1], v[2], v[3]])


@settings(max_examples=10, deadline=None)
@given(_HUGE, st.integers(0, 2**16))
def test_outputs_near_the_largest_float_are_judged(top, seed):
    x = np.array([top, 1.0, -top / 2])
    assert gradcheck(_repeated, x, vjp=_vjp(doubled=False), seed=seed).ok
    wrong = gradcheck(_repeated, x, vjp=_vjp(doubled=True), seed=seed, raise_exception=False)
    assert "jacobian" in wrong.failures


@settings(max_examples=10, deadline=None)
@given(_HUGE, st.sampled_from([0.5, 2.0, -1.0, 1.01]))
def test_inputs_near_the_largest_float_are_judged(top, factor):
    x = np.array([top, -top / 3])
    assert gradcheck(lambda x: np.sum(x / 2), x, grad=lambda x: np.full_like(x, 0.5)).ok
    wrong = gradcheck(lambda x: np.sum(x / 2), x, grad=lambda x: np.full_like(x, 0.5 * factor), raise_exception=False)
    assert "jacobian" in wrong.failures


def test_a_graph_with_values_near_the_largest_float_is_judged():
    t = Tensor(np.array([1.5e308, -1.5e308, 1.0]), requires_grad=True)
    for seed in range(5):
        assert gradcheck(lambda t: t * 1.0, t, seed=seed).ok


def test_a_step_too_short_for_f_gives_no_verdict():
    # h = 1e-300 against f ≈ 1e300: f's rounding alone is ε·|f|/h = inf per unit of
    # x, so no derivative can be judged (a wrong one passed as ok before).
    result = gradcheck(
        lambda x: np.sum(x**2) * 1e300,
        np.array([1.0, 2.0]),
        grad=lambda x: 3 * x * 1e300,
        eps=1e-300,
        raise_exception=False,
    )
    assert not result.ok
    assert {row.verdict for row in result.rows} == {"UNRESOLVED"}
    assert "resolution" in result.failures


@pytest.mark.skipif(np.finfo(np.longdouble).eps >= np.finfo(np.float64).eps, reason="long double is float64 here")
def test_a_long_double_gradient_is_held_to_float64s_tolerance():
    assert tolerances_for(np.longdouble) == tolerances_for(np.float64)
    x = np.array([1.0, 2.0], dtype=np.longdouble)
    assert gradcheck(lambda x: np.sum(x**2), x, grad=lambda x: 2 * x).ok
    wrong = gradcheck(lambda x: np.sum(x**2), x, grad=lambda x: 2.01 * x, raise_exception=False)
    assert "jacobian" in wrong.failures


def test_a_float_coarser_than_every_listed_one_gets_the_loosest_row():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    assert tolerances_for(ml_dtypes.bfloat16) == tolerances_for(np.float16)


@pytest.mark.parametrize("argnums", [None, 0])
def test_a_masked_array_is_refused(argnums):
    x = np.ma.array([1.0, 2.0], mask=[False, True])
    with pytest.raises(TypeError, match=r"masked array.*x\.filled"):
        gradcheck(lambda x: np.sum(x**2), x, grad=lambda x: 2 * x, argnums=argnums)


def _sin(x):
    return np.sum(np.sin(x))


# sin far beyond where steps of whole ulps resolve it: at 1e100 an ulp spans 1e84
# periods; at -2.7e231 its samples along steps of 2ᵏ ulps line up into a slope of
# 3e-223 for six k in a row; at 1.4e191 they scatter like float16's rounding.
@pytest.mark.parametrize("x", [1e20, 1e100, -2.7369270522606114e231, 1.4255634409044034e191])
@pytest.mark.parametrize("factor", [1.0, 2.0])
def test_a_function_no_step_resolves_gets_no_verdict(x, factor):
    result = gradcheck(_sin, np.array([x]), grad=lambda x: factor * np.cos(x), raise_exception=False)
    assert list(result.failures) == ["resolution"]
    assert [row.verdict for row in result.rows] == ["UNRESOLVED"]


@settings(max_examples=20, deadline=None)
@given(st.floats(1.0, 1e10), st.sampled_from([-1.0, 1.0]))
def test_sin_is_judged_wherever_the_steps_resolve_it(x, sign):
    x = np.array([sign * x])
    assert gradcheck(_sin, x, grad=np.cos).ok
    assert "jacobian" in gradcheck(_sin, x, grad=lambda x: 1.5 * np.cos(x), raise_exception=False).failures
