"""gradcheck's verdict does not depend on the scale of f, and where the central
difference cannot resolve f (it varies faster than any usable step, or its values
are subnormal) the check says so instead of passing.

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


def _fast_sine(omega):
    def f(x):
        return np.sum(np.sin(omega * x))

    return f


@settings(max_examples=10, deadline=None)
@given(arrays((2,), min_value=0.1, max_value=3.0), st.sampled_from([1.01, 0.99, -1.0]))
def test_a_function_far_faster_than_the_step_is_judged_on_a_shorter_one(x, factor):
    # sin(1e8·x): a period of 6e-8 against h = 6e-6. A right gradient failed; the step
    # now shrinks (Richardson) until the central differences settle. Near a zero of
    # cos(1e8·x) the derivative is far below the 1e8·ε·|x| that rounding 1e8·x adds to
    # each difference, and the check may say it cannot judge: never a verdict either way.
    f = _fast_sine(1e8)
    judged = bool(np.all(np.abs(np.cos(1e8 * x)) > 0.1))
    right = gradcheck(f, x, grad=lambda x: 1e8 * np.cos(1e8 * x), raise_exception=False)
    assert right or (not judged and list(right.failures) == ["resolution"])
    wrong = gradcheck(f, x, grad=lambda x: factor * 1e8 * np.cos(1e8 * x), raise_exception=False)
    assert "jacobian" in wrong.failures or (not judged and list(wrong.failures) == ["resolution"])
    assert judged <= (list(wrong.failures) == ["jacobian"])


def test_a_truncation_error_above_atol_is_not_a_mismatch():
    # 1e6·x³ at x = 0: the central difference is off by 1e6·h² = 3.7e-5 > atol, while its
    # one-sided slopes agree (φ'' = 0), and a right gradient failed.
    def f(x):
        return 1e6 * np.sum(x**3)

    x = np.array([0.0, 1e-3])
    assert gradcheck(f, x, grad=lambda x: 3e6 * x**2)
    assert not gradcheck(f, x, grad=lambda x: 3e6 * x**2 + 1e-4, raise_exception=False)


def test_an_array_output_far_faster_than_the_step_is_judged_entry_by_entry_too():
    x = np.array([0.3, 1.7, 2.2])
    assert gradcheck(lambda x: np.sin(1e8 * x), x, vjp=lambda x, v: v * 1e8 * np.cos(1e8 * x))
    wrong = gradcheck(
        lambda x: np.sin(1e8 * x), x, vjp=lambda x, v: 1.01 * v * 1e8 * np.cos(1e8 * x), raise_exception=False
    )
    assert "jacobian" in wrong.failures


def test_a_function_no_step_resolves_is_named_not_judged():
    # sin(1e15·x) at x ~ 1: a period is 30 ulps of x, and no central difference settles.
    f = _fast_sine(1e15)
    for factor in (1.0, 1.01):
        r = gradcheck(
            f,
            np.array([0.3, 1.7]),
            grad=lambda x, factor=factor: factor * 1e15 * np.cos(1e15 * x),
            raise_exception=False,
        )
        assert list(r.failures) == ["resolution"]
        assert "x (0,)" in r.failures["resolution"] and "too oscillatory" in r.failures["resolution"]
        assert {row.verdict for row in r.rows} == {"UNRESOLVED"}


def test_float32_rounding_of_a_zero_gradient_is_not_called_wrong():
    # var of a constant float32 matrix: its true gradient is 0, backward gives x − mean(x)
    # rounded in float32 (3e-9), and var is 0. Judged at the size of f's values alone
    # (0), that rounding was a MISMATCH; it is judged at |x|·|φ''| too.
    from glassgrad import Tensor, var

    x = Tensor(np.full((3, 3), 1.9, dtype=np.float32), requires_grad=True)
    assert gradcheck(var, x)


@pytest.mark.parametrize("logits", [[9.0, -6.0], [12.0, -8.0, 1.0], [[9.0, -6.0], [-7.0, 8.0]]])
def test_float32_rounding_of_an_intermediate_near_one_is_not_called_wrong(logits):
    # Cross-entropy's gradient softmax(x) − onehot at x = [9, −6] is p₀ − 1 with
    # p₀ = 1 − 3e-7, which float32 holds only to ±6e-8: a right float32 gradient of
    # 4e-8 is 17 % off, however small f's values and their derivatives are. The
    # analytic side's rounding is judged at the size of the upstream gradient too.
    from glassgrad import Tensor, cross_entropy

    x = Tensor(np.array(logits, dtype=np.float32), requires_grad=True)
    labels = np.zeros(x.shape[:-1], dtype=np.int64)
    assert gradcheck(lambda z: cross_entropy(z, labels), x)
