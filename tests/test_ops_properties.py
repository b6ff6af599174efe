"""The op registry drives the engine's own suite: every registered op is checked against
numpy (values) and central differences (gradients), with inputs drawn from its
declared domains and away from its kinks. A new op is covered without a new test."""

import numpy as np
import pytest
from glassgrad import Scalar, Tensor
from glassgrad.graph import REGISTRY, no_grad
from glassgrad.ops.base import sum_to
from glassgrad.testing import gradcheck, gradgradcheck
from glassgrad.testing.opinfo import op_cases, op_table, opinfo, opinfo_for
from glassgrad.testing.strategies import graphs
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

OP_NAMES = sorted(REGISTRY)
DTYPES = [np.float64, np.float32]


OPS = op_table()


def test_a_new_unregistered_op_gets_an_opinfo_from_its_class():
    from glassgrad import Function

    class Cube(Function):  # not registered: checked all the same
        @staticmethod
        def forward(ctx, x):
            return x**3

        @staticmethod
        def backward(ctx, g, y, x):
            return (3 * g * x * x,)

    info = opinfo(Cube)
    assert info is not None and info.arity == 1

    @settings(max_examples=5, database=None)
    @given(op_cases(info))
    def check(case):
        assert gradcheck(case, *case.tensors()).ok

    check()


def _raw_grads(node, g):
    """The op's own backward called by hand, summed back to each input's shape."""
    grads = node.fn.backward(node, g, node.data, *[p.data for p in node.parents])
    return [None if gr is None else sum_to(np.asarray(gr), p.shape) for gr, p in zip(grads, node.parents)]


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
@pytest.mark.parametrize("name", OP_NAMES)
@given(data=st.data())
def test_op_values_gradients_and_dtypes(name, dtype, data):
    case = data.draw(op_cases(opinfo_for(name), dtype), label="case")
    xs = case.tensors()
    out = case(*xs)
    expected = case.expected()
    if expected is not None:
        expected = np.asarray(expected)
        tol = 1e-12 if dtype == np.float64 else 1e-5
        np.testing.assert_allclose(out.data, expected, rtol=tol, atol=tol)
        assert out.dtype == expected.dtype, f"{name} returns {out.dtype}, numpy {expected.dtype}"
    # No dtype leak: the op's backward keeps each input's dtype.
    g = np.ones(out.shape, dtype=out.dtype)
    for x, gr in zip(xs, _raw_grads(out, g)):
        assert gr is None or gr.dtype == x.dtype, f"{name} backward turns {x.dtype} into {gr.dtype}"
    gradcheck(case, *xs)


SCALAR_OPS = sorted(n for n, info in OPS.items() if info.scalar)


@pytest.mark.parametrize("name", SCALAR_OPS)
@given(data=st.data())
def test_scalar_engine_is_an_oracle_for_tensor(name, data):
    """Elementwise, the Scalar engine (math kernels, one number at a time) and the
    Tensor engine (numpy) must give the same results and gradients: values to a few
    ulp (libm and numpy round exp/tanh differently in the last bit, and σ = 1/(1+e⁻ˣ)
    carries that bit on), gradients to rounding (1 − tanh² turns that last bit into
    an absolute 1e-16)."""
    case = data.draw(op_cases(OPS[name]), label="case")
    arrays = [np.array(a) for a in np.broadcast_arrays(*case.arrays)]  # same shape, own memory
    if arrays[0].size > 6:
        arrays = [a.reshape(-1)[:6] for a in arrays]
    xs = [Tensor(a, requires_grad=True) for a in arrays]
    out = case(*xs)
    v = np.linspace(-1.0, 1.0, out.data.size).reshape(out.shape)
    out.backward(v)
    for idx in np.ndindex(arrays[0].shape):
        ss = [Scalar(float(a[idx])) for a in arrays]
        s = case(*ss)
        s.backward(float(v[idx]))
        np.testing.assert_array_max_ulp(out.data[idx], s.data, maxulp=4)
        for x, si in zip(xs, ss):
            np.testing.assert_allclose(x.grad[idx], si.grad, rtol=1e-12, atol=1e-15)


BROADCASTING = sorted(n for n, info in OPS.items() if info.fn.broadcasts and info.arity == 2 and n != "matmul")


@pytest.mark.parametrize("name", BROADCASTING)
@given(data=st.data())
def test_broadcast_gradients_are_summed_back(name, data):
    """op(a, b) with broadcasting has the gradients of op on explicit broadcast copies,
    summed over the broadcast axes, and each gradient has its input's shape."""
    info = OPS[name]
    case = data.draw(op_cases(info), label="case")  # for params and element ranges
    els = info.element_strategies(case.params, np.dtype(np.float64))
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3), label="shapes")
    a, b = (
        Tensor(data.draw(hnp.arrays(np.float64, s, elements=e, fill=e), label=f"input {k}"), requires_grad=True)
        for k, (s, e) in enumerate(zip(shapes.input_shapes, els + els[-1:]))
    )
    params = dict(case.params)
    if "cond" in params:
        params["cond"] = data.draw(st.booleans(), label="cond")
    out = info.call(a, b, **params)
    v = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(v)
    shape = np.broadcast_shapes(a.shape, b.shape)
    A = Tensor(np.broadcast_to(a.data, shape), requires_grad=True)
    B = Tensor(np.broadcast_to(b.data, shape), requires_grad=True)
    info.call(A, B, **params).backward(v)
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
    np.testing.assert_allclose(a.grad, sum_to(A.grad, a.shape), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b.grad, sum_to(B.grad, b.shape), rtol=1e-12, atol=1e-12)
    gradcheck(lambda p, q: info.call(p, q, **params), a, b)


GRADGRAD = sorted(n for n, info in OPS.items() if info.gradgrad)


@pytest.mark.parametrize("name", GRADGRAD)
@given(data=st.data())
def test_second_derivatives(name, data):
    case = data.draw(op_cases(OPS[name]), label="case")
    gradgradcheck(case, *case.tensors())


@given(graphs())
def test_random_tensor_graphs(graph):
    gradcheck(graph, *graph.inputs)


@given(graphs(kind=Scalar))
def test_random_scalar_graphs(graph):
    gradcheck(graph, *graph.inputs)


@given(graphs(n_inputs=1, n_ops=st.integers(20, 60), chain=True, kind=Scalar))
def test_long_chains(graph):
    assert len(graph.steps) >= 20
    gradcheck(graph, *graph.inputs)


@given(graphs(n_ops=st.integers(2, 6), smooth=True))
def test_random_graphs_have_second_derivatives(graph):
    gradgradcheck(lambda *xs: graph(*xs).sum(), *graph.inputs)


def test_graph_strategy_forces_reuse():
    """Diamonds and x*x appear: some value feeds two operand slots of later ops."""
    seen = []

    @settings(max_examples=30, database=None, derandomize=True)
    @given(graphs(n_ops=6))
    def collect(graph):
        seen.append(graph)

    collect()
    reused = 0
    for g in seen:
        uses = [a for s in g.steps for a in s.args if isinstance(a, int)]
        reused += len(uses) != len(set(uses))
        with no_grad():
            assert np.all(np.isfinite(g(*g.inputs).data))
    assert reused >= len(seen) // 3
