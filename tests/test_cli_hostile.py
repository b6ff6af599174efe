"""The command line against hostile or careless input: one line and exit 2 (130 when
interrupted), never a traceback, a silent nonsense answer, or a run folder of mixed files.

Each test reproduces one way the command used to fail; most run the installed command in
a subprocess, as a user would.
"""

from __future__ import annotations

import gzip
import http.server
import json
import os
import signal
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from glassgrad.models import cli, mnist
from glassgrad.models.cli import main
from glassgrad.models.commands import train as train_command
from glassgrad.models.images import load_digit_image
from glassgrad.models.logistic import LogisticModel
from glassgrad.models.report import save_model
from mnist_files import csv_text, idx_bytes, write_idx_pair
from PIL import Image

EXE = Path(sys.executable).with_name("glassgrad")
COMMAND = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "glassgrad.models.cli"]
RUN_FILES = {"model.npz", "summary.json", "loss_curve.png", "weights.png", "mistakes.png"}


def glassgrad(*argv, timeout=60, **kw):
    """Run the installed command; (exit status, stdout, stderr)."""
    proc = subprocess.run([*COMMAND, *map(str, argv)], capture_output=True, text=True, timeout=timeout, **kw)
    return proc.returncode, proc.stdout, proc.stderr


def assert_one_line(err, *words, status="error"):
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and "Warning" not in err
    assert lines[0].startswith("glassgrad ") and f": {status}" in lines[0], lines[0]
    for word in words:
        assert word.lower() in lines[0].lower(), lines[0]


def digits(n, seed=0):
    """Pictures whose class shows where the ink is (digit k lights row block k): learnable."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % 10).astype(np.uint8)
    images = rng.integers(0, 40, size=(n, 28, 28), dtype=np.uint8)
    for i, k in enumerate(labels):
        images[i, 2 + 2 * k : 4 + 2 * k, 4:24] = 250
    return images, labels


@pytest.fixture
def data(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    write_idx_pair(folder, *digits(200, 0), "train", gz=True)
    write_idx_pair(folder, *digits(50, 1), "t10k")
    return folder


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.npz"
    m = LogisticModel()
    m.w.data[:] = np.linspace(-0.01, 0.01, 784)
    return save_model(path, m, 9, 0.5)


def picture(path, array, mode="L"):
    Image.fromarray(array, mode=mode).save(path)
    return path


def a_digit(ink=255, paper=0):
    img = np.full((28, 28), paper, np.uint8)
    img[6:22, 12:16] = ink  # a "1"
    return img


# -- 1. model files --------------------------------------------------------------------------------
def model_with(tmp_path, name, meta_edit=None, w=None):
    meta = {"format": "glassgrad-logistic", "format_version": 1, "digit": 9, "n_features": 784}
    meta.update(dtype="float64", threshold=0.5)
    meta_text = json.dumps(meta_edit(meta) if callable(meta_edit) else meta)
    if isinstance(meta_edit, str):
        meta_text = meta_edit
    path = tmp_path / f"{name}.npz"
    np.savez(path, meta=np.array(meta_text), w=np.zeros(784) if w is None else w, b=np.zeros(1))
    return path


BAD_MODELS = {
    "no digit": (lambda m: {k: v for k, v in m.items() if k != "digit"}, "digit"),
    "no threshold": (lambda m: {k: v for k, v in m.items() if k != "threshold"}, "threshold"),
    "string threshold": (lambda m: {**m, "threshold": "0.5"}, "threshold"),
    "null threshold": (lambda m: {**m, "threshold": None}, "threshold"),
    "threshold 2": (lambda m: {**m, "threshold": 2}, "threshold"),
    "digit 42": (lambda m: {**m, "digit": 42}, "digit"),
    "10**12 features": (lambda m: {**m, "n_features": 10**12}, "n_features"),
    "deep JSON": ('{"format": "glassgrad-logistic", "x": ' + "[" * 100_000 + "]" * 100_000 + "}", "metadata"),
}


def test_1_model_files_with_bad_metadata_or_weights_exit_2_with_one_line(tmp_path):
    pic = picture(tmp_path / "one.png", a_digit())
    cases = {
        name: (model_with(tmp_path, f"m{i}", edit), word) for i, (name, (edit, word)) in enumerate(BAD_MODELS.items())
    }
    w = np.zeros(784)
    w[3] = np.nan
    cases["NaN weights"] = (model_with(tmp_path, "nan", w=w), "NaN")
    cases["700 weights"] = (model_with(tmp_path, "short", w=np.zeros(700)), "700")
    procs = {
        name: subprocess.Popen(
            [*COMMAND, "predict", str(path), str(pic)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for name, (path, _) in cases.items()
    }
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 2 and out == "", name
        assert_one_line(err, cases[name][1])


# -- 2. huge pictures -------------------------------------------------------------------------------
def png_header_only(path, width, height):
    """A tiny PNG that claims width × height pixels (its data would inflate to gigabytes)."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)))
    return path


@pytest.mark.parametrize("side", [20_000, 10_000])
def test_2_giant_pictures_are_refused_before_decoding(model_file, tmp_path, side):
    code, out, err = glassgrad("predict", model_file, png_header_only(tmp_path / "big.png", side, side))
    assert code == 2 and out == ""
    assert_one_line(err, "big.png", "too large", "4096×4096")


# -- 3, 4, 9. which files are the training and the test set ----------------------------------------
def test_3_a_test_file_is_never_trained_on(tmp_path):
    only_test = tmp_path / "only_test"
    only_test.mkdir()
    (only_test / "mnist_test.csv").write_text(csv_text(*digits(30)))
    code, _out, err = glassgrad("train", "--data", only_test, "--out", tmp_path / "run")
    assert code == 2 and not (tmp_path / "run").exists()
    assert_one_line(err, "no MNIST train set", "mnist_test.csv is test data")


def test_3_train_and_test_files_with_the_same_digits_are_refused(tmp_path):
    same = tmp_path / "same"
    same.mkdir()
    write_idx_pair(same, *digits(60), "train")
    write_idx_pair(same, *digits(60), "t10k")
    code, _, err = glassgrad("train", "--data", same, "--out", tmp_path / "run")
    assert code == 2 and not (tmp_path / "run").exists()
    assert_one_line(err, "same 60 digits")


def test_4_and_9_files_are_recognised_by_their_names(data, tmp_path):
    (data / "latest-notes.txt").write_text("notes")
    for p in data.glob("t10k-*"):
        p.unlink()
    csvs = tmp_path / "csvs"
    csvs.mkdir()
    (csvs / "train.csv").write_text(csv_text(*digits(100, 2)))
    (csvs / "test.csv").write_text(csv_text(*digits(40, 3)))
    runs = {
        "idx": subprocess.Popen(
            [*COMMAND, "train", "--data", str(data), "--quiet", "--out", str(tmp_path / "a")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ),
        "csv": subprocess.Popen(
            [*COMMAND, "train", "--data", str(csvs), "--quiet", "--out", str(tmp_path / "b")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ),
    }
    results = {name: (p.communicate(timeout=120), p.returncode) for name, p in runs.items()}
    (_, err), code = results["idx"]
    assert code == 0, err
    assert json.loads((tmp_path / "a" / "summary.json").read_text())["metrics"]["test"] is None
    (_out, err), code = results["csv"]
    assert code == 0, err
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summary["metrics"]["test"]["confusion"] and "train.csv" in summary["data"]
    assert "train.csv/test.csv" in glassgrad("train", "--help")[1]


# -- 5. labels ---------------------------------------------------------------------------------------
def test_5_a_label_last_csv_and_a_set_without_the_digit_are_refused(tmp_path):
    images, labels = digits(40)
    label_last = tmp_path / "label_last"
    label_last.mkdir()
    images[:, 0, 0] = 0  # the first pixel, read as the label, is 0 everywhere
    rows = [",".join(map(str, [*img.ravel(), y])) for img, y in zip(images, labels)]
    (label_last / "mnist_train.csv").write_text("\n".join(rows) + "\n")
    no_nines = tmp_path / "no_nines"
    no_nines.mkdir()
    write_idx_pair(no_nines, images, labels % 9)
    code, _, err = glassgrad("train", "--data", label_last, "--out", tmp_path / "r1")
    assert code == 2
    assert_one_line(err, "all 40 labels (first column) are 0", "last column")
    code, _, err = glassgrad("train", "--data", no_nines, "--out", tmp_path / "r2")
    assert code == 2
    assert_one_line(err, "no 9s")
    assert not (tmp_path / "r1").exists() and not (tmp_path / "r2").exists()


# -- 6. divergence and option bounds -----------------------------------------------------------------
def test_6_divergence_stops_with_one_line_and_writes_nothing(data, tmp_path):
    for option in ("--lr", "--weight-decay", "--pos-weight"):
        code, _, err = glassgrad("train", "--data", data, option, "1e308", "--out", tmp_path / "r")
        assert code == 2
        assert_one_line(err, option, "out of range")
    code, out, err = glassgrad(
        "train",
        "--data",
        data,
        "--lr",
        "100",
        "--weight-decay",
        "100",
        "--batch-size",
        "1",
        "--patience",
        "0",
        "--quiet",
        "--out",
        tmp_path / "r",
    )
    assert code == 2 and out == ""
    assert_one_line(err, "diverged", "lower the learning rate")
    assert not (tmp_path / "r").exists() and os.listdir(tmp_path) == ["data"]


# -- 7. the run folder is whole or absent ------------------------------------------------------------
def test_7_a_second_run_replaces_the_first_whole_and_an_interrupted_one_leaves_it(data, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data", str(data), "--quiet", "--out", str(out)]) == 0
    first = (out / "model.npz").read_bytes()
    assert main(["train", "--data", str(data), "--quiet", "--digit", "3", "--out", str(out)]) == 0
    assert json.loads((out / "summary.json").read_text())["digit"] == 3 and (out / "model.npz").read_bytes() != first
    second = {p.name: p.read_bytes() for p in out.iterdir()}

    def killed(*args, **kwargs):  # the next run stops after model.npz is written
        raise KeyboardInterrupt

    monkeypatch.setattr(train_command, "write_summary", killed)
    capsys.readouterr()
    assert main(["train", "--data", str(data), "--quiet", "--digit", "5", "--out", str(out)]) == 130
    assert capsys.readouterr().err == "glassgrad train: interrupted\n"
    assert {p.name: p.read_bytes() for p in out.iterdir()} == second
    assert sorted(os.listdir(tmp_path)) == ["data", "run"]  # no hidden folder left


def test_7_a_folder_of_other_files_is_not_replaced(data, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    code, out, err = glassgrad("train", "--data", data, "--out", mine)
    assert code == 2 and out == ""
    assert_one_line(err, "thesis.tex", "not a glassgrad run")
    assert os.listdir(mine) == ["thesis.tex"]


# -- 8. Ctrl-C and SIGTERM ---------------------------------------------------------------------------
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_8_an_interrupted_run_keeps_its_best_parameters_and_exits_130(data, tmp_path, sig):
    out = tmp_path / "run"
    argv = ["train", "--data", data, "--epochs", "1000000", "--patience", "0", "--batch-size", "1", "--out", out]
    proc = subprocess.Popen([*COMMAND, *map(str, argv)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not [p for p in tmp_path.iterdir() if p.name.startswith(".run.")] and time.monotonic() < deadline:
        time.sleep(0.05)  # the hidden run folder is made just before the data is read
    time.sleep(1.0)  # well into the million epochs
    proc.send_signal(sig)
    try:  # the run writes its pictures and pages before it exits: slow on a busy machine
        stdout, err = proc.communicate(timeout=240)
    finally:
        proc.kill()  # never leave a million-epoch run behind
    assert proc.returncode == 130
    assert_one_line(err, "interrupted at iteration", str(out), status="interrupted")
    assert set(os.listdir(out)) >= RUN_FILES and "stopped by KeyboardInterrupt" in stdout
    assert json.loads((out / "summary.json").read_text())["stop"]["criterion"] == "KeyboardInterrupt"


def test_8_an_interrupt_before_training_prints_one_line(data, tmp_path, monkeypatch, capsys):
    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_command, "load_data", interrupted)
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "run")]) == 130
    assert capsys.readouterr().err == "glassgrad train: interrupted\n"
    monkeypatch.setattr(cli, "build_parser", interrupted)  # Ctrl-C while the commands load
    assert main(["train"]) == 130
    assert capsys.readouterr().err == "glassgrad: interrupted\n"
    assert os.listdir(tmp_path) == ["data"]


# The installed command (or the module python -m runs), started with an import hook that
# stops at the first import of one module, says so on stdout and waits there for the
# signal: Ctrl-C lands inside that import whatever the machine's load, with no timer to race.
STALLED_COMMAND = """\
import os, runpy, signal, sys, time

module, command = sys.argv[1:]

class Stall:
    def find_spec(self, name, path=None, target=None):
        if name == module:
            sys.meta_path.remove(self)
            print("importing", name, flush=True)
            time.sleep(120)  # the test's SIGINT ends this sleep
        return None

signal.signal(signal.SIGINT, signal.default_int_handler)  # as at a terminal, whatever the parent ignores
sys.meta_path.insert(0, Stall())
sys.argv = [command, "demo"]
if os.path.exists(command):
    runpy.run_path(command, run_name="__main__")
else:  # as python -m command demo
    runpy.run_module(command, run_name="__main__", alter_sys=True)
"""


def interrupted_while_importing(module, command, signum):
    """(exit status, stdout, stderr) of ``command demo`` sent ``signum`` inside the import of ``module``."""
    argv = [sys.executable, "-c", STALLED_COMMAND, module, command]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == f"importing {module}\n", proc.communicate(timeout=60)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()  # a command that ignored the signal would wait two minutes
    return proc.returncode, out, err


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
@pytest.mark.parametrize("module", ["glassgrad", "numpy", "glassgrad.models.cli", "glassgrad.models.commands.demo"])
def test_8_ctrl_c_while_the_command_starts_prints_one_line(module, signum):
    # numpy, the engine and the command line take a noticeable part of a second to import,
    # before the command's own code runs: Ctrl-C then was Python's KeyboardInterrupt
    # traceback, and SIGTERM ended the command with status 143 where its help says 130.
    if not EXE.exists():
        pytest.skip("the glassgrad command is not installed beside this Python")
    assert "_glassgrad_cli" in EXE.read_text(), "the installed command predates its entry point: pip install -e . again"
    assert interrupted_while_importing(module, str(EXE), signum) == (130, "", "glassgrad: interrupted\n")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
@pytest.mark.parametrize("module", ["argparse", "glassgrad.models.commands", "glassgrad.models.commands.demo"])
def test_8_ctrl_c_while_python_m_starts_the_command_line_prints_one_line(module, signum):
    # python -m glassgrad.models.cli runs the module after Python imported the packages
    # glassgrad and glassgrad.models (NumPy, the engine): an interrupt there is Python's
    # (docs/guides/training.md). The module's own imports (argparse, the commands' package)
    # were a traceback for Ctrl-C and death by the signal for SIGTERM.
    assert interrupted_while_importing(module, "glassgrad.models.cli", signum) == (130, "", "glassgrad: interrupted\n")


# The installed command, sent a signal by an exit handler: after its work is done, while
# Python shuts down.
SIGNALLED_AT_EXIT = """\
import atexit, os, runpy, signal, sys, time

command, signum = sys.argv[1], int(sys.argv[2])

def signalled():
    os.kill(os.getpid(), signum)
    time.sleep(0.05)  # the handler runs here

signal.signal(signal.SIGINT, signal.default_int_handler)  # as at a terminal, whatever the parent ignores
atexit.register(signalled)
sys.argv = [command, "demo"]
runpy.run_path(command, run_name="__main__")
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_8_ctrl_c_after_the_command_is_done_is_no_traceback(signum):
    # A signal in the last moments of the process (Python shutting down) raised
    # KeyboardInterrupt where nothing catches it: a traceback after the command's answer.
    if not EXE.exists():
        pytest.skip("the glassgrad command is not installed beside this Python")
    proc = subprocess.run(
        [sys.executable, "-c", SIGNALLED_AT_EXIT, str(EXE), str(int(signum))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout.startswith("c = tanh(a·b + a²)")


# -- 10. a gzip bomb stops at the header's size ------------------------------------------------------
PEAK_RSS = (
    "import resource, sys\n"
    "from glassgrad.models.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, code)\n"
)


def test_10_an_idx_gzip_is_inflated_only_as_far_as_its_header_promises(model_file, tmp_path):
    images, labels = digits(20)
    small, bomb = tmp_path / "small", tmp_path / "bomb"
    for folder in (small, bomb):
        folder.mkdir()
        write_idx_pair(folder, images, labels)
    (bomb / "train-images-idx3-ubyte").unlink()
    with gzip.open(bomb / "train-images-idx3-ubyte.gz", "wb", compresslevel=1) as f:
        f.write(idx_bytes(images, mnist.IMAGES_MAGIC))
        for _ in range(256):  # 256 MB of zeros past the promised 20 pictures, ~250 kB on disk
            f.write(bytes(1 << 20))
    peak = {}
    for folder in (small, bomb):
        argv = ["predict", str(model_file), "--index", "0", "--data", str(folder)]
        proc = subprocess.run([sys.executable, "-c", PEAK_RSS, *argv], capture_output=True, text=True, timeout=60)
        kilobytes, code = proc.stdout.split()[-2:]
        peak[folder.name] = int(kilobytes)
        assert code == ("0" if folder is small else "2"), proc.stderr
    assert_one_line(proc.stderr, "too long", "20 × 28 × 28")
    assert peak["bomb"] - peak["small"] < 64 * 1024  # kB: far below the 256 MB it would inflate to


# -- 11. pictures: transparency and no ink -----------------------------------------------------------
def test_11_a_dark_digit_on_transparent_paper_reads_like_one_on_white(model_file, tmp_path):
    rgba = np.zeros((28, 28, 4), np.uint8)
    rgba[..., 3] = a_digit()  # black ink, visible only through alpha
    transparent = picture(tmp_path / "alpha.png", rgba, "RGBA")
    on_white = picture(tmp_path / "white.png", a_digit(ink=0, paper=255))
    blank = picture(tmp_path / "blank.png", np.full((28, 28), 255, np.uint8))
    dot = picture(tmp_path / "dot.png", np.zeros((1, 1), np.uint8))
    code, out, err = glassgrad("predict", model_file, transparent, on_white)
    assert code == 0, err
    (p1, p2) = [line.split("p(9) = ")[1] for line in out.splitlines()]
    assert p1 == p2
    for path in (blank, dot):
        code, out, err = glassgrad("predict", model_file, on_white, path)
        assert code == 2 and out == ""
        assert_one_line(err, path.name, "no ink")


# A 28×28 grey PNG whose IDAT chunk claims 20 bytes (it holds 28): Pillow reads the next chunk's
# header from inside the compressed pixels and raises SyntaxError ("broken PNG file").
BROKEN_PNG = bytes.fromhex(
    "89504e470d0a1a0a"  # signature
    "0000000d 49484452 0000001c0000001c0800000000 57668048"  # IHDR: 28×28, 8-bit grey; CRC
    "00000014 49444154 789c63601864801199f31f4d80099fce51c9e12539e80000c9cd0124 cfda4507"  # IDAT
    "00000000 49454e44 ae426082"  # IEND
)


def test_11_a_png_with_a_broken_chunk_is_one_line_naming_the_file(model_file, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(BROKEN_PNG)
    with pytest.raises(mnist.DataError, match=r"broken\.png cannot be read as a picture \(broken PNG file"):
        load_digit_image(broken)
    code, out, err = glassgrad("predict", model_file, broken)
    assert code == 2 and out == ""
    assert_one_line(err, "broken.png", "cannot be read", "broken PNG file")


def chunk(kind, body):
    """One PNG chunk: length, type, body and its CRC."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(image, *extra):
    """A grey PNG of ``image`` with the chunks ``extra`` between its header and its pixels."""
    rows = b"".join(b"\0" + row.tobytes() for row in image)  # filter byte 0 before each row
    header = chunk(b"IHDR", struct.pack(">IIBBBBB", image.shape[1], image.shape[0], 8, 0, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + b"".join(extra) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def ico(width, height, picture):
    """An icon file of one picture (PNG bytes) whose directory entry claims ``width``×``height``."""
    entry = struct.pack("<BBBBHHII", width, height, 0, 0, 1, 32, len(picture), 6 + 16)
    return struct.pack("<HHH", 0, 1, 1) + entry + picture


def animation_control(frames):
    """APNG's acTL chunk: the number of frames, then how often to loop (0 = for ever)."""
    return chunk(b"acTL", struct.pack(">II", frames, 0))


# Icons and animated PNGs whose damage Pillow works around with a UserWarning: the picture
# it decodes is whole, so each is predicted as the plain PNG is.
DAMAGED_BUT_DECODABLE = {
    "size.ico": ico(32, 32, png(a_digit())),  # the directory says 32×32, the picture is 28×28
    "no-frames.png": png(a_digit(), animation_control(0)),
    "two-controls.png": png(a_digit(), animation_control(1), animation_control(1)),
}


def test_11_damaged_icons_and_animated_pngs_are_predicted_without_a_warning(model_file, tmp_path):
    plain = tmp_path / "plain.png"
    plain.write_bytes(png(a_digit()))
    paths = [plain]
    for name, content in DAMAGED_BUT_DECODABLE.items():
        paths.append(tmp_path / name)
        paths[-1].write_bytes(content)
    code, out, err = glassgrad("predict", model_file, *paths)
    assert (code, err) == (0, "")
    assert len({line.split("p(9) = ")[1] for line in out.splitlines()}) == 1, out


def test_11_an_icon_or_animated_png_warned_about_then_undecodable_is_one_line(model_file, tmp_path):
    idat = b"\0\0\0\x14IDAT"  # BROKEN_PNG's pixels, with a chunk of no frames before them
    broken = BROKEN_PNG.replace(idat, animation_control(0) + idat)
    for name, content in {"broken.png": broken, "broken.ico": ico(32, 32, broken)}.items():
        path = tmp_path / name
        path.write_bytes(content)
        code, out, err = glassgrad("predict", model_file, path)
        assert code == 2 and out == ""
        assert_one_line(err, name, "cannot be read")


# -- 12. graph options, downloads, FIFOs, paths in errors --------------------------------------------
def test_12_graph_takes_negative_numbers_refuses_non_finite_ones_and_says_error(tmp_path):
    code, _, err = glassgrad("graph", "--w", "-1e4", "2", "--b", "-.5", "--out", tmp_path / "g")
    assert code == 0, err
    for argv, word in (
        (["--x", "nan", "1"], "nan"),
        (["--w", "inf", "1"], "inf"),
        (["--x", "1", "2", "3"], "features"),
    ):
        code, _out, err = glassgrad("graph", *argv, "--out", tmp_path / "h")
        assert code == 2
        assert_one_line(err, word)


def test_12_a_fifo_named_like_data_is_refused_not_waited_on(tmp_path):
    folder = tmp_path / "fifo"
    folder.mkdir()
    os.mkfifo(folder / "x.csv")
    code, _, err = glassgrad("train", "--data", folder, "--out", tmp_path / "run", timeout=30)
    assert code == 2
    assert_one_line(err, "x.csv", "not a regular file")


def test_12_an_unwritable_out_fails_before_training(data, tmp_path):
    (tmp_path / "file").write_text("")
    # a million epochs: only a check made before training can answer within the timeout
    argv = ["--epochs", "1000000", "--patience", "0", "--out", tmp_path / "file" / "sub"]
    code, out, err = glassgrad("train", "--data", data, *argv, timeout=60)
    assert code == 2 and out == ""
    assert_one_line(err, str(tmp_path / "file" / "sub"))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


class _Stalling(http.server.BaseHTTPRequestHandler):
    """Promises a large file, sends a little of it, then waits."""

    def do_GET(self):
        if "missing" in self.path:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(10**7))
        self.end_headers()
        self.wfile.write(b"\x1f\x8b" + bytes(1000))
        self.wfile.flush()
        self.server.stalled.wait(30)

    def log_message(self, *args):
        pass


@pytest.fixture
def stalling_server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Stalling)
    httpd.stalled = threading.Event()
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.stalled.set()
    httpd.shutdown()
    httpd.server_close()


def test_12_download_from_a_mirror_and_sigterm_leaves_no_part_file(stalling_server, tmp_path):
    cache = tmp_path / "cache"
    code, _, err = glassgrad("train", "--download", "--mirror", stalling_server + "missing/", "--cache-dir", cache)
    assert code == 2
    assert_one_line(err, stalling_server + "missing/", "HTTP 404")
    argv = ["train", "--download", "--mirror", stalling_server, "--cache-dir", cache, "--out", tmp_path / "run"]
    proc = subprocess.Popen([*COMMAND, *map(str, argv)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not list(cache.glob(".*")) and time.monotonic() < deadline:
        time.sleep(0.05)  # the temporary file of the first download exists
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert_one_line(err, status="interrupted")
    assert os.listdir(cache) == [] and not (tmp_path / "run").exists()


# -- 13. a model or a picture that is a FIFO, a device or a folder ---------------------------------
def test_13_a_fifo_given_as_the_model_or_a_picture_is_refused_not_waited_on(model_file, tmp_path):
    fifo = tmp_path / "fifo.npz"
    os.mkfifo(fifo)
    picture = tmp_path / "one.png"
    picture.write_bytes(png(a_digit()))
    runs = {
        "model file": [*COMMAND, "predict", str(fifo), str(picture)],
        "image": [*COMMAND, "predict", str(model_file), str(fifo)],
    }
    procs = {
        what: subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for what, argv in runs.items()
    }
    for what, proc in procs.items():
        try:
            out, err = proc.communicate(timeout=30)
        finally:
            proc.kill()
        assert proc.returncode == 2 and out == "", what
        assert_one_line(err, f"{what} {fifo}", "not a regular file")


# -- 14. where export writes -------------------------------------------------------------------------
def exit_status(argv):
    """main's exit status, also when the parser exits on its own."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def test_14_export_never_writes_over_its_model_a_fifo_or_a_device(model_file, tmp_path, capsys):
    model = tmp_path / "model.onnx"  # named like the file export writes by default
    model.write_bytes(model_file.read_bytes())
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for out, words in (
        ([], ("--out", "is the model file")),
        (["--out", str(model)], ("--out", "is the model file")),
        (["--out", str(fifo)], (str(fifo), "not a regular file")),
        (["--out", str(tmp_path)], (str(tmp_path), "folder")),
        (["--out", ""], ("--out", "empty")),
    ):
        assert exit_status(["export", str(model), "--to", "onnx", *out]) == 2, out
        captured = capsys.readouterr()
        assert captured.out == "", out
        assert_one_line(captured.err, *words)
    assert model.read_bytes() == model_file.read_bytes() and fifo.is_fifo()
    assert sorted(os.listdir(tmp_path)) == ["fifo", "model.onnx"]


def test_14_a_path_the_system_refuses_to_look_at_is_the_command_s_one_line(tmp_path, capsys):
    too_long = tmp_path / ("x" * 300)  # longer than a file name may be
    for argv in (
        ["train", "--out", str(too_long)],
        ["descent", "--out", str(too_long)],
        ["predict", "m", "--data", str(too_long)],
    ):
        assert exit_status(argv) == 2
        err = capsys.readouterr().err
        assert_one_line(err, f"glassgrad {argv[0]}: error: argument")


# -- 15. a machine without graphviz --------------------------------------------------------------------
def test_15_train_without_graphviz_says_so_in_one_line_per_warning(data, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` there
    assert main(["train", "--data", str(data), "--max-iterations", "2", "--quiet", "--out", str(tmp_path / "run")]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and all(line.startswith("glassgrad train: warning: graphviz's `dot`") for line in lines), (
        lines
    )
    assert (tmp_path / "run" / "graph_forward.dot").exists() and (tmp_path / "run" / "model.npz").exists()


# -- 16. more than the machine's memory ------------------------------------------------------------------
def test_16_a_run_too_large_for_the_memory_is_one_line(tmp_path):
    import resource

    def little_memory():  # 1.5 GiB of address space; the shifted copies of the embedded sample take 3 GiB
        resource.setrlimit(resource.RLIMIT_AS, (3 << 29, 3 << 29))

    argv = ["train", "--shifted-copies", "100", "--max-iterations", "1", "--quiet", "--out", tmp_path / "run"]
    proc = subprocess.run(
        [*COMMAND, *map(str, argv)], capture_output=True, text=True, timeout=120, preexec_fn=little_memory
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert_one_line(proc.stderr, "out of memory", "unable to allocate")
    assert os.listdir(tmp_path) == []


def test_8_the_commands_load_only_inside_main_where_ctrl_c_is_one_line():
    # Ctrl-C while a module loads outside main()'s handler is Python's KeyboardInterrupt traceback
    # when a program imports the command line and calls main(), which no entry point wraps:
    # importing it must not load the commands (the drawing library, ...).
    check = (
        "import sys, glassgrad.models.cli\n"
        "names = ('demo', 'train', 'predict', 'export', 'descent', 'graph')\n"
        "print(sorted(m for m in sys.modules if m in [f'glassgrad.models.commands.{n}' for n in names]))"
    )
    proc = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# -- 17. arguments a command does not take -----------------------------------------------------------------
def test_17_an_unknown_argument_is_the_subcommand_s_error(model_file, capsys):
    for argv in (["demo", "x"], ["predict", str(model_file), "--index", "0", "--colour"], ["graph", "--out", "g", "x"]):
        assert exit_status(argv) == 2
        err = capsys.readouterr().err
        assert_one_line(err, f"glassgrad {argv[0]}: error: unrecognized arguments: {argv[-1]}")


# -- 18. a model whose weights overflow ---------------------------------------------------------------------
def test_18_a_probability_that_is_not_a_number_is_an_error_not_an_answer(tmp_path, capsys):
    w = np.where(np.arange(784) % 2 == 0, 1e308, -1e308)  # finite, but x·w is inf − inf = NaN
    path = model_with(tmp_path, "overflowing", w=w)
    assert main(["predict", str(path), "--index", "0"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert_one_line(captured.err, str(path), "not a number", "[0]")


# -- 19. a terminal or file that cannot show every character --------------------------------------------
def test_19_output_to_an_ascii_only_stream_escapes_what_it_cannot_show(model_file):
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}  # as a file written through Windows' cp1252
    code, out, err = glassgrad("predict", model_file, "--index", "0", env=env)
    assert (code, err) == (0, "") and "p(9) = " in out and "\\u2192" in out  # → escaped
    code, out, err = glassgrad("predict", model_file, "--index", "x", env=env)
    assert code == 2 and out == ""
    assert_one_line(err, "--index")


# -- 20. a file the command writes is a folder already -----------------------------------------------------
def test_20_a_folder_in_the_place_of_an_output_file_is_named_and_kept(tmp_path, capsys):
    for argv, taken in ((["graph"], "forward.svg"), (["descent"], "descent.png")):
        out = tmp_path / argv[0]
        (out / taken).mkdir(parents=True)
        assert main([*argv, "--out", str(out)]) == 2
        captured = capsys.readouterr()
        assert_one_line(captured.err, f"glassgrad {argv[0]}: error: {out / taken}: ")
        assert (out / taken).is_dir() and not [p for p in out.iterdir() if p.name.startswith(".")]


def test_19_a_file_name_that_is_not_utf_8_is_printed_as_it_is_where_the_output_can(model_file, tmp_path):
    name = os.fsencode(tmp_path) + b"/digit\xff.png"  # a byte no UTF-8 text has
    with open(name, "wb") as f:
        f.write(png(a_digit()))
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:surrogateescape"}  # Python's own choice in the C locale
    proc = subprocess.run([*COMMAND, "predict", str(model_file), os.fsdecode(name)], capture_output=True, env=env)
    assert proc.returncode == 0 and proc.stderr == b""
    assert proc.stdout.startswith(name + b"  p(9) = ")


def test_a_reader_that_leaves_ends_the_command_quietly():
    """`glassgrad demo | head -0`: the reader closed the pipe before the first line. A
    writer to a closed pipe stops without a word, with 141 (128 + SIGPIPE) as a shell's
    tools do; it said "error: [Errno 32] Broken pipe" with exit 2."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([*COMMAND, "demo"], stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write_end)
    assert proc.returncode == 141 and proc.stderr == ""


def test_graph_of_a_sample_whose_product_overflows_is_refused(tmp_path):
    """x·w beyond float64 was drawn and explained as z = inf under numpy's overflow warnings."""
    status, _, err = glassgrad("graph", "--x", "1e308", "1e308", "--w", "1e308", "1e308", "--out", tmp_path / "g")
    assert status == 2
    assert_one_line(err, "overflow", "smaller")
    assert not (tmp_path / "g").exists()
