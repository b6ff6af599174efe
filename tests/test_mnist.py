"""Digits, the embedded MNIST sample, one-vs-rest targets, the split and the minibatches."""

import hashlib
from importlib import resources

import numpy as np
import pytest
from glassgrad.errors import GlassgradError
from glassgrad.models import mnist
from glassgrad.models.mnist import (
    DataError,
    Digits,
    binary_targets,
    load_embedded,
    minibatches,
    train_val_split,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from mnist_files import random_digits

# ---- Digits ---------------------------------------------------------------------------


def test_features_are_pixels_over_255_row_by_row():
    images, labels = random_digits(3)
    images[0, 0, :2] = [0, 255]
    d = Digits(images, labels, "test")
    for dtype in (np.float64, np.float32):
        x = d.features(dtype)
        assert x.shape == (3, 784) and x.dtype == dtype
        assert x[0, 0] == 0.0 and x[0, 1] == 1.0
        np.testing.assert_array_equal(x[2, 28:56], (images[2, 1] / 255).astype(dtype))
        assert x.min() >= 0.0 and x.max() <= 1.0
    assert d.features() is not d.features()
    with pytest.raises(DataError, match="features need a floating dtype"):
        d.features(np.uint8)


def test_subset_by_indices_mask_slice_and_int():
    images, labels = random_digits(5)
    d = Digits(images, labels, "test")
    s = d.subset(np.array([4, 0]))
    np.testing.assert_array_equal(s.images, images[[4, 0]])
    np.testing.assert_array_equal(s.labels, labels[[4, 0]])
    assert s.source == "test" and len(s) == 2
    assert repr(s) == "Digits(2 digits: test)"
    assert len(d.subset(labels == labels[0])) == int((labels == labels[0]).sum())
    assert len(d.subset(slice(1, 3))) == 2
    one = d.subset(np.int64(2))
    assert one.images.shape == (1, 28, 28) and one.labels[0] == labels[2]


@pytest.mark.parametrize(
    ("images", "labels", "match"),
    [
        (np.zeros((2, 28, 28), np.float64), np.zeros(2, np.uint8), "images must be a uint8 array"),
        (
            np.zeros((2, 784), np.uint8),
            np.zeros(2, np.uint8),
            "shape \\(N, 28, 28\\), got uint8 array of shape \\(2, 784\\)",
        ),
        (np.zeros((2, 28, 28), np.uint8), np.zeros(3, np.uint8), "labels must be a uint8 array of shape \\(2,\\)"),
        (np.zeros((2, 28, 28), np.uint8), [0, 1], "got list"),
        (
            np.zeros((2, 28, 28), np.uint8),
            np.array([0, 10], np.uint8),
            "here: label 10 at index 1 is outside 0..9 \\(labels outside 0..9: 1 of 2\\)",
        ),
    ],
)
def test_digits_check_their_arrays(images, labels, match):
    with pytest.raises(DataError, match=match):
        Digits(images, labels, "here")


# ---- the embedded sample ----------------------------------------------------------------


@pytest.mark.parametrize(("split", "n", "name"), [("train", 6000, "training"), ("test", 2000, "test")])
def test_embedded_sample_is_stratified_real_mnist(split, n, name):
    d = load_embedded(split)
    assert len(d) == n and d.images.shape == (n, 28, 28)
    # Stratified: each class within one digit of its share of the official split.
    official = {
        "train": [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
        "test": [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
    }[split]
    share = n * np.array(official) / sum(official)
    assert np.all(np.abs(np.bincount(d.labels, minlength=10) - share) < 1)
    assert d.images.min() == 0 and d.images.max() == 255
    # MNIST digits are centred by their centre of mass: ink about 0.13 on average,
    # almost none on the two outer rows and columns, much in the middle.
    x = d.features().reshape(-1, 28, 28)
    assert 0.10 < x.mean() < 0.16
    assert x[:, :, :2].mean() < 0.01 and x[:, :2, :].mean() < 0.01
    assert x[:, 10:18, 10:18].mean() > 0.3
    assert d.source == f"embedded MNIST {name} sample ({n:,} digits)"


def test_embedded_sample_is_the_file_its_checksum_names():
    folder = resources.files("glassgrad.models.data") / "sample"
    digest, name = (folder / "SHA256SUMS").read_text().split()
    assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    readme = (folder / "README.md").read_text()
    assert "LeCun" in readme and "Cortes" in readme and "Burges" in readme and "CC BY-SA 3.0" in readme
    assert digest in readme


def test_embedded_test_digits_are_not_training_digits():
    train, test = load_embedded("train"), load_embedded("test")
    seen = {img.tobytes() for img in train.images}
    assert not any(img.tobytes() in seen for img in test.images)


def test_embedded_sample_is_read_once_and_read_only():
    a, b = load_embedded(), load_embedded()
    assert a.images is b.images
    with pytest.raises(ValueError, match="read-only"):
        a.images[0, 0, 0] = 1


def test_embedded_sample_unknown_split():
    with pytest.raises(DataError, match="unknown split 'validation' of the embedded MNIST sample"):
        load_embedded("validation")


# ---- targets, split, minibatches ---------------------------------------------------------


def test_binary_targets_mark_the_digit():
    labels = np.array([9, 0, 9, 3], np.uint8)
    y = binary_targets(labels, 9)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, [1.0, 0.0, 1.0, 0.0])
    assert binary_targets(labels, np.int64(3), np.float32).tolist() == [0, 0, 0, 1]


@pytest.mark.parametrize("digit", [10, -1, 1.5, True, "9"])
def test_binary_targets_reject_impossible_digits(digit):
    with pytest.raises(DataError, match="digit must be a whole number from 0 to 9"):
        binary_targets(np.zeros(3, np.uint8), digit)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 500), fraction=st.floats(0, 0.95), seed=st.integers(0, 2**32 - 1))
def test_split_is_disjoint_covering_sorted_and_seeded(n, fraction, seed):
    if round(fraction * n) > n - 1 or (fraction > 0 and n == 1):
        with pytest.raises(DataError, match="keep any to train on"):
            train_val_split(n, fraction, seed)
        return
    train, val = train_val_split(n, fraction, seed)
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(n))
    assert len(val) == max(round(fraction * n), 1 if fraction > 0 else 0)
    assert np.all(np.diff(train) > 0) and np.all(np.diff(val) > 0)
    again = train_val_split(n, fraction, seed)
    np.testing.assert_array_equal(again[0], train)
    np.testing.assert_array_equal(again[1], val)


def test_split_depends_on_the_seed():
    splits = {tuple(train_val_split(1000, 0.2, seed)[1]) for seed in range(5)}
    assert len(splits) == 5


@pytest.mark.parametrize(
    ("n", "fraction", "match"),
    [
        (10, 1.0, "val_fraction must be in \\[0, 1\\)"),
        (10, -0.1, "val_fraction"),
        (10, float("nan"), "val_fraction"),
        (0, 0.1, "cannot split an empty set"),
        (-3, 0.1, "n must not be negative"),
        (2.5, 0.1, "n must be a whole number"),
    ],
)
def test_split_rejects_impossible_arguments(n, fraction, match):
    with pytest.raises(DataError, match=match):
        train_val_split(n, fraction, 0)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 300), batch_size=st.integers(1, 400), seed=st.integers(0, 2**32 - 1))
def test_minibatches_cover_each_index_once(n, batch_size, seed):
    batches = list(minibatches(n, batch_size, np.random.default_rng(seed)))
    assert len(batches) == -(-n // batch_size)
    assert all(len(b) == batch_size for b in batches[:-1])
    seen = np.concatenate(batches) if batches else np.array([], int)
    np.testing.assert_array_equal(np.sort(seen), np.arange(n))
    again = list(minibatches(n, batch_size, np.random.default_rng(seed)))
    assert all(np.array_equal(a, b) for a, b in zip(batches, again))


def test_minibatches_are_shuffled_and_full_batch_when_large():
    rng = np.random.default_rng(0)
    first, second = np.concatenate(list(minibatches(100, 7, rng))), np.concatenate(list(minibatches(100, 7, rng)))
    assert not np.array_equal(first, np.arange(100)) and not np.array_equal(first, second)
    (whole,) = minibatches(50, 50, rng)
    assert sorted(whole) == list(range(50))
    (whole,) = minibatches(50, 10**6, rng)
    assert len(whole) == 50


def test_minibatches_reject_bad_batch_size_at_the_call():
    with pytest.raises(DataError, match="batch_size must be at least 1, got 0"):
        minibatches(10, 0, np.random.default_rng(0))
    with pytest.raises(DataError, match="batch_size must be a whole number"):
        minibatches(10, 2.0, np.random.default_rng(0))


def test_data_errors_are_glassgrad_errors():
    assert issubclass(mnist.DataError, GlassgradError)
