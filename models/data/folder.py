"""A folder of MNIST files: the official IDX files, or a CSV file."""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

from .csvfile import load_csv
from .digits import DataError, Digits
from .idx import load_idx

SPLITS = {"train": "train", "test": "t10k"}  # split name -> prefix of the official files


def load_dir(path: str | Path, split: str = "train") -> Digits:
    """The ``split`` ("train" or "test") of the MNIST files in folder ``path``.

    Looked for in this order: the official IDX pair ``train-images-idx3-ubyte`` +
    ``train-labels-idx1-ubyte`` (``t10k-…`` for test; raw or ``.gz``; also the dotted names
    ``train-images.idx3-ubyte`` of some copies), then ``mnist_train.csv`` / ``mnist_test.csv``
    or ``train.csv`` / ``test.csv`` (or ``.csv.gz``), then, for the train split only, the
    folder's one and only CSV file whose name does not say test data.
    """
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}: use 'train' or 'test'")
    folder = Path(path)
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise DataError(f"{folder} {what}: give a folder holding the MNIST IDX or CSV files")
    images_name = f"{SPLITS[split]}-images-idx3-ubyte"
    labels_name = f"{SPLITS[split]}-labels-idx1-ubyte"
    images, labels = _find(folder, images_name), _find(folder, labels_name)
    half = images or labels
    if images and labels:
        digits, kind = load_idx(images, labels), "IDX files"
    elif half:
        missing = labels_name if images else images_name
        raise DataError(f"{folder} has {half.name} but no {missing}[.gz] to go with it")
    else:
        csv = _find_csv(folder, split, f"{images_name}[.gz] + {labels_name}[.gz]")
        digits, kind = load_csv(csv), f"CSV file {csv.name}"
    return dataclasses.replace(digits, source=f"MNIST {split} set, {kind} in {folder} ({len(digits):,} digits)")


def _find(folder: Path, name: str) -> Path | None:
    """The first of the file's names that is in ``folder``, whatever stands there: a
    folder, a FIFO or a broken link under the name is refused by the reader naming it,
    not taken for a missing file."""
    dotted = name.replace("-idx", ".idx")
    for candidate in (name, f"{name}.gz", dotted, f"{dotted}.gz"):
        if os.path.lexists(folder / candidate):
            return folder / candidate
    return None


def csv_names(split: str) -> tuple[str, ...]:
    """The CSV file names that hold ``split``: ``mnist_<split>.csv`` and ``<split>.csv`` (or .gz)."""
    return tuple(f"{stem}{ext}" for stem in (f"mnist_{split}", split) for ext in (".csv", ".csv.gz"))


def has_split(path: str | Path, split: str) -> bool:
    """Whether folder ``path`` holds a file of ``split`` under one of its names (IDX or CSV)."""
    folder = Path(path)
    prefix = SPLITS[split]
    idx = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
    names = [n for name in idx for n in (name, name.replace("-idx", ".idx"))] + list(csv_names(split))
    return any(os.path.lexists(folder / n) or os.path.lexists(folder / f"{n}.gz") for n in names)


def is_test_named(name: str) -> bool:
    """Whether a file name says test data: ``test`` or ``t10k`` as a word (not inside "latest")."""
    return re.search(r"(?<![a-z])(test|t10k)(?![a-z])", name.lower()) is not None


def _find_csv(folder: Path, split: str, idx_names: str) -> Path:
    names = csv_names(split)
    for name in names:
        if (folder / name).exists():
            return folder / name
    csvs = sorted(p.name for p in folder.iterdir() if p.name.endswith((".csv", ".csv.gz")))
    candidates = [name for name in csvs if not is_test_named(name)]  # never train on test data
    found = ""
    if split == "train" and len(candidates) == 1:
        return folder / candidates[0]
    if split == "train" and candidates:
        found = f"; its CSV files {', '.join(candidates)} are ambiguous"
    elif split == "train" and csvs:
        found = f"; {', '.join(csvs)} {'is' if len(csvs) == 1 else 'are'} test data, never trained on"
    # csv_names gives each name and then the name with .gz: name each once, as name[.gz].
    expected = " or ".join([idx_names, *(f"{name}[.gz]" for name in names[::2])])
    raise DataError(f"{folder}: no MNIST {split} set (expected {expected}){found}")
