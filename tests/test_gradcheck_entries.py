"""The Jacobian compared entry by entry is judged as the element rows are: where an
entry disagrees at the fixed step h, the step shrinks until its central differences
settle (or the entry is UNRESOLVED), and tiny entries are judged on their own scale.

One random upstream gradient v can hide a wrong entry behind a large one; the
entries are what find it, so they must neither fail a right gradient for the step's
truncation error nor skip a column whose element needed a shorter step.
Central differences in float64 are the oracle; hypothesis draws the points and scales.
"""

import numpy as np
from glassgrad.testing import gradcheck
from hypothesis import assume, given, settings
from hypothesis import strategies as st

_POINTS = st.floats(0.1, 3.0)
#: Wrong gradients: off by a factor (a doubled rule, a sign slip, a missing factor ½).
_FACTORS = st.sampled_from([2.0, -1.0, 0.5, 1.5])


def _entry_rows(result, verdict):
    """The (index) of every entry row (``x (j,) ← output(i,)``) with ``verdict``."""
    return [r.index for r in result.rows if "←" in r.index and r.verdict == verdict]


def _steep_beside_gentle(x):
    # Column 0 holds 1e6 (gentle, large) and 1e4·cos(1e4·x₀)·x₁ (steep): φ's row is
    # judged with rtol·1e6, which covers the steep entry's truncation error at h.
    return np.stack([1e6 * x[0] + x[1], np.sin(1e4 * x[0]) * x[1]])


def _steep_beside_gentle_vjp(factor=1.0):
    def vjp(x, v):
        steep = factor * 1e4 * np.cos(1e4 * x[0]) * x[1]
        return np.array([1e6 * v[0] + steep * v[1], v[0] + np.sin(1e4 * x[0]) * v[1]])

    return vjp


@settings(max_examples=10, deadline=None)
@given(_POINTS, _POINTS)
def test_a_steep_entry_is_judged_on_a_shorter_step(x0, x1):
    # sin(1e4·x₀): the central difference at h = 6e-6 is off by (1e4·h)²/6 = 6e-4
    # relatively, 60 times rtol, and a right Jacobian entry was a MISMATCH.
    x = np.array([x0, x1])
    assume(abs(np.cos(1e4 * x0)) > 0.01)  # an entry far above atol: its truncation error is too
    assert gradcheck(_steep_beside_gentle, x, vjp=_steep_beside_gentle_vjp())
    wrong = gradcheck(_steep_beside_gentle, x, vjp=_steep_beside_gentle_vjp(1.001), raise_exception=False)
    assert list(wrong.failures) == ["jacobian"]
    assert _entry_rows(wrong, "MISMATCH") == ["(0,) ← output(1,)"]
    numeric = wrong.jacobian[1]
    true = 1e4 * np.cos(1e4 * x0) * x1
    assert abs(numeric[1, 0] - true) <= 1e-6 * abs(true)  # the refined entry, not the one at h


def _fast_beside_slow(x):
    return np.stack([np.sin(1e8 * x[0]), x[0] ** 2 + x[1]])


def _fast_beside_slow_vjp(factor=1.0):
    def vjp(x, v):
        return np.array([1e8 * np.cos(1e8 * x[0]) * v[0] + factor * 2 * x[0] * v[1], v[1]])

    return vjp


@settings(max_examples=10, deadline=None)
@given(_POINTS, _FACTORS)
def test_a_wrong_entry_in_a_column_that_needed_a_shorter_step_is_found(x0, factor):
    # Column 0's element needs a step far below h (sin(1e8·x₀)); its row is judged with
    # rtol·1e8, which hides any slip in ∂(x₀² + x₁)/∂x₀. The entries of that column were
    # left out at h, and a doubled 2x₀ passed.
    x = np.array([x0, 0.5])
    assume(abs(np.cos(1e8 * x0)) > 0.1)  # near a zero of cos(1e8·x₀) no step resolves it
    assert gradcheck(_fast_beside_slow, x, vjp=_fast_beside_slow_vjp())
    wrong = gradcheck(_fast_beside_slow, x, vjp=_fast_beside_slow_vjp(factor), raise_exception=False)
    assert list(wrong.failures) == ["jacobian"]
    assert _entry_rows(wrong, "MISMATCH") == ["(0,) ← output(1,)"]


def _hidden_at_scale(lam):
    def f(x):
        return lam * np.stack([1e6 * x[0], x[0] ** 2 + x[1]])

    return f


def _hidden_at_scale_vjp(lam, factor=1.0):
    def vjp(x, v):
        return lam * np.array([1e6 * v[0] + factor * 2 * x[0] * v[1], v[1]])

    return vjp


@settings(max_examples=15, deadline=None)
@given(st.integers(-300, 200).map(lambda k: 10.0**k), _POINTS, _FACTORS)
def test_a_wrong_entry_is_found_at_every_scale(lam, x0, factor):
    # λ·[1e6·x₀, x₀² + x₁]: a slip in the small entry 2x₀ hides in φ's row behind the
    # entry 1e6 and is found entry by entry; but at λ = 1e-10 every entry is far below
    # atol, and the slip passed.
    x = np.array([x0, 0.5])
    assert gradcheck(_hidden_at_scale(lam), x, vjp=_hidden_at_scale_vjp(lam))
    wrong = gradcheck(_hidden_at_scale(lam), x, vjp=_hidden_at_scale_vjp(lam, factor), raise_exception=False)
    assert list(wrong.failures) == ["jacobian"]
    assert _entry_rows(wrong, "MISMATCH") == ["(0,) ← output(1,)"]


def test_an_entry_no_step_resolves_is_named_not_judged():
    # 1e-9·sin(1e15·x₀): a period of 30 ulps of x₀, and no central difference settles;
    # beside the entry 1e12 of output 0 φ's row does not show it, and the right
    # entry 1e6·cos(1e15·x₀) was a MISMATCH against the noise at h.
    def f(x):
        return np.stack([1e12 * x[0], 1e-9 * np.sin(1e15 * x[0])])

    def vjp(x, v):
        return np.array([1e12 * v[0] + 1e6 * np.cos(1e15 * x[0]) * v[1]])

    r = gradcheck(f, np.array([0.3]), vjp=vjp, raise_exception=False)
    assert list(r.failures) == ["resolution"]
    assert "x (0,) ← output(1,)" in r.failures["resolution"]
    assert _entry_rows(r, "UNRESOLVED") == ["(0,) ← output(1,)"]
