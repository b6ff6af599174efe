"""Choose the hidden-layer 9-detector's recipe on the training set alone, on held-out digits.

Each candidate is the large-data network recipe of ``glassgrad train --hidden 64``
(``glassgrad.models.recipe``) with some settings changed (``lr=0.001``,
``epochs=50,schedule=step``, …). For each split, a random 10,000 of the 60,000 official
training digits are held out, every candidate is fitted on the other 50,000 (784 → 64
ReLU → 1, seed 0) and scored on the held-out ones: F1 for the digit at threshold 0.5,
ROC AUC, log loss, and the threshold that would maximize F1 there (to see whether 0.5
is far from it). A second split shows how much of a difference is noise.
scikit-learn's ``MLPClassifier(hidden_layer_sizes=(64,))`` (its defaults) is fitted
alongside for scale. The test set is never read.

    python benchmarks/mnist_network_select.py --data DIR --candidates "" lr=0.001 pos_weight=1.0 [--splits 2]

DIR holds the official IDX files (raw or gzipped). Needs scikit-learn.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import dataclasses  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402
from glassgrad.models.metrics import best_f1_threshold, binary_metrics, roc_auc  # noqa: E402
from glassgrad.models.network import HiddenLayerDetector  # noqa: E402
from glassgrad.models.recipe import LARGE_FROM, Recipe, recipe_for  # noqa: E402
from mnist_networks import fit_recipe, fit_sklearn_mlp  # noqa: E402
from mnist_recipe_cv import log_loss, mean_scores, selection_parser, training_digits  # noqa: E402

BASE = recipe_for(LARGE_FROM, "network")
HELD_OUT = 10_000
TUNABLE = ("lr", "batch_size", "epochs", "pos_weight", "schedule", "dtype", "shifted_copies")
# fit(X_train, y_train) -> (predict: X -> p(digit), seconds of the fit)
Fitter = Callable[[np.ndarray, np.ndarray], tuple[Callable[[np.ndarray], np.ndarray], float]]


def parse_candidate(text: str) -> Recipe:
    """``"lr=0.001,epochs=50"`` → the network recipe with those settings replaced."""
    changes: dict[str, object] = {}
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        if not sep or key not in TUNABLE:
            raise SystemExit(f"candidate {text!r}: expected key=value with key in {TUNABLE}, got {item!r}")
        changes[key] = type(getattr(BASE, key))(value)
    return dataclasses.replace(BASE, **changes)  # type: ignore[arg-type]


def glassgrad_fitter(recipe: Recipe) -> Fitter:
    def fit(X: np.ndarray, y: np.ndarray) -> tuple[Callable[[np.ndarray], np.ndarray], float]:
        dtype = np.dtype(recipe.dtype)
        model = HiddenLayerDetector(64, X.shape[1], dtype, seed=0)
        seconds = fit_recipe(model, X.astype(dtype, copy=False), y.astype(dtype), recipe)
        return lambda X_: model.predict_proba(X_.astype(dtype, copy=False)), seconds

    return fit


def sklearn_fitter(X: np.ndarray, y: np.ndarray) -> tuple[Callable[[np.ndarray], np.ndarray], float]:
    mlp, seconds = fit_sklearn_mlp(X, y)
    return lambda X_: mlp.predict_proba(X_)[:, 1], seconds


def score(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """F1 at 0.5, ROC AUC, log loss and the F1-best threshold of ``p`` against ``y``."""
    threshold, _ = best_f1_threshold(y, p)
    return {"f1": binary_metrics(y, p).f1, "auc": roc_auc(y, p), "log_loss": log_loss(y, p), "threshold": threshold}


def main() -> None:
    args = selection_parser(__doc__, "lr=0.001,epochs=50", 2, "random held-out sets (seeds 0..n-1)").parse_args()
    X, y = training_digits(args.data, args.digit)
    fitters: dict[str, Fitter] = {c or "recipe": glassgrad_fitter(parse_candidate(c)) for c in args.candidates}
    if not args.no_sklearn:
        fitters["scikit-learn MLPClassifier(64)"] = sklearn_fitter
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; recipe {BASE}; {len(y) - HELD_OUT:,} training and "
        f"{HELD_OUT:,} held-out digits, {args.splits} splits, digit {args.digit}; load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    rows: dict[str, list[tuple[dict[str, float], float]]] = {name: [] for name in fitters}
    for split in range(args.splits):
        order = np.random.default_rng(split).permutation(len(y))
        held_out, fitted = np.sort(order[:HELD_OUT]), np.sort(order[HELD_OUT:])
        for name, fitter in fitters.items():
            predict, seconds = fitter(X[fitted], y[fitted])
            rows[name].append((score(y[held_out], predict(X[held_out])), seconds))
            s = rows[name][-1][0]
            print(
                f"split {split}: {name}: F1 {s['f1']:.4f}, AUC {s['auc']:.5f}, log loss {s['log_loss']:.5f}, "
                f"best threshold {s['threshold']:.2f}, fit {seconds:.1f} s (load {os.getloadavg()[0]:.1f})",
                flush=True,
            )

    print(
        "\n| candidate | held-out F1 per split | mean F1 | mean ROC AUC | mean log loss | F1-best thresholds | fit s |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, results in rows.items():
        mean = mean_scores(results)
        f1s = ", ".join(f"{s['f1']:.4f}" for s, _ in results)
        thresholds = ", ".join(f"{s['threshold']:.2f}" for s, _ in results)
        print(
            f"| {name} | {f1s} | {mean['f1']:.4f} | {mean['auc']:.5f} | {mean['log_loss']:.5f} | {thresholds} | "
            f"{statistics.median(t for _, t in results):.1f} |"
        )


if __name__ == "__main__":
    main()
