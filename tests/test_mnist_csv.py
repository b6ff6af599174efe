"""CSV files of digits: layouts that load, and bad rows named by line and column."""

import gzip
import tracemalloc

import numpy as np
import pytest
from glassgrad.models.data import csvfile
from glassgrad.models.mnist import DataError, load_csv
from hypothesis import given, settings
from hypothesis import strategies as st
from mnist_files import csv_text, random_digits


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 5),
    seed=st.integers(0, 2**32 - 1),
    header=st.booleans(),
    gz=st.booleans(),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_round_trip(tmp_path_factory, n, seed, header, gz, newline):
    images, labels = random_digits(n, seed)
    data = csv_text(images, labels, header, newline).encode()
    path = tmp_path_factory.mktemp("csv") / ("d.csv.gz" if gz else "d.csv")
    path.write_bytes(gzip.compress(data) if gz else data)
    d = load_csv(path)
    np.testing.assert_array_equal(d.images, images)
    np.testing.assert_array_equal(d.labels, labels)
    assert str(path) in d.source


def test_blank_lines_and_bom_are_ignored(tmp_path):
    images, labels = random_digits(3)
    lines = csv_text(images, labels, header=True).splitlines()
    path = tmp_path / "d.csv"
    path.write_text("\ufeff" + "\n\n".join(lines) + "\n\n", encoding="utf-8")
    np.testing.assert_array_equal(load_csv(path).labels, labels)


def _bad_file(tmp_path, edit, header=True):
    """A 4-digit CSV (with a header line and a blank line 3) after ``edit(rows)`` changed
    the rows, each a list of 785 strings."""
    images, labels = random_digits(4, seed=7)
    rows = [line.split(",") for line in csv_text(images, labels).splitlines()]
    edit(rows)
    lines = [",".join(r) for r in rows]
    lines.insert(1, "")
    if header:
        lines.insert(0, "label," + ",".join(f"pixel{i}" for i in range(784)))
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _fails(path, match):
    with pytest.raises(DataError, match=match) as info:
        load_csv(path)
    assert "\n" not in str(info.value)


# With the header on line 1 and a blank line 3, the rows 0..3 are on lines 2, 4, 5, 6.
@pytest.mark.parametrize(
    ("row", "edit", "message"),
    [
        (2, lambda r: r.pop(), "line 5: 784 values, expected 785 \\(a label, then 784 pixels\\)"),
        (0, lambda r: r.append("0"), "line 2: 786 values, expected 785"),
        (3, lambda r: r.__setitem__(40, "abc"), "line 6, column 41: pixel 'abc' is not a number"),
        (1, lambda r: r.__setitem__(7, "12.5"), "line 4, column 8: pixel '12.5' is not a whole"),
        (1, lambda r: r.__setitem__(7, ""), "line 4, column 8: pixel '' is not a number"),
        (2, lambda r: r.__setitem__(100, "256"), "line 5, column 101: pixel 256 is outside 0..255"),
        (3, lambda r: r.__setitem__(785 - 1, "-1"), "line 6, column 785: pixel -1 is outside"),
        (2, lambda r: r.__setitem__(5, "99999"), "line 5, column 6: pixel 99999 is outside 0..255"),
        (0, lambda r: r.__setitem__(0, "10"), "line 2, column 1: label 10 is outside 0..9"),
        (3, lambda r: r.__setitem__(0, "-3"), "line 6, column 1: label -3 is outside 0..9"),
        (3, lambda r: r.__setitem__(9, "65541"), "line 6, column 10: pixel 65541 is outside"),
        (1, lambda r: r.__setitem__(9, "1e2"), "line 4, column 10: pixel '1e2' is not a whole"),
        (1, lambda r: r.__setitem__(9, "5 3"), "line 4, column 10: pixel '5 3' is not a number"),
        (1, lambda r: r.__setitem__(0, "nan"), "line 4, column 1: label 'nan' is not a whole"),
    ],
)
def test_bad_row_is_named_by_line_and_column(tmp_path, row, edit, message):
    path = _bad_file(tmp_path, lambda rows: edit(rows[row]))
    _fails(path, f"{path} {message}")


@pytest.mark.parametrize("row", [0, 2, 3])
def test_chunks_join_up_and_keep_line_numbers(tmp_path, monkeypatch, row):
    monkeypatch.setattr(csvfile, "CHUNK_ROWS", 2)
    images, labels = random_digits(5, seed=3)
    path = tmp_path / "d.csv"
    path.write_text(csv_text(images, labels))
    d = load_csv(path)
    np.testing.assert_array_equal(d.images, images)
    np.testing.assert_array_equal(d.labels, labels)
    bad = _bad_file(tmp_path, lambda rows: rows[row].__setitem__(3, "x"))
    _fails(bad, f"line {[2, 4, 5, 6][row]}, column 4: pixel 'x' is not a number")


def test_every_row_short_names_the_first(tmp_path):
    path = _bad_file(tmp_path, lambda rows: [r.pop() for r in rows], header=False)
    _fails(path, f"{path} line 1: 784 values, expected 785")


def test_empty_file_header_only_and_blank(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    _fails(empty, f"{empty}: no digits in the file \\(it holds nothing\\)")
    blank = tmp_path / "blank.csv.gz"
    blank.write_bytes(gzip.compress(b"\n  \n"))
    _fails(blank, "it holds nothing")
    header = tmp_path / "header.csv"
    header.write_text("label,pixel0\n")
    _fails(header, f"{header}: no digits in the file \\(it holds only a header\\)")


def test_binary_file_is_not_text(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"5,0,\xff\xfe")
    _fails(path, f"{path}: not a text file \\(byte 4 is not UTF-8\\)")


def test_missing_file(tmp_path):
    _fails(tmp_path / "none.csv", "none.csv: no such file")


def test_a_gzip_of_a_million_short_lines_takes_memory_of_a_chunk_not_of_every_line(tmp_path):
    # 1 MB of "1\n" lines: the rows were listed as Python objects all at once and room
    # for 784 pixels of each was set aside (784 MB) before the first line was parsed;
    # the same from a gzip bomb of 1 GiB took tens of gigabytes
    path = tmp_path / "short.csv.gz"
    path.write_bytes(gzip.compress(b"label,pixels\n" + b"1\n" * 500_000 + b"\n" * 500_000))
    tracemalloc.start()
    try:
        _fails(path, "line 2: 1 values, expected 785")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, f"{peak:,} bytes"


@pytest.mark.parametrize("newline", ["\r", "\v", "\x85", "\u2028"])
def test_every_line_break_python_knows_still_ends_a_line(tmp_path, monkeypatch, newline):
    monkeypatch.setattr(csvfile, "BLOCK_CHARS", 100)  # every line in a block of its own
    images, labels = random_digits(3, seed=1)
    path = tmp_path / "d.csv"
    path.write_text(csv_text(images, labels, newline=newline) + newline * 3, encoding="utf-8", newline="")
    d = load_csv(path)
    np.testing.assert_array_equal(d.images, images)
    rows = [line.split(",") for line in csv_text(images, labels).splitlines()]
    rows[2][5] = "y"
    path.write_text(newline.join(",".join(r) for r in rows), encoding="utf-8", newline="")
    _fails(path, "line 3, column 6: pixel 'y' is not a number")
