"""``.grad`` always has its Tensor's shape: an assigned gradient of another shape is
refused, and backward() refuses to add to a gradient that no longer fits (the data was
given a new shape) rather than broadcast the old one into the new, as it refuses a
gradient of another shape from a wrong backward. A 0-d tensor's gradient stays a 0-d
array however often it accumulates."""

import numpy as np
import pytest
from glassgrad import Function, GradError, Scalar, Tensor


def test_accumulating_into_a_gradient_of_another_shape_is_refused():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True, name="x")
    (x * x).sum().backward()
    x.data = np.ones((2, 3))
    with pytest.raises(GradError, match=r"\.grad has shape \(3,\) but Tensor 'x' f64\[2, 3\].*set \.grad = None"):
        (x * x).sum().backward()
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 2.0))


@pytest.mark.parametrize("value", [np.ones(3), np.ones((1, 2)), [1.0], 5.0])
def test_assigning_a_gradient_of_another_shape_is_refused(value):
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(GradError, match=r"grad of Tensor f64\[2\] must have its shape \(2,\)"):
        x.grad = value
    assert x.grad is None


def test_an_assigned_gradient_is_an_array_of_the_tensors_dtype_and_accumulates():
    x = Tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    x.grad = [1, 2]
    assert type(x.grad) is np.ndarray and x.grad.dtype == np.float32
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 6.0])


def test_a_zero_dim_gradient_stays_an_array_when_it_accumulates():
    x = Tensor(2.0, requires_grad=True)
    for _ in range(2):
        (x * x).backward()
    assert type(x.grad) is np.ndarray and x.grad.shape == () and x.grad == 8.0


def test_a_custom_backward_returning_another_shape_is_refused_at_the_leaf():
    class Total(Function):  # a wrong backward: the total, not one gradient per element
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g, y, x):
            return (g.sum(),)

    x = Tensor([1.0, 2.0, 3.0], requires_grad=True, name="x")
    with pytest.raises(GradError, match=r"the gradient reaching Tensor 'x' f64\[3\] has shape \(\)"):
        Total.apply(x).sum().backward()


def test_a_scalars_assigned_gradient_is_one_float():
    s = Scalar(2.0)
    s.grad = np.array([3])
    assert type(s.grad) is float and s.grad == 3.0
    with pytest.raises(GradError, match=r"the grad of Scalar .* must be one number"):
        s.grad = np.array([1.0, 2.0])
