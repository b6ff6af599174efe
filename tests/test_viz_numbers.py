"""The numbers a drawing shows: what a summary of a large array says, and how rounding
is made visible."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from glassgrad.viz.labels import summary


@pytest.mark.parametrize(
    ("data", "shown"),
    [
        (np.full(7, 1e308), "min 1e+308 · mean 1e+308 · max 1e+308"),
        (np.full(7, 3e38, dtype=np.float32), "min 3e+38 · mean 3e+38 · max 3e+38"),
        (np.array([-1e308, -1e308, 1e308, 1e308, 1e308, 1e308, 1e308]), "min −1e+308 · mean 4.286e+307 · max 1e+308"),
    ],
)
def test_the_mean_of_large_finite_values_is_finite(data, shown):
    # Their sum overflows: the mean read "inf" under an overflow warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert summary(data) == shown


def test_a_summary_shows_enough_digits_to_tell_min_from_max():
    # 4 significant digits showed "min 1 · mean 1 · max 1": a constant, which it is not.
    data = 1 + np.arange(7) * 1e-5
    assert summary(data) == "min 1 · mean 1 · max 1.0001"
    assert summary(np.append(data, np.nan)) == "min 1 · max 1.0001 · 1 nan, 0 inf"
    assert summary(np.full(7, 0.1)) == "min 0.1 · mean 0.1 · max 0.1"
