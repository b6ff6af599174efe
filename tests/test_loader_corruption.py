"""Random corruptions of small valid files — truncation, bit flips, wrong sizes, wrong magic —
fed to every loader and to the command that reads them: the answer is the data, or one
line of error with exit status 2 and nothing printed on stdout; never another exception,
a traceback or part of an answer.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import struct
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest
from glassgrad.models import mnist
from glassgrad.models.cli import main
from glassgrad.models.images import load_digit_image
from glassgrad.models.logistic import LogisticModel
from glassgrad.models.report import ModelFileError, load_model, save_model
from hypothesis import given, settings
from hypothesis import strategies as st
from mnist_files import csv_text, idx_bytes
from PIL import Image, ImageFile

IMAGES, LABELS = np.random.default_rng(0).integers(0, 256, (3, 28, 28), np.uint8), np.array([9, 1, 9], np.uint8)


def _png() -> bytes:
    picture = np.zeros((28, 28), np.uint8)
    picture[5:23, 12:16] = 255
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    return buffer.getvalue()


def _model() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        return save_model(Path(tmp, "m.npz"), LogisticModel(), 9, 0.5).read_bytes()


VALID = {
    "images": idx_bytes(IMAGES, mnist.IMAGES_MAGIC),
    "labels": idx_bytes(LABELS, mnist.LABELS_MAGIC),
    "csv": csv_text(IMAGES, LABELS).encode(),
    "png": _png(),
    "model": _model(),
}


@st.composite
def corrupted(draw: st.DrawFn, data: bytes, gz: bool = False) -> bytes:
    """``data`` (gzipped when asked) with one corruption, chosen at random."""
    kind = draw(st.sampled_from(["truncate", "flip bits", "size field", "magic"]))
    if kind == "size field" and len(data) >= 8:  # IDX: a dimension; PNG/zip: a length or a header field
        offset = draw(st.integers(4, min(len(data), 24) - 4))
        data = data[:offset] + struct.pack(">I", draw(st.integers(0, 2**32 - 1))) + data[offset + 4 :]
    elif kind == "magic":
        data = draw(st.binary(min_size=4, max_size=4)) + data[4:]
    if gz:
        data = gzip.compress(data, mtime=0)
    if kind == "truncate":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif kind == "flip bits":
        flipped = bytearray(data)
        for position in draw(st.lists(st.integers(0, 8 * len(data) - 1), min_size=1, max_size=8)):
            flipped[position // 8] ^= 1 << (position % 8)
        data = bytes(flipped)
    return data


def outcome(load):
    """The loader's result, or None after a one-line DataError/ModelFileError (anything else fails)."""
    try:
        return load()
    except (mnist.DataError, ModelFileError) as exc:
        message = str(exc)
        assert message and "\n" not in message and "Traceback" not in message
        return None


def command(*argv: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def assert_whole_answer_or_one_line(code: int, out: str, err: str, lines: int) -> None:
    if code == 0:
        assert len(out.splitlines()) == lines and err == ""
    else:
        assert code == 2 and out == ""
        assert err.count("\n") == 1 and err.startswith("glassgrad predict: error: ")


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["images", "labels"]), st.booleans(), st.data())
def test_corrupt_idx_files(which, gz, data):
    damaged = data.draw(corrupted(VALID[which], gz), label="damaged")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = {
            name: folder / f"train-{name}-idx{1 if name == 'labels' else 3}-ubyte" for name in ("images", "labels")
        }
        for name, path in files.items():
            path.write_bytes(damaged if name == which else VALID[name])
        digits = outcome(lambda: mnist.load_idx(files["images"], files["labels"]))
        if digits is not None:
            assert digits.images.shape == (len(digits), 28, 28) and (digits.labels <= 9).all()
        model = folder / "m.npz"
        model.write_bytes(VALID["model"])
        assert_whole_answer_or_one_line(*command("predict", model, "--index", "0", "--data", folder), lines=1)


@settings(max_examples=40, deadline=None)
@given(st.booleans(), st.data())
def test_corrupt_csv_files(gz, data):
    damaged = data.draw(corrupted(VALID["csv"], gz), label="damaged")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "mnist_train.csv")
        path.write_bytes(damaged)
        digits = outcome(lambda: mnist.load_csv(path))
        if digits is not None:
            assert digits.images.dtype == np.uint8 and (digits.labels <= 9).all()


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_corrupt_pictures_and_model_files(data):
    picture = data.draw(corrupted(VALID["png"]), label="picture")
    model = data.draw(st.one_of(st.just(VALID["model"]), corrupted(VALID["model"])), label="model")
    with tempfile.TemporaryDirectory() as tmp:
        picture_path, model_path = Path(tmp, "digit.png"), Path(tmp, "model.npz")
        picture_path.write_bytes(picture)
        model_path.write_bytes(model)
        image = outcome(lambda: load_digit_image(picture_path))
        if image is not None:
            assert image.shape == (28, 28) and image.dtype == np.uint8
        loaded = outcome(lambda: load_model(model_path))
        if loaded is not None:
            assert np.isfinite(loaded[0].w.data).all() and 0 <= loaded[1]["threshold"] <= 1
        assert_whole_answer_or_one_line(*command("predict", model_path, picture_path), lines=1)


@pytest.mark.parametrize(
    "failure",
    [
        OSError("image file is truncated"),
        ValueError("Tile offset cannot be negative"),
        SyntaxError("broken PNG file"),
        EOFError("No more images in APNG file"),
        IndexError("index out of range"),
        TypeError("unsupported operand"),
        struct.error("unpack requires a buffer of 4 bytes"),
    ],
    ids=lambda failure: f"{type(failure).__module__}.{type(failure).__name__}".removeprefix("builtins."),
)
def test_every_way_pillow_says_a_picture_is_corrupt_is_one_line_naming_it(failure, tmp_path, monkeypatch):
    def load(self):
        raise failure

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)  # decoding, where a damaged chunk is met
    picture = tmp_path / "digit.png"
    picture.write_bytes(VALID["png"])
    with pytest.raises(mnist.DataError, match=r"digit\.png cannot be read as a picture") as caught:
        load_digit_image(picture)
    assert str(failure) in str(caught.value) and "\n" not in str(caught.value)


def test_a_picture_of_floating_point_pixels_in_0_1_is_read_as_its_grey_levels(tmp_path):
    """A float TIFF (mode F) of a digit in [0, 1], as scientific tools write them: Pillow's
    conversion to 8 bits rounded every level to 0 or 1, and the picture had "no ink"."""
    digit = np.zeros((28, 28), np.float32)
    digit[6:22, 12:16] = 1.0
    Image.fromarray(digit, mode="F").save(tmp_path / "unit.tif")
    Image.fromarray(digit * 255, mode="F").save(tmp_path / "levels.tif")
    Image.fromarray((digit * 255).astype(np.uint8)).save(tmp_path / "bytes.png")
    expected = load_digit_image(tmp_path / "bytes.png")
    np.testing.assert_array_equal(load_digit_image(tmp_path / "unit.tif"), expected)
    np.testing.assert_array_equal(load_digit_image(tmp_path / "levels.tif"), expected)
    digit[0, 0] = np.nan
    Image.fromarray(digit, mode="F").save(tmp_path / "nan.tif")
    with pytest.raises(mnist.DataError, match=r"nan.tif .*not a number"):
        load_digit_image(tmp_path / "nan.tif")


def _tiff_with_samples_per_pixel(path: Path, samples: int) -> Path:
    """An RGB TIFF whose SamplesPerPixel tag (277) says ``samples``."""
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((28, 28, 3), np.uint8)).save(buffer, format="TIFF")
    data = bytearray(buffer.getvalue())
    ifd = struct.unpack_from("<I", data, 4)[0]
    for entry in range(struct.unpack_from("<H", data, ifd)[0]):
        at = ifd + 2 + 12 * entry
        if struct.unpack_from("<H", data, at)[0] == 277:
            struct.pack_into("<H", data, at + 8, samples)
    path.write_bytes(bytes(data))
    return path


def test_what_pillow_logs_of_a_damaged_picture_is_in_the_one_line_not_a_second(tmp_path, capsys):
    picture = _tiff_with_samples_per_pixel(tmp_path / "digit.tif", 20)
    with pytest.raises(mnist.DataError, match=r"digit\.tif cannot be read .*More samples per pixel .*: 20"):
        load_digit_image(picture)
    assert capsys.readouterr().err == ""  # Pillow logs it with logging.error, printed by logging's last resort
    model = tmp_path / "model.npz"
    model.write_bytes(VALID["model"])
    code, out, err = command("predict", model, picture)
    assert code == 2 and out == "" and err.count("\n") == 1, err


def _damaged_tiff(path: Path, compression: str, flipped: int) -> Path:
    """A digit saved as a TIFF compressed with ``compression`` (decoded by libtiff), with
    the ``flipped``-th byte of its picture data inverted."""
    digit = np.zeros((28, 28), np.uint8)
    digit[5:23, 12:16] = 255
    picture = Image.fromarray(digit)
    if compression == "group4":  # a fax code: black and white
        picture = picture.convert("1")
    buffer = io.BytesIO()
    picture.save(buffer, format="TIFF", compression=compression)
    data = bytearray(buffer.getvalue())
    with Image.open(io.BytesIO(data)) as saved:
        data[saved.tag_v2[273][0] + flipped] ^= 0xFF  # tag 273: where the picture's data starts
    path.write_bytes(bytes(data))
    return path


EXE = Path(sys.executable).with_name("glassgrad")


@pytest.mark.parametrize(
    ("compression", "flipped", "status"),
    [("tiff_deflate", 1, 2), ("tiff_lzw", 0, 2), ("packbits", 0, 2), ("group4", 2, 0)],
    ids=["deflate", "lzw", "packbits", "group4 decoded around"],
)
def test_what_libtiff_prints_of_a_damaged_tiff_is_not_a_second_line(compression, flipped, status, tmp_path):
    """libtiff, which Pillow decodes compressed TIFFs with, printed its own line on the
    process's stderr ("ZIPDecode: Decoding error at scanline 0, incorrect header check.")
    beside glassgrad's, or alone where Pillow decodes around the damage."""
    picture = _damaged_tiff(tmp_path / "digit.tif", compression, flipped)
    model = tmp_path / "model.npz"
    model.write_bytes(VALID["model"])
    command = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "glassgrad.models.cli"]
    proc = subprocess.run([*command, "predict", model, picture], capture_output=True, text=True, timeout=60)
    if status == 0:  # the picture Pillow gives is used, as for its other damage it works around
        assert (proc.returncode, proc.stderr) == (0, ""), proc.stderr
        assert proc.stdout.startswith(f"{picture}  p(9) = ")
    else:
        assert (proc.returncode, proc.stdout) == (2, ""), proc.stderr
        assert proc.stderr.count("\n") == 1, proc.stderr
        assert proc.stderr.startswith(f"glassgrad predict: error: image {picture} cannot be read as a picture (")


def test_pictures_decoded_in_threads_each_keep_their_libtiff_line_and_stderr_stays(tmp_path):
    """libtiff's lines are caught by pointing descriptor 2 elsewhere while a picture
    decodes: two threads at once would each put back the other's file, leaving stderr
    pointed at a deleted file, and take each other's lines."""
    picture = _damaged_tiff(tmp_path / "digit.tif", "tiff_deflate", 1)
    before = os.fstat(2)
    said = []

    def decode():
        for _ in range(25):
            with pytest.raises(mnist.DataError) as caught:
                load_digit_image(picture)
            said.append("ZIPDecode: Decoding error at scanline 0, incorrect header check;" in str(caught.value))

    threads = [threading.Thread(target=decode) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after = os.fstat(2)
    assert (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino)
    assert said == [True] * 100


def test_a_picture_whose_decoding_runs_out_of_memory_is_one_line(tmp_path, monkeypatch):
    def load(self):
        raise MemoryError  # a chunk length of 2³² − 1 in a 78-byte PNG: Pillow reads that many bytes at once

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    picture = tmp_path / "digit.png"
    picture.write_bytes(VALID["png"])
    with pytest.raises(mnist.DataError, match=r"digit\.png cannot be read as a picture \(.*out of memory"):
        load_digit_image(picture)
