"""softmax, log_softmax, logsumexp and cross_entropy: stable forms, PyTorch's
semantics, errors, and both drawings; and the small shape and reduction helpers
(flatten, squeeze, unsqueeze, min, var, argmax, sqrt). Values and gradients of every
op are checked against numpy and central differences in test_ops_properties."""

import warnings

import glassgrad as gg
import numpy as np
import pytest
from glassgrad import Tensor
from glassgrad.errors import DomainError
from glassgrad.viz import draw

BIG = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4]])


def test_huge_logits_give_finite_exact_results_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        z = Tensor(BIG, requires_grad=True)
        np.testing.assert_array_equal(gg.softmax(z).data, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]])
        np.testing.assert_allclose(gg.log_softmax(z).data[0], [0, -1e4, -2e4])
        np.testing.assert_allclose(gg.logsumexp(z, axis=1).data, [1e4, -1e4 + np.log(3)])
        loss = gg.cross_entropy(z, np.array([1, 2]), reduction="none")
        np.testing.assert_allclose(loss.data, [1e4, np.log(3)])
        loss.sum().backward()
        np.testing.assert_allclose(z.grad, [[1, -1, 0], [1 / 3, 1 / 3, -2 / 3]], atol=1e-15)


def test_cross_entropy_from_labels_is_the_weighted_mean_like_pytorch():
    z = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [1.0, -2.0, 0.0]])
    y = np.array([0, 2, 1])
    w = np.array([1.0, 3.0, 0.5])
    log_s = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    losses = -w[y] * log_s[[0, 1, 2], y]
    assert gg.cross_entropy(Tensor(z), y, weight=w).item() == pytest.approx(losses.sum() / w[y].sum())
    assert gg.cross_entropy(Tensor(z), y, weight=w, reduction="sum").item() == pytest.approx(losses.sum())
    # one sample: logits (C,) and a label ()
    assert gg.cross_entropy(Tensor(z[0]), 0).item() == pytest.approx(-log_s[0, 0])


def test_cross_entropy_from_probabilities_equals_labels_for_one_hot_rows_and_differentiates_the_targets():
    z = Tensor(np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]]), requires_grad=True)
    p = Tensor(np.eye(3)[[0, 2]], requires_grad=True)
    soft = gg.cross_entropy(z, p)
    assert soft.op == "soft_cross_entropy"
    assert soft.item() == pytest.approx(gg.cross_entropy(z, np.array([0, 2])).item())
    soft.backward()
    np.testing.assert_allclose(p.grad, -gg.log_softmax(z).data / 2)  # −ln s / N


@pytest.mark.parametrize(
    ("logits", "target", "kw", "match"),
    [
        (np.zeros((2, 3)), np.array([0, 3]), {}, r"labels must lie in \[0, 3\), got 3"),
        (np.zeros((2, 3)), np.array([0, -1]), {}, r"labels must lie in \[0, 3\), got -1"),
        (
            np.zeros((2, 3)),
            np.array([0.0, 1.0]),
            {},
            r"must have the logits' shape \(2, 3\), got \(2,\) \(integer labels",
        ),
        (np.zeros((2, 3)), np.array([[0, 1, 2]]), {}, r"labels must be integers of shape \(2,\)"),
        (np.zeros((2, 3, 4)), np.array([0, 1]), {}, r"shape \(N, C\) or \(C,\)"),
        (np.zeros((2, 3)), np.array([0, 1]), {"weight": [1.0, 2.0]}, r"one number ≥ 0 per class, shape \(3,\)"),
        (np.zeros((2, 3)), np.array([0, 1]), {"reduction": "avg"}, "reduction must be one of"),
    ],
)
def test_cross_entropy_names_what_is_wrong(logits, target, kw, match):
    with pytest.raises(ValueError, match=match):
        gg.cross_entropy(Tensor(logits, requires_grad=True), target, **kw)


def test_probability_targets_must_be_probabilities():
    with pytest.raises(DomainError, match="soft_cross_entropy"):
        gg.cross_entropy(Tensor(np.zeros((1, 2))), np.array([[1.5, -0.5]]))


def test_both_drawings_show_the_new_ops_with_their_formulas():
    x = Tensor(np.array([[0.5, -1.0, 2.0]]), name="x")
    w = Tensor(np.eye(3), requires_grad=True, name="W")
    z = x @ w
    z.name = "z"
    loss = gg.cross_entropy(z, np.array([2]))
    loss.name = "L"
    assert "cross_entropy" in draw(loss).source
    back = draw(loss, view="backward").source
    assert "softmax(z) − onehot(y)" in back
    s = gg.softmax(z, axis=1)
    s.name = "s"
    assert "s⊙(g − Σ g⊙s)" in draw(s.sum(), view="backward").source


def test_shape_helpers_are_reshapes_with_gradients():
    x = Tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    assert gg.flatten(x).shape == (24,) and gg.flatten(x, 1).shape == (2, 12)
    assert gg.flatten(x, 0, 1).shape == (6, 4) and gg.flatten(x, 0, 1).op == "reshape"
    y = gg.unsqueeze(x, -1)
    assert y.shape == (2, 3, 4, 1) and gg.unsqueeze(x, 0).shape == (1, 2, 3, 4)
    assert gg.squeeze(y).shape == (2, 3, 4) and gg.squeeze(y, axis=3).shape == (2, 3, 4)
    (gg.squeeze(y) * 2).sum().backward()
    np.testing.assert_array_equal(x.grad, np.full((2, 3, 4), 2.0))
    with pytest.raises(ValueError, match=r"squeeze: axis 1 of shape \(2, 3, 4, 1\) has size 3, not 1"):
        gg.squeeze(y, axis=1)
    with pytest.raises(ValueError, match="start_axis 2 comes after end_axis 1"):
        gg.flatten(x, 2, 1)


def test_min_var_argmax_and_sqrt():
    x = Tensor(np.array([[3.0, 1.0, 2.0], [0.5, 4.0, -1.0]]), requires_grad=True)
    assert x.min().item() == -1.0 and x.min(axis=1).tolist() == [1.0, -1.0]
    np.testing.assert_allclose(x.var(axis=1, ddof=1).data, np.var(x.data, axis=1, ddof=1))
    idx = x.argmax(axis=1)
    assert isinstance(idx, np.ndarray) and idx.tolist() == [0, 1] and gg.argmax(x) == 4
    x.min().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0, 0], [0, 0, 1]])
    assert Tensor([4.0]).sqrt().item() == 2.0 and gg.sqrt(gg.Scalar(9.0)).data == 3.0
    with pytest.raises(DomainError, match="sqrt"):
        gg.sqrt(Tensor([-1.0], requires_grad=True))
    with pytest.raises(ValueError, match="ddof=2 leave no degrees of freedom"):
        gg.var(Tensor([1.0, 2.0]), ddof=2)
    with pytest.raises(ValueError, match="ddof must be an integer ≥ 0"):
        gg.var(Tensor([1.0, 2.0]), ddof=-1)
