"""gradcheck of elements far smaller than its step: where f varies on an element's own
scale (a bump 1/((c·x)² + 1) with c·x ≈ 1e3 at x ≈ 1e-17), the step h = ∛ε moves x by
10¹¹ times itself, and φ looks flat (a right gradient failed as a MISMATCH) or jumping
(a DISCONTINUITY, which passed a wrong gradient). Steps on the element's own scale,
∛ε·|x|, judge it instead. And in fast mode, elements of sizes far apart (1e200
beside 1) share no step: the element table judges them.

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


def test_a_right_jvp_at_a_tiny_element_of_a_steep_softmax_passes():
    # The false alarm as a random case met it (float32 inputs): the analytic 2e8 is
    # right, and every step from h = 5e-3 saw φ flat.
    x0 = np.array([[-2.3926044e-17], [-5.0409593e16]], dtype=np.float32)
    x1 = np.array([[2.0513184, 2.7626042, -1.5988444, 2.343142e20, -0.78499478]], dtype=np.float32)

    def f(x0, x1):
        m = np.maximum(x0 * x0, np.abs(x0)) @ x1
        z = 1.0 / (m * m + 1.0)
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def jvp(x0, x1, u0, u1):
        x0, x1, u0, u1 = (np.asarray(a, dtype=np.float64) for a in (x0, x1, u0, u1))
        a = np.maximum(x0 * x0, np.abs(x0))
        da = np.where(x0 * x0 >= np.abs(x0), 2 * x0, np.sign(x0)) * u0
        m = a @ x1
        dm = da @ x1 + a @ u1
        z = 1.0 / (m * m + 1.0)
        dz = -2 * m * dm * z * z
        s = np.exp(z - z.max(axis=-1, keepdims=True))
        s /= s.sum(axis=-1, keepdims=True)
        return (s * (dz - np.sum(s * dz, axis=-1, keepdims=True))).astype(np.float32)

    with np.errstate(all="ignore"):
        assert gradcheck(f, x0, x1, jvp=jvp).ok


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
