"""The hidden-layer detector and the digit classifier: what one unit cannot learn, the
softmax classifier's loss and metrics, training through fit, and save/load."""

import numpy as np
import pytest
from glassgrad.models import serialize
from glassgrad.models.logistic import LogisticModel
from glassgrad.models.metrics import class_metrics
from glassgrad.models.network import DigitClassifier, HiddenLayerDetector
from glassgrad.models.stopping import MaxIterations
from glassgrad.models.train import FitSettings, fit
from glassgrad.optim import Adam


def xor(n=400, seed=0):
    """Two features; the class is whether they have the same sign: no line separates it."""
    X = np.random.default_rng(seed).uniform(-1, 1, size=(n, 2))
    return X, (X[:, 0] * X[:, 1] > 0).astype(np.float64)


def train(model, X, y, steps=400, lr=0.05):
    return fit(
        model,
        X,
        y,
        optimizer=Adam(model.parameters(), lr=lr),
        stop=MaxIterations(steps),
        settings=FitSettings(batch_size=0),
    )


def test_a_hidden_layer_learns_what_one_unit_cannot():
    X, y = xor()
    one = LogisticModel(2)
    train(one, X, y)
    net = HiddenLayerDetector(8, n_features=2, seed=0)
    result = train(net, X, y)
    assert one.metrics(X, y).accuracy < 0.7  # a line gets about half of XOR right
    assert result.train_metrics.accuracy > 0.95
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert net(X).shape == (400,) and net.hidden == 8 and net.first_layer.weight.shape == (8, 2)


def blobs(n=300, k=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    centers = np.array([[3.0, 0.0], [0.0, 3.0], [-3.0, -3.0]])[:k]
    return centers[y] + rng.normal(size=(n, 2)), y


def test_the_classifier_learns_three_blobs_and_reports_its_confusion():
    X, y = blobs()
    clf = DigitClassifier(n_classes=3, n_features=2, seed=0)
    before = clf.loss(X, y).item()
    result = train(clf, X, y.astype(np.float64), steps=300, lr=0.1)  # fit hands labels over as floats
    assert clf.loss(X, y).item() < before / 5
    m = result.train_metrics
    assert m.accuracy > 0.97 and sum(map(sum, m.confusion)) == len(y)
    p = clf.predict_proba(X)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X), p.argmax(axis=1))


def test_the_classifier_loss_is_the_mean_cross_entropy():
    X, y = blobs(n=20)
    clf = DigitClassifier(n_classes=3, hidden=4, n_features=2, seed=1)
    z = clf(X).data
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    assert clf.loss(X, y).item() == pytest.approx(-log_p[np.arange(20), y].mean())
    with pytest.raises(ValueError, match="pos_weight is for detectors"):
        clf.loss(X, y, pos_weight=2.0)
    with pytest.raises(ValueError, match="n_classes must be an integer ≥ 2"):
        DigitClassifier(n_classes=1)


def test_class_metrics_by_hand():
    # true 0 0 1 2 2, predicted 0 1 1 2 0
    proba = np.eye(3)[[0, 1, 1, 2, 0]]
    m = class_metrics([0, 0, 1, 2, 2], proba)
    assert m.confusion == ((1, 1, 0), (0, 1, 0), (1, 0, 1))
    assert m.accuracy == pytest.approx(3 / 5)
    assert m.precision == pytest.approx((1 / 2, 1 / 2, 1.0))
    assert m.recall == pytest.approx((1 / 2, 1.0, 1 / 2))
    assert m.macro_f1 == pytest.approx(np.mean([1 / 2, 2 / 3, 2 / 3]))


@pytest.mark.parametrize(
    "model", [HiddenLayerDetector(3, n_features=4, dtype=np.float32), DigitClassifier(hidden=5, n_features=4)]
)
def test_networks_save_and_load_whole(model, tmp_path):
    back = serialize.load(serialize.save(model, tmp_path / "m.npz"))
    assert type(back) is type(model) and back.config() == model.config()
    X = np.random.default_rng(0).random((3, 4))
    np.testing.assert_array_equal(back(X).data, model(X).data)


@pytest.mark.parametrize(
    ("y", "match"),
    [
        ([0.5, 1.0], r"labels must be whole numbers, got 0\.5"),
        ([2.9, 0.0], r"labels must be whole numbers, got 2\.9"),
        ([np.nan, 1.0], r"labels must be whole numbers, got nan"),
        (["1", "2"], r"labels must be numbers, got <U1"),
        ([3, 0], r"labels must lie in \[0, 3\), got 3"),
    ],
)
def test_the_classifier_refuses_labels_that_are_not_classes(y, match):
    # astype(intp) made 0.5 class 0 and 2.9 class 2: a loss and metrics of other labels.
    clf = DigitClassifier(n_classes=3, n_features=2)
    X = np.ones((2, 2))
    with pytest.raises(ValueError, match="DigitClassifier.loss: " + match):
        clf.loss(X, y)
    with pytest.raises(ValueError, match="class_metrics: " + match):
        clf.metrics(X, y)
    assert clf.loss(X, np.array([2.0, 0.0])).item() == pytest.approx(clf.loss(X, [2, 0]).item())
