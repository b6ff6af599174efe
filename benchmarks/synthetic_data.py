"""The benchmark data: synthetic MNIST-shaped images (seeded, no files), or real MNIST
IDX files when a directory is given.

Synthetic images are N×784 pixels in [0, 1], mostly zeros like MNIST: each of ten
"digit" prototypes lights about a fifth of the pixels, and every image is its
prototype times uniform noise. The label is 1.0 for digit 9, else 0.0 (the
"is this a 9?" detector). Every process that builds the data with the same seed gets
the same arrays, which the harness checks with a fingerprint.
"""

from __future__ import annotations

import gzip
import os

import numpy as np

PIXELS = 784
_CHUNK = 5000  # rows built at a time: keeps temporaries small at N = 60000


def synthetic_mnist(n: int, dtype: str = "float64", seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)``: X of shape (n, 784) in ``dtype`` with pixels in [0, 1], y ∈ {0, 1} (digit 9)."""
    rng = np.random.default_rng(seed)
    prototypes = (rng.random((10, PIXELS)) < 0.2) * rng.random((10, PIXELS))
    digits = rng.integers(0, 10, n)
    X = np.empty((n, PIXELS), dtype=dtype)
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        X[start:stop] = prototypes[digits[start:stop]] * rng.random((stop - start, PIXELS))
    return X, (digits == 9).astype(dtype)


def _open(path: str):  # type: ignore[no-untyped-def]
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def _find(directory: str, stem: str) -> str:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(
        f"--mnist {directory}: no {stem}[.gz] there; expected the IDX files of MNIST's training set"
    )


def _read_idx(path: str) -> np.ndarray:
    """An IDX file (big-endian header: zero, zero, type 0x08 = ubyte, ndim; then the dims)."""
    with _open(path) as f:
        raw = f.read()
    if raw[:2] != b"\0\0" or raw[2] != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file (magic {raw[:4].hex()})")
    ndim = raw[3]
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def real_mnist(directory: str, n: int, dtype: str = "float64") -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` training images of MNIST (pixels / 255) and their is-a-9 labels."""
    images = _read_idx(_find(directory, "train-images-idx3-ubyte"))
    labels = _read_idx(_find(directory, "train-labels-idx1-ubyte"))
    if n > len(images):
        raise ValueError(f"asked for {n} images, {directory} holds {len(images)}")
    X = images[:n].reshape(n, -1).astype(dtype) / np.asarray(255, dtype=dtype)
    return X, (labels[:n] == 9).astype(dtype)


def load(n: int, dtype: str, seed: int, mnist_dir: str | None) -> tuple[np.ndarray, np.ndarray]:
    """The data every workload uses: real MNIST when a directory is given, else synthetic."""
    return real_mnist(mnist_dir, n, dtype) if mnist_dir else synthetic_mnist(n, dtype, seed)


def fingerprint(X: np.ndarray, y: np.ndarray) -> list[float]:
    """Sums that differ when two processes built different data."""
    return [float(X.sum(dtype=np.float64)), float(y.sum(dtype=np.float64)), float(X[::97, ::13].sum(dtype=np.float64))]


def initial_parameters(n_features: int, dtype: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Small random weights (so σ(z) varies across samples) and a zero bias."""
    rng = np.random.default_rng(seed + 1)
    return (0.01 * rng.standard_normal(n_features)).astype(dtype), np.zeros((), dtype=dtype)
