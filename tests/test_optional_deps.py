"""Each optional part degrades with one line: a missing graphviz package, `dot`, matplotlib
or Pillow gives an ImportError naming the extra, a one-line CLI error with exit 2, and in a
notebook the text listing instead of a traceback."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from glassgrad import MissingDependency, Tensor, binary_cross_entropy_with_logits
from glassgrad.models import plots
from glassgrad.models.images import load_digit_image
from glassgrad.viz import VizWarning, draw


def small_loss():
    w = Tensor([0.5, -0.5], requires_grad=True, name="w")
    return binary_cross_entropy_with_logits(Tensor([1.0, 2.0]) @ w, Tensor(1.0))


@pytest.fixture
def no_graphviz(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # `import graphviz` now raises ImportError


def test_without_graphviz_a_picture_is_an_import_error_naming_the_extra(no_graphviz, tmp_path):
    view = draw(small_loss())
    for ask in (lambda: view.save(tmp_path / "g.svg"), lambda: view.source, view.svg):
        with pytest.raises(ImportError, match=r"graphviz, which is not installed: pip install 'glassgrad\[viz\]'"):
            ask()
    assert not (tmp_path / "g.svg").exists()
    view.save(tmp_path / "g.txt")  # the listing needs no graphviz
    assert "bce_with_logits" in (tmp_path / "g.txt").read_text()


def test_without_graphviz_a_notebook_shows_the_listing(no_graphviz):
    view = draw(small_loss())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bundle = view._repr_mimebundle_()
    assert bundle == {"text/plain": view.text}
    assert [str(w.message) for w in caught if w.category is VizWarning] == [
        "drawing a graph as svg needs the Python package graphviz, which is not installed: "
        "pip install 'glassgrad[viz]'; showing the text listing instead."
    ]


def test_without_matplotlib_plots_name_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingDependency, match=r"plotting needs the Python package matplotlib.*glassgrad\[train\]"):
        plots.weights_heatmap(tmp_path / "w.png", np.zeros(784), 9)


def test_without_pillow_pictures_name_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "PIL.Image", None)
    with pytest.raises(MissingDependency, match=r"the Python package Pillow, .*pip install 'glassgrad\[train\]'"):
        load_digit_image(tmp_path / "x.png")


def cli_without(module, argv, cwd):
    """Run the CLI in a fresh interpreter where ``module`` cannot be imported."""
    code = (
        f"import sys; sys.modules[{module!r}] = None; from glassgrad.models.cli import main; sys.exit(main({argv!r}))"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.mark.parametrize(
    ("module", "argv", "extra"),
    [
        ("graphviz", ["graph", "--out", "g"], "viz"),
        ("matplotlib", ["train", "--quiet", "--epochs", "1"], "train"),
        ("matplotlib", ["descent"], "train"),
    ],
)
def test_the_cli_without_an_extra_says_so_in_one_line(module, argv, extra, tmp_path):
    run = cli_without(module, argv, cwd=tmp_path)
    assert run.returncode == 2, run.stderr
    (line,) = run.stderr.splitlines()
    assert line.startswith(f"glassgrad {argv[0]}: error: ") and line.endswith(f"pip install 'glassgrad[{extra}]'")
    assert not (tmp_path / "runs").exists()  # train stops before training, not after
