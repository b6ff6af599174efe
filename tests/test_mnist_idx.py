"""IDX files (the official MNIST format): round trips and every way a file can be bad."""

import gzip

import numpy as np
import pytest
from glassgrad.models.data import idx
from glassgrad.models.mnist import DataError, load_idx, read_idx
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from mnist_files import idx_bytes, random_digits, write, write_idx_pair


@st.composite
def digit_sets(draw):
    n = draw(st.integers(0, 6))
    images = draw(arrays(np.uint8, (n, 28, 28)))
    labels = draw(arrays(np.uint8, (n,), elements=st.integers(0, 9)))
    return images, labels


@settings(max_examples=30, deadline=None)
@given(digits=digit_sets(), gz=st.booleans())
def test_round_trip_gzipped_or_raw(tmp_path_factory, digits, gz):
    images, labels = digits
    folder = tmp_path_factory.mktemp("idx")
    d = load_idx(*write_idx_pair(folder, images, labels, gz=gz))
    np.testing.assert_array_equal(d.images, images)
    np.testing.assert_array_equal(d.labels, labels)
    assert d.images.dtype == np.uint8 and d.labels.dtype == np.uint8
    assert len(d) == len(labels)


def test_gzip_is_detected_by_magic_bytes_not_by_name(tmp_path):
    images, labels = random_digits(3)
    gz_named_raw = write(tmp_path / "images.gz", idx_bytes(images, 2051))
    raw_named_gz = write(tmp_path / "labels.idx", idx_bytes(labels, 2049), gz=True)
    d = load_idx(gz_named_raw, raw_named_gz)
    np.testing.assert_array_equal(d.images, images)
    np.testing.assert_array_equal(d.labels, labels)


@pytest.fixture
def pair(tmp_path):
    images, labels = random_digits(5)
    return tmp_path, images, labels


def _fails(match, images_path, labels_path):
    with pytest.raises(DataError, match=match) as info:
        load_idx(images_path, labels_path)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_images_and_labels_swapped_name_the_magic(pair):
    folder, images, labels = pair
    img, lab = write_idx_pair(folder, images, labels)
    message = _fails("magic number 2049 \\(the magic of IDX labels\\), expected 2051", lab, img)
    assert str(lab) in message


def test_unknown_magic(pair):
    folder, images, labels = pair
    _, lab = write_idx_pair(folder, images, labels)
    bad = write(folder / "bad", b"\x00\x00\x0c\x03" + idx_bytes(images, 2051)[4:])
    _fails(f"{bad}: magic number 3075, expected 2051 for IDX images", bad, lab)


@pytest.mark.parametrize("size", [0, 3, 10])
def test_file_too_short_for_a_header(pair, size):
    folder, images, labels = pair
    img, lab = write_idx_pair(folder, images, labels)
    cut = write(folder / "cut", img.read_bytes()[:size])
    _fails(f"{cut}: .*(too short|truncated IDX header)", cut, lab)


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_payload_says_promised_and_found(pair, gz):
    folder, images, labels = pair
    _, lab = write_idx_pair(folder, images, labels)
    cut = write(folder / "cut", idx_bytes(images, 2051)[:-100], gz=gz)
    _fails(f"{cut}: truncated: the header promises 5 × 28 × 28 = 3,920 bytes of images, the file holds 3,820", cut, lab)


def test_extra_bytes_after_payload(pair):
    folder, images, labels = pair
    img, _ = write_idx_pair(folder, images, labels)
    long = write(folder / "long", idx_bytes(labels, 2049) + b"\x01")
    _fails(f"{long}: too long: .* 5 = 5 bytes of labels, the file holds more", img, long)


def test_truncated_gzip(pair):
    folder, images, labels = pair
    img, lab = write_idx_pair(folder, images, labels, gz=True)
    data = img.read_bytes()
    cut = write(folder / "cut.gz", data[: len(data) // 2])
    _fails(f"{cut}: truncated or corrupt gzip data", cut, lab)


def test_corrupt_gzip(pair):
    folder, images, labels = pair
    img, lab = write_idx_pair(folder, images, labels, gz=True)
    data = bytearray(img.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 8] = b"\xff" * 8
    bad = write(folder / "bad.gz", bytes(data))
    _fails(f"{bad}: truncated or corrupt gzip data", bad, lab)


def test_gzip_with_wrong_crc(pair):
    folder, images, labels = pair
    _, lab = write_idx_pair(folder, images, labels)
    data = bytearray(gzip.compress(idx_bytes(images, 2051)))
    data[-8] ^= 0xFF  # the CRC-32 of the uncompressed data sits in the trailer
    bad = write(folder / "crc.gz", bytes(data))
    _fails(f"{bad}: truncated or corrupt gzip data", bad, lab)


def test_count_mismatch_names_both_files(pair):
    folder, images, labels = pair
    img, _ = write_idx_pair(folder, images, labels)
    lab = write(folder / "lab", idx_bytes(labels[:4], 2049))
    _fails(f"{img} holds 5 images but {lab} holds 4 labels", img, lab)


def test_pictures_must_be_28_by_28(pair):
    folder, _, labels = pair
    _, lab = write_idx_pair(folder, np.zeros((5, 28, 28), np.uint8), labels)
    img = write(folder / "big", idx_bytes(np.zeros((5, 32, 30), np.uint8), 2051))
    _fails(f"{img}: pictures are 32×30 pixels, expected 28×28", img, lab)


def test_labels_outside_0_to_9(pair):
    folder, images, labels = pair
    labels[3] = 10
    img, lab = write_idx_pair(folder, images, labels)
    _fails(f"{lab}: label 10 at index 3 is outside 0..9", img, lab)


def test_missing_file_and_folder_given(pair):
    folder, images, labels = pair
    img, lab = write_idx_pair(folder, images, labels)
    _fails(f"{folder / 'nope'}: no such file", img, folder / "nope")
    _fails(f"{folder}: is a folder", folder, lab)


def test_read_idx_returns_read_only_view(pair):
    folder, images, labels = pair
    img, _ = write_idx_pair(folder, images, labels)
    a = read_idx(img, 2051)
    assert a.shape == (5, 28, 28) and not a.flags.writeable


def test_a_header_promising_more_than_any_mnist_file_is_refused_before_inflating(tmp_path):
    # 2,000,000 pictures of zeros: 1.6 GB once inflated, 1.6 MB on disk as 100 gzip members
    # of 16 MB each (a gzip file may hold several, read one after the other)
    header = (2051).to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in (2_000_000, 28, 28))
    member = gzip.compress(bytes(1 << 24), compresslevel=9)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(header) + member * 100)
    with pytest.raises(DataError, match=r"promises 2000000 × 28 × 28 = 1,568,000,000 bytes of images, more than"):
        read_idx(path, 2051)


def test_pictures_of_another_size_are_refused_before_their_bytes_are_read(tmp_path, monkeypatch):
    # one picture of 32,768 × 32,768 pixels: a 1 GiB gzip bomb would be inflated whole
    # before the size was looked at; here the body is not even there
    header = (2051).to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in (1, 32768, 32768))
    path = write(tmp_path / "train-images-idx3-ubyte.gz", header + bytes(100), gz=True)
    asked = []
    real = idx.read_at_most
    monkeypatch.setattr(idx, "read_at_most", lambda f, n: asked.append(n) or real(f, n))
    with pytest.raises(DataError, match=r"pictures are 32768×32768 pixels, expected 28×28"):
        read_idx(path, 2051)
    assert asked == [16]  # the header, and nothing after it


def test_labels_with_a_header_of_one_dimension_read_as_before(tmp_path):
    assert read_idx(write(tmp_path / "l", idx_bytes(np.arange(3, dtype=np.uint8), 2049)), 2049).tolist() == [0, 1, 2]
