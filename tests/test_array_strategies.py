"""Strategies for plain NumPy arrays: the shapes, dtypes, domains and margins the
Tensor strategies promise, on the arrays themselves."""

import numpy as np
from glassgrad import Tensor
from glassgrad.ops.domains import POSITIVE
from glassgrad.testing.strategies import arrays, broadcastable_arrays, broadcastable_tensors, tensors
from hypothesis import given
from hypothesis import strategies as st


@given(arrays((2, 3), st.sampled_from([np.float32, np.float64]), domain=POSITIVE, max_value=5.0))
def test_arrays_have_the_shape_dtype_and_domain_asked_for(a):
    assert isinstance(a, np.ndarray) and a.shape == (2, 3) and a.dtype in (np.float32, np.float64)
    assert np.all(a > 0) and np.all(a <= 5.0) and np.all(np.isfinite(a))


@given(arrays((4,), avoid=[0.0, 1.0], margin=0.1))
def test_arrays_keep_a_margin_around_the_points_to_avoid(a):
    # 0.9 is 0.1 from 1.0, though 0.9 - 1.0 rounds to 0.0999…98 in float64
    assert np.all(np.abs(a) >= 0.1) and np.all(np.abs(a - 1.0) >= 0.1 - 1e-15)


@given(arrays((5,), unique=True))
def test_unique_arrays_have_no_ties(a):
    assert len(set(a.tolist())) == 5


@given(broadcastable_arrays(3))
def test_broadcastable_arrays_broadcast(xs):
    assert len(xs) == 3 and all(isinstance(x, np.ndarray) for x in xs)
    np.broadcast_shapes(*(x.shape for x in xs))


@given(tensors((3,), requires_grad=False), broadcastable_tensors(2))
def test_tensor_strategies_wrap_the_array_strategies(t, pair):
    assert isinstance(t, Tensor) and not t.requires_grad and t.shape == (3,)
    assert all(isinstance(x, Tensor) and x.requires_grad for x in pair)
