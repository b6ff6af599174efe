"""predict and export against network model files (the hidden-layer detector's and the
classifier's module files) that were damaged or made by hand: one line and exit 2, never
a traceback, an answer from metadata that makes no sense, or memory the file's own
arrays do not account for."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from damaged_files import central_directory_field
from glassgrad.models.cli import main
from glassgrad.models.network import DigitClassifier, HiddenLayerDetector
from glassgrad.models.report import ModelFileError, load_model, save_model
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image


def edited(path, tmp_path, name, header=None, arrays=None):
    """A copy of the module file ``path`` with its JSON header and arrays changed in place
    by ``header(h)`` and ``arrays(a)``."""
    with np.load(path) as z:
        a = {k: z[k] for k in z.files}
    h = json.loads(a.pop("__glassgrad__").tobytes())
    if header:
        header(h)
    if arrays:
        arrays(a)
    out = tmp_path / f"{name}.npz"
    np.savez(out, __glassgrad__=np.frombuffer(json.dumps(h).encode(), np.uint8), **a)
    return out


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("networks")
    detector = save_model(folder / "detector.npz", HiddenLayerDetector(hidden=2), 9, 0.5)
    classifier = save_model(folder / "classifier.npz", DigitClassifier(), None, 0.5)
    return detector, classifier, folder


def meta(**fields):
    return lambda h: h["metadata"].update(fields)


def nan_weights(a):
    a["0.weight"][0, 0] = np.nan


def as_linear(h):
    h["architecture"] = {"class": "glassgrad.nn.Linear", "config": {"in_features": 784, "out_features": 2}}


CASES = {
    "detector of digit 42": ("detector", meta(digit=42), None, "digit is 42"),
    "detector of no digit": ("detector", meta(digit=None), None, "digit is null"),
    "detector of digit 'nine'": ("detector", meta(digit="nine"), None, "digit"),
    "classifier of digit 3": ("classifier", meta(digit=3), None, "digit is 3"),
    "threshold 5": ("detector", meta(threshold=5.0), None, "threshold is 5"),
    "threshold -1": ("detector", meta(threshold=-1.0), None, "threshold is -1"),
    "NaN weights": ("detector", None, nan_weights, "NaN"),
    "a Linear layer": ("detector", as_linear, None, "Linear"),
    # the architecture promises 8 TB of parameters; the file holds two layers of a few kB
    "a million by a million": (
        "detector",
        lambda h: h["architecture"]["config"].update(hidden=10**6, n_features=10**6),
        None,
        "[1000000, 1000000]",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_network_file_that_glassgrad_train_would_not_write_is_one_line(case, saved, tmp_path, capsys):
    detector, classifier, _ = saved
    which, header, arrays, words = CASES[case]
    path = edited(detector if which == "detector" else classifier, tmp_path, "m", header, arrays)
    picture = tmp_path / "one.png"
    digit = np.zeros((28, 28), np.uint8)
    digit[6:22, 12:16] = 255
    Image.fromarray(digit).save(picture)
    for argv in (["predict", path, picture], ["export", path, "--to", "onnx", "--out", tmp_path / "m.onnx"]):
        assert main([str(a) for a in argv]) == 2, argv
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1, err
        assert err.startswith(f"glassgrad {argv[0]}: error: model file {path}") and words in err, err
    assert not (tmp_path / "m.onnx").exists()


def test_a_header_nested_thousands_deep_is_one_line(saved, tmp_path, capsys):
    detector, _, _ = saved
    with np.load(detector) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["__glassgrad__"] = np.frombuffer(
        b'{"format": "glassgrad-module", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", np.uint8
    )
    path = tmp_path / "deep.npz"
    np.savez(path, **arrays)
    assert main(["predict", str(path), "--index", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(
        f"glassgrad predict: error: model file {path}: its header is nested"
    ), err


def test_the_networks_glassgrad_train_writes_still_load(saved, capsys):
    detector, classifier, _ = saved
    assert main(["predict", str(detector), "--index", "0", "--index", "1"]) == 0
    assert main(["predict", str(classifier), "--index", "0"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and "p(9) = " in out[0] and "[0:" in out[2]


def test_a_model_file_of_thousands_of_arrays_is_refused_before_reading_them(tmp_path, capsys):
    # each array costs numpy a header to parse: 200,000 of them took 16 s to reject
    path = tmp_path / "many.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(20_000):
            archive.writestr(f"a{i}.npy", b"")
    assert main(["predict", str(path), "--index", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds 20,000 arrays" in err, err


def _lying_npy(path, out):
    """``path`` with its first layer's bias declaring a million by a million values."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
    with zipfile.ZipFile(path) as z, zipfile.ZipFile(out, "w") as rewritten:
        for info in z.infolist():
            lie = info.filename == "0.bias.npy"
            rewritten.writestr(info.filename, header.getvalue() + b"\0" * 16 if lie else z.read(info))
    return out


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda p, out: central_directory_field(p, out, 8, 1), "encrypted"),  # the flag of a password
        (lambda p, out: central_directory_field(p, out, 10, 99), "compression method"),  # AES, unknown to zipfile
        (_lying_npy, "declares float64[1000000, 1000000]"),
    ],
    ids=["encrypted", "unknown compression", "npy header promising 8 TB"],
)
def test_a_zip_or_npy_header_that_numpy_would_trip_on_is_one_line(damage, words, saved, tmp_path, capsys):
    detector, _, _ = saved
    path = damage(detector, tmp_path / "damaged.npz")
    assert main(["predict", str(path), "--index", "0"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, err
    assert err.startswith(f"glassgrad predict: error: model file {path}") and words in err, err


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_a_network_file_with_damaged_bytes_loads_or_is_one_line(saved, data):
    detector, _, folder = saved
    raw = bytearray(detector.read_bytes())
    if data.draw(st.booleans(), label="truncate"):
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    else:
        for bit in data.draw(st.lists(st.integers(0, 8 * len(raw) - 1), min_size=1, max_size=8)):
            raw[bit // 8] ^= 1 << (bit % 8)
    path = folder / "fuzzed.npz"
    path.write_bytes(bytes(raw))
    try:
        model, meta = load_model(path)
    except ModelFileError as exc:
        message = str(exc)
    else:
        assert all(np.isfinite(p.data).all() for p in model.parameters()) and 0 <= meta["threshold"] <= 1
        return
    assert "\n" not in message and message.startswith(f"model file {path}"), message
