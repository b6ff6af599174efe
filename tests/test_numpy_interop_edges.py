"""NumPy calls on Tensors at the edges: NaN, graph values and arrays as clip bounds,
concatenate without an axis, comparisons and NumPy-typed exponents. Each either gives
NumPy's value with the gradient central differences give, or refuses in one line."""

import glassgrad as ag
import numpy as np
import pytest
from glassgrad import Tensor
from glassgrad.testing import gradcheck
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

# Finite numbers with a NaN now and then, on a grid so that ties happen too.
_ELEMENTS = st.one_of(st.integers(-3, 3).map(lambda n: n / 2), st.just(np.nan))
_PAIRS = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=3)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), ufunc=st.sampled_from([np.maximum, np.minimum]))
def test_maximum_and_minimum_give_numpys_value_nan_included(data, ufunc):
    shapes = data.draw(_PAIRS).input_shapes
    a, b = (data.draw(hnp.arrays(np.float64, s, elements=_ELEMENTS)) for s in shapes)
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    out = ufunc(ta, tb)
    np.testing.assert_array_equal(out.data, ufunc(a, b))
    out.backward(np.ones(out.shape))
    # Each output element's gradient goes to exactly one operand: the one it came from.
    assert ta.grad.sum() + tb.grad.sum() == out.size


def test_maximum_sends_the_gradient_to_the_nan_it_returns():
    x = Tensor([np.nan, 2.0, 0.5], requires_grad=True)
    np.maximum(x, 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0, 0.0])


def test_clip_with_graph_value_bounds_differentiates_the_bounds():
    x = Tensor([[0.2, 1.3, -0.7], [2.1, 0.9, 0.45]], requires_grad=True)
    lo = Tensor(0.4, requires_grad=True)
    hi = Tensor([1.0, 1.5, 2.0], requires_grad=True)
    out = np.clip(x, lo, hi)
    np.testing.assert_array_equal(out.data, np.clip(x.data, lo.data, hi.data))
    out.sum().backward()
    assert lo.grad == 2.0  # 0.2 and -0.7 are clipped up to lo
    np.testing.assert_array_equal(hi.grad, [1.0, 0.0, 0.0])  # 2.1 is clipped down to hi[0]
    assert gradcheck(lambda x, lo, hi: np.clip(x, lo, hi), x, lo, hi).ok
    assert gradcheck(lambda x, lo: ag.clip(x, lo, None), x, lo).ok


def test_clip_with_array_bounds_that_broadcast_the_value():
    x = Tensor([0.2, 1.3, -0.7], requires_grad=True)
    lo = np.array([[0.0], [0.5]])  # (2, 1) against (3,): the output is (2, 3)
    out = np.clip(x, lo, 1.0)
    np.testing.assert_array_equal(out.data, np.clip(x.data, lo, 1.0))
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 0.0, 0.0])
    assert gradcheck(lambda x: ag.clip(x, lo, 1.0), Tensor([0.2, 0.8, -0.7], requires_grad=True)).ok


@pytest.mark.parametrize("shapes", [[(2, 3), (4,)], [(2, 2), (1, 3), ()]])
def test_concatenate_without_an_axis_joins_the_flattened_values(shapes):
    rng = np.random.default_rng(0)
    xs = [Tensor(rng.normal(size=s), requires_grad=True) for s in shapes]
    out = np.concatenate(xs, axis=None)
    np.testing.assert_array_equal(out.data, np.concatenate([x.data for x in xs], axis=None))
    assert gradcheck(lambda *xs: ag.concatenate(xs, axis=None) * np.arange(out.size), *xs).ok


def test_numpy_comparisons_compare_the_data_as_the_operators_do():
    x = Tensor([0.5, 1.0, 2.0], requires_grad=True)
    a = np.array([1.0, 1.0, 1.0])
    for ufunc in (np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal):
        got = ufunc(a, x)
        assert type(got) is np.ndarray and got.dtype == bool
        np.testing.assert_array_equal(got, ufunc(a, x.data))
    np.testing.assert_array_equal(a < x, x > a)
    np.testing.assert_array_equal(np.float64(1.0) < x, [False, False, True])
    np.testing.assert_array_equal(np.isfinite(Tensor([1.0, np.inf, np.nan])), [True, False, False])


def test_questions_answered_with_booleans_or_indices_see_the_data():
    x = Tensor([[0.5, 3.0], [2.0, 1.0]], requires_grad=True)
    assert np.allclose(x, x.data) and np.array_equal(x, Tensor(x.data))
    np.testing.assert_array_equal(np.isclose(x, 2.0), [[False, False], [True, False]])
    assert np.argmax(x) == 1 and np.argmin(x, axis=1).tolist() == [0, 1]
    assert np.count_nonzero(x > 1) == 2 and np.any(x > 2.5) and not np.all(x > 1)
    np.testing.assert_array_equal(np.nonzero(x > 1)[1], [1, 0])


@pytest.mark.parametrize("c", [np.int64(2), np.int32(3), np.float32(2.0), np.float64(-1.0)])
def test_a_numpy_number_exponent_is_a_constant_as_a_python_number_is(c):
    x = Tensor([-1.5, 0.5, 2.0], requires_grad=True)
    out = x**c
    assert out.op == "power"
    np.testing.assert_allclose(out.data, x.data ** float(c))
    assert gradcheck(lambda x: x**c, x).ok


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: np.maximum(x, 0.0),
        lambda x: np.minimum(0.5, x),
        lambda x: np.clip(x, np.array([-1.0, 0.0, 0.0]), 1.0),
    ],
    ids=["maximum", "minimum", "clip with an array bound"],
)
def test_a_traced_step_chooses_by_the_data_of_each_call(fn):
    # Which operand is taken is decided from the data in forward and backward, not
    # fixed at trace time: a replay on other data takes other operands.
    weights = np.array([1.0, 2.0, 3.0])
    step = ag.trace(lambda x: (fn(x) * weights).sum(), Tensor([1.0, -1.0, 2.0], requires_grad=True))
    x = Tensor([-1.0, 1.0, -2.0], requires_grad=True)
    value, (grad,) = step(x)
    want = (fn(x) * weights).sum()
    want.backward()
    assert value == want.item()
    np.testing.assert_array_equal(grad, x.grad)
