"""The default data: a stratified sample of real MNIST that ships with glassgrad.

``sample/mnist_sample.npz`` holds 6,000 digits of the official training set and 2,000
of the official test set, in each set's class proportions, made from the official IDX
files by ``make_sample.py`` (``sample/README.md`` gives the attribution, the licence,
CC BY-SA 3.0, and the SHA-256 of the sources and of the sample). The test digits are
for the final report only: nothing is trained or chosen on them.
"""

from __future__ import annotations

import functools
import io
import zipfile
from importlib import resources

import numpy as np

from .digits import DataError, Digits

SAMPLE_DIR = "sample"
FILE_NAME = "mnist_sample.npz"
SPLITS = ("train", "test")


def load_embedded(split: str = "train") -> Digits:
    """The embedded sample of the official ``split`` ("train" or "test"), read once per process."""
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r} of the embedded MNIST sample: use 'train' or 'test'")
    images, labels = _arrays()[split]
    name = "training" if split == "train" else "test"
    return Digits(images, labels, f"embedded MNIST {name} sample ({len(labels):,} digits)")


@functools.lru_cache(maxsize=1)
def _arrays() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    resource = resources.files(__package__) / SAMPLE_DIR / FILE_NAME
    try:
        with np.load(io.BytesIO(resource.read_bytes()), allow_pickle=False) as npz:
            arrays = {split: (npz[f"{split}_images"], npz[f"{split}_labels"]) for split in SPLITS}
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise DataError(
            f"the embedded MNIST sample {resource} cannot be read ({exc}): reinstall glassgrad, "
            "or give MNIST files with --data DIR or --download"
        ) from None
    for images, labels in arrays.values():
        images.setflags(write=False)  # shared by every caller through the cache
        labels.setflags(write=False)
    return arrays
