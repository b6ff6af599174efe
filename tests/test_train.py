"""The training loop: convergence, early stopping, Ctrl-C, artifacts writers."""

import json

import glassgrad
import numpy as np
import pytest
from glassgrad.models import plots
from glassgrad.models.logistic import LogisticModel
from glassgrad.models.report import ModelFileError, load_model, save_model, write_summary
from glassgrad.models.stopping import Criterion, MaxIterations, Patience, TargetLoss
from glassgrad.models.train import FitSettings, fit, loss_value
from glassgrad.optim import SGD


def separable(n=200, d=6, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(dtype)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(dtype)
    return X, y


class InterruptAt(Criterion):
    """Raises KeyboardInterrupt at an iteration, as Ctrl-C would."""

    def __init__(self, iteration):
        self.iteration = iteration

    def check(self, state):
        if state.iteration == self.iteration:
            raise KeyboardInterrupt
        return None


def test_full_batch_training_reduces_the_loss_and_reports_why_it_stopped():
    X, y = separable()
    m = LogisticModel(6)
    before = loss_value(m, X, y)
    r = fit(m, X, y, optimizer=SGD(m.parameters(), 1.0), stop=MaxIterations(50))
    assert r.iterations == 50 == r.epochs and r.stop.criterion == "MaxIterations"
    assert loss_value(m, X, y) < 0.5 * before
    assert len(r.history) == 50 and len(r.batch_losses) == 50
    assert r.train_metrics.accuracy > 0.9


def test_minibatches_make_epochs_of_ceil_n_over_b_steps():
    X, y = separable(n=103)
    m = LogisticModel(6)
    r = fit(
        m,
        X,
        y,
        optimizer=SGD(m.parameters(), 0.5, momentum=0.9),
        stop=MaxIterations(3 * 11),
        settings=FitSettings(batch_size=10),
    )
    assert r.epochs == 3 and [h.iteration for h in r.history] == [11, 22, 33]


def test_an_epochs_training_loss_is_the_mean_over_its_samples():
    # 5 samples in batches of 2, 2 and 1: the mean of the three batch means counted the
    # last sample twice as much as the others.
    X, y = separable(n=5)
    m = LogisticModel(6)
    r = fit(m, X, y, optimizer=SGD(m.parameters(), 0.5), stop=MaxIterations(3), settings=FitSettings(batch_size=2))
    assert r.epochs == 1
    assert r.history[0].train_loss == pytest.approx(r.batch_losses @ [2, 2, 1] / 5, rel=1e-15)


@pytest.mark.parametrize("where", ["X", "y", "X_val", "y_val"])
def test_nan_in_the_data_is_named_not_taken_for_divergence(where):
    # A NaN label made the first loss NaN, reported as "training diverged: lower the learning rate".
    data = dict(zip(("X", "y"), separable(n=20)))
    data.update(zip(("X_val", "y_val"), separable(n=10, seed=1)))
    data[where][3] = np.nan
    m = LogisticModel(6)
    with pytest.raises(ValueError, match=rf"fit: {where} holds NaN or infinite values \(first at index \(3,?"):
        fit(
            m,
            data["X"],
            data["y"],
            optimizer=SGD(m.parameters(), 0.5),
            stop=MaxIterations(3),
            val=(data["X_val"], data["y_val"]),
        )


def test_target_loss_stops_training_when_reached():
    X, y = separable()
    m = LogisticModel(6)
    r = fit(m, X, y, optimizer=SGD(m.parameters(), 1.0), stop=MaxIterations(10_000) | TargetLoss(0.2))
    assert r.stop.criterion == "TargetLoss" and r.stop.value <= 0.2 and r.iterations < 10_000


def test_early_stopping_restores_the_best_validation_parameters():
    X, y = separable(n=300, seed=1)
    Xv, yv = separable(n=100, seed=2)
    yv = 1 - yv  # a validation set that disagrees: its loss rises as training proceeds
    m = LogisticModel(6)
    patience = Patience(3)
    r = fit(m, X, y, optimizer=SGD(m.parameters(), 0.5), stop=MaxIterations(1000) | patience, val=(Xv, yv))
    assert r.stop.criterion == "Patience"
    best = min(r.history, key=lambda h: h.val_loss)
    assert r.best_iteration == best.iteration == patience.best.iteration
    assert loss_value(m, Xv, yv) == pytest.approx(best.val_loss)


def test_ctrl_c_stops_cleanly_and_keeps_the_best_parameters():
    X, y = separable(n=200, seed=3)
    Xv, yv = separable(n=100, seed=4)
    m = LogisticModel(6)
    r = fit(
        m,
        X,
        y,
        optimizer=SGD(m.parameters(), 2.0, momentum=0.9),
        stop=MaxIterations(100) | InterruptAt(30),
        val=(Xv, yv),
    )
    assert r.stop.criterion == "KeyboardInterrupt" and r.stop.iteration == 30
    assert len(r.history) == 30  # the interrupted step's epoch was recorded before the check
    best = min(r.history, key=lambda h: h.val_loss)
    assert r.best_iteration == best.iteration
    assert loss_value(m, Xv, yv) == pytest.approx(best.val_loss)


def test_threshold_chosen_on_validation_maximizes_validation_f1():
    X, y = separable(n=300, seed=5)
    Xv, yv = separable(n=150, seed=6)
    m = LogisticModel(6)
    r = fit(
        m,
        X,
        y,
        optimizer=SGD(m.parameters(), 0.5),
        stop=MaxIterations(20),
        val=(Xv, yv),
        settings=FitSettings(choose_threshold=True),
    )
    p = m.predict_proba(Xv)
    for t in np.unique(p):
        pred = p >= t
        tp, fp, fn = np.sum(pred & (yv == 1)), np.sum(pred & (yv == 0)), np.sum(~pred & (yv == 1))
        assert 2 * tp / (2 * tp + fp + fn) <= r.val_metrics.f1 + 1e-12


def test_float32_training_stays_float32():
    X, y = separable(dtype=np.float32)
    m = LogisticModel(6, dtype=np.float32)
    fit(
        m,
        X,
        y,
        optimizer=SGD(m.parameters(), 0.5, momentum=0.9),
        stop=MaxIterations(5),
        settings=FitSettings(batch_size=50),
    )
    assert m.w.dtype == np.float32 and m.w.grad.dtype == np.float32


def test_bad_batch_size_is_refused():
    with pytest.raises(ValueError, match="batch_size"):
        FitSettings(batch_size=-1)


def test_model_file_round_trip_and_errors(tmp_path):
    m = LogisticModel(6, dtype=np.float32)
    with glassgrad.no_grad():
        m.w[:] = np.arange(6)
    path = save_model(tmp_path / "m.npz", m, digit=3, threshold=0.4, epochs=2)
    loaded, meta = load_model(path)
    assert loaded.dtype == np.float32 and loaded.w.data.tolist() == list(range(6))
    assert meta["digit"] == 3 and meta["threshold"] == 0.4 and meta["train"]["epochs"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]  # no temporary file left behind

    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    np.savez(tmp_path / "nometa.npz", w=np.zeros(6), b=np.zeros(1))
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "missing.npz")
    with pytest.raises(ModelFileError, match="not a readable"):
        load_model(tmp_path / "junk.npz")
    with pytest.raises(ModelFileError, match="metadata"):
        load_model(tmp_path / "nometa.npz")


def test_summary_json_is_strict_json(tmp_path):
    path = write_summary(tmp_path / "s.json", {"auc": float("nan"), "x": np.float32(1.5), "a": np.arange(2)})
    assert json.loads(path.read_text()) == {"auc": None, "x": 1.5, "a": [0, 1]}


@pytest.mark.parametrize(
    ("model_dtype", "x_dtype"),
    [(np.float64, np.float64), (np.float32, np.float32), (np.float32, np.float64), (np.float64, np.uint8)],
)
def test_traced_training_equals_eager_training_bit_for_bit(model_dtype, x_dtype):
    """The compiled steps make the eager steps' updates, also on pixels of another type
    than the model's (eager converts them as the model reads them; the traced run was
    a TraceError, or a TypeError on uint8 pixels)."""
    X, y = separable(n=37)
    X = (np.abs(X) * 40).astype(x_dtype) if x_dtype == np.uint8 else X.astype(x_dtype)
    runs = []
    for traced in (True, False):
        m = LogisticModel(6, dtype=model_dtype)
        settings = FitSettings(batch_size=8, pos_weight=2.5, traced=traced)  # the last batch has 5 samples
        result = fit(
            m, X, y, optimizer=SGD(m.parameters(), 0.1, momentum=0.9), stop=MaxIterations(12), settings=settings
        )
        runs.append((m.w.data, m.b.data, result.batch_losses))
    for traced, eager in zip(*runs):
        np.testing.assert_array_equal(traced, eager)


def test_the_mistakes_picture_never_rounds_p_across_the_threshold_or_to_certainty(monkeypatch, tmp_path):
    # For the threshold 0.4287 the title read "p ≥ 0.43" over a false positive "p = 0.429",
    # a false negative at 0.42865 read "p = 0.429" under "p < 0.43", and 0.99996 "p = 1.000".
    figures = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: figures.append(fig))
    labels = np.array([3, 5, 9])
    plots.mistakes_grid(
        tmp_path / "m.png", np.zeros((3, 28, 28)), labels, np.array([0.42875, 0.99996, 0.42865]), 9, 0.4287
    )
    texts = [t.get_text() for t in figures[0].texts] + [ax.get_title() for ax in figures[0].axes]
    assert "false positives (not a 9, p ≥ 0.4287): 2 in all" in texts
    assert "false negatives (a 9, p < 0.4287): 1 in all" in texts
    assert {"label 5\np = 0.99996", "label 3\np = 0.429", "label 9\np = 0.4286"} <= set(texts)
