"""Writers of small MNIST-format files for the data tests (the library only reads them)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    """An IDX file: big-endian magic, one uint32 size per dimension, then the bytes."""
    header = magic.to_bytes(4, "big") + b"".join(s.to_bytes(4, "big") for s in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write(path: Path, data: bytes, gz: bool = False) -> Path:
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def write_idx_pair(
    folder: Path, images: np.ndarray, labels: np.ndarray, prefix: str = "train", gz: bool = False
) -> tuple[Path, Path]:
    """The official file names: {prefix}-images-idx3-ubyte and {prefix}-labels-idx1-ubyte."""
    suffix = ".gz" if gz else ""
    return (
        write(folder / f"{prefix}-images-idx3-ubyte{suffix}", idx_bytes(images, 2051), gz),
        write(folder / f"{prefix}-labels-idx1-ubyte{suffix}", idx_bytes(labels, 2049), gz),
    )


def csv_text(images: np.ndarray, labels: np.ndarray, header: bool = False, newline: str = "\n") -> str:
    """One digit per line: label, then the 784 pixels row by row."""
    names = ",".join(f"{r}x{c}" for r in range(1, 29) for c in range(1, 29))
    lines = [f"label,{names}"] if header else []
    lines += [f"{y}," + ",".join(map(str, x.ravel())) for x, y in zip(images, labels)]
    return newline.join(lines) + newline


def random_digits(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8), rng.integers(0, 10, size=n, dtype=np.uint8))
