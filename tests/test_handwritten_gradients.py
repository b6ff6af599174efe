"""Hand-written derivatives of plain NumPy functions: known-right ones pass, known-wrong
ones fail, are shrunk to a small input with an @example line, and are localized to
the input and element that is wrong."""

import numpy as np
import pytest
from glassgrad.testing import GradcheckError, GradientCheckFailure, check_gradients, grad_property, gradcheck
from glassgrad.testing.strategies import arrays, floats_in
from hypothesis import example
from hypothesis import strategies as st


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def failing(fn, *strategies, **derivative):
    """The shrunk failure of a property-based check that must fail."""
    with pytest.raises(GradientCheckFailure) as info:
        check_gradients(fn, *strategies, **derivative)
    failure = info.value
    assert failure.example.startswith("@example(") and "np.array(" in failure.example
    assert "minimal after shrinking" in str(failure) and "MISMATCH" in str(failure)
    # The shrunk input fails on its own too.
    assert not gradcheck(fn, *failure.inputs, raise_exception=False, **derivative)
    return failure


def failed_inputs(result):
    return {row.input for row in result.rows if row.failed}


# -- logistic loss: BCE of probabilities -------------------------------------------------

X = np.array([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7], [-0.2, 0.8, 0.1], [1.0, -0.4, 0.6]])
Y = np.array([1.0, 0.0, 0.0, 1.0])


def logistic_loss(w, b):
    """Mean log loss of σ(Xw + b) against Y, written with probabilities."""
    p = sigmoid(X @ w + b)
    return -np.mean(Y * np.log(p) + (1 - Y) * np.log(1 - p))


def logistic_grad(w, b):
    p = sigmoid(X @ w + b)
    return X.T @ (p - Y) / len(Y), np.mean(p - Y)


def logistic_grad_without_sigmoid_derivative(w, b):
    p = sigmoid(X @ w + b)
    dL_dp = (p - Y) / (p * (1 - p)) / len(Y)  # ∂L/∂p, but never times ∂p/∂z = p(1 − p)
    return X.T @ dL_dp, np.sum(dL_dp)


WEIGHTS = (arrays((3,), min_value=-2, max_value=2), floats_in(min_value=-2, max_value=2))


def test_logistic_loss_right_gradient_passes():
    check_gradients(logistic_loss, *WEIGHTS, grad=logistic_grad)


def test_logistic_loss_without_the_sigmoid_derivative_fails_shrunk():
    failure = failing(logistic_loss, *WEIGHTS, grad=logistic_grad_without_sigmoid_derivative)
    assert failed_inputs(failure.result) <= {"w", "b"} and failure.result.taylor.order < 1.5


# -- softmax cross-entropy ------------------------------------------------------------------

TARGET = np.array([0.0, 0.0, 1.0, 0.0])


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def cross_entropy(z):
    return -np.sum(TARGET * np.log(softmax(z)))


def test_softmax_cross_entropy_right_gradient_passes():
    check_gradients(cross_entropy, arrays((4,)), grad=lambda z: softmax(z) - TARGET)


def test_softmax_cross_entropy_with_only_the_diagonal_fails_at_the_other_classes():
    # −y(1 − p): right for the target class, forgets that every logit moves every p.
    diagonal_only = lambda z: -TARGET * (1 - softmax(z))  # noqa: E731
    failure = failing(cross_entropy, arrays((4,)), grad=diagonal_only)
    wrong = {row.index for row in failure.result.rows if row.failed}
    assert wrong and "(2,)" not in wrong  # the target class's derivative is right


# -- a two-layer MLP with its backward pass written by hand --------------------------------

rng = np.random.default_rng(0)
XS, YS = rng.standard_normal((4, 2)), rng.standard_normal(4)


def mlp_loss(W1, b1, w2, b2):
    """Mean squared error of tanh(X W1 + b1) w2 + b2."""
    return np.mean((np.tanh(XS @ W1 + b1) @ w2 + b2 - YS) ** 2)


def mlp_backward(W1, b1, w2, b2, forget_tanh=False):
    h = np.tanh(XS @ W1 + b1)
    d_out = 2 * (h @ w2 + b2 - YS) / len(YS)
    d_h = np.outer(d_out, w2)
    d_pre = d_h if forget_tanh else d_h * (1 - h**2)
    return XS.T @ d_pre, d_pre.sum(axis=0), h.T @ d_out, d_out.sum()


MLP_PARAMS = (arrays((2, 3), min_value=-1, max_value=1), arrays((3,), min_value=-1, max_value=1))
MLP_PARAMS += (arrays((3,), min_value=-1, max_value=1), floats_in(min_value=-1, max_value=1))


def test_mlp_backward_passes():
    check_gradients(mlp_loss, *MLP_PARAMS, grad=mlp_backward)


def test_mlp_backward_without_tanh_derivative_is_localized_to_the_first_layer():
    wrong = lambda *params: mlp_backward(*params, forget_tanh=True)  # noqa: E731
    result = gradcheck(
        mlp_loss, *[rng.standard_normal(s) for s in [(2, 3), (3,), (3,)]], 0.3, grad=wrong, raise_exception=False
    )
    assert failed_inputs(result) == {"W1", "b1"}
    # Shrinking searches the first layer (the second is held fixed: fewer values to shrink).
    failure = failing(mlp_loss, *MLP_PARAMS[:2], st.just(np.array([0.5, -1.0, 2.0])), st.just(0.3), grad=wrong)
    assert failed_inputs(failure.result) <= {"W1", "b1"}


# -- np.linalg.norm: one number (grad), and row norms (vjp, jvp) --------------------------

AWAY_FROM_ZERO = arrays((3,), avoid=[0.0], margin=0.1)


def test_norm_right_gradient_passes_and_squared_norm_gradient_fails():
    check_gradients(np.linalg.norm, AWAY_FROM_ZERO, grad=lambda x: x / np.linalg.norm(x))
    failing(np.linalg.norm, AWAY_FROM_ZERO, grad=lambda x: 2 * x)  # the gradient of ‖x‖², not ‖x‖


def row_norms(x):
    return np.linalg.norm(x, axis=1)


def test_row_norms_vjp_and_jvp_pass():
    rows = arrays((2, 3), avoid=[0.0], margin=0.1)
    check_gradients(row_norms, rows, vjp=lambda x, v: v[:, None] * x / row_norms(x)[:, None])
    check_gradients(row_norms, rows, jvp=lambda x, u: np.sum(x * u, axis=1) / row_norms(x))


def test_a_vjp_that_ignores_v_fails_linearity_and_the_jacobian():
    x = np.array([[1.0, 2.0, -1.0], [0.5, 0.1, 3.0]])
    result = gradcheck(row_norms, x, vjp=lambda x, v: x / row_norms(x)[:, None], raise_exception=False)
    assert {"jacobian", "linearity"} <= set(result.failures)
    assert "vjp is not linear in v" in result.failures["linearity"]
    entries = [row.index for row in result.rows if "←" in row.index]
    assert "(0, 0) ← output(1,)" in entries  # row 0's input is not in output 1


def test_a_jvp_with_one_wrong_column_names_that_element():
    def jvp(x, u):
        out = np.sum(x * u, axis=1) / row_norms(x)
        return out + np.array([0.5 * u[0, 2], 0.0])  # ∂‖x₀‖/∂x₀₂ off by 0.5

    result = gradcheck(row_norms, np.array([[1.0, 2.0, -1.0], [0.5, 0.1, 3.0]]), jvp=jvp, raise_exception=False)
    assert {row.index for row in result.rows if row.failed} == {"(0, 2)", "(0, 2) ← output(0,)"}


# -- a function with a kink ------------------------------------------------------------------


def l1(x):
    return np.sum(np.abs(x))


def test_kinks_are_a_verdict_for_a_valid_subgradient_and_a_failure_for_an_invalid_one():
    x = np.array([0.0, 1.5, -2.0])
    result = gradcheck(l1, x, grad=np.sign)
    assert [row.index for row in result.kinks] == ["(0,)"]
    bad = gradcheck(l1, x, grad=lambda x: np.sign(x) + 2 * (x == 0), raise_exception=False)
    assert list(bad.failures) == ["subgradient"] and bad.rows[0].verdict == "BAD SUBGRADIENT"


def test_kinked_function_away_from_the_kink_passes_and_a_one_sided_gradient_fails():
    away = arrays((3,), avoid=[0.0])
    check_gradients(l1, away, grad=np.sign)
    failure = failing(l1, away, grad=lambda x: (x > 0) * 1.0)  # forgets the negative side
    (x,) = failure.inputs
    assert np.any(x < 0)


# -- the plumbing: inputs, outputs, dtypes, sub-checks, errors -----------------------------


def test_several_outputs_constants_and_float32():
    x = np.array([0.5, -1.0], dtype=np.float32)
    result = gradcheck(
        lambda x, k: (k * np.sin(x), np.sum(x**2)),
        x,
        2,
        vjp=lambda x, k, v: (k * np.cos(x) * v[0] + 2 * x * v[1]).astype(np.float32),
    )
    assert result.dtype == np.float32 and (result.atol, result.rtol) == (1e-4, 2e-3)
    assert {row.input for row in result.rows} == {"x"}


def test_argnums_picks_inputs_and_names_come_from_the_signature():
    def f(w, x):
        return float(w @ x)

    w, x = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    assert {r.input for r in gradcheck(f, w, x, grad=lambda w, x: x, argnums=0).rows} == {"w"}
    assert {r.input for r in gradcheck(f, w, x, grad=lambda w, x: (x, w)).rows} == {"w", "x"}


def test_wrong_shape_and_dtype_are_named():
    x = np.array([1.0, 2.0], dtype=np.float32)
    result = gradcheck(lambda x: np.sum(x * x), x, grad=lambda x: 2.0 * x.astype(np.float64), raise_exception=False)
    assert "float64 != input dtype float32" in result.failures["dtype"]
    result = gradcheck(lambda x: np.sum(x * x), np.ones(2), grad=lambda x: np.ones(3), raise_exception=False)
    assert "gradient shape (3,) != input shape (2,)" in result.failures["shape"]


def test_in_place_changes_are_caught_and_the_callers_arrays_are_untouched():
    def scaled(x, v):
        x *= 2  # the derivative scribbles on its input
        return v * 1.0

    x = np.array([1.0, 2.0])
    result = gradcheck(lambda x: 1.0 * x, x, vjp=scaled, raise_exception=False)
    assert "mutation" in result.failures and "vjp" in result.failures["mutation"]
    assert np.array_equal(x, [1.0, 2.0])


def test_fast_mode_for_many_elements():
    x = np.linspace(-1, 1, 300)
    assert gradcheck(lambda x: np.sum(np.sin(x)), x, grad=np.cos).mode == "fast"
    result = gradcheck(lambda x: np.sum(np.sin(x)), x, grad=lambda x: np.cos(x) * 1.01, raise_exception=False)
    assert result.mode.startswith("fast, element table") and result.rows[0].failed


def test_a_wrong_gradient_raises_with_the_report():
    with pytest.raises(GradcheckError, match=r"gradcheck of l1 failed: jacobian(.|\n)*MISMATCH"):
        gradcheck(l1, np.array([1.0, -2.0]), grad=lambda x: np.abs(x))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: gradcheck(np.sin, np.ones(2), grad=np.cos), TypeError, r"grad= is for a function that returns one"),
        (
            lambda: gradcheck(l1, np.ones(2), grad=np.sign, vjp=np.sign),
            TypeError,
            "give one derivative, not grad= and vjp=",
        ),
        (lambda: gradcheck(l1, np.ones(2), grad=1.0), TypeError, "grad= must be a function"),
        (lambda: gradcheck(lambda n: n * 1.0, 3, grad=lambda n: 1.0), ValueError, "nothing to check"),
        (lambda: gradcheck(lambda n: n * 1.0, 3, grad=lambda n: 1.0, argnums=0), TypeError, "only floats and"),
        (lambda: gradcheck(l1, np.ones(2), grad=np.sign, argnums=3), IndexError, "given 1 inputs"),
        (lambda: gradcheck(lambda a, b: a @ b, np.ones(2), np.ones(2), grad=lambda a, b: b), TypeError, "2 gradients"),
        (lambda: gradcheck(lambda x: {"y": x}, np.ones(2), grad=np.sign), TypeError, "must return a number or a NumPy"),
        (lambda: gradcheck(l1, np.ones(2), argnums=0), TypeError, "argnums= picks the inputs of a plain function"),
        (lambda: gradcheck(l1, np.ones(2)), ValueError, "pass.*grad=, vjp= or jvp="),
    ],
)
def test_misuse_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


# -- pytest forms ------------------------------------------------------------------------------


def test_two_lines_per_function_checked():
    check_gradients(cross_entropy, arrays((4,)), grad=lambda z: softmax(z) - TARGET)


@grad_property(arrays((3,)), grad=lambda x: np.sign(x))
@example(np.array([0.0, 1.0, -1.0]))  # a pinned case at the kink
def test_l1_decorated(x):
    return l1(x)


def test_the_decorated_form_fails_on_a_wrong_derivative():
    @grad_property(st.just(np.array([1.0, -1.0])), grad=np.abs)
    def check_l1(x):
        return l1(x)

    with pytest.raises(GradientCheckFailure):
        check_l1()
