"""Every op records itself and applies the chain rule through code written for it from
one template: the operators are those recorders, one-expression bodies are inlined,
the rest are called, and the result is the same as the op's own forward and backward."""

import linecache
import threading
import traceback

import glassgrad as gg
import numpy as np
import pytest
from glassgrad import Function, Scalar, Tensor, ops
from glassgrad.ops.arithmetic import Add, Div, Mul, Neg, Sub
from glassgrad.ops.elementwise import Exp, Log, Relu, Sigmoid, Tanh
from glassgrad.testing import gradcheck


def source_of(func):
    """The text the engine generated for an op's recorder or chain-rule step."""
    return "".join(linecache.getlines(func.__code__.co_filename))


def helper_square(x):
    return x * x


class Cube(Function):
    """y = x³;  dy/dx = 3x²"""

    scalar = True

    @staticmethod
    def forward(ctx, x):
        return x * helper_square(x)

    @staticmethod
    def backward(ctx, g, y, x):
        return (g * 3 * helper_square(x),)


class CubeInSteps(Function):
    """y = x³, with a backward of more than one statement."""

    scalar = True

    @staticmethod
    def forward(ctx, x):
        return x * x * x

    @staticmethod
    def backward(ctx, g, y, x):
        square = x * x
        return (g * 3 * square,)


kind = "a module global with a name the templates use"


class ReadsKind(Function):
    """y = 2x, written with a global named like a template's local."""

    scalar = True

    @staticmethod
    def forward(ctx, x):
        return x * (2.0 if kind else 0.0)

    @staticmethod
    def backward(ctx, g, y, x):
        return (g * 2.0,)


SHARPNESS = 1.0  # a hyperparameter the program sets anew between passes


class Sharpened(Function):
    """y = s·x³ with s the module's SHARPNESS;  dy/dx = 3s·x²"""

    scalar = True

    @staticmethod
    def forward(ctx, x):
        return SHARPNESS * x * x * x

    @staticmethod
    def backward(ctx, g, y, x):
        return (g * 3 * SHARPNESS * x * x,)


def test_the_operators_are_the_ops_recorders():
    assert Scalar.__add__ is Add.apply and Tensor.__add__ is Add.apply
    for method, op in [("__sub__", Sub), ("__mul__", Mul), ("__truediv__", Div), ("__neg__", Neg)]:
        assert getattr(Scalar, method) is op.apply
    for method, op in [("exp", Exp), ("log", Log), ("relu", Relu), ("sigmoid", Sigmoid), ("tanh", Tanh)]:
        assert getattr(Tensor, method) is op.apply
    x = Scalar(2.0)
    assert (x + 1).op == ops.add(x, 1).op == (1 + x).op == "add"
    assert Tanh.apply.__doc__ == Tanh.__doc__


def test_one_expression_bodies_are_inlined_and_read_their_module():
    x = Scalar(1.5)
    y = Cube.apply(x)
    y.backward()
    assert y.data == 1.5**3 and x.grad == pytest.approx(3 * 1.5**2)
    assert "data = a._data * helper_square(a._data)" in source_of(Cube.apply)
    assert "(ga,) = (g * 3 * helper_square(a._data),)" in source_of(Cube._chains[0])
    assert "(ga,) = (g * 3 * helper_square(a),)" in source_of(Cube._chains[1])


def test_other_bodies_are_called_with_their_inputs_spelled_out():
    x = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    CubeInSteps.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad, 3 * x.data**2)
    assert "(ga,) = backward(node, g, node._data, a._data)" in source_of(CubeInSteps._chains[0])
    assert "data = forward(out, a._data)" not in source_of(CubeInSteps.apply)  # inlined


def test_a_global_bound_anew_is_read_at_each_call_as_python_reads_it():
    global SHARPNESS
    x = Scalar(2.0, requires_grad=True)
    try:
        for SHARPNESS in (1.0, 0.5, 4.0):
            y = Sharpened.apply(x)
            y.backward()
            assert y.data == SHARPNESS * 8 and x.grad == SHARPNESS * 12
            x.grad = None
    finally:
        SHARPNESS = 1.0
    assert "data = forward(out, a._data)" in source_of(Sharpened.apply)


def test_a_name_the_templates_use_is_never_inlined():
    x = Scalar(3.0)
    y = ReadsKind.apply(x)
    y.backward()
    assert y.data == 6.0 and x.grad == 2.0
    assert "data = forward(out, a._data)" in source_of(ReadsKind.apply)


@pytest.mark.parametrize("op", [Cube, CubeInSteps])
def test_inlined_and_called_ops_agree_with_central_differences(op):
    point = Tensor(np.array([-1.5, 0.25, 2.0]), requires_grad=True)
    assert gradcheck(op.apply, point).ok
    x = Scalar(0.7)
    (gx,) = gg.grad(op.apply(x), [x], create_graph=True)
    (ggx,) = gg.grad(gx, [x])
    assert gx.data == pytest.approx(3 * 0.7**2) and ggx == pytest.approx(6 * 0.7)


def test_the_generated_lines_show_in_tracebacks():
    class Fails(Function):
        @staticmethod
        def forward(ctx, x):
            raise RuntimeError("forward failed")

        @staticmethod
        def backward(ctx, g, y, x):
            return (g,)

    with pytest.raises(RuntimeError) as info:
        Fails.apply(Scalar(1.0))
    shown = "".join(traceback.format_tb(info.tb))
    assert "Fails.apply" in shown and "data = forward(out, a._data)" in shown


def test_a_backward_with_the_wrong_number_of_gradients_is_refused():
    class TwoForOne(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g, y, x):
            return (g, g)

    class OneForMany(Function):
        @staticmethod
        def forward(ctx, *xs):
            return sum(xs)

        @staticmethod
        def backward(ctx, g, y, *xs):
            return (g,)

    x, z = Scalar(1.0), Scalar(2.0)
    with pytest.raises(ValueError, match="unpack"):
        TwoForOne.apply(x).backward()
    with pytest.raises(ValueError, match="shorter"):
        OneForMany.apply(x, z).backward()


def test_threads_writing_a_new_op_at_once_all_get_it_right():
    class Double(Function):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, g, y, x):
            return (2 * g,)

    results, start = [], threading.Barrier(8)

    def run(v):
        start.wait()
        x = Scalar(v)
        y = Double.apply(x)
        y.backward()
        results.append((y.data == 2 * v, x.grad == 2.0))

    threads = [threading.Thread(target=run, args=(float(i),)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [(True, True)] * 8
