"""Every op: forward values against numpy, gradients against central differences."""

import glassgrad as ag
import numpy as np
import pytest
from glassgrad import Scalar, Tensor
from glassgrad.testing import gradcheck

rng = np.random.default_rng(7)
A = rng.standard_normal((3, 4))
B = rng.standard_normal((3, 4))
POS = rng.uniform(0.5, 2.0, (3, 4))
P = rng.uniform(0.05, 0.95, (3, 4))
Y = (rng.random((3, 4)) > 0.5) * 1.0


def _softplus(x):
    return np.log1p(np.exp(x))


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# (name, glassgrad function, numpy reference, inputs)
CASES = [
    ("add", lambda a, b: a + b, np.add, (A, B)),
    ("sub", lambda a, b: a - b, np.subtract, (A, B)),
    ("mul", lambda a, b: a * b, np.multiply, (A, B)),
    ("div", lambda a, b: a / b, np.divide, (A, POS)),
    ("neg", lambda a: -a, np.negative, (A,)),
    ("power", lambda a: a**3, lambda a: a**3, (A,)),
    ("power-fractional", lambda a: a**1.5, lambda a: a**1.5, (POS,)),
    ("graph_power", lambda a, b: a**b, np.power, (POS, A)),
    ("rpow", lambda b: 2.0**b, lambda b: 2.0**b, (A,)),
    ("exp", ag.exp, np.exp, (A,)),
    ("log", ag.log, np.log, (POS,)),
    ("sigmoid", ag.sigmoid, _sigmoid, (A,)),
    ("tanh", ag.tanh, np.tanh, (A,)),
    ("relu", ag.relu, lambda a: np.maximum(a, 0), (A,)),
    ("abs", ag.abs, np.abs, (A,)),
    ("softplus", ag.softplus, _softplus, (A,)),
    ("log_sigmoid", ag.log_sigmoid, lambda a: np.log(_sigmoid(a)), (A,)),
    ("sum", lambda a: a.sum(), np.sum, (A,)),
    ("sum-axis", lambda a: a.sum(axis=1), lambda a: a.sum(axis=1), (A,)),
    ("sum-keepdims", lambda a: a.sum(axis=0, keepdims=True), lambda a: a.sum(axis=0, keepdims=True), (A,)),
    ("mean", lambda a: a.mean(axis=(0, 1)), np.mean, (A,)),
    ("mean-axis", lambda a: a.mean(axis=-1, keepdims=True), lambda a: a.mean(axis=-1, keepdims=True), (A,)),
    ("max", lambda a: a.max(axis=1), lambda a: a.max(axis=1), (A,)),
    ("reshape", lambda a: a.reshape(2, 6), lambda a: a.reshape(2, 6), (A,)),
    ("transpose", lambda a: a.T, np.transpose, (A,)),
    ("getitem-slice", lambda a: a[1:, ::2], lambda a: a[1:, ::2], (A,)),
    ("getitem-advanced", lambda a: a[[0, 2, 0], [1, 1, 1]], lambda a: a[[0, 2, 0], [1, 1, 1]], (A,)),
    ("concatenate", lambda a, b: ag.concatenate([a, b], axis=1), lambda a, b: np.concatenate([a, b], axis=1), (A, B)),
    ("stack", lambda a, b: ag.stack([a, b], axis=0), lambda a, b: np.stack([a, b]), (A, B)),
    ("where", lambda a, b: ag.where(A > 0, a, b), lambda a, b: np.where(A > 0, a, b), (A, B)),
    ("clip", lambda a: a.clip(-0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5), (A,)),
    ("matmul", lambda a, b: a @ b.T, lambda a, b: a @ b.T, (A, B)),
    ("dot", lambda a, b: ag.dot(a[0], b[1]), lambda a, b: np.dot(a[0], b[1]), (A, B)),
    ("broadcast_to", lambda a: ag.broadcast_to(a[0], (2, 4)), lambda a: np.broadcast_to(a[0], (2, 4)), (A,)),
    (
        "bce_with_logits",
        lambda a: ag.binary_cross_entropy_with_logits(a, Y),
        lambda a: np.mean(_softplus(a) - Y * a),
        (A,),
    ),
    (
        "bce_with_logits-pos_weight",
        lambda a: ag.binary_cross_entropy_with_logits(a, Y, pos_weight=3.0, reduction="sum"),
        lambda a: np.sum(3.0 * Y * _softplus(-a) + (1 - Y) * _softplus(a)),
        (A,),
    ),
    (
        "bce",
        lambda p: ag.binary_cross_entropy(p, Y, reduction="none"),
        lambda p: -(Y * np.log(p) + (1 - Y) * np.log(1 - p)),
        (P,),
    ),
]


@pytest.mark.parametrize(("name", "fn", "ref", "inputs"), CASES, ids=[c[0] for c in CASES])
def test_forward_matches_numpy(name, fn, ref, inputs):
    out = fn(*[Tensor(x) for x in inputs])
    np.testing.assert_allclose(out.data, ref(*inputs), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("name", "fn", "ref", "inputs"), CASES, ids=[c[0] for c in CASES])
def test_gradient_matches_central_differences(name, fn, ref, inputs):
    gradcheck(fn, *[Tensor(x, requires_grad=True) for x in inputs])


def test_bce_targets_get_gradients_too():
    gradcheck(
        lambda z, y: ag.binary_cross_entropy_with_logits(z, y, pos_weight=2.0),
        Tensor(A, requires_grad=True),
        Tensor(P, requires_grad=True),
    )
    gradcheck(
        lambda p, y: ag.binary_cross_entropy(p, y), Tensor(P, requires_grad=True), Tensor(P[::-1], requires_grad=True)
    )


SCALAR_CASES = [
    (lambda a, b: a + b),
    (lambda a, b: a - b),
    (lambda a, b: a * b),
    (lambda a, b: a / b),
    (lambda a, b: a**b),
    (lambda a, b: -a + 3 - b),
    (lambda a, b: 2 / a + b**2),
    (lambda a, b: (a * b).exp()),
    (lambda a, b: (a + b).log()),
    (lambda a, b: (a - b).sigmoid()),
    (lambda a, b: (a - b).tanh()),
    (lambda a, b: (a - b).relu()),
    (lambda a, b: (a - b).abs()),
    (lambda a, b: (a - b).softplus()),
    (lambda a, b: (a - b).log_sigmoid()),
    (lambda a, b: ag.binary_cross_entropy_with_logits(a - b, 1.0)),
]


@pytest.mark.parametrize("fn", SCALAR_CASES)
def test_scalar_ops_gradcheck(fn):
    gradcheck(fn, Scalar(0.8), Scalar(1.7))


@pytest.mark.parametrize(
    ("shape_a", "shape_b"),
    [((3, 1), (1, 4)), ((4,), (3, 4)), ((2, 1, 4), (3, 1)), ((), (3,)), ((1,), (2, 3))],
)
@pytest.mark.parametrize(
    "op", [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a / (b * b + 1), lambda a, b: a - b]
)
def test_broadcasting_gradients_have_input_shapes(shape_a, shape_b, op):
    a = Tensor(rng.standard_normal(shape_a), requires_grad=True)
    b = Tensor(rng.standard_normal(shape_b), requires_grad=True)
    op(a, b).sum().backward()
    assert a.grad.shape == shape_a and b.grad.shape == shape_b
    gradcheck(op, a, b)
