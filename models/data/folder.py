"""A folder of MNIST files: the official IDX files, or a CSV file."""

from __future__ import annotations

import dataclasses
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
    (or ``.csv.gz``), then, for the train split only, the folder's one and only CSV file.
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
    dotted = name.replace("-idx", ".idx")
    for candidate in (name, f"{name}.gz", dotted, f"{dotted}.gz"):
        if (folder / candidate).is_file():
            return folder / candidate
    return None


def _find_csv(folder: Path, split: str, idx_names: str) -> Path:
    for name in (f"mnist_{split}.csv", f"mnist_{split}.csv.gz"):
        if (folder / name).is_file():
            return folder / name
    csvs = sorted(p.name for p in folder.iterdir() if p.name.endswith((".csv", ".csv.gz")))
    if split == "train" and len(csvs) == 1:
        return folder / csvs[0]
    found = f"; its CSV files {', '.join(csvs)} are ambiguous" if len(csvs) > 1 else ""
    raise DataError(f"{folder}: no MNIST {split} set (expected {idx_names} or mnist_{split}.csv[.gz]){found}")
