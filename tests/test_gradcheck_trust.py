"""gradcheck says "passed" only for a right gradient, and refuses what it cannot judge.

Each case is a function a user could point the checker at, with a gradient that is
wrong in a way an earlier version passed (or a misuse it answered with a traceback).
"""

import numpy as np
import pytest
from glassgrad import Function, Tensor, cross_entropy, relu
from glassgrad.testing import check_gradients, gradcheck


def _square(x):
    return np.sum(x**2)


def _twice(x):
    return 2 * x


_X = np.array([0.5, -1.3, 2.0])


def _cross_entropy(z):
    e = np.exp(z - z.max())
    return -np.log(e[1] / e.sum())


def _cross_entropy_grad(z):
    e = np.exp(z - z.max())
    return e / e.sum() - np.array([0.0, 1.0, 0.0])


def test_a_sign_error_on_gradients_far_below_atol_fails():
    x = np.array([20.0, 25.0])  # d/dx Σ exp(−x) = −exp(−x) ≈ −2e-9: all of it is below atol = 1e-6
    wrong = gradcheck(lambda x: np.exp(-x).sum(), x, grad=lambda x: np.exp(-x), raise_exception=False)
    assert "jacobian" in wrong.failures and wrong.rows[0].verdict == "MISMATCH"
    assert wrong.rows[0].abs_error > wrong.rows[0].tolerance  # the table shows why
    assert "far below atol" in wrong.report() and not wrong.taylor.gradient_ok
    assert gradcheck(lambda x: np.exp(-x).sum(), x, grad=lambda x: -np.exp(-x))
    # A factor of 2 on a small function's gradient (λ‖x‖² with λ = 1e-8), in the graph too.
    assert not gradcheck(lambda x: 1e-8 * np.sum(x**2), np.ones(2), grad=lambda x: 4e-8 * x, raise_exception=False)
    assert gradcheck(lambda t: (1e-9 * t.exp()).sum(), Tensor([1.0, -2.0], requires_grad=True))
    # 1.5 times the gradient of Σx² at x ~ 1e-7, where φ's rounding noise is ~1e-30, not |Δ|·h.
    assert not gradcheck(_square, np.array([1e-7, 2e-7]), grad=lambda x: 3 * x, raise_exception=False)


def test_a_right_small_gradient_of_a_noisy_function_passes():
    # −log p₁ with p₁ = 1 − 2e-7 is computed with cancellation: φ's rounding noise is
    # ~1e-16, far above ε·|φ|, and the central differences are off by 1.5e-5 relative.
    assert gradcheck(_cross_entropy, np.array([-8.0, 8.0, -8.0]), grad=_cross_entropy_grad)
    # A loss of 3e-8 computed as (8.25 + 3e-8) - 8.25: the forward's own slope is 5e-4 off
    # the true one, and at a logit gap of 24.5 its slope is below what its rounding resolves.
    for logits in ([8.25, -9.0], [9.5, -15.0]):
        assert gradcheck(lambda t: cross_entropy(t, np.array(0)), Tensor(logits, requires_grad=True))
    # Truncation near a minimum: f' ~ 1e-9 while f''' = 6.
    assert gradcheck(lambda x: np.sum(x**2 + x**3 + 5), np.array([1e-9, -3e-10]), grad=lambda x: 2 * x + 3 * x**2)


def test_a_wrong_gradient_is_not_excused_by_an_unrelated_kink():
    # x₁·detach(x₁) has gradient x₁, not 2x₁; relu sits at its kink on x₀ only.
    def f(x):
        return relu(x[0]) + x[1] * x[1].detach()

    r = gradcheck(f, Tensor([0.0, 2.0], requires_grad=True), raise_exception=False)
    assert "jacobian" in r.failures and r.rows[0].index.startswith("(1,)") and r.rows[0].verdict == "MISMATCH"
    assert gradcheck(lambda t: relu(t) - relu(-t), Tensor([0.0, 1.0], requires_grad=True))  # a true composite kink


@pytest.mark.parametrize(
    "call",
    [
        lambda rng: gradcheck(lambda x: np.sum(x * rng.standard_normal(3)), np.ones(3), grad=lambda x: np.ones(3)),
        lambda rng: gradcheck(
            lambda t: (t * Tensor(rng.random(3) > 0.5)).sum(), Tensor(np.ones(3), requires_grad=True)
        ),
    ],
    ids=["numpy", "graph"],
)
def test_a_random_function_is_refused_not_excused_as_kinks(call):
    # Its central differences are noise, which looked like a kink or a jump at every element.
    with pytest.raises(ValueError, match=r"different outputs for the same inputs.*seeded inside it"):
        call(np.random.default_rng(1))


def test_float32_rounding_of_a_saturated_gradient_is_not_called_wrong():
    # 1 − tanh²(x) in float32 is 0.35 % off at x = 7 and 0 at x = 9: rounding, within float32's atol.
    for x in (7.0, 9.0):
        assert gradcheck(lambda t: t.tanh(), Tensor(np.float32(x), requires_grad=True))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        # Options that compared nothing (a pass), divided by zero, or failed a right gradient.
        (lambda: gradcheck(_square, _X, grad=_twice, mode="fast", directions=0), ValueError, "directions=0 must be"),
        (lambda: gradcheck(_square, _X, grad=_twice, eps=0.0), ValueError, "eps=0.0 must be a positive step"),
        (lambda: gradcheck(_square, _X, grad=_twice, atol=-1.0), ValueError, "atol=-1.0 must be a tolerance"),
        (lambda: gradcheck(_square, _X, grad=_twice, rtol=float("nan")), ValueError, "rtol=nan must be"),
        (lambda: gradcheck(_square, _X, grad=_twice, seed="a"), ValueError, "seed='a' must be an integer"),
        # argnums that picked nothing (a pass), one input twice (a false failure), or crashed.
        (lambda: gradcheck(np.dot, _X, _X, grad=lambda x, y: (), argnums=()), TypeError, r"argnums=\(\) must be"),
        (lambda: gradcheck(np.dot, _X, _X, grad=lambda x, y: (y, x), argnums=(0, 0)), ValueError, "twice"),
        (lambda: gradcheck(np.dot, _X, _X, grad=lambda x, y: y, argnums="0"), TypeError, "argnums='0' must be"),
        # Outputs with nothing to differentiate: numpy's own error, or a dropped imaginary part.
        (lambda: gradcheck(lambda x: (), _X, vjp=lambda x, v: x), TypeError, "returned an empty tuple"),
        (lambda: gradcheck(lambda t: (), Tensor(_X, requires_grad=True)), TypeError, "returned an empty tuple"),
        (lambda: gradcheck(lambda x: x + 1j, _X, vjp=lambda x, v: v), TypeError, "real numbers.*complex128"),
        # Points with no derivative: these failed as if the gradient were wrong.
        (lambda: gradcheck(_square, np.array([np.nan, 1.0]), grad=_twice), ValueError, r"is nan at index \(0,\)"),
        (lambda: gradcheck(lambda t: t.sum(), Tensor([1.0, np.inf], requires_grad=True)), ValueError, "is inf"),
        (
            lambda: gradcheck(lambda x: np.log(x).sum(), np.array([-1.0, 1.0]), grad=np.reciprocal),
            ValueError,
            "is nan at the checked point",
        ),
        # A step across the edge of the domain raised the op's error, naming x − h as if it were the input.
        (
            lambda: gradcheck(lambda t: t.log().sum(), Tensor([1e-7, 1.0], requires_grad=True)),
            ValueError,
            "raised DomainError at a point the check moved",
        ),
    ],
)
def test_what_gradcheck_cannot_judge_is_refused_in_one_message(call, error, match):
    with np.errstate(invalid="ignore"), pytest.raises(error, match=match):
        call()


def test_a_stencil_across_a_domain_edge_is_named_in_the_report():
    with np.errstate(invalid="ignore"):  # √(1e-8 − 6e-6)
        r = gradcheck(
            lambda x: np.sum(np.sqrt(x)), np.array([1e-8, 1.0]), grad=lambda x: 0.5 / np.sqrt(x), raise_exception=False
        )
    assert "numeric nan or inf" in r.report()


def test_composite_kink_rows_show_no_empty_one_sided_slopes():
    r = gradcheck(lambda t: relu(t) - relu(-t), Tensor([0.0, 1.0], requires_grad=True))
    assert "one-sided  |" not in r.report()


def test_noise_that_vanishes_at_the_checked_point_is_still_refused():
    # Σ x·u with fresh u per call is 0 at x = 0 every time: the shrunk input of check_gradients.
    rng = np.random.default_rng(2)
    with pytest.raises(ValueError, match="different outputs for the same inputs"):
        gradcheck(lambda x: np.sum(x * rng.random(3)), np.zeros(3), grad=lambda x: np.ones(3))


def test_check_gradients_names_a_misspelt_option_once_not_as_a_failing_input():
    from glassgrad.testing.strategies import arrays

    with pytest.raises(TypeError, match=r"unknown option.*atoll"):
        check_gradients(_square, arrays((3,)), grad=_twice, atoll=1e-3)
    check_gradients(_square, arrays((3,)), grad=_twice, raise_exception=True, max_examples=3)


def test_a_backward_that_returns_the_wrong_shape_is_reported_with_its_op():
    class DropsKeepdims(Function):
        """a + b for b of shape (1, n), whose backward forgets keepdims for b."""

        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, g, y, a, b):
            return g, g.sum(axis=0)

    a, b = Tensor(np.ones((2, 3)), requires_grad=True), Tensor(np.ones((1, 3)), requires_grad=True)
    r = gradcheck(DropsKeepdims.apply, a, b, raise_exception=False)  # was the engine's GradError
    assert list(r.failures) == ["backward"] and "shape (3,)" in r.failures["backward"]
    assert r.localization.culprit.op == "dropskeepdims" and r.report().endswith("sub-checks: backward FAILED")


def test_independent_kinks_with_opposite_upstream_signs_pass():
    # relu at 1.4e-45 and at 0 with upstream gradients of opposite signs: each element is a
    # valid subgradient on its own, and so is their sum (a check moving both together refused it).
    assert gradcheck(relu, Tensor([1.401298464324817e-45, 0.0, 1.0], requires_grad=True))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: gradcheck(_square, _X, grad=lambda: 0), r"grad is called with 1 arguments \(f's inputs\)"),
        (
            lambda: gradcheck(lambda x: x**2, _X, vjp=lambda x: x),
            r"vjp is called with 2 arguments \(f's inputs, then v\)",
        ),
        (lambda: gradcheck(lambda x: x**2, _X, jvp=lambda x: x), "jvp is called with 2 arguments"),
        (lambda: gradcheck(3, _X, grad=_twice), "must be callable, got a int"),
    ],
)
def test_a_derivative_that_cannot_take_its_arguments_is_told_what_it_gets(call, match):
    with pytest.raises(TypeError, match=match):
        call()


@pytest.mark.parametrize("lam", [1e-10, 1e-12])
def test_a_factor_of_two_on_a_tiny_function_fails_in_both_modes(lam):
    # Every derivative of λ‖x‖² was below 16·ε^(2/3) = 6e-10, under which atol alone
    # judged: the factor of 2 passed. The Taylor test's longer steps resolve the slope.
    def f(x):
        return lam * np.sum(x**2)

    for x in (np.array([1.0, 2.0]), np.linspace(-1.0, 1.0, 1000)):
        assert not gradcheck(f, x, grad=lambda x: 4 * lam * x, raise_exception=False)
        assert gradcheck(f, x, grad=lambda x: 2 * lam * x)


def _sqrt_at_its_edge():
    with np.errstate(divide="ignore", invalid="ignore"):  # √(0 − h), 0.5/√0
        return gradcheck(
            lambda x: np.sum(np.sqrt(x)), np.array([0.0, 1.0]), grad=lambda x: 0.5 / np.sqrt(x), raise_exception=False
        )


def test_the_same_infinite_gradient_twice_is_reentrant():
    # ∞ − ∞ is NaN: two identical backward passes were reported as differing by nan.
    r = _sqrt_at_its_edge()
    assert "reentrancy" not in r.failures and "jacobian" in r.failures


def test_the_taylor_test_does_not_call_an_infinite_slope_wrong_or_exact():
    # It said "remainder shrinks only as h^nan: the analytic gradient is wrong".
    r = _sqrt_at_its_edge()
    assert "nan" not in r.taylor.summary() and "wrong" not in r.taylor.summary()
    assert "analytic slope is inf" in r.taylor.summary() and not r.taylor.gradient_ok


def _sin_in_float32(x):
    return np.sum(np.sin(x.astype(np.float32))).astype(np.float64)


def test_a_function_computed_in_float32_inside_is_checked_with_float32_steps():
    # It returns float64, so the check took float64's step: float32's rounding made the
    # central differences 0.7 % off (MISMATCH on a right gradient, the Taylor test said
    # "wrong") and a smooth point look like a kink, which excused a 1 % error at x = 1.1.
    assert gradcheck(_sin_in_float32, np.array([0.3, -1.2, 2.0]), grad=np.cos)
    for x in (np.array([0.3, -1.2, 2.0]), np.array([1.1])):
        wrong = gradcheck(_sin_in_float32, x, grad=lambda x: 1.01 * np.cos(x), raise_exception=False)
        assert "jacobian" in wrong.failures and all(r.verdict == "MISMATCH" for r in wrong.rows)


def test_a_step_far_above_the_scale_of_f_is_not_reported_as_a_kink():
    # sin(1e8·x) at x = 1e-8: h = 6e-6 spans a hundred periods, the one-sided slopes grew
    # like 1/h and their gap persisted, and a right gradient was a BAD SUBGRADIENT. The
    # slopes never settle there, so it is no kink: the step shrinks until they do.
    def f(x):
        return np.sum(np.sin(1e8 * x))

    def df(x):
        return 1e8 * np.cos(1e8 * x)

    assert gradcheck(f, np.array([1e-8, 2e-8]), grad=df)
    assert gradcheck(f, np.array([1e-8, 2e-8]), grad=df, eps=1e-12)
    wrong = gradcheck(f, np.array([1e-8, 2e-8]), grad=lambda x: 1.1 * df(x), raise_exception=False)
    assert "jacobian" in wrong.failures and not wrong.taylor.gradient_ok
