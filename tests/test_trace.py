"""trace(): the compiled step computes what eager glassgrad computes, on every op and
on random graphs, and its source is the forward and backward pass written out."""

import re
from typing import Any, NamedTuple

import numpy as np
import pytest
from glassgrad import (
    DomainError,
    GradError,
    Scalar,
    Tensor,
    argmax,
    binary_cross_entropy_with_logits,
    cross_entropy,
    relu,
    trace,
    where,
)
from glassgrad.functional import grad
from glassgrad.graph import REGISTRY, Function
from glassgrad.ops.base import call
from glassgrad.testing.opinfo import op_cases, opinfo_for
from glassgrad.testing.strategies import graphs
from glassgrad.tracing import TraceError
from hypothesis import given
from hypothesis import strategies as st


def eager_value_and_grads(fn, inputs):
    leaves = [x.__class__(x.data, requires_grad=True) for x in inputs]
    out = fn(*leaves)
    out.backward()
    return out.data, [np.zeros_like(x.data) if x.grad is None else x.grad for x in leaves]


def assert_traced_equals_eager(fn, inputs):
    value, grads = trace(fn, *inputs)(*inputs)
    eager_value, eager_grads = eager_value_and_grads(fn, inputs)
    np.testing.assert_allclose(value, eager_value, rtol=1e-12, atol=0)
    assert len(grads) == len(eager_grads)
    for g, e in zip(grads, eager_grads):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("name", sorted(REGISTRY))
@given(data=st.data())
def test_every_op_traced_equals_eager(name, data):
    case = data.draw(op_cases(opinfo_for(name)), label="case")
    xs = case.tensors()
    assert_traced_equals_eager(lambda *v: (case(*v) * case(*v)).sum(), xs)


@given(graphs(n_ops=st.integers(1, 12)))
def test_random_tensor_graphs_traced_equal_eager(graph):
    assert_traced_equals_eager(lambda *v: graph(*v).sum(), graph.inputs)


@given(graphs(n_ops=st.integers(1, 12), kind=Scalar))
def test_random_scalar_graphs_traced_equal_eager(graph):
    assert_traced_equals_eager(graph, graph.inputs)


def logistic_unit():
    w = Tensor([0.5, -0.5], requires_grad=True, name="w")
    b = Tensor(0.0, requires_grad=True, name="b")

    def loss_fn(x, y):
        z = x @ w + b
        return binary_cross_entropy_with_logits(z, y)

    return loss_fn, w, b


def test_parameters_read_from_outside_are_differentiated_and_read_at_every_call():
    loss_fn, w, b = logistic_unit()
    x, y = Tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), Tensor([1.0, 0.0, 1.0])
    step = trace(loss_fn, x, y)
    assert step.wrt == (b, w) or step.wrt == (w, b)
    for _ in range(3):  # an SGD loop on the compiled step: each call sees the update
        loss = step.backward(x, y)
        eager = loss_fn(x, y)
        np.testing.assert_allclose(loss, eager.data, rtol=1e-12)
        with_grads = {id(p): p.grad.copy() for p in (w, b)}
        w.grad = b.grad = None
        eager.backward()
        for p in (w, b):
            np.testing.assert_allclose(with_grads[id(p)], p.grad, rtol=1e-12)
            p.data -= 0.5 * p.grad
            p.grad = None


def test_a_new_shape_traces_again_and_both_signatures_stay_compiled():
    step = trace(lambda x: (x * x).sum(), Tensor(np.ones(3), requires_grad=True))
    assert step(np.ones(3))[1][0].shape == (3,)
    value, (g,) = step(np.full((2, 2), 3.0))
    assert value == 36.0 and g.shape == (2, 2)
    np.testing.assert_array_equal(g, np.full((2, 2), 6.0))


def test_inputs_that_do_not_require_grad_still_flow_through_the_program():
    """x needs no gradient, but 2·x must be recomputed for every new x, not baked in."""
    w = Tensor([1.0, 2.0], requires_grad=True)
    step = trace(lambda x: ((x * 2.0) * w).sum(), Tensor([1.0, 1.0]))
    value, (g_w,) = step(Tensor([3.0, 4.0]))
    assert value == 22.0
    np.testing.assert_array_equal(g_w, [6.0, 8.0])


def test_domain_errors_are_raised_as_in_eager():
    step = trace(lambda x: x.log().sum(), Tensor([1.0, 2.0], requires_grad=True))
    with pytest.raises(DomainError, match="log"):
        step(Tensor([1.0, -2.0]))


def test_clear_errors_for_what_cannot_be_traced():
    with pytest.raises(GradError, match="single number"):
        trace(lambda x: x * 2.0, Tensor([1.0, 2.0], requires_grad=True))
    with pytest.raises(TypeError, match="must return a Scalar or Tensor"):
        trace(lambda x: 3.0, Tensor([1.0], requires_grad=True))
    step = trace(lambda x: (x * x).sum(), Tensor([1.0], requires_grad=True))
    with pytest.raises(TypeError, match="takes 1 inputs"):
        step(Tensor([1.0]), Tensor([2.0]))
    with pytest.raises(TypeError, match="Tensor"):
        step(Scalar(1.0))


def test_scalar_source_is_plain_float_arithmetic_with_the_users_names():
    def f(a, c):
        e = a * c + a
        d = e.tanh() * a
        return d.relu() + d * d

    step = trace(f, Scalar(0.5, requires_grad=True), Scalar(-1.5, requires_grad=True))
    assert "    e = mul + a" in step.source
    assert "    g_d = g_d + " in step.source  # d is used three times: its gradient is a sum
    _value, grads = step(0.5, -1.5)
    assert grads == pytest.approx(grad(f, argnums=(0, 1))(0.5, -1.5), rel=1e-15)


def test_the_source_runs_as_printed():
    loss_fn, _w, _b = logistic_unit()
    x, y = Tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), Tensor([1.0, 0.0, 1.0])
    step = trace(loss_fn, x, y)
    assert str(step) == step.source and step.source.startswith("def step(x, y, ")
    compile(step.source, "step", "exec")


def test_a_mask_computed_from_an_input_is_refused():
    """x > 0 hands the values to NumPy: the replay would keep the traced mask, and on −x
    the compiled step returned −3.8 where eager glassgrad gives 1.6."""
    w = Tensor([1.0, 1.0, 1.0], requires_grad=True)

    def f(x):
        return (where(x > 0, x, 0.1 * x) * w).sum()

    with pytest.raises(TraceError, match=r"a comparison \(>\) reads the values of .* outside the graph"):
        trace(f, Tensor([1.0, -2.0, 3.0], requires_grad=True))


W = Tensor([0.5, 1.5, 2.5], requires_grad=True)


@pytest.mark.parametrize(
    ("read", "what"),
    [
        (lambda x: x.data, "reading .data"),
        (lambda x: W.data, "reading .data"),  # a parameter's values change between calls too
        (lambda x: x.sum().item(), "item()"),
        (lambda x: float(x.sum()), "float()"),
        (lambda x: bool(x.sum() > 0), "comparison"),
        (lambda x: x.tolist(), "tolist()"),
        (lambda x: x.numpy(), "numpy()"),
        (lambda x: np.asarray(x), "np.asarray()"),
        (lambda x: np.isnan(x), "numpy.isnan"),
        (lambda x: np.argmax(x), "numpy.argmax"),
        (lambda x: x.detach(), "detach()"),
        (lambda x: (x * W).sum() > 0, "comparison"),
        # x[argmax(x)] kept the traced index: 2 where eager gives 10
        (lambda x: argmax(x), "argmax"),
        (lambda x: where(relu(x), x, -x), "where's condition"),
        (lambda x: cross_entropy(x.reshape(1, 3), np.array([0]), weight=W), "cross_entropy's weight"),
    ],
)
def test_every_read_of_a_traced_value_outside_the_graph_is_refused(read, what):
    def f(x):
        read(x)
        return (x * W).sum()

    with pytest.raises(TraceError, match=re.escape(what)):
        trace(f, Tensor([1.0, -2.0, 3.0], requires_grad=True))
    # Only while tracing: the same reads work eagerly, afterwards, and on constants
    # (np.asarray eagerly on a value that does not require grad: test_array_conversion).
    read(Tensor([1.0, -2.0, 3.0], requires_grad=what != "np.asarray()"))
    c = Tensor([1.0, 2.0, 3.0])
    step = trace(lambda x: (x * c.data).sum() + float(c.sum()), Tensor([1.0, 1.0, 1.0], requires_grad=True))
    assert step(Tensor([2.0, 0.0, 1.0]))[0] == 5.0 + 6.0


def test_a_scalar_branch_on_its_value_is_refused():
    with pytest.raises(TraceError, match=r"comparison \(<\)"):
        trace(lambda x: x if x < 0 else x * 2, Scalar(1.0, requires_grad=True))


def test_a_constant_computed_from_an_input_outside_the_graph_is_refused():
    """A read around the public API (the private _data) leaves the graph unseen; the
    replay on moved inputs still sees the constant move."""

    def f(x):
        mean = x._data.mean()
        return ((x - mean) ** 2).sum()

    with pytest.raises(TraceError, match="outside the graph"):
        trace(f, Tensor([1.0, 2.0, 4.0], requires_grad=True))


def test_control_flow_on_values_is_refused_when_the_trace_sees_it_change():
    def f(x):
        return (x * 2.0).sum() if x._data.sum() > 3.0 else x.sum()

    with pytest.raises(TraceError, match="control flow"):
        trace(f, Tensor([1.0, 2.0 + 2**-22], requires_grad=True))


def test_an_op_parameter_computed_from_an_input_is_refused():
    """An axis or a label array taken from an input's values is fixed in the trace."""

    def f(x):
        return x.sum(axis=int(x._data[0, 0] > 1.0))

    with pytest.raises(TraceError, match="parameter of sum"):
        trace(lambda x: f(x).sum(), Tensor([[1.0 + 2**-22, 2.0], [3.0, 4.0]], requires_grad=True))


# -- ops written out: their own forward and backward, inlined --------------------------------


class ScaledSoftplus(Function):
    """y = softplus(a·x)/a;  dy/dx = σ(a·x): several statements, a saved array, a saved
    parameter, a branch on the parameter and one on needs_input_grad."""

    class Saved(NamedTuple):
        scale: float
        s: Any  # σ(a·x)

    @staticmethod
    def forward(ctx, x, scale):
        xp = ctx.xp
        z = scale * x
        ctx.saved = ScaledSoftplus.Saved(scale, xp.sigmoid(z))
        if scale == 1.0:
            return xp.softplus(z)
        return xp.softplus(z) / scale

    @staticmethod
    def backward(ctx, g, y, x):
        (need_x,) = ctx.needs_input_grad
        return (g * ctx.saved.s if need_x else None,)


def test_a_multi_statement_op_is_written_out_with_its_saved_values_as_locals():
    w = Tensor([0.5, -2.0, 3.0], requires_grad=True, name="w")

    def f(x):
        return call(ScaledSoftplus, x * w, scale=2.0).sum()

    x = Tensor([1.0, 0.25, -1.5])
    step = trace(f, x)
    source = step.source
    for absent in ("forward(", "backward(", "ctx", "saved", "Saved", "scale == 1.0", "need_x"):
        assert absent not in source
    assert "/ 2.0" in source and "np.logaddexp(0.0, z)" in source and "    z = 2.0 * mul" in source
    value, (g_w,) = step(x)
    out = f(x)
    out.backward()
    np.testing.assert_array_equal(value, out.data)  # the same numpy calls: the same bits
    np.testing.assert_array_equal(g_w, w.grad)


def test_the_logistic_loss_runs_as_numpy_lines_without_calls_into_the_engine():
    """BCE with logits and matmul have multi-statement bodies; the step is their lines,
    with the mean's 1/n folded in and the unneeded input gradient not computed."""
    loss_fn, _w, _b = logistic_unit()
    x, y = Tensor(np.arange(6.0).reshape(3, 2) / 6), Tensor([1.0, 0.0, 1.0])
    step = trace(loss_fn, x, y)
    for absent in ("forward(", "backward(", "RawCtx", "_reduce", "sum_to", "reshape"):
        assert absent not in step.source
    assert "# g = np.float64(0.3333333333333333), a constant of this step" in step.source
    assert "    g_z = g * (s - y)" in step.source
    value, grads = step(x, y)
    eager = loss_fn(x, y)
    eager.backward()
    np.testing.assert_array_equal(value, eager.data)
    for p, g in zip(step.wrt, grads):
        np.testing.assert_array_equal(g, p.grad)


def test_labels_outside_0_1_raise_in_the_traced_step_as_in_eager():
    loss_fn, _w, _b = logistic_unit()
    x = Tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    step = trace(loss_fn, x, Tensor([1.0, 0.0, 1.0]))
    for bad in ([1.0, 2.0, 0.0], [-0.5, 0.0, 1.0], [1.0, np.inf, 0.0]):
        with pytest.raises(DomainError) as traced:
            step(x, Tensor(bad))
        with pytest.raises(DomainError) as eager:
            loss_fn(x, Tensor(bad))
        assert str(traced.value) == str(eager.value)
        assert "bce_with_logits: input 1 must satisfy x in [0, 1]" in str(traced.value)
    step(x, Tensor([1.0, -0.0, 0.5]))  # −0 and soft labels are inside


def test_a_gradient_fixed_for_the_signature_is_a_new_array_at_every_call():
    step = trace(lambda x: (x * 2.0).sum(), Tensor([1.0, 2.0], requires_grad=True))
    _, (g,) = step(Tensor([1.0, 2.0]))
    g *= 100.0  # the caller owns what it gets
    _, (again,) = step(Tensor([1.0, 2.0]))
    np.testing.assert_array_equal(again, [2.0, 2.0])


def test_a_parameter_given_data_of_another_shape_is_traced_again():
    w = Tensor([1.0, 2.0], requires_grad=True)
    step = trace(lambda x: (x * w).sum(), Tensor([1.0, 1.0]))
    w.data = np.array([1.0, 2.0, 3.0])
    value, (g_w,) = step(Tensor([1.0, 1.0, 2.0]))
    assert value == 9.0
    np.testing.assert_array_equal(g_w, [1.0, 1.0, 2.0])


NOISE = np.random.default_rng(0)


class Jitter(Function):
    """y = x + u, u uniform in [0, 1) drawn anew at every call;  dy/dx = 1"""

    @staticmethod
    def forward(ctx, x):
        return x + NOISE.random(x.shape)

    @staticmethod
    def backward(ctx, g, y, x):
        return (g,)


def test_random_numbers_an_op_draws_are_drawn_at_every_call_not_at_trace_time():
    step = trace(lambda x: call(Jitter, x).sum(), Tensor([1.0, 2.0], requires_grad=True))
    assert "NOISE.random((2,))" in step.source
    first, _ = step(Tensor([1.0, 2.0]))
    second, _ = step(Tensor([1.0, 2.0]))
    assert first != second


def test_the_caller_owns_each_gradient_it_gets():
    """Eager glassgrad copies each gradient into .grad; the compiled step returns arrays
    that no other result, input or parameter shares, and that can be written."""
    a, b = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0, 4.0], requires_grad=True)
    step = trace(lambda a, b: ((a + b) * a).sum() + (a + b).mean(), a, b)
    _, (g_a, g_b) = step(a, b)
    g_a *= 10.0
    np.testing.assert_array_equal(g_b, [1.5, 2.5])
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    mean_step = trace(lambda x: x.mean(axis=0).sum(), x)
    assert "forward(" not in mean_step.source  # Mean's loop over the axes is unrolled at trace time
    _, (g_x,) = mean_step(x)
    g_x *= 2.0  # a broadcast view would refuse this
    np.testing.assert_array_equal(g_x, np.full((2, 3), 1.0))


def test_an_ops_own_check_of_its_inputs_is_written_as_a_line_and_raises_as_in_eager():
    """x ** 0.5 checks x ≥ 0 in its forward (a branch on values that only raises) and
    x > 0 in its backward: both become `if ...: raise` lines, not calls of the op."""
    step = trace(lambda x: (x**0.5).sum(), Tensor([1.0, 4.0], requires_grad=True))
    assert "forward(" not in step.source and "backward(" not in step.source
    assert "if not dom.contains(x): raise DomainError(f'power: x**0.5 needs x in [0, inf); " in step.source
    for bad in ([1.0, -4.0], [0.0, 4.0]):
        with pytest.raises(DomainError) as traced:
            step(Tensor(bad))
        leaf = Tensor(bad, requires_grad=True)
        with pytest.raises(DomainError) as eager:
            (leaf**0.5).sum().backward()
        assert str(traced.value) == str(eager.value)
