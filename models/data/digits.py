"""The ``Digits`` container: N greyscale 28×28 pictures and their labels 0..9."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from glassgrad.errors import GlassgradError

IMAGE_SHAPE = (28, 28)
PIXELS = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]
N_CLASSES = 10


class DataError(GlassgradError):
    """Data that cannot be used: missing, unreadable, truncated or malformed files,
    labels outside 0..9, pixels outside 0..255, a failed download or checksum.

    The message is one line that names the file (or URL) and what is wrong, so a command
    line tool can print it as it is.
    """


@dataclass(frozen=True, eq=False)  # no == over arrays: numpy has no single truth value
class Digits:
    """MNIST-style digits.

    ``images[i]`` is a 28×28 uint8 picture (0 = background, 255 = ink) and ``labels[i]``
    the digit it shows. ``source`` says where the digits came from, for reports.
    Arrays returned by the loaders are read-only; ``features`` and ``subset`` return new
    arrays.
    """

    images: np.ndarray
    labels: np.ndarray
    source: str

    def __post_init__(self) -> None:
        images, labels = self.images, self.labels
        if not (
            isinstance(images, np.ndarray)
            and images.dtype == np.uint8
            and images.ndim == 3
            and images.shape[1:] == IMAGE_SHAPE
        ):
            raise DataError(f"Digits.images must be a uint8 array of shape (N, 28, 28), got {_describe(images)}")
        if not (isinstance(labels, np.ndarray) and labels.dtype == np.uint8 and labels.shape == images.shape[:1]):
            raise DataError(
                f"Digits.labels must be a uint8 array of shape ({len(images)},) to match the "
                f"images, got {_describe(labels)}"
            )
        check_labels(labels, self.source)

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        return f"Digits({len(self):,} digits: {self.source})"

    def features(self, dtype: np.dtype | type = np.float64) -> np.ndarray:
        """The design matrix X of shape (N, 784): row i is picture i read row by row,
        scaled to [0, 1] by x = pixel / 255."""
        if not np.issubdtype(dtype, np.floating):
            raise DataError(f"features need a floating dtype such as float64, got {dtype!r}")
        x = self.images.reshape(len(self), PIXELS).astype(dtype)
        x /= 255  # divide in the target dtype: exactly-rounded pixel/255, 0 → 0.0, 255 → 1.0
        return x

    def subset(self, idx: np.ndarray | slice | int) -> Digits:
        """The digits at ``idx`` (integer indices, a boolean mask or a slice), in that order."""
        keep = [idx] if isinstance(idx, (int, np.integer)) else idx  # a list keeps the first axis
        return Digits(self.images[keep], self.labels[keep], self.source)


def check_labels(labels: np.ndarray, where: str) -> None:
    """Raise DataError naming ``where`` and the first label outside 0..9."""
    bad = np.flatnonzero(labels >= N_CLASSES)
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{where}: label {int(labels[i])} at index {i} is outside 0..9 "
            f"(labels outside 0..9: {bad.size:,} of {len(labels):,})"
        )


def _describe(a: object) -> str:
    if isinstance(a, np.ndarray):
        return f"{a.dtype} array of shape {a.shape}"
    return type(a).__name__
