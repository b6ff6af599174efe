"""Metrics of a binary detector and of a K-class classifier, computed with numpy.

With TP, FP, FN, TN the counts of the confusion matrix for the positive class:

    accuracy  = (TP + TN) / N
    precision = TP / (TP + FP)      (0/0 when nothing is predicted positive: shown as 0)
    recall    = TP / (TP + FN)      (0/0 when there are no positives: shown as 0)
    F1        = 2·TP / (2·TP + FP + FN)

The 0/0 cases take scikit-learn's value, 0, and :meth:`BinaryMetrics.undefined` says
which they are, so a report can say why a 0 is not a score.

ROC AUC is the probability that a random positive scores above a random negative,
ties counting one half: the Mann–Whitney statistic, computed from average ranks.

A classifier predicts the class of highest probability; its confusion matrix counts
(true class, predicted class) pairs, and each class's precision, recall and F1 are
those of "class k or not". A class neither among the labels nor predicted has no F1
(NaN: 0/0) and stays out of the macro F1, as in scikit-learn's
``f1_score(average="macro")``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from glassgrad.errors import DomainError


@dataclass(frozen=True)
class BinaryMetrics:
    """The detector's scores at one threshold; ``confusion`` is [[TN, FP], [FN, TP]]."""

    threshold: float
    n: int
    n_positive: int
    accuracy: float
    precision: float
    recall: float
    f1: float
    roc_auc: float
    confusion: tuple[tuple[int, int], tuple[int, int]]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["confusion"] = [list(row) for row in self.confusion]
        return d

    def undefined(self) -> list[str]:
        """What the counts leave undefined, and why: each a sentence for a report."""
        (tn, fp), (fn, tp) = self.confusion
        if not self.n:
            return []
        if tp + fp == 0 and tp + fn == 0:
            return [
                "no sample is positive or predicted positive: precision, recall and F1 are 0/0, shown as 0; "
                "ROC AUC is undefined"
            ]
        notes = []
        if tp + fp == 0:
            notes.append("no sample is predicted positive: precision is 0/0, shown as 0")
        if tp + fn == 0:
            notes.append("no sample is positive: recall is 0/0, shown as 0; ROC AUC is undefined")
        if tn + fp == 0:
            notes.append("every sample is positive: ROC AUC is undefined")
        return notes


def binary_labels(y_true: Any, where: str) -> np.ndarray:
    """``y_true`` as booleans: one label per sample, each 0 or 1 (a digit's label, 9,
    is not "the digit" until it is compared with the digit)."""
    y = _one_per_sample(y_true, where)
    if y.dtype.kind != "b" and not np.isin(y, (0, 1)).all():
        bad = y[~np.isin(y, (0, 1))].flat[0].item()
        raise ValueError(f"{where}: labels must be 0 or 1 (1: the digit), got {bad!r}")
    return y.astype(bool)


def class_labels(y_true: Any, n_classes: int, where: str) -> np.ndarray:
    """``y_true`` as class indices (intp): one label per sample, each a whole number in
    [0, n_classes), in any numeric dtype (2.0 is class 2; 2.5 is no class)."""
    y = _one_per_sample(y_true, where)
    if y.dtype.kind not in "biuf":
        raise ValueError(f"{where}: labels must be numbers, got {y.dtype}")
    whole = np.isfinite(y) & (y == np.round(y)) if y.dtype.kind == "f" else np.ones(y.shape, bool)
    if not whole.all():
        raise ValueError(f"{where}: labels must be whole numbers, got {float(y[~whole][0])!r}")
    outside = (y < 0) | (y >= n_classes)
    if outside.any():
        raise ValueError(f"{where}: labels must lie in [0, {n_classes}), got {int(y[outside][0])}")
    return y.astype(np.intp)


def _scores(values: Any, where: str) -> np.ndarray:
    """``values`` (scores or probabilities) as float64, refused when any is NaN: a NaN
    has no rank and lies on neither side of a threshold, so every metric of it would be
    a number made up (all-NaN scores would rank as one tie: a ROC AUC of 0.5)."""
    s = np.asarray(values, dtype=np.float64)
    nan = np.isnan(s)
    if nan.any():
        first = tuple(int(i) for i in np.argwhere(nan)[0])
        raise DomainError(
            f"{where}: {int(nan.sum())} of {s.size} scores are NaN (the first at index "
            f"{first[0] if len(first) == 1 else first}); they have no rank and no side of a threshold, "
            "so no metric of them is defined: check the model (a diverged training gives NaN)"
        )
    return s


def _one_per_sample(y_true: Any, where: str) -> np.ndarray:
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise ValueError(f"{where}: labels must be one-dimensional, got shape {y.shape}")
    return y


def roc_auc(y_true: Any, scores: Any) -> float:
    """Area under the ROC curve (ties count ½); NaN when one class is absent. NaN
    scores are refused (:class:`DomainError`): they have no rank."""
    y, s = binary_labels(y_true, "roc_auc"), _scores(scores, "roc_auc")
    if s.shape != y.shape:
        raise ValueError(f"roc_auc: {y.shape[0]} labels but scores of shape {s.shape}")
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    # Average rank of each distinct score (1-based): a tie group spanning ranks
    # c−k+1 … c has mean rank c − (k − 1)/2.
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    ranks = (ends - (counts - 1) / 2.0)[inverse]
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def binary_metrics(y_true: Any, proba: Any, threshold: float = 0.5) -> BinaryMetrics:
    """All metrics for predictions ``proba ≥ threshold`` against ``y_true`` (1 = positive);
    NaN probabilities are refused (:class:`DomainError`)."""
    y, p = binary_labels(y_true, "binary_metrics"), _scores(proba, "binary_metrics")
    if p.shape != y.shape:
        raise ValueError(f"binary_metrics: {y.shape[0]} labels but probabilities of shape {p.shape}")
    pred = p >= threshold
    tp = int(np.count_nonzero(pred & y))
    fp = int(np.count_nonzero(pred & ~y))
    fn = int(np.count_nonzero(~pred & y))
    tn = y.size - tp - fp - fn
    return BinaryMetrics(
        threshold=float(threshold),
        n=int(y.size),
        n_positive=tp + fn,
        accuracy=(tp + tn) / y.size if y.size else float("nan"),
        precision=tp / (tp + fp) if tp + fp else 0.0,
        recall=tp / (tp + fn) if tp + fn else 0.0,
        f1=2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0,
        roc_auc=roc_auc(y, p),
        confusion=((tn, fp), (fn, tp)),
    )


def best_f1_threshold(y_true: Any, proba: Any) -> tuple[float, float]:
    """The threshold t maximizing F1 of ``proba ≥ t``, and that F1.

    Only the distinct scores can change the predictions, so each is tried: sorted
    high to low, TP and FP at threshold sᵢ are running counts. Among equal F1s the
    highest threshold wins. With no positives, 0.5 and F1 = 0. NaN probabilities are
    refused (:class:`DomainError`).
    """
    y, p = binary_labels(y_true, "best_f1_threshold"), _scores(proba, "best_f1_threshold")
    n_pos = int(y.sum())
    if n_pos == 0 or y.size == 0:
        return 0.5, 0.0
    order = np.argsort(-p, kind="stable")
    p_sorted, y_sorted = p[order], y[order]
    tp = np.cumsum(y_sorted)
    fp = np.cumsum(~y_sorted)
    # A threshold at a score predicts every sample with that score: use the last of each tie group.
    last = np.r_[p_sorted[1:] != p_sorted[:-1], True]
    tp, fp, scores = tp[last], fp[last], p_sorted[last]
    f1 = 2 * tp / (2 * tp + fp + (n_pos - tp))
    best = int(np.argmax(f1))  # argmax takes the first maximum: the highest threshold
    return float(scores[best]), float(f1[best])


@dataclass(frozen=True)
class ClassMetrics:
    """A K-class classifier's scores: accuracy, per-class precision/recall/F1 (class k
    against the rest), their unweighted mean (macro F1), and the confusion matrix
    ``confusion[true][predicted]``."""

    n: int
    accuracy: float
    precision: tuple[float, ...]
    recall: tuple[float, ...]
    f1: tuple[float, ...]
    macro_f1: float
    confusion: tuple[tuple[int, ...], ...]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["confusion"] = [list(row) for row in self.confusion]
        return d

    @property
    def absent(self) -> tuple[int, ...]:
        """The classes neither among the labels nor predicted: they have no F1."""
        return tuple(k for k, f in enumerate(self.f1) if math.isnan(f))


def class_metrics(y_true: Any, proba: Any) -> ClassMetrics:
    """Metrics of predicting argmax(``proba``) (N, K) for the integer labels ``y_true``;
    NaN probabilities are refused (:class:`DomainError`)."""
    p = _scores(proba, "class_metrics")
    if p.ndim != 2:
        raise ValueError(f"class_metrics: probabilities must have shape (N, K), got {p.shape}")
    y = class_labels(y_true, p.shape[1], "class_metrics")
    if p.shape[0] != y.shape[0]:
        raise ValueError(f"class_metrics: {y.shape} labels but probabilities of shape {p.shape}")
    k = p.shape[1]
    confusion = np.bincount(y * k + p.argmax(axis=1), minlength=k * k).reshape(k, k)
    tp = np.diag(confusion).astype(np.float64)
    predicted, actual = confusion.sum(axis=0), confusion.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros(k), where=actual > 0)
    seen = predicted + actual > 0
    f1 = np.divide(2 * tp, predicted + actual, out=np.full(k, np.nan), where=seen)
    return ClassMetrics(
        n=int(y.size),
        accuracy=float(tp.sum() / y.size) if y.size else float("nan"),
        precision=tuple(map(float, precision)),
        recall=tuple(map(float, recall)),
        f1=tuple(map(float, f1)),
        macro_f1=float(f1[seen].mean()) if seen.any() else float("nan"),
        confusion=tuple(tuple(int(c) for c in row) for row in confusion),
    )
