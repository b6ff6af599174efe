"""The command line beyond one unit, run as a user runs it (subprocesses) on small
synthetic IDX files: the hidden-layer detector, the ten-digit classifier, predict's
answer for a classifier, export to ONNX, and the options that do not fit together."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from glassgrad.models.network import DigitClassifier, HiddenLayerDetector
from glassgrad.models.report import load_model, save_model
from PIL import Image
from test_cli import write_idx

EXE = Path(sys.executable).with_name("glassgrad")
CMD = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "glassgrad.models.cli"]


def glassgrad(*argv, ok=True):
    proc = subprocess.run([*CMD, *map(str, argv)], capture_output=True, text=True, timeout=300)
    assert (proc.returncode == 0) == ok, proc.stderr
    return proc


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("idx")
    write_idx(folder, "train", 300, 0)
    write_idx(folder, "test", 100, 1)
    return folder


@pytest.fixture(scope="module")
def classifier_run(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "digits"
    proc = glassgrad("train", "--data", data, "--classes", "10", "--hidden", "8", "--epochs", "15", "--lr", "0.01",
                     "--batch-size", "32", "--quiet", "--out", out)  # fmt: skip
    return out, proc.stdout


def test_the_hidden_layer_detector_trains_and_draws_its_first_layer(data, tmp_path):
    out = tmp_path / "run"
    proc = glassgrad("train", "--data", data, "--hidden", "8", "--epochs", "15", "--lr", "0.01", "--batch-size", "32",
                     "--quiet", "--out", out)  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    assert summary["options"]["optimizer"] == "adam" and summary["metrics"]["test"]["f1"] > 0.9
    model, meta = load_model(out / "model.npz")
    assert isinstance(model, HiddenLayerDetector) and model.hidden == 8 and meta["digit"] == 9
    for name in ("weights.png", "mistakes.png", "loss_curve.png"):
        with Image.open(out / name) as im:
            assert im.format == "PNG"
    assert "9-detector" in proc.stdout and "ROC AUC" in proc.stdout


def test_shifted_copies_add_training_pictures_and_are_recorded(data, tmp_path):
    out = tmp_path / "run"
    glassgrad("train", "--data", data, "--hidden", "4", "--epochs", "1", "--batch-size", "40", "--shifted-copies", "2",
              "--quiet", "--out", out)  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    assert summary["options"]["shifted_copies"] == 2
    assert summary["iterations"] == 3 * 240 // 40  # 240 training digits (a fifth held out) and two copies


def test_the_ten_digit_classifier_reports_accuracy_and_its_confusion(classifier_run):
    out, stdout = classifier_run
    summary = json.loads((out / "summary.json").read_text())
    test = summary["metrics"]["test"]
    assert test["accuracy"] > 0.9 and len(test["confusion"]) == 10
    assert sum(map(sum, test["confusion"])) == 100
    model, meta = load_model(out / "model.npz")
    assert isinstance(model, DigitClassifier) and model.n_classes == 10 and meta["digit"] is None
    with Image.open(out / "confusion.png") as im:
        assert im.format == "PNG" and im.size[0] > 300
    assert not (out / "mistakes.png").exists()
    assert "ten-digit classifier" in stdout and "macro F1" in stdout


def test_predict_answers_a_classifier_with_the_digit_and_ten_probabilities(classifier_run, data):
    out, _ = classifier_run
    proc = glassgrad("predict", out / "model.npz", "--data", data, "--split", "test", "--index", "3")
    line = proc.stdout.strip()
    assert "(label 3)" in line and "→ 3 (p = " in line  # the synthetic 3s are easy
    shares = [float(part.split(":")[1]) for part in line.rsplit("[", 1)[1].rstrip("]").split()]
    assert len(shares) == 10 and sum(shares) == pytest.approx(1.0, abs=6e-3)


def test_predict_never_rounds_a_classifier_s_probability_to_0_or_1(data, tmp_path):
    model = DigitClassifier(hidden=8)
    params = dict(model.named_parameters())
    params["2.weight"].data[:] = 0.0  # every picture gets softmax(bias)
    params["2.bias"].data[:] = 0.0
    params["2.bias"].data[3] = np.log(9 * 0.9996 / 0.0004)  # p(3) = 0.9996, p(other) = 0.0000444
    path = save_model(tmp_path / "sure.npz", model, digit=None)
    line = glassgrad("predict", path, "--data", data, "--index", "0").stdout
    shares = line.rsplit("[", 1)[1].rstrip("]\n").split()
    assert shares[3] == "3:0.9996" and shares[0] == "0:0.00004", line


def test_export_writes_an_onnx_file_that_onnxruntime_runs_to_1e_6(classifier_run, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    out, _ = classifier_run
    proc = glassgrad("export", out / "model.npz", "--to", "onnx", "--out", tmp_path / "m.onnx")
    assert "the ten probabilities" in proc.stdout
    model, _ = load_model(out / "model.npz")
    X = np.random.default_rng(0).random((7, 784))
    (got,) = ort.InferenceSession(str(tmp_path / "m.onnx")).run(None, {"input": X})
    np.testing.assert_allclose(got, model.predict_proba(X), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--classes", "10", "--digit", "3"], "--digit belongs to a detector of one digit"),
        (["train", "--classes", "10", "--pos-weight", "2"], "--pos-weight belongs to a detector"),
        (["train", "--classes", "7"], "invalid choice"),
        (["train", "--hidden", "0"], "--hidden"),
        (["train", "--optimizer", "adam", "--nesterov"], "--nesterov belongs to sgd, not adam"),
        (["export", "missing.npz", "--to", "onnx"], "does not exist"),
    ],
)
def test_options_that_do_not_fit_get_one_line(argv, message):
    proc = glassgrad(*argv, ok=False)
    assert proc.returncode == 2 and proc.stdout == "" and message in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and proc.stderr.startswith(f"glassgrad {argv[0]}: error: ")
