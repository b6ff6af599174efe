"""Folders of MNIST files: which files are found for each split, and what is said when none."""

import gzip
import os
import re

import numpy as np
import pytest
from glassgrad.models.mnist import DataError, has_split, load_dir
from mnist_files import csv_text, random_digits, write_idx_pair


@pytest.mark.parametrize("gz", [False, True])
def test_official_idx_names_for_both_splits(tmp_path, gz):
    train, test = random_digits(6, seed=1), random_digits(4, seed=2)
    write_idx_pair(tmp_path, *train, prefix="train", gz=gz)
    write_idx_pair(tmp_path, *test, prefix="t10k", gz=gz)
    for split, (images, labels) in {"train": train, "test": test}.items():
        d = load_dir(tmp_path, split)
        np.testing.assert_array_equal(d.images, images)
        np.testing.assert_array_equal(d.labels, labels)
        assert d.source.startswith(f"MNIST {split} set, IDX files in {tmp_path}")


def test_dotted_names_of_some_copies(tmp_path):
    images, labels = random_digits(3)
    img, lab = write_idx_pair(tmp_path, images, labels)
    img.rename(tmp_path / "train-images.idx3-ubyte")
    lab.rename(tmp_path / "train-labels.idx1-ubyte")
    np.testing.assert_array_equal(load_dir(tmp_path).labels, labels)


def test_idx_is_preferred_to_csv(tmp_path):
    idx, csv = random_digits(3, seed=1), random_digits(2, seed=2)
    write_idx_pair(tmp_path, *idx)
    (tmp_path / "mnist_train.csv").write_text(csv_text(*csv))
    assert len(load_dir(tmp_path)) == 3


def test_csv_names_for_both_splits(tmp_path):
    train, test = random_digits(3, seed=1), random_digits(2, seed=2)
    (tmp_path / "mnist_train.csv").write_text(csv_text(*train))
    (tmp_path / "mnist_test.csv.gz").write_bytes(gzip.compress(csv_text(*test).encode()))
    np.testing.assert_array_equal(load_dir(tmp_path, "train").labels, train[1])
    np.testing.assert_array_equal(load_dir(tmp_path, "test").labels, test[1])


def test_single_csv_serves_train_but_not_test(tmp_path):
    images, labels = random_digits(3)
    (tmp_path / "digits.csv").write_text(csv_text(images, labels))
    d = load_dir(tmp_path)
    np.testing.assert_array_equal(d.images, images)
    assert "CSV file digits.csv" in d.source
    with pytest.raises(DataError, match=r"no MNIST test set .*t10k-images-idx3-ubyte"):
        load_dir(tmp_path, "test")


def test_several_csvs_are_ambiguous(tmp_path):
    for name in ("a.csv", "b.csv.gz"):
        (tmp_path / name).write_text("")
    with pytest.raises(DataError, match=re.escape("its CSV files a.csv, b.csv.gz are ambiguous")):
        load_dir(tmp_path)


def test_images_without_labels(tmp_path):
    _img, lab = write_idx_pair(tmp_path, *random_digits(2), gz=True)
    lab.unlink()
    with pytest.raises(DataError, match=re.escape("has train-images-idx3-ubyte.gz but no train-labels-idx1")):
        load_dir(tmp_path)


def test_empty_missing_or_not_a_folder(tmp_path):
    with pytest.raises(DataError, match=f"{tmp_path}: no MNIST train set"):
        load_dir(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        load_dir(tmp_path / "nope")
    (tmp_path / "f.csv").write_text("")
    with pytest.raises(DataError, match="is not a folder"):
        load_dir(tmp_path / "f.csv")
    with pytest.raises(DataError, match="unknown split 'validation'"):
        load_dir(tmp_path, "validation")


def test_the_error_names_every_file_it_looked_for(tmp_path):
    # The names load_dir accepts for a split, each once: both CSV names, each with [.gz].
    expected = (
        "expected train-images-idx3-ubyte[.gz] + train-labels-idx1-ubyte[.gz]"
        " or mnist_train.csv[.gz] or train.csv[.gz])"
    )
    with pytest.raises(DataError) as caught:
        load_dir(tmp_path)
    assert expected in str(caught.value)


def test_errors_inside_a_file_pass_through(tmp_path):
    images, labels = random_digits(3)
    labels[1] = 12
    write_idx_pair(tmp_path, images, labels, prefix="t10k")
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte: label 12 at index 1"):
        load_dir(tmp_path, "test")


@pytest.mark.parametrize(
    ("stand_in", "words"),
    [
        (lambda p: p.mkdir(), "is a folder"),
        (lambda p: os.mkfifo(p), "not a regular file"),
        (lambda p: p.symlink_to(p.parent / "moved-away"), "a link to"),
    ],
    ids=["folder", "fifo", "dangling-link"],
)
@pytest.mark.parametrize(("split", "prefix"), [("train", "train"), ("test", "t10k")])
def test_an_idx_name_that_is_not_a_readable_file_is_named_as_what_it_is(tmp_path, stand_in, words, split, prefix):
    images, _labels = write_idx_pair(tmp_path, *random_digits(2), prefix=prefix)
    images.unlink()
    stand_in(images)
    assert has_split(tmp_path, split)
    with pytest.raises(DataError) as caught:
        load_dir(tmp_path, split)
    assert str(caught.value).startswith(f"{images}: ") and words in str(caught.value), caught.value
