"""From labelled digits to what a binary detector trains on: targets, a split, minibatches."""

from __future__ import annotations

import operator
from collections.abc import Iterator

import numpy as np

from .digits import N_CLASSES, DataError


def binary_targets(labels: np.ndarray, digit: int, dtype: np.dtype | type = np.float64) -> np.ndarray:
    """One-vs-rest targets for the detector of ``digit``: y_i = 1 if labels_i == digit else 0."""
    whole = isinstance(digit, (int, np.integer)) and not isinstance(digit, bool)
    if not (whole and 0 <= digit < N_CLASSES):
        raise DataError(f"digit must be a whole number from 0 to 9, got {digit!r}")
    return (np.asarray(labels) == digit).astype(dtype)


def train_val_split(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, validation) of a random split of range(n), each sorted.

    The validation part has round(val_fraction · n) items, at least 1 when val_fraction > 0,
    and the training part keeps at least 1. The same (n, val_fraction, seed) always gives the
    same split.
    """
    if _count(n, "n") < 1:
        raise DataError("cannot split an empty set of digits (n = 0)")
    if not 0 <= val_fraction < 1:
        raise DataError(f"val_fraction must be in [0, 1), got {val_fraction!r}")
    n_val = round(val_fraction * n)
    if val_fraction > 0:
        n_val = max(n_val, 1)
    if n_val > n - 1:
        raise DataError(f"cannot hold out {val_fraction:g} of {n} digits for validation and keep any to train on")
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def minibatches(n: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """One epoch: index arrays of at most ``batch_size`` that together cover range(n) once,
    in an order shuffled by ``rng``. The last batch holds the remainder; batch_size ≥ n gives
    one batch of everything."""
    n = _count(n, "n")
    batch_size = _count(batch_size, "batch_size")
    if batch_size < 1:
        raise DataError(f"batch_size must be at least 1, got {batch_size}")
    order = rng.permutation(n)  # drawn now, so bad arguments fail here and not at first next()
    return (order[start : start + batch_size] for start in range(0, n, batch_size))


def _count(value: int, name: str) -> int:
    try:
        count = operator.index(value)
    except TypeError:
        raise DataError(f"{name} must be a whole number, got {value!r}") from None
    if count < 0:
        raise DataError(f"{name} must not be negative, got {count}")
    return count
