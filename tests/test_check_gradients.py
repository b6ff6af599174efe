"""Property-based gradient checks as a user writes them: pass, or the minimal failing
input with its table, the wrong op, and a paste-able @example line."""

import numpy as np
import pytest
from glassgrad import Function, Scalar, Tensor, relu
from glassgrad.testing import GradientCheckFailure, check_gradients, grad_property, gradcheck, literal
from glassgrad.testing.strategies import (
    LogisticProblem,
    RandomGraph,
    Step,
    broadcastable_tensors,
    floats_in,
    logistic_problems,
    nonzero,
    positive,
    probabilities,
    scalars,
    tensors,
)
from hypothesis import example, given, settings
from hypothesis import strategies as st


class SignBlindCube(Function):
    """x³ with a backward that is right only for x ≥ 0: 3x·|x| instead of 3x²."""

    name = "sign_blind_cube"

    @staticmethod
    def forward(ctx, x):
        return x**3

    @staticmethod
    def backward(ctx, g, y, x):
        return (g * 3 * x * abs(x),)


def my_fn(x):
    return SignBlindCube.apply(x.tanh()).sum()  # the op to be named


def test_a_correct_function_passes():
    check_gradients(lambda x: (x * x).sigmoid().sum(), tensors(shape=(3,)))


def test_a_wrong_custom_op_is_caught_shrunk_and_localized():
    with pytest.raises(GradientCheckFailure) as info:
        check_gradients(my_fn, tensors(shape=(3,)))
    failure = info.value
    (x,) = failure.inputs
    # Shrunk: only negative inputs show the bug, and hypothesis simplifies them to −1.
    assert np.all(x.data <= 0) and np.any(x.data == -1.0)
    assert not gradcheck(my_fn, x, raise_exception=False)
    culprit = failure.result.localization.culprit
    assert culprit.op == "sign_blind_cube"
    assert culprit.site.endswith(f"{__file__}:{my_fn.__code__.co_firstlineno + 1} in my_fn")
    text = str(failure)
    assert "minimal after shrinking" in text and "MISMATCH" in text and "first wrong op is `sign_blind_cube`" in text
    assert failure.example == f"@example({literal(x)})"
    assert failure.example in text


def test_the_example_line_rebuilds_the_failing_input():
    with pytest.raises(GradientCheckFailure) as info:
        check_gradients(my_fn, tensors(shape=(3,)))
    line = info.value.example
    rebuilt = eval(line.removeprefix("@example"), {"Tensor": Tensor, "np": np})  # (Tensor(...),)
    assert np.array_equal(rebuilt.data, info.value.inputs[0].data) and rebuilt.requires_grad


def test_relu_at_zero_is_not_called_wrong():
    check_gradients(relu, tensors(shape=(3,)), examples=[(Tensor([0.0, 0.0, 1.0], requires_grad=True),)])
    r = gradcheck(relu, Tensor([0.0], requires_grad=True))
    assert r.ok and r.kinks[0].verdict == "kink"


def test_an_exception_in_fn_is_a_finding():
    def fragile(x):
        return x.log()  # needs x > 0

    with pytest.raises(GradientCheckFailure, match="DomainError") as info:
        check_gradients(fragile, tensors(shape=(2,)))
    assert info.value.result is None and np.any(info.value.inputs[0].data <= 0)


def test_pinned_examples_run_first():
    seen = []

    def spy(x):
        seen.append(float(x.data))
        return x * x

    check_gradients(spy, scalars(), examples=[(Scalar(1.25),)], max_examples=1)
    assert seen[0] == 1.25


@grad_property(tensors(shape=(2, 2)), positive(shape=(2,)))
@example(Tensor([[0.0, 1.0], [2.0, 3.0]], requires_grad=True), Tensor([1.0, 2.0], requires_grad=True))
def test_decorator_form(W, b):
    return (W @ b.log()).tanh()


def test_decorator_form_fails_like_check_gradients():
    test = grad_property(tensors(shape=(3,)))(my_fn)
    assert test.__name__ == "my_fn"
    with pytest.raises(GradientCheckFailure):
        test()


@given(scalars(), nonzero(shape=(3,)), probabilities(shape=(2,)))
def test_domain_strategies_stay_inside_their_domains(s, nz, p):
    assert -10 <= s.data <= 10 and s.requires_grad
    assert np.all(np.abs(nz.data) >= 1e-2)
    assert np.all((p.data > 0) & (p.data < 1))


@given(st.data())
def test_floats_avoid_kinks_and_respect_float32(data):
    x = data.draw(floats_in(avoid=(0.0, 2.0), margin=0.1, dtype=np.float32))
    assert abs(x) >= 0.1 and abs(x - 2.0) >= 0.2 and np.float32(x) == x
    t = data.draw(tensors(shape=st.just((5,)), dtype=st.sampled_from([np.float32, np.float64]), unique=True))
    assert len(set(t.data.tolist())) == 5 and np.all(np.isfinite(t.data))


@given(broadcastable_tensors(3))
def test_broadcastable_tensors_broadcast(xs):
    shape = np.broadcast_shapes(*(x.shape for x in xs))
    assert gradcheck(lambda a, b, c: a * b + c, *xs) and (xs[0] * xs[1] + xs[2]).shape == shape


@given(logistic_problems())
def test_logistic_loss_gradient_has_the_closed_form(p):
    """∂L/∂w = Xᵀ(σ(Xw + b) − y)/n and ∂L/∂b = mean(σ(Xw + b) − y)."""
    p.loss(p.w, p.b).backward()
    z = p.X.data @ p.w.data + p.b.data
    residual = 1 / (1 + np.exp(-z)) - p.y.data
    np.testing.assert_allclose(p.w.grad, p.X.data.T @ residual / len(z), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(p.b.grad, residual.mean(), rtol=1e-10, atol=1e-12)
    assert gradcheck(p.loss, p.w, p.b)


def test_literal_round_trips_values():
    values = [
        Tensor(np.array([0.1, -2.5], dtype=np.float32), requires_grad=True),
        Scalar(1 / 3),
        np.arange(3.0),
        RandomGraph(1, (Step("mul", (0, 0)), Step("add", (1, 0.1))), (Tensor([1.5], requires_grad=True),)),
    ]
    names = {"Tensor": Tensor, "Scalar": Scalar, "np": np, "RandomGraph": RandomGraph, "Step": Step}
    for v in values:
        back = eval(literal(v), names)
        if isinstance(v, RandomGraph):
            assert back.steps == v.steps and repr(back) == repr(v)
        else:
            np.testing.assert_array_equal(
                np.asarray(back.data if hasattr(back, "requires_grad") else back),
                np.asarray(v.data if hasattr(v, "requires_grad") else v),
            )
    assert "dtype=np.float32" in literal(values[0])
    assert "LogisticProblem(X=" in literal(LogisticProblem(*[Tensor([1.0])] * 4))


@settings(max_examples=5)
@given(st.data())
def test_random_graph_repr_lists_the_program(data):
    from glassgrad.testing.strategies import graphs

    g = data.draw(graphs(n_ops=3))
    lines = repr(g).splitlines()
    assert lines[0].startswith("RandomGraph(") and len(lines) == 1 + len(g.steps)
