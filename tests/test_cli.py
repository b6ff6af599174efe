"""The ``glassgrad`` command end to end: train, predict, descent, and every bad input."""

import gzip
import json
import math
import struct
import subprocess
import sys
from pathlib import Path

import glassgrad
import numpy as np
import pytest
from glassgrad.models.cli import build_parser, main
from glassgrad.models.commands.train import metrics_table
from glassgrad.models.logistic import LogisticModel
from glassgrad.models.metrics import binary_metrics, class_metrics
from glassgrad.models.report import load_model, save_model
from PIL import Image

ARTIFACTS = {"model.npz", "summary.json", "loss_curve.png", "weights.png", "mistakes.png"}


def synthetic_digits(n, seed):
    """Pictures whose class is readable from where the ink is: digit k lights row block k."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n, dtype=np.uint8) % 10
    images = rng.integers(0, 40, size=(n, 28, 28), dtype=np.uint8)
    for i, k in enumerate(labels):
        images[i, 2 + 2 * k : 4 + 2 * k, 4:24] = 250
    return images, labels


def write_idx(folder, split, n, seed, gz=True):
    images, labels = synthetic_digits(n, seed)
    prefix = "train" if split == "train" else "t10k"
    opener = gzip.open if gz else open
    suffix = ".gz" if gz else ""
    with opener(folder / f"{prefix}-images-idx3-ubyte{suffix}", "wb") as f:
        f.write(struct.pack(">IIII", 2051, n, 28, 28) + images.tobytes())
    with opener(folder / f"{prefix}-labels-idx1-ubyte{suffix}", "wb") as f:
        f.write(struct.pack(">II", 2049, n) + labels.tobytes())


@pytest.fixture
def idx_dir(tmp_path):
    folder = tmp_path / "idx"
    folder.mkdir()
    write_idx(folder, "train", 300, 0)
    write_idx(folder, "test", 100, 1, gz=False)
    return folder


@pytest.fixture
def csv_dir(tmp_path):
    folder = tmp_path / "csv"
    folder.mkdir()
    images, labels = synthetic_digits(200, 2)
    rows = np.column_stack([labels, images.reshape(len(labels), -1)])
    np.savetxt(folder / "mnist_train.csv", rows, fmt="%d", delimiter=",")
    return folder


def run(argv, capsys):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def check_artifacts(out):
    assert {p.name for p in out.iterdir()} >= ARTIFACTS
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left
    summary = json.loads((out / "summary.json").read_text())
    for name in ("loss_curve.png", "weights.png", "mistakes.png"):
        with Image.open(out / name) as im:
            assert im.format == "PNG" and im.size[0] > 200
    model, meta = load_model(out / "model.npz")
    assert model.n_features == 784 and meta["digit"] == summary["digit"]
    return summary


def test_the_overview_in_help_lists_every_command():
    from glassgrad.models import commands

    overview = build_parser().description
    assert [name for name in commands.load() if f"    glassgrad {name} " not in overview] == []


def test_train_on_idx_files_writes_every_artifact_and_reports(idx_dir, tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, _ = run(
        ["train", "--data", idx_dir, "--epochs", "5", "--quiet", "--out", out, "--batch-size", "32"], capsys
    )
    assert code == 0
    summary = check_artifacts(out)
    assert summary["metrics"]["test"]["n"] == 100  # the t10k files were found and used
    assert summary["metrics"]["validation"]["f1"] > 0.9  # the synthetic 9s are easy
    assert summary["stop"]["criterion"] in ("MaxIterations", "Patience")
    assert "stopped by" in stdout and "test" in stdout and "F1" in stdout


def test_train_on_a_csv_file_full_batch_float32_auto_threshold(csv_dir, tmp_path, capsys):
    out = tmp_path / "run"
    argv = [
        "train",
        "--data",
        csv_dir,
        "--batch-size",
        "0",
        "--max-iterations",
        "40",
        "--dtype",
        "float32",
        "--threshold",
        "auto",
        "--digit",
        "3",
        "--quiet",
        "--out",
        out,
        "--nesterov",
        "--weight-decay",
        "1e-4",
        "--schedule",
        "exponential",
    ]
    code, _stdout, _ = run(argv, capsys)
    assert code == 0
    summary = check_artifacts(out)
    assert summary["iterations"] <= 40 and summary["digit"] == 3
    assert summary["metrics"]["test"] is None
    model, meta = load_model(out / "model.npz")
    assert model.dtype == np.float32 and meta["threshold"] == summary["threshold"]


def test_train_on_the_embedded_sample_with_a_small_budget(tmp_path, capsys):
    out = tmp_path / "run"
    code, _stdout, _ = run(["train", "--epochs", "2", "--quiet", "--out", out], capsys)
    assert code == 0
    summary = check_artifacts(out)
    assert summary["epochs"] == 2 and summary["metrics"]["validation"]["n"] == 1200
    assert summary["metrics"]["validation"]["accuracy"] > 0.9
    # The embedded official test digits, never trained or chosen on, give the final report.
    assert summary["metrics"]["test"]["n"] == 2000 and summary["metrics"]["test"]["accuracy"] > 0.9


def ring_and_bar():
    """A 20×20 ring and a 20×4 bar, centred in 28×28 as MNIST digits are."""
    ring = np.zeros((28, 28), np.uint8)
    ring[4:24, 4:24] = 255
    ring[6:22, 6:22] = 0
    bar = np.zeros((28, 28), np.uint8)
    bar[4:24, 12:16] = 255
    return ring, bar


def test_predict_images_and_indices(idx_dir, tmp_path, capsys):
    ring, bar = ring_and_bar()
    model = LogisticModel()
    with glassgrad.no_grad():
        model.w[:] = np.where(ring > 0, 0.05, -0.05).ravel()  # a ring detector
    path = save_model(tmp_path / "m.npz", model, digit=9)
    big_dark_ring = 255 - np.kron(ring, np.ones((3, 3), np.uint8))  # 84×84, dark ink on white paper
    Image.fromarray(big_dark_ring).save(tmp_path / "ring.png")
    Image.fromarray(bar).convert("RGB").save(tmp_path / "bar.jpg")
    code, stdout, _ = run(
        [
            "predict",
            path,
            tmp_path / "ring.png",
            tmp_path / "bar.jpg",
            "--index",
            "9",
            "--index",
            "0",
            "--data",
            idx_dir,
        ],
        capsys,
    )
    assert code == 0
    lines = stdout.splitlines()
    assert len(lines) == 4
    probs = [float(line.split("p(9) = ")[1].split()[0]) for line in lines]
    assert probs[0] > 0.99 and probs[1] < 0.2
    assert "→ a 9" in lines[0] and "not a 9" in lines[1]
    images, _labels = synthetic_digits(10, 0)  # the first ten training digits of idx_dir
    expected = model.predict_proba(images[[9, 0]].reshape(2, -1) / 255.0)
    np.testing.assert_allclose(probs[2:], expected, atol=5e-5)
    assert "[9] (label 9)" in lines[2] and "[0] (label 0)" in lines[3]


@pytest.mark.parametrize(
    ("bias", "shown"),
    [
        (-0.00016, "p(9) = 0.49996  → not a 9"),  # read "p(9) = 0.5000  → not a 9"
        (12.0, "p(9) = 0.99999  → a 9"),  # read "1.0000", a certainty a logistic unit never reaches
        (-20.0, "p(9) = 0.000000002  → not a 9"),  # read "0.0000"
        (0.0, "p(9) = 0.5000  → a 9"),
    ],
)
def test_predict_never_rounds_p_onto_the_threshold_or_to_certainty(bias, shown, tmp_path, capsys):
    model = LogisticModel()
    with glassgrad.no_grad():
        model.b[...] = bias
    path = save_model(tmp_path / "m.npz", model, digit=9)  # w = 0: p = σ(bias) for any picture
    code, stdout, _ = run(["predict", path, "--index", "0"], capsys)
    assert code == 0 and stdout.split("  ", 1)[1].strip() == shown


def test_predict_takes_options_between_the_model_and_the_pictures(idx_dir, tmp_path, capsys):
    ring, _ = ring_and_bar()
    Image.fromarray(ring).save(tmp_path / "ring.png")
    path = save_model(tmp_path / "m.npz", LogisticModel(), digit=9)
    answers = [
        run(["predict", path, *argv], capsys)
        for argv in (
            [tmp_path / "ring.png", "--index", "3", "--data", idx_dir],
            ["--index", "3", tmp_path / "ring.png", "--data", idx_dir],
            ["--data", idx_dir, "--index", "3", tmp_path / "ring.png"],
        )
    ]
    assert [code for code, _, _ in answers] == [0, 0, 0]
    assert answers[0][1].count("p(9)") == 2
    assert answers[1][1] == answers[0][1] and answers[2][1] == answers[0][1]


def test_descent_prints_the_steps_and_writes_the_plot(tmp_path, capsys):
    code, stdout, _ = run(["descent", "--compare", "--out", tmp_path, "--max-iterations", "30"], capsys)
    assert code == 0
    assert "lr = 0.1" in stdout and "lr = 0.01" in stdout and "lr = 0.95" in stdout
    first = next(line for line in stdout.splitlines() if line.strip().startswith("1 "))
    x1 = float(first.split()[1])
    assert x1 == pytest.approx(8.0 - 0.1 * 2 * 8.0)  # one step of x ← x − lr·2x
    with Image.open(tmp_path / "descent.png") as im:
        assert im.format == "PNG"


def test_descent_stops_at_the_target_loss(tmp_path, capsys):
    code, stdout, _ = run(["descent", "--lr", "0.25", "--target", "1e-6", "--out", tmp_path], capsys)
    assert code == 0 and "stopped: TargetLoss" in stdout


def test_descent_stops_when_x_squared_overflows_instead_of_printing_nan(tmp_path, capsys):
    # lr 5: x is multiplied by 1 − 2·5 = −9 each step and x² overflows at step 322
    for lr, steps in (("5", "1000"), ("1e308", "100")):
        code, stdout, err = run(["descent", "--lr", lr, "--max-iterations", steps, "--out", tmp_path], capsys)
        assert code == 0 and err == ""
        rows = [line.split() for line in stdout.splitlines() if line.split()[:1] and line.split()[0].isdigit()]
        assert rows and all(math.isfinite(float(v)) for row in rows for v in row), stdout[-500:]
        assert "stopped: Diverged" in stdout and "learning rate" in stdout


def test_descent_refuses_more_steps_than_its_table_can_show(tmp_path, capsys):
    # lr 1 zig-zags between ±x₀ for ever: a billion steps filled the memory for minutes
    # before the table's first line.
    code, stdout, err = run(["descent", "--lr", "1", "--max-iterations", "1000000000", "--out", tmp_path], capsys)
    assert code == 2 and stdout == ""
    assert err.startswith("glassgrad descent: error: argument --max-iterations: 1000000000 is out of range"), err
    assert "≤ 100000" in err and err.count("\n") == 1


def corrupt_gzip(folder):
    data = (folder / "train-images-idx3-ubyte.gz").read_bytes()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(data[: len(data) // 2])


def wrong_magic(folder):
    path = folder / "t10k-labels-idx1-ubyte"
    path.write_bytes(struct.pack(">II", 2051, 100) + path.read_bytes()[8:])


def count_mismatch(folder):
    path = folder / "t10k-labels-idx1-ubyte"
    path.write_bytes(struct.pack(">II", 2049, 99) + path.read_bytes()[8:-1])


def bad_csv(text):
    def make(folder):
        for p in folder.iterdir():
            p.unlink()
        (folder / "mnist_train.csv").write_text(text)

    return make


ROW = ",".join(["3"] + ["0"] * 784)
BAD_DATA = {
    "truncated gzip": (corrupt_gzip, "gzip"),
    "wrong magic": (wrong_magic, "magic"),
    "count mismatch": (count_mismatch, ""),
    "csv width": (bad_csv(ROW + "\n" + ",".join(["3"] + ["0"] * 700) + "\n"), ""),
    "csv not a number": (bad_csv(ROW + "\n" + ROW.replace(",0,", ",x,", 1) + "\n"), ""),
    "csv pixel range": (bad_csv(ROW + "\n" + ROW.replace(",0,", ",300,", 1) + "\n"), ""),
    "csv label range": (bad_csv("12" + ROW[1:] + "\n"), ""),
}


def assert_one_line_error(code, err, *words):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and "error" in lines[0]
    for w in words:
        assert w.lower() in lines[0].lower()


@pytest.mark.parametrize("case", BAD_DATA)
def test_bad_data_exits_2_with_one_line_and_writes_nothing(case, idx_dir, tmp_path, capsys):
    damage, word = BAD_DATA[case]
    damage(idx_dir)
    out = tmp_path / "run"
    code, _, err = run(["train", "--data", idx_dir, "--epochs", "1", "--quiet", "--out", out], capsys)
    assert_one_line_error(code, err, word)
    assert not out.exists()


BAD_OPTIONS = {
    "lr zero": (["--lr", "0"], "--lr"),
    "lr negative": (["--lr", "-0.1"], "--lr"),
    "lr not a number": (["--lr", "fast"], "--lr"),
    "batch negative": (["--batch-size", "-1"], "--batch-size"),
    "budget negative": (["--time-budget", "-5"], "--time-budget"),
    "digit 10": (["--digit", "10"], "--digit"),
    "digit -1": (["--digit", "-1"], "--digit"),
    "val fraction 1": (["--val-fraction", "1"], "--val-fraction"),
    "epochs 0": (["--epochs", "0"], "--epochs"),
    "momentum 1": (["--momentum", "1"], "--momentum"),
    "pos weight 0": (["--pos-weight", "0"], "--pos-weight"),
    "nan target": (["--target-loss", "nan"], "--target-loss"),
    "nesterov without momentum": (["--nesterov", "--momentum", "0"], "nesterov"),
    "missing data folder": (["--data", "no/such/folder"], "--data"),
    "data and download": (["--data", ".", "--download"], "either"),
    "threshold": (["--threshold", "0.7"], "--threshold"),
    "schedule": (["--schedule", "linear"], "--schedule"),
}


@pytest.mark.parametrize("case", BAD_OPTIONS)
def test_impossible_options_exit_2_with_one_line(case, tmp_path, capsys):
    extra, word = BAD_OPTIONS[case]
    out = tmp_path / "run"
    code, _, err = run(["train", "--quiet", "--out", out, *extra], capsys)
    assert_one_line_error(code, err, word)
    assert not out.exists()


def test_out_that_is_a_file_is_refused(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    code, _, err = run(["train", "--out", tmp_path / "file"], capsys)
    assert_one_line_error(code, err, "not a folder")


@pytest.mark.parametrize("command", ["train", "descent", "graph"])
def test_out_under_a_file_names_the_file(tmp_path, capsys, command):
    # The system's own words named the path asked for ("File exists", "Not a directory").
    (tmp_path / "file").write_text("x")
    code, _, err = run([command, "--out", tmp_path / "file" / "sub"], capsys)
    assert_one_line_error(code, err, f"{tmp_path / 'file'} is a file, not a folder")
    assert (tmp_path / "file").read_text() == "x"


@pytest.fixture
def model_path(tmp_path):
    return save_model(tmp_path / "m.npz", LogisticModel(), digit=9)


def wrong_shape(tmp_path):
    return save_model(tmp_path / "small.npz", LogisticModel(10), digit=9)


def wrong_version(tmp_path):
    path = tmp_path / "old.npz"
    np.savez(
        path,
        w=np.zeros(784),
        b=np.zeros(1),
        meta=np.array(
            json.dumps(
                {
                    "format": "glassgrad-logistic",
                    "format_version": 99,
                    "n_features": 784,
                    "dtype": "float64",
                    "digit": 9,
                }
            )
        ),
    )
    return path


def tampered_shape(tmp_path):
    path = tmp_path / "tampered.npz"
    np.savez(
        path,
        w=np.zeros(700),
        b=np.zeros(1),
        meta=np.array(
            json.dumps(
                {
                    "format": "glassgrad-logistic",
                    "format_version": 1,
                    "n_features": 784,
                    "dtype": "float64",
                    "digit": 9,
                    "threshold": 0.5,
                }
            )
        ),
    )
    return path


def not_a_model(tmp_path):
    path = tmp_path / "junk.npz"
    path.write_bytes(b"PK\x03\x04 garbage")
    return path


@pytest.mark.parametrize(
    ("make", "word"),
    [
        (wrong_shape, "784"),
        (wrong_version, "version"),
        (tampered_shape, "700"),
        (not_a_model, "npz"),
        (lambda p: p / "missing.npz", "does not exist"),
    ],
)
def test_bad_model_files_exit_2(make, word, tmp_path, capsys):
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(tmp_path / "x.png")
    code, _, err = run(["predict", make(tmp_path), tmp_path / "x.png"], capsys)
    assert_one_line_error(code, err, word)


def test_bad_images_and_indices_exit_2(model_path, tmp_path, capsys):
    (tmp_path / "text.png").write_text("not a picture")
    for argv, word in [
        ([tmp_path / "missing.png"], "does not exist"),
        ([tmp_path / "text.png"], "cannot be read"),
        (["--index", "6000"], "out of range"),
        (["--index", "-1"], "--index"),
        ([], "at least one"),
    ]:
        code, _, err = run(["predict", model_path, *argv], capsys)
        assert_one_line_error(code, err, word)


def test_descent_bad_options(tmp_path, capsys):
    for argv, word in [
        (["--x0", "11"], "--x0"),
        (["--lr", "0"], "--lr"),
        (["--max-iterations", "0"], "--max-iterations"),
    ]:
        code, _, err = run(["descent", "--out", tmp_path, *argv], capsys)
        assert_one_line_error(code, err, word)


def test_the_installed_command_exits_2_without_traceback(tmp_path):
    exe = Path(sys.executable).with_name("glassgrad")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "glassgrad.models.cli"]
    proc = subprocess.run([*cmd, "train", "--lr", "-1"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr


def test_the_report_says_why_a_metric_is_zero_or_missing():
    # It printed precision 0.0000 for a split where nothing was predicted positive, and a
    # classifier's F1 0.00 for a digit neither among the labels nor predicted.
    none_predicted = binary_metrics(np.array([1, 0, 1, 0]), np.array([0.1, 0.2, 0.3, 0.4]))
    lines = metrics_table([("validation", none_predicted), ("test", None)], classes=False)
    assert lines[1].split()[1:6] == ["0.5000", "0.0000", "0.0000", "0.0000", "0.2500"]
    assert lines[2:] == ["note: validation: no sample is predicted positive: precision is 0/0, shown as 0"]
    no_three = class_metrics(np.array([0, 1, 2, 0, 1]), np.eye(4)[[0, 1, 2, 1, 1]])
    lines = metrics_table([("test", no_three)], classes=True)
    assert lines[1].endswith("0.8222   0.67 0.80 1.00    —")
    assert lines[2:] == ["note: test: no 3 among the digits or the predictions: no F1 (—), left out of macro F1"]
