"""Engine bugs found by the property suite, each pinned by the smallest case."""

import numpy as np
import pytest
from glassgrad import (
    Scalar,
    ShapeError,
    Tensor,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    grad,
    record_sites,
)


def test_scalar_clip_with_one_bound():
    assert Scalar(0.3).clip(0.5).data == 0.5 and Scalar(0.3).clip(None, 0.1).data == 0.1


def test_bce_on_a_0d_probability():
    # 1 − p of a 0-d array is a numpy float, which went down the float path of clip.
    loss = binary_cross_entropy(Tensor(0.25), Tensor(1.0))
    assert loss.item() == pytest.approx(-np.log(0.25))


@pytest.mark.parametrize("loss", [binary_cross_entropy_with_logits, binary_cross_entropy])
def test_bce_targets_broadcast_against_reduced_loss(loss):
    z = Tensor(0.3, requires_grad=True)
    y = Tensor([0.5, 0.2], requires_grad=True)
    loss(z, y, reduction="sum").backward()
    assert z.grad.shape == () and y.grad.shape == (2,)
    # Same as with the logit spelled out at full shape (gradient summed back).
    z2 = Tensor([0.3, 0.3], requires_grad=True)
    y2 = Tensor([0.5, 0.2], requires_grad=True)
    loss(z2, y2, reduction="sum").backward()
    np.testing.assert_allclose(z.grad, z2.grad.sum())
    np.testing.assert_allclose(y.grad, y2.grad)


def test_grad_of_the_same_output_twice_sums_the_seeds():
    a = Tensor([1.0, 2.0], requires_grad=True)
    y = a * 3
    (g,) = grad([y, y], [a], [Tensor([1.0, 1.0]), Tensor([2.0, 0.0])])
    np.testing.assert_array_equal(g, [9.0, 3.0])


def test_axis_error_names_the_axis():
    with pytest.raises(ShapeError, match=r"axis 0 is out of bounds.*\[-ndim, ndim - 1\]"):
        Tensor(0.0).max(axis=0)


def test_op_params_are_recorded_with_sites():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with record_sites():
        y = x.sum(axis=1, keepdims=True)
    assert y.params == {"axis": 1, "keepdims": True}
    assert x.sum().params == {}  # outside record_sites nothing is kept
