"""The helpers of the quality scripts (benchmarks/mnist_quality.py, mnist_recipe_cv.py):
the paired-bootstrap interval of an F1 difference, the recipe parser, the log loss."""

import os
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))

import mnist_quality
import mnist_recipe_cv
from glassgrad.models.metrics import binary_metrics

labels = arrays(bool, st.integers(20, 200), elements=st.booleans()).filter(lambda y: 0 < y.sum() < len(y))


@settings(max_examples=30, deadline=None)
@given(labels, st.integers(0, 2**32 - 1))
def test_f1_interval_is_zero_for_twins_and_nonnegative_for_the_truth(y, seed):
    pred = np.random.default_rng(seed).random(len(y)) < 0.5
    assert mnist_quality.f1_difference_interval(y, pred, pred, resamples=200) == (0.0, 0.0)
    # the truth itself has F1 = 1 on every resample, so it can only win
    low, high = mnist_quality.f1_difference_interval(y, y.copy(), pred, resamples=200)
    assert 0.0 <= low <= high <= 1.0


def test_f1_interval_brackets_the_observed_difference():
    rng = np.random.default_rng(1)
    y = rng.random(5000) < 0.1
    ours = y ^ (rng.random(5000) < 0.03)
    theirs = y ^ (rng.random(5000) < 0.06)
    observed = binary_metrics(y, ours.astype(float)).f1 - binary_metrics(y, theirs.astype(float)).f1
    low, high = mnist_quality.f1_difference_interval(y, ours, theirs)
    assert low < observed < high and high - low < 0.1


def test_candidates_replace_recipe_settings_with_their_types():
    recipe = mnist_recipe_cv.parse_candidate("batch_size=250,lr=0.5")
    assert recipe == {**mnist_quality.RECIPE, "batch_size": 250, "lr": 0.5}
    assert isinstance(recipe["batch_size"], int) and isinstance(recipe["lr"], float)
    assert mnist_recipe_cv.parse_candidate("") == mnist_quality.RECIPE
    for bad in ("batch=5", "lr"):
        with pytest.raises(SystemExit, match="expected key=value"):
            mnist_recipe_cv.parse_candidate(bad)


@given(arrays(np.float64, 10, elements=st.floats(0.001, 0.999)), arrays(bool, 10))
def test_log_loss_is_the_mean_negative_log_likelihood(p, y):
    expected = -np.mean([np.log(pi) if yi else np.log(1 - pi) for pi, yi in zip(p, y)])
    assert mnist_recipe_cv.log_loss(y.astype(float), p) == pytest.approx(expected, rel=1e-12)
