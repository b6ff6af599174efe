"""Engine bugs found while drawing the logistic unit (single-number BCE)."""

import math

import numpy as np
import pytest
from glassgrad import Scalar, Tensor, binary_cross_entropy, clip


@pytest.mark.parametrize(
    ("x", "lo", "hi", "want"), [(0.3, 0.5, None, 0.5), (0.7, None, 0.5, 0.5), (0.4, 0.1, 0.9, 0.4)]
)
def test_clip_with_one_bound_on_scalars_and_numpy_scalars(x, lo, hi, want):
    # np.float64 is a subclass of float: it used to take the Python-float branch
    # and compare against None.
    assert clip(Scalar(x), lo, hi).data == want
    assert float(clip(np.float64(x), lo, hi)) == want
    assert float(clip(Tensor(x), lo, hi).data) == want


@pytest.mark.parametrize("make", [Tensor, lambda v: Scalar(v, requires_grad=False)])
def test_binary_cross_entropy_of_one_number(make):
    p, y = 0.3, 1.0
    loss = binary_cross_entropy(make(p), make(y))
    assert float(loss.data) == pytest.approx(-math.log(p))


def test_naming_a_value_later_keeps_the_scope_it_was_created_in():
    import glassgrad as ag

    t = Tensor([1.0], requires_grad=True)
    with ag.scope("created"):
        z = t * 2
    with ag.scope("elsewhere"):
        z.name = "z"
    assert z.scope == ("created",) and z.name == "z"
    outside = t * 3
    with ag.scope("elsewhere"):
        outside.name = "o"
    assert outside.scope == ()
