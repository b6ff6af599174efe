"""More training pictures from the ones there are: copies moved by a pixel.

A digit moved by one pixel is still the same digit, and the official test set's writers
do not centre their digits exactly as the training set's. Training on shifted copies
teaches a network that (a one-unit model, a single template, cannot use it).
"""

from __future__ import annotations

import numpy as np

from .digits import IMAGE_SHAPE, DataError


def shifted(X: np.ndarray, rng: np.random.Generator, max_shift: int = 1) -> np.ndarray:
    """Each picture (a row of ``X``, 28·28 pixels) moved by (dy, dx), two whole numbers
    drawn uniformly from [−max_shift, max_shift]; pixels moved in from outside are 0 (blank)."""
    X, (h, w) = np.asarray(X), IMAGE_SHAPE
    if X.ndim != 2 or X.shape[1] != h * w:
        raise DataError(f"shifted: expected pictures as rows of {h}·{w} = {h * w} pixels, got an array of {X.shape}")
    if isinstance(max_shift, bool) or not isinstance(max_shift, (int, np.integer)) or not 0 <= max_shift < min(h, w):
        raise DataError(f"shifted: max_shift must be a whole number of pixels in [0, {min(h, w)}), got {max_shift!r}")
    images = X.reshape(-1, *IMAGE_SHAPE)
    out = np.zeros_like(images)
    dy, dx = rng.integers(-max_shift, max_shift + 1, size=(2, len(X)))
    for a in range(-max_shift, max_shift + 1):
        for b in range(-max_shift, max_shift + 1):
            moved = (dy == a) & (dx == b)
            out[moved, max(a, 0) : h + min(a, 0), max(b, 0) : w + min(b, 0)] = images[
                moved, max(-a, 0) : h + min(-a, 0), max(-b, 0) : w + min(-b, 0)
            ]
    return out.reshape(X.shape)


def with_shifted_copies(X: np.ndarray, y: np.ndarray, copies: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) followed by ``copies`` copies of it, each picture of a copy :func:`shifted`
    by up to one pixel along each axis (drawn with ``seed``); the labels repeat."""
    if isinstance(copies, bool) or not isinstance(copies, (int, np.integer)) or copies < 0:
        raise DataError(f"shifted copies must be a whole number ≥ 0, got {copies!r}")
    if copies == 0:
        return X, y
    rng = np.random.default_rng(seed)
    return np.concatenate([X, *(shifted(X, rng) for _ in range(copies))]), np.concatenate([y] * (copies + 1))
