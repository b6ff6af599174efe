"""A Scalar meets numbers of every kind Python code hands it, on either side of an
operator, and computes what Python's floats compute with ``float()`` of the number, or
refuses by name. These are the cases benchmarks/scalar_differential.py found."""

import math
import operator
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from glassgrad import DomainError, Scalar, Tensor, grad, ops
from hypothesis import example, given
from hypothesis import strategies as st

OPERATORS = [operator.add, operator.sub, operator.mul, operator.truediv]
finite = st.floats(-1e6, 1e6, allow_nan=False).filter(lambda v: v != 0)
small = st.floats(-100, 100, allow_nan=False)


@st.composite
def numbers(draw):
    """A number of some kind, and the float it stands for."""
    v = draw(small)
    kind = draw(st.sampled_from(["fraction", "0-d bool", "np.bool_", "0-d float32", "0-d int", "np.float16"]))
    if kind == "fraction":
        n = Fraction(draw(st.integers(-1000, 1000)), draw(st.integers(1, 1000)))
    elif kind in ("0-d bool", "np.bool_"):
        n = np.array(v > 0) if kind == "0-d bool" else np.bool_(v > 0)
    elif kind == "0-d float32":
        n = np.array(v, np.float32)
    elif kind == "0-d int":
        n = np.array(int(v), np.int64)
    else:
        n = np.float16(v)
    return n, float(n)


@given(finite, numbers(), st.sampled_from(OPERATORS))
def test_a_number_of_any_kind_on_the_right_computes_as_python_floats(x, number, op):
    n, value = number
    if op is operator.truediv and value == 0:
        return
    assert op(Scalar(x), n).data == op(x, value)


@given(finite, numbers())
def test_an_exponent_of_any_kind_is_a_constant_also_for_a_negative_base(x, number):
    """x ** c with c a 0-d array, a NumPy bool or a Fraction is xᶜ with c = float(c):
    defined for a negative x where c is whole, as for a Python number (it was refused
    as a ``graph_power``, which needs x > 0)."""
    n, c = number
    x = -abs(x)
    if not c.is_integer() or abs(c) > 8:
        return
    s = Scalar(x)
    y = s**n
    assert y.op == "power" and y.data == x**c
    y.backward()
    assert s.grad == pytest.approx(c * x ** (c - 1) if c else 0.0, rel=1e-12)


def test_a_scalar_from_a_fraction_is_its_float():
    assert Scalar(Fraction(1, 3)).data == 1 / 3


def test_a_decimal_is_refused_by_name_as_pythons_floats_refuse_it():
    with pytest.raises(TypeError, match="Decimal"):
        Scalar(1.5) + Decimal("0.1")
    with pytest.raises(TypeError, match="Decimal"):
        Decimal("0.1") * Scalar(1.5)


@pytest.mark.parametrize("op", [*OPERATORS, operator.pow])
def test_an_int_beyond_the_floats_is_refused_naming_the_scalar(op):
    with pytest.raises(OverflowError, match=r"(Scalar|power).*beyond the largest float"):
        op(Scalar(2.0), 10**400)


def test_clip_refuses_a_nan_bound_and_an_int_beyond_the_floats():
    """A NaN bound passed every x through on a Scalar (max(x, nan) is x in Python) and
    made every element NaN on a Tensor."""
    for kind in (Scalar(0.3), Tensor([0.3, 2.0])):
        with pytest.raises(ValueError, match="clip: hi is NaN"):
            kind.clip(None, math.nan)
        with pytest.raises(ValueError, match="clip: lo is NaN"):
            ops.clip(kind, np.float32("nan"), 1.0)
        with pytest.raises(OverflowError, match="clip: hi, an int of 401 digits"):
            kind.clip(0.0, 10**400)


@given(st.floats(allow_nan=True, allow_infinity=True))
@example(math.nan)
@example(-0.0)
def test_scalar_relu_is_numpys_maximum_with_zero_to_the_bit(x):
    """relu(NaN) was 0.0 on a Scalar (NaN > 0 is false): NaN is passed on, as a
    Tensor's relu (numpy.maximum) and PyTorch's pass it on."""
    got, want = Scalar(x).relu().data, float(np.maximum(x, 0.0))
    assert (math.isnan(got) and math.isnan(want)) or (got == want and math.copysign(1, got) == math.copysign(1, want))
    assert np.array_equal(Tensor([x]).relu().data, [got], equal_nan=True)


def test_backward_overflow_names_the_op():
    """Python's float ** raises where IEEE arithmetic gives inf; in a backward pass the
    error said only '(34, 'Numerical result out of range')'."""
    x = Scalar(1e-310)
    with pytest.raises(OverflowError, match="backward of graph_power"):
        (x**x).backward()


def test_power_to_an_infinite_exponent_is_defined_for_negative_bases():
    """C's pow defines x^±inf for every x: 0 or inf by |x| (1 at x = −1)."""
    assert (Scalar(-0.5) ** math.inf).data == 0.0
    assert (Scalar(-1.0) ** -math.inf).data == 1.0
    with pytest.raises(DomainError):
        Scalar(0.0) ** -math.inf


def test_a_zero_division_of_a_scalar_is_still_refused():
    with pytest.raises(DomainError):
        Scalar(1.0) / np.array(0.0)


@given(st.floats(0.5, 3), st.booleans())
def test_second_derivatives_through_where_maximum_and_minimum_on_scalars(x, take):
    """Their backward built its mask with numpy on graph values under create_graph:
    where's 0-d condition was refused as an operand, maximum's np.isnan(Scalar) raised."""
    s = Scalar(x)
    for f in (
        lambda v: ops.where(np.array(take), v * v * v, v),
        lambda v: ops.maximum(v * v * v, -1.0 if take else 100.0),
        lambda v: ops.minimum(v * v * v, 100.0 if take else -1.0),
    ):
        (g,) = grad(f(s), [s], create_graph=True)
        (h,) = grad(g, [s])
        assert h == pytest.approx(6 * x if take else 0.0, rel=1e-12)


@pytest.mark.parametrize("kind", ["scalar", "tensor"])
@pytest.mark.parametrize(
    "branch",
    [
        lambda x: ops.where(np.array(False), x, 1e-320),
        lambda x: (x - 3.0).relu() + 1e-320,
        lambda x: x.clip(5.0, None) - 5.0 + 1e-320,
        lambda x: ops.minimum(x, 1e-320),
        lambda x: abs(x * 0.0) + 1e-320,
    ],
)
def test_a_gradient_that_overflows_does_not_leak_through_a_mask(kind, branch):
    """∂ log(v)/∂v = 1/1e-320 is inf; where the mask drops it, the gradient is 0 (it was
    inf·0 = NaN), as PyTorch's masks select."""
    x = Scalar(2.0) if kind == "scalar" else Tensor([2.0], requires_grad=True)
    y = ops.log(branch(x))
    with np.errstate(over="ignore"):
        (y if kind == "scalar" else y.sum()).backward()
    assert float(np.asarray(x.grad).reshape(-1)[0]) == 0.0
