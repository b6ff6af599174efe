"""Make every figure of the documentation from the library itself.

    python docs/make_figures.py              # writes docs/images/
    python docs/make_figures.py --fast --out DIR   # quick run (the test suite does this)

Each figure is one function below; the numbers in it are computed by glassgrad, so
a change in the library shows up in the pictures the next time this script runs.
The explorer's pictures are screenshots taken in headless Chromium (the browser tests'
own, tests/browser.py); without it they are skipped with a note, and the files listed
in BROWSER_FIGURES keep their last version.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: never open a window
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run from a checkout without installing
sys.path.insert(0, str(ROOT / "tests"))  # the headless browser of the browser tests

import browser  # noqa: E402
from glassgrad import Scalar, Tensor, binary_cross_entropy  # noqa: E402
from glassgrad.models import plots  # noqa: E402
from glassgrad.models.graphs import write_docs_figures, write_explorers  # noqa: E402
from glassgrad.models.logistic import LogisticModel  # noqa: E402
from glassgrad.models.mnist import binary_targets, load_embedded, train_val_split  # noqa: E402
from glassgrad.models.network import DigitClassifier, HiddenLayerDetector  # noqa: E402
from glassgrad.models.stopping import MaxIterations, Patience  # noqa: E402
from glassgrad.models.train import FitSettings, fit  # noqa: E402
from glassgrad.optim import SGD, Adam  # noqa: E402


def first_nine() -> np.ndarray:
    """The 9 the tutorial follows: the first 9 of the embedded MNIST sample."""
    digits = load_embedded()
    return digits.images[int(np.flatnonzero(digits.labels == 9)[0])]


DPI = 110


def _save(fig: plt.Figure, path: Path) -> None:
    """Write a matplotlib figure atomically (temp file in the same folder, then rename)."""
    buf = io.BytesIO()
    fig.savefig(buf, format=path.suffix.lstrip("."), dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    _write(path, buf.getvalue())


def _write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o644)  # mkstemp makes the file private; a figure is for everyone
    os.replace(tmp, path)


# -- the data ---------------------------------------------------------------------------------


def digit_numbers(out: Path, fast: bool) -> None:
    """One MNIST 9 as the computer sees it: a 28×28 grid of brightness values 0..255,
    each cell shaded by its value so the digit shows through the numbers."""
    image = first_nine()
    fig, ax = plt.subplots(figsize=(9.5, 9.5))
    ax.imshow(image, cmap="gray_r", vmin=0, vmax=400)  # vmax > 255: dark ink stays readable
    for (r, c), v in np.ndenumerate(image):
        # zeros in light grey, so the ink's numbers stand out
        ax.text(c, r, str(v), ha="center", va="center", fontsize=6.5, color="0.7" if v == 0 else "black")
    ax.set_title("A 9 as the model sees it: 28 × 28 = 784 numbers (0 = paper, 255 = ink)", fontsize=12)
    ax.set_xticks(range(0, 28, 7))
    ax.set_yticks(range(0, 28, 7))
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    _save(fig, out / "digit_numbers.png")


# -- the loss ----------------------------------------------------------------------------


def log_loss(out: Path, fast: bool) -> None:
    """−ln p for a 9 (y = 1) and −ln(1 − p) for a non-9 (y = 0), as glassgrad's
    binary_cross_entropy computes them."""
    p = np.linspace(0.001, 0.999, 200 if fast else 999)
    loss_nine = binary_cross_entropy(Tensor(p), Tensor(np.ones_like(p)), reduction="none").data
    loss_other = binary_cross_entropy(Tensor(p), Tensor(np.zeros_like(p)), reduction="none").data
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.plot(p, loss_nine, lw=2.2, label="the image is a 9 (y = 1):  loss = −ln p")
    ax.plot(p, loss_other, lw=2.2, ls="--", label="the image is not a 9 (y = 0):  loss = −ln(1 − p)")
    for q, note, xy in [
        (0.9, "right and sure:\nloss 0.11", (0.72, 1.4)),
        (0.01, "wrong and sure:\nloss 4.6", (0.12, 5.3)),
    ]:
        ax.plot([q], [-np.log(q)], "o", color="C0")
        ax.annotate(note, (q, -np.log(q)), xytext=xy, arrowprops={"arrowstyle": "->", "color": "0.3"}, fontsize=10)
    ax.set(xlabel="p = the model's probability that the image is a 9", ylabel="loss", xlim=(0, 1), ylim=(0, 7))
    ax.set_title("Log loss: a confident mistake costs far more than a hesitant one")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", fontsize=9)
    _save(fig, out / "log_loss.png")


# -- gradient descent --------------------------------------------------------------------


def descend(x0: float, lr: float, steps: int) -> list[float]:
    """Gradient descent on f(x) = x², each gradient from glassgrad's backward."""
    xs = [x0]
    for _ in range(steps):
        x = Scalar(xs[-1])
        (x * x).backward()
        xs.append(xs[-1] - lr * x.grad)
    return xs


def gradient_descent(out: Path, fast: bool) -> None:
    """The same start, three learning rates: too small, about right, too large."""
    cases = [
        (0.02, "lr = 0.02: too small, creeps"),
        (0.3, "lr = 0.3: about right"),
        (1.05, "lr = 1.05: too large, diverges"),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    for ax, (lr, title) in zip(axes, cases):
        xs = np.array(descend(4.0, lr, 8))
        reach = max(5.2, 1.05 * np.abs(xs).max())  # the diverging run needs a wider view
        grid = np.linspace(-reach, reach, 200)
        ax.plot(grid, grid**2, color="0.6", lw=1.5)
        ax.plot(xs, xs**2, "-o", color="C3", ms=5, lw=1)
        ax.annotate(
            "start",
            (xs[0], xs[0] ** 2),
            xytext=(8, -34),
            textcoords="offset points",
            fontsize=9,
            arrowprops={"arrowstyle": "->"},
        )
        ax.annotate(f"after 8 steps: x = {xs[-1]:.2g}", (0.03, 0.92), xycoords="axes fraction", fontsize=9)
        ax.set(title=title, xlabel="x", xlim=(-reach, reach), ylim=(-0.04 * reach**2, 1.08 * reach**2))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("f(x) = x²")
    fig.suptitle("Gradient descent, 8 steps of x ← x − lr · f′(x) from x = 4", y=1.02)
    _save(fig, out / "gradient_descent.png")


# -- training ----------------------------------------------------------------------------


def training(out: Path, fast: bool) -> None:
    """The 9-detector trained as in the tutorial (section 7): its loss curve, its
    weights as a 28×28 picture and its most confident mistakes, drawn by the same
    functions ``glassgrad train`` uses."""
    digits = load_embedded()
    X, y = digits.features(), binary_targets(digits.labels, 9)
    train_idx, val_idx = train_val_split(len(digits), 0.2, seed=0)
    model = LogisticModel()
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
    stop = MaxIterations(40 if fast else 2000) | Patience(5, on="val")
    result = fit(
        model,
        X[train_idx],
        y[train_idx],
        optimizer=optimizer,
        stop=stop,
        val=(X[val_idx], y[val_idx]),
        settings=FitSettings(batch_size=100),
    )
    title = f"9-detector: loss on {len(train_idx):,} training and {len(val_idx):,} validation digits"
    plots.loss_curve(out / "loss_curve.png", result.batch_losses, result.history, title)
    plots.weights_heatmap(out / "weights.png", model.w.data, 9)
    val = digits.subset(val_idx)
    plots.mistakes_grid(out / "mistakes.png", val.images, val.labels, model.predict_proba(X[val_idx]), 9, 0.5)


def networks(out: Path, fast: bool) -> None:
    """The networks of "from one unit to a network", trained on the embedded sample as
    ``glassgrad train --hidden 16`` and ``--classes 10`` do: the hidden units' weights,
    the ten digit templates of the softmax classifier, and its confusion matrix on the
    embedded test digits."""
    digits, test = load_embedded(), load_embedded("test")
    X, Xt = digits.features(), test.features()
    settings = FitSettings(batch_size=100)
    steps = 20 if fast else 60 * 12  # 12 epochs of the 6,000 training digits, batches of 100
    detector = HiddenLayerDetector(16, seed=0)
    y9 = binary_targets(digits.labels, 9)
    fit(detector, X, y9, optimizer=Adam(detector.parameters()), stop=MaxIterations(steps), settings=settings)
    title = "9-detector with 16 hidden units: what each unit looks for (its weights as 28×28)"
    plots.weight_grid(out / "hidden_units.png", detector.first_layer.weight.data, title)
    classifier = DigitClassifier(seed=0)
    labels = digits.labels.astype(np.float64)
    fit(classifier, X, labels, optimizer=Adam(classifier.parameters()), stop=MaxIterations(steps), settings=settings)
    plots.weight_grid(
        out / "digit_templates.png", classifier.first_layer.weight.data, "softmax classifier: row k of W as 28×28"
    )
    m = classifier.metrics(Xt, test.labels)
    title = f"softmax classifier on the {m.n:,} embedded test digits: accuracy {m.accuracy:.4f}"
    plots.confusion_matrix(out / "confusion.png", m.confusion, title)


# -- graphs ----------------------------------------------------------------------------------


def visualization(out: Path, fast: bool) -> None:
    """The graphs of the visualization page and the tutorial, in ``viz/``: the logistic
    unit's forward and backward graphs, its explain() text and listing, a value used
    three times, a network highlighted and folded."""
    write_docs_figures(out / "viz")


# -- the explorer ----------------------------------------------------------------------------

#: What needs the browser: the explorers' screenshots and the README's animation.
BROWSER_FIGURES = ("explorer/logistic.png", "explorer/mlp.png", "explorer/backward.gif")
# Shown on the steps of the animation: the backward pass, from the last forward step
# (the loss computed) through the seed to the last edge.
GIF_STEPS = range(4, 11)
GIF_SECONDS = 1.4


def explorer(out: Path, fast: bool) -> None:
    """The explorers the tutorial and the visualization page embed (``explorer/*.html``)
    and, with Chromium, their pictures: each explorer mid-way through its backward
    pass, and the logistic unit's backward pass stepping edge by edge as a GIF."""
    folder = out / "explorer"
    folder.mkdir(exist_ok=True)
    logistic, mlp = write_explorers(folder)
    reason = browser.missing()
    if reason:
        print(f"skipped the explorer's pictures ({', '.join(BROWSER_FIGURES)}): {reason}")
        return
    with browser.chromium(width=1200, height=1100) as driver:
        _open(driver, logistic, 10)
        _select(driver, "w")
        _write(folder / "logistic.png", driver.get_screenshot_as_png())
        _open(driver, mlp, 16)
        _select(driver, "W2")
        _write(folder / "mlp.png", driver.get_screenshot_as_png())
        # Tall enough that the graph shows at about its natural size.
        driver.set_window_size(620, 1560)
        _open(driver, logistic, GIF_STEPS[0])
        driver.execute_script("document.querySelector('aside').style.display = 'none'")
        frames = []
        for step in GIF_STEPS:
            browser.step_to(driver, step)
            frames.append(Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB"))
        _write(folder / "backward.gif", _gif(frames))


def _open(driver, page: Path, step: int) -> None:
    browser.open_page(driver, page)
    browser.step_to(driver, step)


def _select(driver, name: str) -> None:
    """Click the value box named ``name``, as a reader would, to show its details."""
    driver.execute_script(
        "const t = [...document.querySelectorAll('g.node text')].find(t => t.textContent === arguments[0]);"
        "t.dispatchEvent(new MouseEvent('click', {bubbles: true}))",
        name,
    )


def _gif(frames: list[Image.Image]) -> bytes:
    """An endless GIF of the frames, the last one held longer."""
    small = [f.quantize(colors=64) for f in frames]
    buf = io.BytesIO()
    durations = [int(GIF_SECONDS * 1000)] * (len(small) - 1) + [int(GIF_SECONDS * 2500)]
    small[0].save(buf, format="GIF", save_all=True, append_images=small[1:], duration=durations, loop=0, optimize=True)
    return buf.getvalue()


FIGURES: list[Callable[[Path, bool], None]] = [
    digit_numbers,
    log_loss,
    gradient_descent,
    training,
    networks,
    visualization,
    explorer,
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent / "images", help="folder for the figures"
    )
    parser.add_argument("--fast", action="store_true", help="fewer points and training steps (for the tests)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for make in FIGURES:
        make(args.out, args.fast)
        print(f"made {make.__name__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
