"""Core behaviour of the engine: chain rule, semantics, errors, higher order."""

import glassgrad as ag
import numpy as np
import pytest
from glassgrad import Scalar, Tensor
from glassgrad.testing import gradcheck


def test_scalar_chain_rule_matches_hand_derivative():
    a, b = Scalar(2.0), Scalar(-3.0)
    c = (a * b + a**2).tanh()
    c.backward()
    t = np.tanh(2.0 * -3.0 + 4.0)
    assert a.grad == pytest.approx((1 - t**2) * (-3.0 + 2 * 2.0))
    assert b.grad == pytest.approx((1 - t**2) * 2.0)


def test_reuse_accumulates_micrograd_issue_64():
    a = Scalar(1.0)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad == 4.0
    x = Scalar(3.0)
    (x * x).backward()
    assert x.grad == 6.0


def test_grad_accumulates_until_zeroed():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])
    x.zero_grad()
    assert x.grad is None


def test_second_backward_through_freed_graph_says_retain_graph():
    x = Tensor([1.0, 2.0], requires_grad=True)
    z = (x * x).sum()
    z.backward()
    with pytest.raises(ag.GradError, match="retain_graph=True"):
        z.backward()
    x.grad = None
    z = (x * x).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])


def test_inplace_change_of_saved_input_is_detected():
    x = Tensor([1.0, 2.0], requires_grad=True)
    z = x.log().sum()  # log's backward reads its input: g/x (exp's reads only its output)
    with ag.no_grad():
        x += 1.0
    with pytest.raises(ag.InPlaceError, match="modified in place"):
        z.backward()


def test_logistic_hessian_vector_product_matches_closed_form():
    rng = np.random.default_rng(1)
    n, d = 20, 4
    X = rng.standard_normal((n, d))
    y = (rng.random(n) > 0.5) * 1.0
    w = Tensor(rng.standard_normal(d), requires_grad=True)
    (gw,) = ag.grad(ag.binary_cross_entropy_with_logits(X @ w, y), [w], create_graph=True)
    v = rng.standard_normal(d)
    (hv,) = ag.grad((gw * v).sum(), [w])
    p = 1 / (1 + np.exp(-X @ w.data))
    H = X.T @ np.diag(p * (1 - p)) @ X / n
    np.testing.assert_allclose(hv, H @ v, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "fn",
    [ag.sigmoid, ag.log_sigmoid, ag.softplus, lambda t: ag.binary_cross_entropy_with_logits(t, np.array([1.0, 0.0]))],
)
def test_stable_forms_at_extreme_logits(fn, recwarn):
    t = Tensor([-1e4, 1e4], requires_grad=True)
    out = fn(t)
    out.sum().backward()
    assert np.isfinite(out.data).all() and np.isfinite(t.grad).all()
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_matmul_cases_gradcheck():
    rng = np.random.default_rng(0)
    M = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    v = Tensor(rng.standard_normal(4), requires_grad=True)
    u = Tensor(rng.standard_normal(3), requires_grad=True)
    B = Tensor(rng.standard_normal((2, 4, 3)), requires_grad=True)
    for a, b in [(M, v), (u, M), (v, v), (M, M.T), (B, u), (v, B), (B, M)]:
        gradcheck(lambda p, q: p @ q, a, b)


def test_shape_mismatch_names_op_and_shapes():
    with pytest.raises(ag.ShapeError, match=r"add: operands Tensor f64\[2\], Tensor f64\[3\]"):
        Tensor([1.0, 2.0]) + Tensor([1.0, 2.0, 3.0])


def test_deep_scalar_chain_has_no_recursion():
    x0 = Scalar(1.0)
    x = x0
    for _ in range(100_000):
        x = x * 1.0 + 0.0
    x.backward()
    assert x0.grad == 1.0
