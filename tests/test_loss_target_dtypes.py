"""The binary cross-entropies have NumPy's result dtype of their predictions and targets:
boolean or integer labels of a float32 model keep the loss float32 (NumPy's float32 with
bool is float32), as float32 labels do, and give the same numbers."""

import glassgrad as gg
import numpy as np
import pytest
from glassgrad import Tensor

LABELS = np.array([True, False, True, True])
Z = np.array([-1.5, 0.25, 2.0, 0.0], np.float32)


def bce_with_logits(x, y):
    return gg.binary_cross_entropy_with_logits(x, y, pos_weight=2.0, reduction="none")


def bce(x, y):
    return gg.binary_cross_entropy(gg.sigmoid(x), y, reduction="none")


@pytest.mark.parametrize("loss", [bce_with_logits, bce])
@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int8])
@pytest.mark.parametrize("as_tensor", [False, True], ids=["array", "Tensor"])
def test_small_integer_or_boolean_labels_keep_a_float32_loss(loss, dtype, as_tensor):
    labels = LABELS.astype(dtype)
    x = Tensor(Z, requires_grad=True)
    out = loss(x, Tensor(labels) if as_tensor else labels)
    assert out.dtype == np.result_type(Z, labels) == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32

    x32 = Tensor(Z, requires_grad=True)
    expected = loss(x32, LABELS.astype(np.float32))
    expected.sum().backward()
    np.testing.assert_allclose(out.data, expected.data, rtol=1e-6)
    np.testing.assert_allclose(x.grad, x32.grad, rtol=1e-6)


@pytest.mark.parametrize("loss", [bce_with_logits, bce])
def test_one_boolean_label_keeps_a_float32_loss(loss):
    # numpy.bool_ (a NumPy scalar, not an array) with a 0-d prediction
    out = loss(Tensor(np.float32(0.5), requires_grad=True), np.True_)
    assert out.dtype == np.float32


def test_the_loss_by_hand():
    # ℓ = (1−y)·z + (1+(w−1)y)·softplus(−z) with w = 2: y = 1 gives 2·softplus(−z),
    # y = 0 gives z + softplus(−z) = softplus(z); ∂ℓ/∂z = (1+(w−1)y)·σ(z) − w·y.
    x = Tensor(Z, requires_grad=True)
    out = bce_with_logits(x, LABELS)
    z = Z.astype(np.float64)
    softplus = np.logaddexp(0, -z)
    np.testing.assert_allclose(out.data, np.where(LABELS, 2 * softplus, z + softplus), rtol=1e-6)
    out.sum().backward()
    sigma = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(x.grad, np.where(LABELS, 2 * sigma - 2, sigma), rtol=1e-6)


def test_int64_labels_promote_as_numpy_does():
    # NumPy: float32 with int64 is float64; the loss follows, the gradient keeps x's dtype.
    x = Tensor(Z, requires_grad=True)
    out = bce_with_logits(x, LABELS.astype(np.int64))
    assert out.dtype == np.float64
    out.sum().backward()
    assert x.grad.dtype == np.float32
