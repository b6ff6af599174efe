"""glassgrad as a user installs it: one import name of its own beside HIPS autograd, deaf
to a models.py in the working folder, and a wheel that carries its data, licence and type
information and runs the commands from wherever it is installed. Offline: the wheel is
built with the test environment's setuptools (no build isolation)."""

import os
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "autograd", "models")


def python(code, cwd, env=None):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def test_hips_autograd_and_glassgrad_live_side_by_side(tmp_path):
    code = (
        "import autograd, autograd.numpy as anp, glassgrad\n"
        "from autograd import grad\n"
        "print(grad(lambda x: anp.sin(x) * x)(0.0), glassgrad.Tensor([2.0, 3.0]).sum().item())\n"
        "print(autograd.__file__)\n"
    )
    run = python(code, tmp_path)
    assert run.returncode == 0, run.stderr
    values, hips_file = run.stdout.splitlines()
    assert values.split() == ["0.0", "5.0"]  # d/dx x·sin x = sin x + x cos x = 0 at 0
    # HIPS's own files, not glassgrad's folder (a virtualenv may live inside the clone)
    assert not Path(hips_file).is_relative_to(ROOT / "autograd")
    assert any(f.parts[0] == "autograd" for f in metadata.distribution("autograd").files)


def test_a_models_py_in_the_working_folder_changes_nothing(tmp_path):
    for name in ("models", "autograd"):
        (tmp_path / f"{name}.py").write_text(f"raise RuntimeError('the working folder's {name}.py was imported')\n")
    run = python("from glassgrad.models.mnist import load_embedded; print(len(load_embedded()))", tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "6000"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """A wheel built from a copy of the repository's sources (the checkout stays untouched)."""
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    src.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, src / name)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", work, src],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    (path,) = work.glob("glassgrad-*.whl")
    return path


def test_the_wheel_carries_the_data_licence_and_types_under_one_name(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    # beside the package, only the command's entry point, which must import before the package does
    assert {n.split("/")[0] for n in names} == {
        "glassgrad",
        "_glassgrad_cli",
        wheel.name.split("-py3")[0] + ".dist-info",
    }
    assert names.count("_glassgrad_cli/__init__.py") == 1 and not [n for n in names if "glassgrad/models/entry" in n]
    for member in (
        "glassgrad/py.typed",
        "glassgrad/models/data/sample/mnist_sample.npz",
        "glassgrad/models/data/sample/README.md",
        "glassgrad/models/data/sample/SHA256SUMS",
        "glassgrad/models/data/make_sample.py",
    ):
        assert member in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert wheel.stat().st_size < 2.5e6  # the whole wheel, data included


def test_the_installed_wheel_trains_predicts_and_draws(wheel, tmp_path):
    target = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", target, wheel],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    env = {**os.environ, "PYTHONPATH": str(target)}  # before site-packages and its editable finder
    where = python("import glassgrad; print(glassgrad.__file__)", tmp_path, env)
    assert Path(where.stdout.strip()).is_relative_to(target), where.stdout + where.stderr

    def glassgrad(*argv, block=""):
        code = f"import sys{block}\nsys.argv[1:] = {list(argv)!r}\nfrom _glassgrad_cli import main\nsys.exit(main())"
        return python(code, tmp_path, env)

    train = glassgrad("train", "--quiet", "--epochs", "2", "--out", "run")
    assert train.returncode == 0, train.stderr
    assert "embedded MNIST training sample (6,000 digits)" in train.stdout and "\ntest " in train.stdout
    predict = glassgrad("predict", "run/model.npz", "--split", "test", "--index", "0")
    assert predict.returncode == 0 and "embedded MNIST test sample (2,000 digits)[0]" in predict.stdout
    graph = glassgrad("graph", "--out", "graphs")
    assert graph.returncode == 0, graph.stderr
    assert (tmp_path / "graphs" / "graph.txt").is_file()
    without_viz = glassgrad("graph", "--out", "graphs2", block="; sys.modules['graphviz'] = None")
    assert without_viz.returncode == 2
    (line,) = without_viz.stderr.splitlines()
    assert line.startswith("glassgrad graph: error: ") and line.endswith("pip install 'glassgrad[viz]'")
