"""The IDX format of the official MNIST files.

An IDX file is a big-endian header followed by the raw values::

    magic   4 bytes: 0x00 0x00, type (0x08 = unsigned byte), number of dimensions d
    sizes   d × uint32: the size of each dimension
    values  prod(sizes) bytes, last dimension fastest (C order)

so the images file has magic 0x00000803 = 2051 and sizes (count, 28, 28), the labels file
magic 0x00000801 = 2049 and size (count,).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .digits import IMAGE_SHAPE, DataError, Digits, check_labels
from .files import MAX_BYTES, opened, read_at_most

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
_KIND = {IMAGES_MAGIC: "images", LABELS_MAGIC: "labels"}
_ITEM_SHAPE = {IMAGES_MAGIC: IMAGE_SHAPE, LABELS_MAGIC: ()}  # the shape of one picture, of one label


def read_idx(path: str | Path, magic: int) -> np.ndarray:
    """The uint8 array stored in the IDX file ``path``, which must carry ``magic``: 28×28
    pictures (images) or one label per digit (labels).

    The header is read first and checked (pictures of another size are refused there),
    then the values are read up to the size it promises plus one byte: a file that is too
    long (or a gzip stream that would inflate to gigabytes) is refused without being
    read whole.
    """
    kind = _KIND[magic]
    ndim = magic & 0xFF
    header_size = 4 + 4 * ndim
    with opened(path) as f:
        header = read_at_most(f, header_size)
        if len(header) < 4:
            raise DataError(f"{path}: {len(header)} bytes is too short for an IDX file of {kind}")
        found = int.from_bytes(header[:4], "big")
        if found != magic:
            known = f" (the magic of IDX {_KIND[found]})" if found in _KIND else ""
            raise DataError(f"{path}: magic number {found}{known}, expected {magic} for IDX {kind}")
        if len(header) < header_size:
            raise DataError(f"{path}: truncated IDX header ({len(header)} of {header_size} bytes)")
        shape = tuple(int.from_bytes(header[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
        if shape[1:] != _ITEM_SHAPE[magic]:  # before the body: a gzip stream inflates to all it promises
            rows, cols = shape[1:]
            raise DataError(f"{path}: pictures are {rows}×{cols} pixels, expected 28×28")
        size = math.prod(shape)
        if size > MAX_BYTES:  # a gzip stream can inflate to all it promises: refuse before reading
            dims = " × ".join(map(str, shape))
            raise DataError(
                f"{path}: the header promises {dims} = {size:,} bytes of {kind}, more than "
                f"{MAX_BYTES:,}; not an MNIST file"
            )
        data = read_at_most(f, size + 1)
    if len(data) != size:
        problem = "truncated" if len(data) < size else "too long"
        holds = f"{len(data):,}" if len(data) <= size else "more"
        dims = " × ".join(map(str, shape))
        raise DataError(
            f"{path}: {problem}: the header promises {dims} = {size:,} bytes of {kind}, the file holds {holds}"
        )
    return np.frombuffer(data, np.uint8).reshape(shape)  # shares the bytes object: no copy, read-only


def load_idx(images_path: str | Path, labels_path: str | Path) -> Digits:
    """Digits from an IDX images file and an IDX labels file, each gzipped or raw."""
    images = read_idx(images_path, IMAGES_MAGIC)
    labels = read_idx(labels_path, LABELS_MAGIC)
    if len(images) != len(labels):
        raise DataError(
            f"{images_path} holds {len(images):,} images but {labels_path} holds "
            f"{len(labels):,} labels; give the images and labels of the same set"
        )
    check_labels(labels, str(labels_path))
    source = f"IDX files {images_path} and {labels_path} ({len(labels):,} digits)"
    return Digits(images, labels, source)
