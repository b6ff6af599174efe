"""NumPy functions on Tensors record glassgrad's own op, or refuse in one line."""

import glassgrad as ag
import numpy as np
import pytest
from glassgrad import Tensor
from glassgrad.numpy_interop import FUNCTIONS, UFUNCS
from glassgrad.testing import gradcheck

B = np.array([[0.5, -1.5, 2.0], [1.0, 0.25, -0.75]])  # a constant operand
MASK = np.array([[True, False, True], [False, True, False]])

# (numpy call, glassgrad's own call); x is a 2×3 Tensor with entries in (0.5, 2).
CASES = {
    "exp": (np.exp, ag.exp),
    "log": (np.log, ag.log),
    "sqrt": (np.sqrt, ag.ops.sqrt),
    "tanh": (np.tanh, ag.tanh),
    "abs": (np.abs, ag.abs),
    "negative": (np.negative, lambda x: -x),
    "add": (lambda x: np.add(B, x), lambda x: B + x),
    "subtract": (lambda x: np.subtract(x, B), lambda x: x - B),
    "multiply": (lambda x: np.multiply(B, x), lambda x: B * x),
    "divide": (lambda x: np.divide(B, x), lambda x: B / x),
    "power": (lambda x: np.power(x, 3), lambda x: x**3),
    "maximum": (lambda x: np.maximum(x, 1.0), lambda x: ag.ops.maximum(x, 1.0)),
    "minimum": (lambda x: np.minimum(B, x), lambda x: ag.ops.minimum(B, x)),
    "matmul": (lambda x: np.matmul(x, B.T), lambda x: x @ B.T),
    "array @ x": (lambda x: B.T @ x, lambda x: ag.matmul(B.T, x)),
    "array * x": (lambda x: B * x, lambda x: ag.ops.mul(B, x)),
    "dot": (lambda x: np.dot(np.ones(2), x), lambda x: ag.dot(np.ones(2), x)),
    "sum": (lambda x: np.sum(x, axis=0), lambda x: x.sum(axis=0)),
    "sum keepdims": (lambda x: np.sum(x, axis=1, keepdims=True), lambda x: x.sum(axis=1, keepdims=True)),
    "mean": (np.mean, lambda x: x.mean()),
    "max": (lambda x: np.max(x, axis=1), lambda x: x.max(axis=1)),
    "min": (lambda x: np.min(x, axis=0, keepdims=True), lambda x: x.min(axis=0, keepdims=True)),
    "var": (lambda x: np.var(x, axis=1, ddof=1), lambda x: x.var(axis=1, ddof=1)),
    "square": (np.square, lambda x: x**2),
    "squeeze": (lambda x: np.squeeze(x[:1]), lambda x: ag.squeeze(x[:1])),
    "expand_dims": (lambda x: np.expand_dims(x, 1), lambda x: ag.unsqueeze(x, 1)),
    "expand_dims twice": (lambda x: np.expand_dims(x, (0, -1)), lambda x: x.reshape(1, 2, 3, 1)),
    "broadcast_to": (lambda x: np.broadcast_to(x, (4, 2, 3)), lambda x: ag.broadcast_to(x, (4, 2, 3))),
    "reshape": (lambda x: np.reshape(x, (3, 2)), lambda x: x.reshape(3, 2)),
    "transpose": (np.transpose, lambda x: x.T),
    "stack": (lambda x: np.stack([x, 2 * x], axis=1), lambda x: ag.stack([x, 2 * x], axis=1)),
    "concatenate": (lambda x: np.concatenate([x, x * x]), lambda x: ag.concatenate([x, x * x])),
    "where": (lambda x: np.where(MASK, x, B), lambda x: ag.where(MASK, x, B)),
    "clip": (lambda x: np.clip(x, 0.75, 1.5), lambda x: ag.clip(x, 0.75, 1.5)),
}


def _x():
    return Tensor([[0.6, 1.2, 1.9], [0.8, 1.6, 0.9]], requires_grad=True)


@pytest.mark.parametrize("name", list(CASES))
def test_numpy_call_records_glassgrad_op_with_same_value_and_gradient(name):
    theirs, ours = CASES[name]
    x = _x()
    got, want = theirs(x), ours(x)
    assert isinstance(got, Tensor) and got.requires_grad, f"np {name} left the graph"
    assert got.op == want.op
    np.testing.assert_array_equal(got.data, want.data)
    seed = np.linspace(0.5, 1.5, got.size).reshape(got.shape)
    got.backward(seed)
    g_numpy = x.grad.copy()
    x.grad = None
    want.backward(seed)
    np.testing.assert_array_equal(g_numpy, x.grad)
    gradcheck(theirs, _x())


def test_every_table_entry_has_a_case():
    listed = {f.__name__ for f in UFUNCS} | {f.__name__ for f in FUNCTIONS}
    covered = {"exp", "log", "sqrt", "tanh", "absolute", "negative", "add", "subtract", "multiply", "divide"}
    covered |= {"power", "maximum", "minimum", "matmul", "dot", "sum", "mean", "max", "amax", "reshape"}
    covered |= {"transpose", "stack", "concatenate", "where", "clip"}
    covered |= {"min", "amin", "var", "square", "squeeze", "expand_dims", "broadcast_to"}
    assert listed <= covered


@pytest.mark.parametrize(
    ("call", "advice"),
    [
        (np.log1p, r"numpy\.log1p is not recorded .*\.detach\(\)"),
        (np.cumsum, r"numpy\.cumsum is not recorded"),
        (lambda x: np.sum(x, dtype=np.float32), r"numpy\.sum .*takes no such argument"),
        (lambda x: np.add.reduce(x), r"numpy\.add\.reduce is not recorded"),
        (lambda x: np.exp(x, out=np.empty((2, 3))), r"out=.* in-place operators"),
        (lambda x: np.sort(x), r"numpy\.sort is not recorded"),
        (np.sin, r"numpy\.sin is not recorded .*detach"),
        (np.linalg.norm, r"numpy\.norm is not recorded"),
    ],
)
def test_every_other_numpy_call_refuses_in_one_line(call, advice):
    with pytest.raises(TypeError, match=advice) as info:
        call(_x())
    assert "\n" not in str(info.value)


def test_the_issue_examples_keep_their_gradient():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = np.dot(np.ones(2), x)
    z = np.stack([x, x])
    assert isinstance(y, Tensor) and isinstance(z, Tensor)
    (y + np.exp(x).sum() + np.sum(z)).backward()
    np.testing.assert_allclose(x.grad, 1 + np.exp([1.0, 2.0]) + 2)


class _RootByNumPy(ag.Function):
    """y = √x, its backward written with NumPy calls: 1/(2√x)."""

    @staticmethod
    def forward(ctx, x):
        return np.sqrt(x)

    @staticmethod
    def backward(ctx, g, y, x):
        return (g / (2 * np.sqrt(x)),)


class _Log1pByNumPy(_RootByNumPy):
    """y = log(1 + x), its backward through np.log1p, which glassgrad does not record."""

    @staticmethod
    def forward(ctx, x):
        return np.log1p(x)

    @staticmethod
    def backward(ctx, g, y, x):
        return (g / np.exp(np.log1p(x)),)


def test_a_custom_backward_through_recorded_numpy_calls_differentiates_twice():
    # d²√x/dx² = −x^(−3/2)/4: the backward's np.sqrt is recorded under create_graph=True.
    x = Tensor([4.0, 9.0], requires_grad=True)
    (g,) = ag.grad(_RootByNumPy.apply(x).sum(), x, create_graph=True)
    (h,) = ag.grad(g.sum(), x)
    np.testing.assert_allclose(h, -0.25 * x.data**-1.5, rtol=1e-12)


def test_a_custom_backward_through_an_unrecorded_numpy_call_refuses_a_second_pass():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (g,) = ag.grad(_Log1pByNumPy.apply(x).sum(), x)  # raw data: an ordinary pass works
    np.testing.assert_allclose(g, 1 / (1 + x.data))
    with pytest.raises(TypeError, match=r"numpy\.log1p is not recorded on a graph value"):
        ag.grad(_Log1pByNumPy.apply(x).sum(), x, create_graph=True)
