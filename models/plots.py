"""The pictures of a training run (matplotlib, Agg backend: no display needed).

Each figure is rendered to memory and written atomically, so a reader never sees
half a PNG.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from glassgrad.optional import require

from .atomic import write_atomic
from .formatting import probability


def _pyplot() -> Any:
    matplotlib = require("matplotlib", "train", "plotting")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def check_available() -> None:
    """Raise ``MissingDependency`` now when matplotlib is missing, not after training."""
    _pyplot()


def _save(fig: Any, path: str | os.PathLike[str]) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    return write_atomic(path, lambda f: f.write(buf.getvalue()))


def loss_curve(path: str | os.PathLike[str], batch_losses: np.ndarray, history: Sequence[Any], title: str) -> Path:
    """Loss against iterations: every batch (thin), the epoch's mean training loss and
    the validation loss (markers), on a log scale."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    its = np.arange(1, len(batch_losses) + 1)
    if len(history) < len(batch_losses):  # minibatches: show their noise
        ax.plot(its, batch_losses, color="#9ecae1", lw=0.6, label="batch loss")
    ep_its = [h.iteration for h in history]
    ax.plot(ep_its, [h.train_loss for h in history], "o-", color="#08519c", ms=3, label="training loss (epoch mean)")
    val = [(h.iteration, h.val_loss) for h in history if h.val_loss is not None]
    if val:
        ax.plot(*zip(*val), "s-", color="#d94801", ms=3, label="validation loss")
    ax.set_yscale("log")
    ax.set_xlabel("iteration (optimizer steps)")
    ax.set_ylabel("mean binary cross-entropy")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return _save(fig, path)


def weights_heatmap(path: str | os.PathLike[str], w: np.ndarray, digit: int) -> Path:
    """The 784 weights as a 28×28 image, diverging colours centred at 0: red pixels push
    the logit up (ink there says "digit"), blue pixels push it down."""
    plt = _pyplot()
    img = np.asarray(w, dtype=np.float64).reshape(28, 28)
    lim = float(np.abs(img).max()) or 1.0
    fig, ax = plt.subplots(figsize=(5, 4.4))
    im = ax.imshow(img, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
    cbar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    cbar.set_label(f"weight: red = ink here means '{digit}', blue = means not")
    ax.set_title(f"What the {digit}-detector looks at (w as 28×28)")
    ax.set_xticks([])
    ax.set_yticks([])
    return _save(fig, path)


def weight_grid(path: str | os.PathLike[str], W: np.ndarray, title: str, max_units: int = 64) -> Path:
    """Each row of the first layer's weights W (units × 784) as a 28×28 image, in a grid
    (the first ``max_units``): what each unit looks for in the pixels. Each image has its
    own colour scale centred at 0 (red = ink here raises the unit, blue = lowers it)."""
    plt = _pyplot()
    W = np.asarray(W, dtype=np.float64)[:max_units]
    cols = int(np.ceil(np.sqrt(len(W))))
    rows = -(-len(W) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.1 * cols, 1.1 * rows + 0.5), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= len(W):
            ax.axis("off")
            continue
        lim = float(np.abs(W[k]).max()) or 1.0
        ax.imshow(W[k].reshape(28, 28), cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
        ax.set_title(str(k), fontsize=7, pad=1)
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def confusion_matrix(path: str | os.PathLike[str], confusion: Sequence[Sequence[int]], title: str) -> Path:
    """The confusion matrix as a picture: row = true digit, column = predicted digit,
    each cell's count written in it; shaded by the share of its row (recall on the
    diagonal), so the common mistakes stand out whatever the class sizes."""
    plt = _pyplot()
    counts = np.asarray(confusion)
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    k = len(counts)
    fig, ax = plt.subplots(figsize=(0.55 * k + 2, 0.55 * k + 1.5))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(k):
        for j in range(k):
            color = "white" if share[i, j] > 0.5 else "black"
            ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=7, color=color)
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


def mistakes_grid(
    path: str | os.PathLike[str],
    images: np.ndarray,
    labels: np.ndarray,
    proba: np.ndarray,
    digit: int,
    threshold: float,
    per_kind: int = 8,
) -> Path:
    """The most confident mistakes: false positives (highest p among other digits) and
    false negatives (lowest p among the digit), each with its label and p."""
    plt = _pyplot()
    positive = labels == digit
    pred = proba >= threshold
    fp = np.flatnonzero(pred & ~positive)
    fn = np.flatnonzero(~pred & positive)
    t = probability(threshold)
    rows = [
        (f"false positives (not a {digit}, p ≥ {t})", fp[np.argsort(-proba[fp])][:per_kind]),
        (f"false negatives (a {digit}, p < {t})", fn[np.argsort(proba[fn])][:per_kind]),
    ]
    fig, axes = plt.subplots(2, per_kind, figsize=(1.3 * per_kind, 3.6), squeeze=False)
    for r, (title, idx) in enumerate(rows):
        for c in range(per_kind):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(idx):
                i = idx[c]
                ax.imshow(images[i], cmap="gray_r", vmin=0, vmax=255)
                ax.set_title(f"label {labels[i]}\np = {probability(proba[i], threshold, 3)}", fontsize=8)
            else:
                ax.axis("off")
        axes[r, 0].set_ylabel("FP" if r == 0 else "FN", rotation=0, labelpad=14, fontsize=10)
        if not len(idx):
            axes[r, 0].text(0, 0.5, "none", transform=axes[r, 0].transAxes)
        fig.text(0.5, 0.98 - 0.49 * r, f"{title}: {len(fp) if r == 0 else len(fn)} in all", ha="center", fontsize=10)
    fig.subplots_adjust(top=0.86, hspace=0.75)
    return _save(fig, path)


def descent_plot(
    path: str | os.PathLike[str], runs: Sequence[tuple[str, Sequence[float]]], lo: float, hi: float
) -> Path:
    """f(x) = x² on [lo, hi] with the iterates of gradient descent, one panel per run
    (titled by its label, e.g. the learning rate); iterates outside [lo, hi] are drawn
    at the edge."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(runs), figsize=(4.2 * len(runs), 3.8), squeeze=False)
    xs = np.linspace(lo, hi, 400)
    for ax, (label, path_x) in zip(axes[0], runs):
        px = np.asarray(path_x, dtype=np.float64)
        shown = np.clip(px, lo, hi)
        ax.plot(xs, xs**2, color="0.6", lw=1.5, label="f(x) = x²")
        ax.plot(shown, shown**2, "-", color="#d94801", lw=0.8, alpha=0.6)
        ax.scatter(
            shown, shown**2, c=np.arange(len(px)), cmap="viridis", s=18, zorder=3, label="iterates (dark → light)"
        )
        ax.plot(shown[:1], shown[:1] ** 2, "k*", ms=10, label=f"x₀ = {px[0]:g}")
        ax.set_title(f"{label}\n{len(px) - 1} steps, last x = {px[-1]:.3g}", fontsize=10)
        ax.set_xlim(lo, hi)
        ax.set_ylim(-0.05 * hi**2, 1.05 * max(lo**2, hi**2))
        ax.set_xlabel("x")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("f(x)")
    axes[0][0].legend(fontsize=8, loc="upper center")
    return _save(fig, path)
