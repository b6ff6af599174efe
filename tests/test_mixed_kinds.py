"""Scalar and Tensor never mix: every operator and op, in both orders, refuses clearly;
an op of arrays (shapes, axes) on a Scalar says so."""

import operator

import glassgrad as ag
import numpy as np
import pytest
from glassgrad import Scalar, Tensor

OPERATORS = [
    operator.add,
    operator.sub,
    operator.mul,
    operator.truediv,
    operator.pow,
    operator.matmul,
    operator.lt,
    operator.le,
    operator.gt,
    operator.ge,
    operator.eq,
    operator.ne,
]
IN_PLACE = [operator.iadd, operator.isub, operator.imul, operator.itruediv]
OPS = [ag.ops.add, ag.ops.sub, ag.ops.mul, ag.ops.div, ag.ops.power, ag.matmul, ag.dot]


def _pair():
    return Tensor([1.0, 2.0], requires_grad=True), Scalar(3.0)


@pytest.mark.parametrize("op", OPERATORS + OPS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("tensor_first", [True, False], ids=["tensor-scalar", "scalar-tensor"])
def test_every_operator_and_op_refuses_a_scalar_with_a_tensor(op, tensor_first):
    t, s = _pair()
    args = (t, s) if tensor_first else (s, t)
    with pytest.raises(TypeError, match=r"Tensor\(s\.data\)|Scalar\(t\.item\(\)\)") as info:
        op(*args)
    assert "Scalar" in str(info.value) and "Tensor" in str(info.value)


@pytest.mark.parametrize("op", [ag.stack, ag.concatenate], ids=lambda f: f.__name__)
def test_ops_on_lists_refuse_mixed_kinds(op):
    t = Tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="cannot combine"):
        op([t, Scalar(1.0)])


def test_where_refuses_mixed_kinds():
    t = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="cannot combine"):
        ag.where(np.array([True, False]), t, Scalar(1.0))


@pytest.mark.parametrize("op", IN_PLACE, ids=lambda f: f.__name__)
def test_in_place_updates_refuse_the_other_kind(op):
    t = Tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="cannot combine"):
        op(t, Scalar(3.0))
    np.testing.assert_array_equal(t.data, [1.0, 2.0])


def test_the_issue_example_no_longer_gives_a_wrong_gradient():
    t, s = _pair()
    with pytest.raises(TypeError, match="cannot combine a Tensor with a Scalar"):
        (t * s).sum().backward()
    assert s.grad is None


def test_converting_explicitly_works_as_the_message_says():
    t, s = _pair()
    (t * Tensor(s.data)).sum().backward()
    np.testing.assert_array_equal(t.grad, [3.0, 3.0])
    y = Scalar(Tensor([2.0]).item()) * s
    y.backward()
    assert s.grad == 2.0


@pytest.mark.parametrize(
    "op",
    [
        lambda s: ag.sum(s),
        lambda s: ag.mean(s, axis=0),
        lambda s: ag.var(s),
        lambda s: ag.softmax(s),
        lambda s: ag.logsumexp(s),
        lambda s: ag.max(s),
        lambda s: ag.cast(s, np.float32),
        lambda s: ag.reshape(s, (1,)),
        lambda s: ag.transpose(s),
        lambda s: ag.stack([s, s]),
        lambda s: ag.broadcast_to(s, (2,)),
    ],
)
def test_an_array_op_on_a_scalar_names_itself(op):
    # They raised AttributeError: 'float' object has no attribute 'ndim' (or a TypeError
    # from converting their array result to a float), naming no op.
    with pytest.raises(
        TypeError, match=r"^\w+\(2\.0(, 2\.0)?\): (\w+) works on arrays, and a Scalar is one Python float"
    ):
        op(Scalar(2.0, requires_grad=True))
