"""Scores of −∞ (a mask) and +∞: logsumexp and log-softmax give the values of the sums
themselves, as numpy's logaddexp does, and a finite slice's gradient stays finite."""

import glassgrad as ag
import numpy as np
from glassgrad import Tensor
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

_SCORES = st.one_of(st.floats(-30, 30), st.sampled_from([-np.inf, np.inf]))


@settings(max_examples=60, deadline=None)
@given(x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=4), elements=_SCORES))
def test_logsumexp_of_infinite_scores_is_the_logarithm_of_the_sum(x):
    want = np.logaddexp.reduce(x, axis=-1)
    t = Tensor(x, requires_grad=True)
    y = ag.logsumexp(t, axis=-1)
    np.testing.assert_allclose(y.data, want, rtol=1e-12, atol=1e-12)
    with np.errstate(invalid="ignore"):  # ∞ − ∞ in a slice holding +∞
        np.testing.assert_allclose(ag.log_softmax(t, axis=-1).data, x - want[..., None], rtol=1e-12, atol=1e-12)
        y.backward(np.ones(y.shape))
    finite = np.isfinite(want)
    assert np.isfinite(t.grad[finite]).all()


def test_a_fully_masked_row_is_minus_infinity_not_nan():
    x = Tensor([[-np.inf, -np.inf], [0.0, -np.inf]], requires_grad=True)
    np.testing.assert_array_equal(ag.logsumexp(x, axis=1).data, [-np.inf, 0.0])
    np.testing.assert_array_equal(ag.logsumexp(Tensor([np.inf, 1.0])).data, np.inf)
