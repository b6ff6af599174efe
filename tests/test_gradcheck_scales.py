"""gradcheck's verdict does not depend on the scale of f, and where float arithmetic
cannot resolve f (its values are subnormal) the check says so instead of passing.

Central differences in float64 are the oracle; hypothesis draws the scale.
"""

import numpy as np
import pytest
from glassgrad.testing import gradcheck
from glassgrad.testing.strategies import arrays
from hypothesis import given, settings
from hypothesis import strategies as st

#: Scales 10^k of f that float64 represents with its full precision, derivatives included.
_SCALES = st.integers(-300, 300).map(lambda k: 10.0**k)
#: Wrong gradients: off by a factor (a doubled rule, a sign slip, a missing factor ½).
_FACTORS = st.sampled_from([2.0, -1.0, 0.5, 1.01])


def _scaled_exp(lam):
    def f(x):
        return lam * np.sum(np.exp(x))

    return f


@settings(max_examples=15, deadline=None)
@given(_SCALES, arrays((3,), min_value=-3.0, max_value=3.0), _FACTORS)
def test_a_gradient_is_judged_alike_at_every_scale(lam, x, factor):
    # λ·Σ exp(x) for λ from 1e-300 to 1e300: at λ = 1e-20 a doubled gradient passed
    # (atol and a 16ε floor swamped it), and it still would at 1e-200.
    f = _scaled_exp(lam)
    assert gradcheck(f, x, grad=lambda x: lam * np.exp(x))
    wrong = gradcheck(f, x, grad=lambda x: factor * lam * np.exp(x), raise_exception=False)
    assert "jacobian" in wrong.failures


@pytest.mark.parametrize("lam", [1e-300, 1e-20, 1e200])
def test_fast_mode_judges_every_scale(lam):
    # 1000 elements: random directions. Their tolerance had an absolute floor (a doubled
    # gradient passed at 1e-20) and overflowed to inf at 1e200 (it passed there too).
    f = _scaled_exp(lam)
    x = np.linspace(-1.0, 1.0, 1000)
    assert gradcheck(f, x, grad=lambda x: lam * np.exp(x))
    assert "jacobian" in gradcheck(f, x, grad=lambda x: 2 * lam * np.exp(x), raise_exception=False).failures


@pytest.mark.parametrize("lam", [1e-200, 1e-20, 1.0, 1e200])
def test_an_exact_zero_derivative_is_judged_at_the_scale_of_the_others(lam):
    # ∂/∂x₀ of λ‖x‖² is exactly 0 at x₀ = 0, and exactly 0 analytically too; the other
    # elements set the scale, so a doubled gradient fails there.
    x = np.array([0.0, 1.0, -2.0])

    def f(x):
        return lam * np.sum(x**2)

    assert gradcheck(f, x, grad=lambda x: 2 * lam * x)
    assert not gradcheck(f, x, grad=lambda x: 4 * lam * x, raise_exception=False)
    assert gradcheck(f, np.zeros(2), grad=lambda x: 2 * lam * x)  # every derivative 0: nothing to scale by


def test_subnormal_values_of_f_are_named_not_passed():
    # 1e-320·‖x‖² is subnormal: φ keeps 4 significant digits, and a doubled gradient
    # passed, below what its central differences resolve at any step.
    def f(x):
        return 1e-320 * np.sum(x**2)

    for factor in (2.0, 4.0):
        r = gradcheck(f, np.array([1.0, 2.0]), grad=lambda x, factor=factor: factor * 1e-320 * x, raise_exception=False)
        assert list(r.failures) == ["resolution"] and "subnormal" in r.report()
    # A subnormal input whose f is not: f(x ± h) is normal, and it is judged.
    assert gradcheck(lambda x: np.sum(x), np.array([1e-310]), grad=np.ones_like)

