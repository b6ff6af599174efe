"""Shifted copies of the training pictures: each copy is its picture moved by at most a
pixel along each axis, blank where it moved in from outside; the labels repeat."""

import numpy as np
import pytest
from glassgrad.models.mnist import DataError, shifted, with_shifted_copies
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

pictures = arrays(np.float32, st.tuples(st.integers(1, 6), st.just(784)), elements=st.floats(0, 1, width=32))


def moved(picture: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """The oracle: pixel (r, c) of the result is pixel (r − dy, c − dx) of the picture, 0 outside."""
    a, out = picture.reshape(28, 28), np.zeros((28, 28), picture.dtype)
    for r in range(28):
        for c in range(28):
            if 0 <= r - dy < 28 and 0 <= c - dx < 28:
                out[r, c] = a[r - dy, c - dx]
    return out.reshape(784)


@settings(max_examples=25, deadline=None)
@given(pictures, st.integers(0, 2**32 - 1))
def test_each_picture_is_moved_by_at_most_one_pixel_with_blank_edges(X, seed):
    S = shifted(X, np.random.default_rng(seed))
    assert S.shape == X.shape and S.dtype == X.dtype
    for x, s in zip(X, S):
        assert any(np.array_equal(s, moved(x, dy, dx)) for dy in (-1, 0, 1) for dx in (-1, 0, 1))


def test_the_nine_moves_all_happen_and_max_shift_zero_moves_nothing():
    X = np.random.default_rng(0).random((200, 784)).astype(np.float32)
    S = shifted(X, np.random.default_rng(1))
    seen = {
        (dy, dx) for x, s in zip(X, S) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if np.array_equal(s, moved(x, dy, dx))
    }
    assert len(seen) == 9
    assert np.array_equal(shifted(X, np.random.default_rng(1), max_shift=0), X)


def test_copies_follow_the_originals_with_their_labels_repeated():
    X = np.random.default_rng(0).random((5, 784))
    y = np.arange(5.0)
    X2, y2 = with_shifted_copies(X, y, 2, seed=3)
    assert X2.shape == (15, 784) and np.array_equal(X2[:5], X)
    assert np.array_equal(y2, np.tile(y, 3))
    assert not np.array_equal(X2[5:10], X2[10:])  # each copy draws its own moves
    assert np.array_equal(X2, with_shifted_copies(X, y, 2, seed=3)[0])  # the seed fixes them
    assert with_shifted_copies(X, y, 0)[0] is X


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: shifted(np.zeros((2, 100)), np.random.default_rng()), "rows of 28·28 = 784 pixels"),
        (lambda: shifted(np.zeros((2, 784)), np.random.default_rng(), max_shift=28), "max_shift"),
        (lambda: with_shifted_copies(np.zeros((2, 784)), np.zeros(2), -1), "shifted copies must be"),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises(DataError, match=message):
        call()
