"""gradcheck itself: it must pass right gradients and catch each kind of wrong one."""

import math

import glassgrad
import numpy as np
import pytest
from glassgrad import Function, Scalar, Tensor, relu
from glassgrad import max as amax
from glassgrad.ops.base import call
from glassgrad.testing import GradcheckError, check_op, gradcheck, gradgradcheck, localize, taylor_test
from glassgrad.testing.finite_differences import step_size


def _op(name, forward, backward):
    """A custom op (outside the registry) from a forward and a backward."""
    return type(name, (Function,), {"name": name, "forward": staticmethod(forward), "backward": staticmethod(backward)})


Square = _op("square", lambda ctx, x: x * x, lambda ctx, g, y, x: (2 * g * x,))
BadSquare = _op("bad_square", lambda ctx, x: x * x, lambda ctx, g, y, x: (3 * g * x,))


def test_passes_scalars_tensors_several_inputs_and_tuple_outputs():
    x = Tensor([0.5, -1.0, 2.0], requires_grad=True)
    W = Tensor([[1.0, 2.0, 0.5], [0.1, -0.3, 0.2]], requires_grad=True)
    r = gradcheck(lambda x, W: ((W @ x).sigmoid(), (x * x).sum()), x, W)
    assert r.ok and r.mode == "full" and len(r.rows) == 9
    assert r.max_abs_error < 1e-8
    s = gradcheck(lambda a, b: (a * b + a.exp(), a - b), Scalar(0.3), Scalar(2.0))
    assert s.ok and [row.index for row in s.rows] == ["—", "—"]


def test_constant_inputs_pass_through_and_are_not_checked():
    x = Tensor([1.0, 2.0], requires_grad=True)
    r = gradcheck(lambda x, c, k: (x * c).sum() * k, x, Tensor([3.0, 4.0]), 2.0)
    assert len(r.rows) == 2 and all(row.input == "input 0" for row in r.rows)


def test_wrong_gradient_fails_with_a_worst_first_table():
    x = Tensor([0.5, -2.0, 1.0], requires_grad=True, name="x")
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda t: BadSquare.apply(t), x)
    result = info.value.result
    assert list(result.failures) == ["jacobian"]
    excess = [r.abs_error - r.tolerance for r in result.rows]
    assert excess == sorted(excess, reverse=True)  # worst first
    assert all(r.verdict == "MISMATCH" for r in result.rows)
    text = str(info.value)
    for column in ("input", "index", "analytic", "numeric", "|Δ|", "rel error", "tolerance"):
        assert column in text
    assert "x" in text and "jacobian FAILED" in text


def test_taylor_test_tells_a_bad_gradient_from_a_good_one():
    f = math.sin
    right = taylor_test(lambda t: f(1.0 + t), math.cos(1.0), 1e-2)
    wrong = taylor_test(lambda t: f(1.0 + t), 1.03 * math.cos(1.0), 1e-2)
    assert right.gradient_ok and right.order == pytest.approx(2.0, abs=0.2)
    assert not wrong.gradient_ok and wrong.order == pytest.approx(1.0, abs=0.2)
    # A linear function has no remainder at all: exact, not wrong.
    assert taylor_test(lambda t: 3.0 * t, 3.0, 1e-2).gradient_ok


def test_failed_check_runs_taylor_and_reports_first_order():
    x = Tensor([0.7, 1.3], requires_grad=True)
    r = gradcheck(lambda t: BadSquare.apply(t).sum(), x, raise_exception=False)
    assert r.taylor is not None and not r.taylor.gradient_ok
    assert "gradient is wrong" in r.report()


def test_too_large_step_is_refined_not_blamed_on_the_gradient():
    # With eps=0.5 the central difference of eˣ is off by h²/6; the one-sided slopes
    # then differ by curvature, so the step is halved until they agree.
    x = Tensor([1.0], requires_grad=True)
    r = gradcheck(lambda t: t.exp(), x, eps=0.5)
    assert r.ok and r.rows[0].numeric == pytest.approx(r.analytic[0][0], rel=1e-4)
    s = taylor_test(lambda t: math.exp(1.0 + t), math.e, 1e-2)
    assert s.gradient_ok and "step or tolerance is the problem" in s.summary()


def test_localization_names_the_wrong_op_and_its_line():
    def f(t):
        u = t.tanh() * 2
        return BadSquare.apply(u).sum()  # the line to be named

    x = Tensor([0.5, -1.0], requires_grad=True)
    r = gradcheck(f, x, raise_exception=False)
    culprit = r.localization.culprit
    assert culprit.op == "bad_square" and culprit.position == 3
    assert culprit.site.endswith(f"{__file__}:{f.__code__.co_firstlineno + 2} in f")
    assert "first wrong op is `bad_square`" in r.report()


def test_localize_all_ops_right_when_the_fault_is_outside_the_graph():
    def f(t):
        return t * Tensor(t.data)  # .data: the second factor is cut from the graph

    x = Tensor([0.5, 2.0], requires_grad=True)
    r = gradcheck(f, x, raise_exception=False)
    assert "jacobian" in r.failures and r.localization.culprit is None
    assert "how they are combined" in r.localization.summary()


def test_check_op_uses_recorded_params():
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    loc = localize(lambda t: (t**3).sum(axis=1, keepdims=True), x)
    assert loc.culprit is None and loc.ops_total == 2
    from glassgrad import record_sites

    with record_sites():
        y = (x**3).sum(axis=1)
    assert check_op(y).ok and y.params == {"axis": 1, "keepdims": False}


def test_kinks_are_a_verdict_not_a_failure():
    r = gradcheck(relu, Tensor([0.0, 1.0, -1.0], requires_grad=True))
    assert [k.index for k in r.kinks] == ["(0,)"]
    kink = r.kinks[0]
    assert min(kink.left, kink.right) <= kink.analytic <= max(kink.left, kink.right)
    assert gradcheck(abs, Scalar(0.0)).kinks
    tie = gradcheck(lambda t: amax(t), Tensor([2.0, 2.0, 1.0], requires_grad=True))
    assert {k.index for k in tie.kinks} == {"(0,)", "(1,)"}


def test_a_wrong_subgradient_at_a_kink_fails():
    BadRelu = _op(
        "bad_relu",
        lambda ctx, x: np.maximum(x, 0),
        lambda ctx, g, y, x: (g * np.where(x >= 0, 1.0, 0.0) * np.where(x == 0, 5.0, 1.0),),
    )
    r = gradcheck(lambda t: BadRelu.apply(t), Tensor([0.0, 1.0], requires_grad=True), raise_exception=False)
    assert list(r.failures) == ["subgradient"] and r.rows[0].verdict == "BAD SUBGRADIENT"
    assert r.localization.culprit.op == "bad_relu"


def test_composed_kinks_are_not_called_wrong():
    # relu(x) − relu(−x) = x is smooth, yet the chain rule gives 0 at 0 from relu′(0) = 0.
    r = gradcheck(lambda t: relu(t) - relu(-t), Tensor([0.0, 1.0], requires_grad=True))
    assert r.ok and r.kinks[0].verdict == "kink (composite)" and r.localization.at_kinks


def test_float32_function_is_checked_with_float32_tolerances():
    x = Tensor(np.array([0.3, -1.2, 2.5], dtype=np.float32), requires_grad=True)
    r = gradcheck(lambda t: (t * t).sigmoid().sum(), x)
    assert r.dtype == np.float32 and (r.atol, r.rtol) == (1e-4, 2e-3)
    assert step_size(2.0, np.float32) == pytest.approx(2 * np.cbrt(np.finfo(np.float32).eps))
    # A cast down inside fn makes the numerical side float32 too: its step grows.
    r = gradcheck(lambda t: t.astype(np.float32).exp(), Tensor([0.5], requires_grad=True))
    assert r.ok and "float32" in r.step


def test_fast_mode_catches_and_recomputes_the_table():
    x = Tensor(np.linspace(-1, 1, 400), requires_grad=True)
    assert gradcheck(lambda t: (t * t).tanh().sum(), x).mode == "fast"
    r = gradcheck(lambda t: BadSquare.apply(t).sum(), x, raise_exception=False)
    assert "jacobian" in r.failures and r.mode.startswith("fast, element table")
    assert len(r.rows) == 400 and r.rows[0].verdict == "MISMATCH"
    r = gradcheck(lambda t: BadSquare.apply(t).sum(), x, raise_exception=False, report_limit=10)
    assert r.mode == "fast" and r.rows[0].index.startswith("direction")


def test_linearity_catches_a_backward_that_ignores_the_upstream_gradient():
    Forgetful = _op("forgetful", lambda ctx, x: x * x, lambda ctx, g, y, x: (2 * x,))
    r = gradcheck(lambda t: Forgetful.apply(t), Tensor([1.0, 2.0], requires_grad=True), raise_exception=False)
    assert "linearity" in r.failures and "upstream gradient" in r.failures["linearity"]


def test_reentrancy_catches_a_stateful_backward():
    calls = []

    def backward(ctx, g, y, x):
        calls.append(1)
        return (g * 2 * x * (1 + 0.1 * len(calls)),)

    Drifting = _op("drifting", lambda ctx, x: x * x, backward)
    r = gradcheck(lambda t: Drifting.apply(t), Tensor([1.0], requires_grad=True), raise_exception=False)
    assert "reentrancy" in r.failures


def test_mutation_of_an_input_is_caught():
    def sneaky(t):
        with glassgrad.no_grad():
            t[0] = 5.0  # writes into the caller's array
        return t * 2

    r = gradcheck(sneaky, Tensor([1.0, 2.0], requires_grad=True), raise_exception=False)
    assert "mutation" in r.failures


def test_shape_dtype_and_aliasing_problems_are_named(monkeypatch):
    from glassgrad.tensor import Tensor as T

    def careless_store(self, g):  # keeps the backward's array itself, and in float64
        self._grad = g  # past .grad's own checks

    monkeypatch.setattr(T, "_grad_store", careless_store)
    x = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    r = gradcheck(
        lambda a, b: a + b, x, Tensor(np.array([3.0, 4.0], dtype=np.float32), requires_grad=True), raise_exception=False
    )
    assert "aliasing" in r.failures  # add passes g through: both grads are the same array
    Widen = _op("widen", lambda ctx, x: x * 2, lambda ctx, g, y, x: (np.full((3,), 2.0),))
    r = gradcheck(lambda t: Widen.apply(t), x, raise_exception=False)
    assert "shape" in r.failures and "dtype" in r.failures


def test_no_input_requires_grad_is_an_error():
    with pytest.raises(ValueError, match="requires grad"):
        gradcheck(lambda t: t * 2, Tensor([1.0]))


def test_non_value_output_is_a_type_error():
    with pytest.raises(TypeError, match="must return a Scalar or Tensor"):
        gradcheck(lambda t: t.data, Tensor([1.0], requires_grad=True))


def test_gradgradcheck_checks_second_derivatives():
    x = Tensor([0.5, -1.0, 2.0], requires_grad=True)
    assert gradgradcheck(lambda t: (t * t).sigmoid().sum(), x).ok
    assert gradgradcheck(lambda a: a.exp() * a, Scalar(0.7)).ok
    # Cube's backward is right in value, but it is built from BadSquare, whose own
    # derivative is wrong: first order passes, second order must fail.
    Cube = _op("cube", lambda ctx, x: x**3, lambda ctx, g, y, x: (3 * g * call(BadSquare, x),))
    assert gradcheck(lambda t: Cube.apply(t), x).ok
    r = gradgradcheck(lambda t: Cube.apply(t), x, raise_exception=False)
    assert "jacobian" in r.failures and r.localization.culprit.op == "bad_square"


def test_full_jacobian_names_the_wrong_entry_and_its_output():
    # Right everywhere except ∂y₁/∂x₁, so vᵀJ is off only by v₁·δ.
    OffByOne = _op(
        "off_by_one",
        lambda ctx, x: 2 * x,
        lambda ctx, g, y, x: (2 * g + np.eye(1, np.size(x), 1).reshape(np.shape(x)) * g,),
    )
    x = Tensor([0.5, -1.0, 2.0], requires_grad=True)
    r = gradcheck(lambda t: (OffByOne.apply(t), t.sum()), x, raise_exception=False)
    analytic, numeric = r.jacobian
    assert analytic.shape == numeric.shape == (4, 3)
    np.testing.assert_allclose(numeric[:3], 2 * np.eye(3), atol=1e-8)
    entries = [row.index for row in r.rows if "←" in row.index]
    assert entries == ["(1,) ← output 0(1,)"]


def test_a_kink_just_inside_the_step_is_not_a_mismatch():
    # x sits 3.8e-6 from relu's kink, closer than the step h ≈ 6e-6: the stencil is
    # moved inside (h/2) for the elements and the Jacobian entries defer to that.
    x = Tensor([3.794681769582405e-06] * 3, requires_grad=True)
    assert gradcheck(relu, x).ok
    # Closer than h/2 (≈ 3e-6): the half stencil still touches the kink; the
    # one-sided slope on the far side decides.
    assert gradcheck(relu, Tensor([2.858413459720264e-06] * 3, requires_grad=True)).ok
    BadRelu = _op("bad_relu", lambda ctx, x: np.maximum(x, 0), lambda ctx, g, y, x: (1.01 * g * (x > 0),))
    assert not gradcheck(
        lambda t: BadRelu.apply(t), Tensor([2.858413459720264e-06], requires_grad=True), raise_exception=False
    )
    from glassgrad import clip

    y = Tensor([1.0 + 3.8e-6, 0.0], requires_grad=True)
    assert gradcheck(lambda t: clip(t, -1.0, 1.0), y).ok


def test_settings_object_and_keywords_choose_the_same_check():
    from glassgrad.testing import GradcheckSettings

    x = Tensor([0.5, -1.0, 2.0], requires_grad=True)
    loose = GradcheckSettings(atol=1e-3, rtol=1e-2, raise_exception=False)
    by_object = gradcheck(lambda t: BadSquare.apply(t).sum(), x, settings=loose)
    by_keywords = gradcheck(lambda t: BadSquare.apply(t).sum(), x, atol=1e-3, rtol=1e-2, raise_exception=False)
    assert (by_object.atol, by_object.rtol) == (by_keywords.atol, by_keywords.rtol) == (1e-3, 1e-2)
    assert [r.analytic for r in by_object.rows] == [r.analytic for r in by_keywords.rows]
    # A keyword overrides the same field of the settings object.
    assert gradcheck(lambda t: t * t, x, settings=loose, mode="fast").mode == "fast"
    with pytest.raises(GradcheckError):
        gradcheck(lambda t: BadSquare.apply(t).sum(), x, settings=loose, raise_exception=True)


def test_unknown_option_and_unknown_mode_are_named():
    x = Tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"unknown option\(s\) tolerance; the options are: eps, atol"):
        gradcheck(lambda t: t * t, x, tolerance=1e-3)
    with pytest.raises(ValueError, match="mode='quick' is not one of 'auto', 'full', 'fast'"):
        gradcheck(lambda t: t * t, x, mode="quick")
