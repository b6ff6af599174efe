"""Metrics against brute force on small random data."""

import itertools
import math

import numpy as np
import pytest
from glassgrad.models.metrics import best_f1_threshold, binary_metrics, class_metrics, roc_auc
from hypothesis import given
from hypothesis import strategies as st

# Scores from a small set so that ties are frequent.
labels_and_scores = st.integers(1, 25).flatmap(
    lambda n: st.tuples(
        st.lists(st.booleans(), min_size=n, max_size=n),
        st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5, 0.7, 0.9, 1.0]), min_size=n, max_size=n),
    )
)


def brute_auc(y, s):
    pos = [b for a, b in zip(y, s) if a]
    neg = [b for a, b in zip(y, s) if not a]
    if not pos or not neg:
        return math.nan
    wins = sum(1.0 if p > q else 0.5 if p == q else 0.0 for p, q in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def brute_f1(y, s, t):
    tp = sum(1 for a, b in zip(y, s) if a and b >= t)
    fp = sum(1 for a, b in zip(y, s) if not a and b >= t)
    fn = sum(1 for a, b in zip(y, s) if a and b < t)
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0


@given(labels_and_scores)
def test_roc_auc_equals_the_pairwise_count(data):
    y, s = data
    expected = brute_auc(y, s)
    got = roc_auc(np.array(y), np.array(s))
    assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected)


@given(labels_and_scores, st.sampled_from([0.0, 0.25, 0.5, 0.6, 1.0]))
def test_binary_metrics_equal_brute_force_counts(data, t):
    y, s = data
    m = binary_metrics(np.array(y), np.array(s), t)
    tp = sum(a and b >= t for a, b in zip(y, s))
    fp = sum((not a) and b >= t for a, b in zip(y, s))
    fn = sum(a and b < t for a, b in zip(y, s))
    tn = len(y) - tp - fp - fn
    assert m.confusion == ((tn, fp), (fn, tp))
    assert m.accuracy == pytest.approx((tp + tn) / len(y))
    assert m.precision == pytest.approx(tp / (tp + fp) if tp + fp else 0.0)
    assert m.recall == pytest.approx(tp / (tp + fn) if tp + fn else 0.0)
    assert m.f1 == pytest.approx(brute_f1(y, s, t))
    assert m.n == len(y) and m.n_positive == tp + fn


@given(labels_and_scores)
def test_best_f1_threshold_beats_every_candidate(data):
    y, s = data
    t, f1 = best_f1_threshold(np.array(y), np.array(s))
    candidates = [brute_f1(y, s, c) for c in set(s)]
    if any(y):
        assert f1 == pytest.approx(max(candidates))
        assert brute_f1(y, s, t) == pytest.approx(f1)
    else:
        assert (t, f1) == (0.5, 0.0)


def test_perfect_and_inverted_scores():
    y = np.array([0, 0, 1, 1])
    assert roc_auc(y, [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert roc_auc(y, [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert roc_auc(y, [0.5, 0.5, 0.5, 0.5]) == 0.5
    m = binary_metrics(y, np.array([0.1, 0.2, 0.8, 0.9]))
    assert (m.accuracy, m.precision, m.recall, m.f1) == (1.0, 1.0, 1.0, 1.0)
    assert m.to_dict()["confusion"] == [[2, 0], [0, 2]]


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="3 labels"):
        binary_metrics(np.array([0, 1, 1]), np.array([0.5, 0.5]))


@pytest.mark.parametrize(
    "metric",
    [
        lambda p: roc_auc(np.array([0, 1, 0, 1]), p),
        lambda p: binary_metrics(np.array([0, 1, 0, 1]), p),
        lambda p: best_f1_threshold(np.array([0, 1, 0, 1]), p),
        lambda p: class_metrics(np.array([0, 1, 0, 1]), np.stack([1 - p, p], axis=1)),
    ],
)
def test_nan_scores_are_refused(metric):
    """A NaN has no rank and no side of a threshold: ROC AUC was 0.625 for these
    scores (0.5 when all were NaN), the threshold search passed over them, and a NaN
    row's argmax counted as a prediction."""
    with pytest.raises(ValueError, match=r"\d+ of \d+ scores are NaN \(the first at index"):
        metric(np.array([np.nan, 0.2, 0.1, np.nan]))


def test_a_class_neither_present_nor_predicted_has_no_f1_and_stays_out_of_macro_f1():
    # Class 3 is in no label and no prediction: its F1 (0/0) counted as 0 and pulled macro
    # F1 to 0.617, where scikit-learn's f1_score(average="macro") gives 0.822 (classes 0–2).
    m = class_metrics(np.array([0, 1, 2, 0, 1]), np.eye(4)[[0, 1, 2, 1, 1]])
    assert m.f1[:3] == pytest.approx((2 / 3, 0.8, 1.0)) and math.isnan(m.f1[3])
    assert m.macro_f1 == pytest.approx(0.8222222222222223)
    assert m.absent == (3,)


@pytest.mark.parametrize(
    ("y", "p", "undefined"),
    [
        ([1, 0, 1, 0], [0.1, 0.2, 0.3, 0.4], ["no sample is predicted positive: precision is 0/0, shown as 0"]),
        ([0, 0, 0], [0.1, 0.6, 0.3], ["no sample is positive: recall is 0/0, shown as 0; ROC AUC is undefined"]),
        (
            [0, 0, 0],
            [0.1, 0.2, 0.3],
            [
                "no sample is positive or predicted positive: precision, recall and F1 are 0/0, shown as 0; "
                "ROC AUC is undefined"
            ],
        ),
        ([1, 1], [0.9, 0.2], ["every sample is positive: ROC AUC is undefined"]),
        ([1, 0], [0.9, 0.2], []),
    ],
)
def test_what_the_counts_leave_undefined_is_said(y, p, undefined):
    # The table printed precision 0.0000 and ROC AUC nan without a word of why.
    assert binary_metrics(np.array(y), np.array(p)).undefined() == undefined


@pytest.mark.parametrize("y", [[0.5, 1.0], [2.0, 1.0], [-1.0, 0.0], [np.nan, 1.0]])
def test_binary_labels_other_than_0_and_1_are_refused(y):
    # astype(bool) counted 0.5, 2 and -1 as positives.
    with pytest.raises(ValueError, match="binary_metrics: labels must be 0 or 1"):
        binary_metrics(y, np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match="roc_auc: labels must be 0 or 1"):
        roc_auc(y, np.array([0.5, 0.5]))
