"""Deep and wide graphs, memory release, float32 end to end, custom ops, functional API."""

import gc
import tracemalloc

import glassgrad as ag
import numpy as np
import pytest
from glassgrad import Scalar, Tensor
from glassgrad.testing import gradcheck


def test_million_op_scalar_chain_runs_backward():
    x0 = Scalar(1.0)
    x = x0
    for _ in range(500_000):
        x = x * 0.999999 + 0.5  # 2 ops per link: 1,000,000 ops
    x.backward()
    assert x0.grad == pytest.approx(0.999999**500_000, rel=1e-9)


def test_hundred_thousand_op_tensor_chain_runs_backward():
    x0 = Tensor(np.ones(3), requires_grad=True)
    x = x0
    for _ in range(100_000):
        x = x * 1.0
    x.sum().backward()
    np.testing.assert_array_equal(x0.grad, np.ones(3))


def test_memory_is_released_after_backward_unless_retained():
    def run(retain):
        gc.collect()
        tracemalloc.start()
        w = Tensor(np.ones(1000), requires_grad=True)
        x = w
        for _ in range(200):
            x = x * 1.0001
        loss = x.sum()
        before = tracemalloc.get_traced_memory()[0]
        loss.backward(retain_graph=retain)
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        return before, after

    before, after = run(retain=False)
    assert after < before - 200 * 8000 * 0.9  # the 200 intermediate arrays are gone
    before, after = run(retain=True)
    assert after > before - 8000 * 10


def test_wide_fan_out_accumulates():
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    total = ag.stack([x * i for i in range(1, 501)]).sum()
    total.backward()
    np.testing.assert_array_equal(x.grad, [sum(range(1, 501))] * 2)


def test_diamond_gradients():
    gradcheck(lambda x: (lambda h: h * h.exp() + h.tanh())(x * x + x), Tensor([0.3, -0.7], requires_grad=True))


def test_float32_is_kept_end_to_end():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 5)).astype(np.float32)
    y = (rng.random(16) > 0.5).astype(np.float32)
    w = Tensor(np.zeros(5, dtype=np.float32), requires_grad=True)
    b = Tensor(np.zeros((), dtype=np.float32), requires_grad=True)
    z = X @ w + b
    h = (z * 0.5 + 1).sigmoid().log_sigmoid().softplus().tanh().relu().exp() ** 2 / 3.0
    loss = ag.binary_cross_entropy_with_logits(z, y) + h.mean() + z.max() + z.clip(-1, 1).sum()
    assert z.dtype == np.float32 and h.dtype == np.float32 and loss.dtype == np.float32
    loss.backward()
    assert w.grad.dtype == np.float32 and b.grad.dtype == np.float32


def test_cast_between_dtypes_returns_gradient_in_the_source_dtype():
    w = Tensor(np.ones(3), requires_grad=True)
    w.astype(np.float32).sum().backward()
    assert w.grad.dtype == np.float64


def test_custom_function_is_a_first_class_op():
    class Cube(ag.Function):
        """y = x³;  dy/dx = 3x²"""

        @staticmethod
        def forward(ctx, x):
            return x**3

        @staticmethod
        def backward(ctx, g, y, x):
            return (g * 3 * x * x,)

    x = Tensor([1.0, -2.0], requires_grad=True)
    y = Cube.apply(x)
    assert y.op == "cube"
    gradcheck(lambda t: Cube.apply(t), x)
    s = Scalar(2.0)
    Cube.apply(s).backward()
    assert s.grad == 12.0
    # written with graph-friendly arithmetic, it has second derivatives for free
    (g,) = ag.grad(Cube.apply(x).sum(), [x], create_graph=True)
    (h,) = ag.grad(g.sum(), [x])
    np.testing.assert_allclose(h, 6 * x.data)
    assert "cube" not in ag.REGISTRY  # user ops stay out of the built-in registry


def test_functional_grad_and_value_and_grad():
    def f(x):
        return (x**3).sum()

    np.testing.assert_allclose(ag.grad(f)(np.array([1.0, 2.0])), [3.0, 12.0])
    value, g = ag.value_and_grad(lambda a, b: a * b + b, argnums=(0, 1))(2.0, 5.0)
    assert value == 15.0 and g == (5.0, 3.0)
    assert ag.grad(ag.grad(lambda x: x**3))(2.0) == pytest.approx(12.0)
    assert ag.grad(ag.grad(ag.grad(lambda x: x.exp() * x)))(0.5) == pytest.approx(np.exp(0.5) * 3.5)


@pytest.mark.parametrize(
    "f",
    [
        lambda t: (t.exp() * t.log()).sum(),
        lambda t: (t.sigmoid() + t.tanh() + t.softplus() + t.log_sigmoid()).sum(),
        lambda t: ((t @ t.T) ** 2).mean(),
        lambda t: (t / (t + 1)).max(axis=1).sum(),
        lambda t: ag.binary_cross_entropy_with_logits(t - 1, np.eye(2, 3), pos_weight=2.0),
        lambda t: ag.binary_cross_entropy(t.sigmoid(), np.full((2, 3), 0.25)),
        lambda t: ag.concatenate([t, t[:, :1] ** 3], axis=1).sum() + ag.stack([t, t]).reshape(-1).sum(),
    ],
)
def test_higher_order_through_every_smooth_op(f):
    x = Tensor(np.random.default_rng(3).uniform(0.5, 1.5, (2, 3)), requires_grad=True)
    gradcheck(lambda t: ag.grad(f(t), [t], create_graph=True)[0], x, atol=1e-5, rtol=1e-4)


def test_graphs_hold_no_reference_cycles():
    """Freeing a graph is refcounting's job: nothing is left for the cyclic collector."""
    gc.collect()
    gc.disable()
    try:
        for retain in (False, True):
            w = Tensor(np.ones(4), requires_grad=True)
            s = Scalar(0.5)
            loss = ag.binary_cross_entropy_with_logits(np.ones((3, 4)) @ w + 1.0, np.ones(3))
            loss.backward(retain_graph=retain)
            y = (s * s + s).tanh()
            y.backward(retain_graph=retain)
            assert ag.grad(ag.grad(lambda x: x**3))(2.0) == 12.0
            del w, s, loss, y
        assert gc.collect() == 0
    finally:
        gc.enable()
