"""make_sample: the embedded sample made from the official IDX files (here, small stand-ins
with the official names), verified, stratified and written byte for byte reproducibly."""

import hashlib

import numpy as np
import pytest
from glassgrad.models.data import make_sample
from glassgrad.models.mnist import DataError
from mnist_files import random_digits, write_idx_pair


@pytest.fixture
def official(tmp_path, monkeypatch):
    """A folder with the four files and their SHA256SUMS; returns (folder, published hashes)."""
    folder = tmp_path / "mnist"
    folder.mkdir()
    for prefix, n, seed in (("train", 300, 1), ("t10k", 120, 2)):
        write_idx_pair(folder, *random_digits(n, seed), prefix=prefix, gz=True)
    published = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}
    (folder / "SHA256SUMS").write_text("".join(f"{h}  {name}\n" for name, h in published.items()))
    monkeypatch.setattr(make_sample, "SIZES", {"train": 60, "test": 25})
    return folder, published


def test_stratified_sample_keeps_the_class_shares():
    labels = np.repeat(np.arange(10, dtype=np.uint8), [50, 150, 100, 100, 100, 100, 100, 100, 100, 100])
    idx = make_sample.stratified_indices(labels, 101, np.random.default_rng(0))
    assert len(idx) == 101 and len(set(idx.tolist())) == 101 and np.all(np.diff(idx) > 0)
    counts = np.bincount(labels[idx], minlength=10)
    assert np.all(np.abs(counts - 101 * np.bincount(labels) / len(labels)) < 1)
    again = make_sample.stratified_indices(labels, 101, np.random.default_rng(0))
    np.testing.assert_array_equal(idx, again)


def test_the_sample_is_reproducible_and_points_at_the_official_digits(official, tmp_path):
    folder, published = official
    first = make_sample.write_sample(folder, tmp_path / "a", published)
    second = make_sample.write_sample(folder, tmp_path / "b", published)
    assert first.read_bytes() == second.read_bytes()
    digest = hashlib.sha256(first.read_bytes()).hexdigest()
    assert (tmp_path / "a" / "SHA256SUMS").read_text() == f"{digest}  mnist_sample.npz\n"
    readme = (tmp_path / "a" / "README.md").read_text()
    assert digest in readme and "CC BY-SA 3.0" in readme and published["t10k-images-idx3-ubyte.gz"] in readme
    images, labels = random_digits(300, 1)
    test_images, _ = random_digits(120, 2)
    with np.load(first) as npz:
        assert npz["train_images"].shape == (60, 28, 28) and npz["test_images"].shape == (25, 28, 28)
        np.testing.assert_array_equal(npz["train_images"], images[npz["train_index"]])
        np.testing.assert_array_equal(npz["train_labels"], labels[npz["train_index"]])
        np.testing.assert_array_equal(npz["test_images"], test_images[npz["test_index"]])


def test_files_that_do_not_match_their_hashes_are_refused(official, tmp_path):
    folder, published = official
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz: SHA-256 \w+ is not the published"):
        make_sample.write_sample(folder, tmp_path / "out", {**published, "t10k-labels-idx1-ubyte.gz": "0" * 64})
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(b"changed")
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte.gz: SHA-256 \w+ does not match .*SHA256SUMS"):
        make_sample.write_sample(folder, tmp_path / "out", published)
    assert not (tmp_path / "out").exists()


def test_the_command_names_a_bad_folder_in_one_line(tmp_path, capsys):
    assert make_sample.main(["--from", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("make_sample: error: ") and "SHA256SUMS" in line
