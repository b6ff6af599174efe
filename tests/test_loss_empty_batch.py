"""The mean loss of an empty batch is refused as ``mean()`` of nothing is: it is 0/0,
which gave NaN with NumPy's RuntimeWarning, and under ``create_graph=True`` a DomainError
from a division by 0 that named no loss. Summed, or per sample, an empty batch is fine."""

import warnings

import glassgrad as gg
import numpy as np
import pytest
from glassgrad import ShapeError, Tensor

LOSSES = {
    "bce_with_logits": lambda z, reduction: gg.binary_cross_entropy_with_logits(
        z, np.zeros((0, 3)), reduction=reduction
    ),
    "bce_with_logits pos_weight": lambda z, reduction: gg.binary_cross_entropy_with_logits(
        z, np.zeros((0, 3)), pos_weight=2.0, reduction=reduction
    ),
    "binary_cross_entropy": lambda z, reduction: gg.binary_cross_entropy(
        gg.sigmoid(z), np.zeros((0, 3)), reduction=reduction
    ),
    "cross_entropy labels": lambda z, reduction: gg.cross_entropy(z, np.zeros(0, int), reduction=reduction),
    "cross_entropy probabilities": lambda z, reduction: gg.cross_entropy(z, np.zeros((0, 3)), reduction=reduction),
}


@pytest.mark.parametrize("loss", LOSSES.values(), ids=LOSSES.keys())
def test_the_mean_loss_of_an_empty_batch_is_refused(loss):
    z = Tensor(np.zeros((0, 3)), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ShapeError, match=r"mean of 0 losses.*reduction='sum'"):
            loss(z, "mean")


@pytest.mark.parametrize("loss", LOSSES.values(), ids=LOSSES.keys())
@pytest.mark.parametrize("reduction", ["sum", "none"])
def test_the_sum_or_the_losses_of_an_empty_batch_have_empty_gradients(loss, reduction):
    z = Tensor(np.zeros((0, 3)), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = loss(z, reduction)
        (first,) = gg.grad(out.sum(), [z], create_graph=True)
    assert first.shape == (0, 3)
    assert out.data.sum() == 0.0
