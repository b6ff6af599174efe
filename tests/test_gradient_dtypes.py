"""A gradient has its input's dtype and shape, whichever route computes it: a float32
input mixed with float64 constants gets a float32 gradient, a 0-d input a 0-d array."""

import glassgrad as ag
import numpy as np
import pytest
from glassgrad import Tensor


def _loss(x):
    # float64 constants promote the forward pass to float64 (numpy's rule)
    return ((x * x) * np.array([1.0, 2.0, 3.0])).sum()


def _backward(x, create_graph):
    _loss(x).backward(create_graph=create_graph)
    return x.grad


ROUTES = {
    "backward": lambda x: _backward(x, False),
    "backward(create_graph=True)": lambda x: _backward(x, True),
    "grad(outputs, inputs)": lambda x: ag.grad(_loss(x), [x])[0],
    "grad(outputs, inputs, create_graph=True)": lambda x: ag.grad(_loss(x), [x], create_graph=True)[0],
    "grad(f)": lambda x: ag.grad(_loss)(x.numpy()),
    "value_and_grad(f)": lambda x: ag.value_and_grad(_loss)(x.numpy())[1],
}


@pytest.mark.parametrize("route", ROUTES.values(), ids=ROUTES.keys())
@pytest.mark.parametrize("shape", [(), (3,), (2, 3)], ids=["0-d", "vector", "matrix"])
def test_a_float32_input_gets_a_float32_gradient_of_its_shape(route, shape):
    data = np.linspace(0.5, 1.5, int(np.prod(shape))).reshape(shape).astype(np.float32)
    g = route(Tensor(data, requires_grad=True))
    raw = g.data if isinstance(g, Tensor) else g
    assert type(raw) is np.ndarray
    assert raw.dtype == np.float32
    assert raw.shape == shape
    full = 2 * data.astype(np.float64) * np.array([1.0, 2.0, 3.0])  # ∂/∂x of x²·w, w broadcast
    expected = full.sum() if shape == () else full
    np.testing.assert_allclose(raw, expected, rtol=1e-6)


def test_a_float32_gradient_recorded_by_create_graph_stays_differentiable():
    x = Tensor(np.array([0.5, 1.0, 1.5], dtype=np.float32), requires_grad=True)
    (g,) = ag.grad(_loss(x), [x], create_graph=True)
    (h,) = ag.grad(g.sum(), [x])  # ∂/∂x Σ 2·w·x = 2·w
    assert h.dtype == np.float32
    np.testing.assert_allclose(h, [2.0, 4.0, 6.0])


@pytest.mark.parametrize("number", [0.5, np.float64(0.5), np.float32(0.5)], ids=["python", "np.float64", "np.float32"])
def test_a_number_beside_a_float32_tensor_takes_its_dtype_an_array_promotes(number):
    # docs/guides/scalar-vs-tensor.md: a NumPy scalar is a number as a Python float is
    # (as in PyTorch), where NumPy's own rule would make np.float64(0.5) * x float64.
    x = Tensor(np.ones(3, np.float32), requires_grad=True)
    y = x * number
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
    assert (x * np.full(3, 0.5)).dtype == np.float64
