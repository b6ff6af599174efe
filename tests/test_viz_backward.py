"""The backward view and explain(): every number is the chain rule, checked against
backward() and against central differences."""

import numpy as np
import pytest
from glassgrad import Scalar, Tensor, binary_cross_entropy, sigmoid
from glassgrad.models.graphs import logistic_unit
from glassgrad.ops.base import sum_to
from glassgrad.viz import draw, explain
from glassgrad.viz.labels import escape, summary


def central_difference(f, x, eps=1e-6):
    """∂f/∂x by (f(x+h) − f(x−h)) / 2h, element by element, in float64."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += eps
        down[i] -= eps
        grad[i] = (f(up) - f(down)) / (2 * eps)
    return grad


def logistic_loss(x, w, b, y):
    """The logistic unit's loss in plain numpy, the oracle's function."""
    p = 1 / (1 + np.exp(-(np.dot(x, w) + b)))
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def flow_into(spec, parent, op):
    return next(f for f in spec.backprop.flows if f.parent is parent and f.child.op == op)


def test_logistic_backward_view_shows_the_three_factors_with_their_values():
    u = logistic_unit()
    view = draw(u.loss, view="backward")
    spec, src = view.spec, view.source
    p, y, x = float(u.y_hat.data), float(u.y.data), u.x.data
    d_loss = flow_into(spec, u.y_hat, "binary_cross_entropy")
    d_sigmoid = flow_into(spec, u.z, "sigmoid")
    d_dot = flow_into(spec, u.w, "matmul")
    assert float(d_loss.local) == pytest.approx((p - y) / (p * (1 - p)))
    assert float(d_sigmoid.local) == pytest.approx(p * (1 - p))
    np.testing.assert_allclose(d_dot.local, x)
    for label in (
        f"∂L/∂ŷ = (ŷ−y)/(ŷ(1−ŷ)) = {summary(d_loss.local)}",
        f"∂ŷ/∂z = ŷ(1−ŷ) = {summary(d_sigmoid.local)}",
        f"∂(x·w)/∂w = x = {summary(d_dot.local)}",
    ):
        assert escape(label) in src
    # the leaf gradients of the view are backward()'s
    u.loss.backward(retain_graph=True)
    grads = {v.node.name: v.grad for v in spec.values}
    np.testing.assert_allclose(grads["w"], u.w.grad)
    np.testing.assert_allclose(grads["b"], u.b.grad)
    assert u.w.grad is not grads["w"]  # the view never writes .grad


def test_every_edge_is_upstream_times_local_summed_back_to_shape():
    rng = np.random.default_rng(3)
    X = Tensor(rng.normal(size=(5, 3)), name="X")
    w = Tensor(rng.normal(size=3), requires_grad=True, name="w")
    b = Tensor(0.3, requires_grad=True, name="b")
    s = Tensor(rng.normal(size=(1, 3)), requires_grad=True, name="s")
    z = (X * s) @ w + b
    loss = binary_cross_entropy(sigmoid(z), Tensor((rng.random(5) > 0.5).astype(float)))
    spec = draw(loss, view="backward").spec
    checked = []
    for f in spec.backprop.flows:
        if f.local is None:
            continue
        pshape = np.shape(f.parent.data)
        np.testing.assert_allclose(f.contribution, sum_to(np.asarray(f.upstream * f.local), pshape), rtol=1e-12)
        checked.append(f.child.op)
    # X@w (a matrix times a vector) has a full Jacobian: shown as its vjp only
    assert sorted(checked) == ["add", "add", "binary_cross_entropy", "mul", "sigmoid"]
    b_flow = flow_into(spec, b, "add")
    s_flow = flow_into(spec, s, "mul")
    assert b_flow.reduced_axes == (0,) and s_flow.reduced_axes == (0,)
    assert "sum over axis 0" in draw(loss, view="backward").source


def test_fan_in_sums_contributions():
    x = Scalar(1.5, name="x")
    y = x * x + x
    view = draw(y, view="backward")
    (xbox,) = [v for v in view.spec.values if v.node is x]
    assert xbox.fan_in == 3
    assert xbox.grad == pytest.approx(2 * 1.5 + 1)
    assert "Σ of 3 contributions" in view.source


@pytest.mark.parametrize("y_label", [0.0, 1.0])
def test_explain_logistic_unit_matches_backward_and_central_differences(y_label):
    u = logistic_unit(y=y_label)
    e_w, e_b = explain(u.w, u.loss), explain(u.b, u.loss)
    x, w, b = u.x.data, u.w.data, float(u.b.data)
    u.loss.backward(retain_graph=True)
    np.testing.assert_allclose(e_w.total, u.w.grad, rtol=1e-12)
    np.testing.assert_allclose(e_b.total, u.b.grad, rtol=1e-12)
    numeric_w = central_difference(lambda v: logistic_loss(x, v, b, y_label), w)
    numeric_b = central_difference(lambda v: logistic_loss(x, w, v, y_label), np.array(b))
    np.testing.assert_allclose(e_w.total, numeric_w, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(e_b.total, numeric_b, rtol=1e-6, atol=1e-9)
    # the factorization, in symbols and in numbers; (ŷ−y)·x is the textbook result
    text = str(e_w)
    assert "∂L/∂w = ∂L/∂ŷ · ∂ŷ/∂z · ∂z/∂(x·w) · ∂(x·w)/∂w" in text
    assert "= (ŷ−y)/(ŷ(1−ŷ)) · ŷ(1−ŷ) · 1 · x" in text
    assert "= (ŷ−y) · x" in text
    p = float(u.y_hat.data)
    np.testing.assert_allclose(e_w.total, (p - y_label) * x, rtol=1e-12)
    (term,) = e_w.paths
    values = [v for _, _, v in term.factors]
    assert float(values[0]) == pytest.approx((p - y_label) / (p * (1 - p)))
    assert float(values[1]) == pytest.approx(p * (1 - p))


def test_explain_batched_sums_over_samples():
    rng = np.random.default_rng(7)
    X = Tensor(rng.normal(size=(6, 2)), name="X")
    y = Tensor([1.0, 0, 0, 1, 1, 0], name="y")
    w = Tensor([0.3, -0.2], requires_grad=True, name="w")
    b = Tensor(0.1, requires_grad=True, name="b")
    p = sigmoid(X @ w + b)
    p.name = "ŷ"
    loss = binary_cross_entropy(p, y)
    e_w, e_b = explain(w, loss), explain(b, loss)
    assert "summed over axis 0" in e_b and "6 rows (samples)" in e_w
    loss.backward(retain_graph=True)
    np.testing.assert_allclose(e_w.total, w.grad, rtol=1e-12)
    np.testing.assert_allclose(e_b.total, b.grad, rtol=1e-12)
    # mean BCE on a sigmoid: ∂L/∂w = Σᵢ (ŷᵢ − yᵢ) xᵢ / n
    np.testing.assert_allclose(w.grad, X.data.T @ (p.data - y.data) / 6, rtol=1e-12)


def test_explain_many_paths_lists_some_and_sums_the_rest():
    x = Scalar(0.7, name="x")
    v = x
    for _ in range(6):  # each doubling multiplies the paths by 2: 64 paths
        v = v * 0.5 + v.tanh()
    e = explain(x, v, max_paths=5)
    assert e.n_paths == 64 and len(e.paths) == 5
    assert "the other 59 paths add up to" in e
    v.backward(retain_graph=True)
    assert e.total == pytest.approx(x.grad, rel=1e-12)
    all_paths = explain(x, v, max_paths=100)
    assert sum(t.value for t in all_paths.paths) == pytest.approx(x.grad, rel=1e-12)


def test_explain_refuses_what_it_cannot_explain():
    u = logistic_unit()
    with pytest.raises(ValueError, match="does not require grad"):
        explain(u.x, u.loss)
    other = Tensor([1.0], requires_grad=True, name="other")
    with pytest.raises(ValueError, match="not part of the graph"):
        explain(other, u.loss)
    u.loss.backward()
    with pytest.raises(Exception, match="retain_graph=True"):
        explain(u.w, u.loss)


def test_explain_a_deep_chain_is_linear_and_exact():
    x = Scalar(0.5, name="x")
    v = x
    for _ in range(5_000):
        v = v * 1.0001
    e = explain(x, v)
    assert e.n_paths == 1 and len(e.paths[0].factors) == 5_000
    v.backward()
    assert e.total == pytest.approx(x.grad, rel=1e-12)
    assert e.total == pytest.approx(1.0001**5_000, rel=1e-9)


def test_backward_view_of_a_vector_root_needs_a_seed_gradient():
    t = Tensor([1.0, 2.0, 3.0], requires_grad=True, name="t")
    out = t * t
    with pytest.raises(ValueError, match="pass gradient="):
        draw(out, view="backward")
    seed = np.array([1.0, 0.0, -1.0])
    spec = draw(out, view="backward", gradient=seed).spec
    (tbox,) = [v for v in spec.values if v.node is t]
    np.testing.assert_allclose(tbox.grad, 2 * t.data * seed)
    out.backward(seed)
    np.testing.assert_allclose(tbox.grad, t.grad)


def test_explain_shows_a_given_gradient_as_the_first_factor():
    # With the gradient [10, 100] given for y = 3x it read "∂y/∂x = %0 = [3, 3]", then
    # "∂y/∂x = [30, 300]": the given gradient was in no line.
    x = Tensor([1.0, 2.0], requires_grad=True, name="x")
    y = x * 3.0
    y.name = "y"
    text = explain(x, y, gradient=[10.0, 100.0])
    assert "(g = the gradient given for y = [10, 100]: every path's term starts from it)" in text
    assert "  g·∂y/∂x = g · ∂y/∂x\n" in text
    assert "= [10, 100] · [3, 3]\n" in text
    assert text.endswith("g·∂y/∂x = [30, 300]")
    np.testing.assert_array_equal(text.total, [30.0, 300.0])
