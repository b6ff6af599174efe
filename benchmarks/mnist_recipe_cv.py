"""Choose the 9-detector's SGD recipe on the training set alone, by repeated k-fold cross-validation.

Each candidate is the recipe of ``mnist_quality.py`` with some settings changed
(``batch_size=500``, ``pos_weight=1.0,epochs=80``, …); scikit-learn's default
``LogisticRegression`` is fitted alongside for scale. For one split, every fit sees
k − 1 folds of the official training set and predicts the held-out fold; the
out-of-fold probabilities of all k folds are pooled into one F1 at threshold 0.5, one
ROC AUC and one log loss. Several random splits show how much of a difference is
noise: a recipe is better only if it wins on every split. The test set is never read.

    python benchmarks/mnist_recipe_cv.py --data DIR --candidates batch_size=1000 batch_size=500 [--splits 3] [--folds 5]

DIR holds the official IDX files (raw or gzipped). Needs scikit-learn.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from glassgrad.models import mnist
from glassgrad.models.metrics import binary_metrics, roc_auc
from mnist_quality import RECIPE, fit_glassgrad, fit_sklearn

# fit(X_train, y_train, fold) -> predict(X) giving p(digit)
Fitter = Callable[[np.ndarray, np.ndarray, int], Callable[[np.ndarray], np.ndarray]]


def parse_candidate(text: str) -> dict[str, Any]:
    """``"batch_size=500,epochs=20"`` → the recipe with those settings replaced."""
    recipe = dict(RECIPE)
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        if not sep or key not in RECIPE:
            raise SystemExit(f"candidate {text!r}: expected key=value with key in {sorted(RECIPE)}, got {item!r}")
        recipe[key] = type(RECIPE[key])(value)
    return recipe


def glassgrad_fitter(recipe: dict[str, Any]) -> Fitter:
    def fit(X: np.ndarray, y: np.ndarray, fold: int) -> Callable[[np.ndarray], np.ndarray]:
        model, _ = fit_glassgrad(X, y, fold, **recipe)
        return model.predict_proba

    return fit


def sklearn_fitter(X: np.ndarray, y: np.ndarray, fold: int) -> Callable[[np.ndarray], np.ndarray]:
    clf, _ = fit_sklearn(X, y.astype(bool))
    return lambda X_: clf.predict_proba(X_)[:, 1]


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Mean −[y·log p + (1 − y)·log(1 − p)], with p kept off 0 and 1."""
    p = np.clip(p.astype(np.float64), 1e-15, 1 - 1e-15)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def cross_validate(
    fitter: Fitter, X: np.ndarray, y: np.ndarray, folds: list[np.ndarray]
) -> tuple[dict[str, float], float]:
    """Pooled out-of-fold F1 (at 0.5), ROC AUC and log loss; and the median fit+predict time."""
    oof = np.empty(len(y))
    seconds = []
    for k, held_out in enumerate(folds):
        train = np.ones(len(y), dtype=bool)
        train[held_out] = False
        start = time.perf_counter()
        oof[held_out] = fitter(X[train], y[train], k)(X[held_out])
        seconds.append(time.perf_counter() - start)
    scores = {"f1": binary_metrics(y, oof, 0.5).f1, "auc": roc_auc(y, oof), "log_loss": log_loss(y, oof)}
    return scores, statistics.median(seconds)


def selection_parser(doc: str, example: str, splits: int, splits_help: str) -> argparse.ArgumentParser:
    """The options of the recipe-selection scripts (this one and mnist_network_select.py)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="folder with the official MNIST IDX files")
    parser.add_argument("--digit", type=int, default=9)
    parser.add_argument("--candidates", nargs="+", default=[""], help=f"recipe changes, e.g. {example}")
    parser.add_argument("--splits", type=int, default=splits, help=splits_help)
    parser.add_argument("--no-sklearn", action="store_true", help="skip scikit-learn's row")
    return parser


def training_digits(data: str, digit: int) -> tuple[np.ndarray, np.ndarray]:
    """The official training digits: float32 features and 0/1 targets for ``digit``."""
    train = mnist.load_dir(data, "train")
    return train.features(np.float32), mnist.binary_targets(train.labels, digit, np.float32)


def mean_scores(results: list[tuple[dict[str, float], float]]) -> dict[str, float]:
    """The mean of each score over the splits."""
    return {key: statistics.mean(s[key] for s, _ in results) for key in ("f1", "auc", "log_loss")}


def main() -> None:
    parser = selection_parser(__doc__, "batch_size=500,epochs=20", 3, "random k-fold splits (seeds 0..n-1)")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    X, y = training_digits(args.data, args.digit)
    fitters: dict[str, Fitter] = {c or "recipe": glassgrad_fitter(parse_candidate(c)) for c in args.candidates}
    if not args.no_sklearn:
        fitters["scikit-learn LogisticRegression()"] = sklearn_fitter

    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; recipe {RECIPE}; {len(y):,} training digits, "
        f"{args.splits} splits × {args.folds} folds, digit {args.digit}"
    )
    rows: dict[str, list[tuple[dict[str, float], float]]] = {name: [] for name in fitters}
    for split in range(args.splits):
        folds = np.array_split(np.random.default_rng(split).permutation(len(y)), args.folds)
        for name, fitter in fitters.items():
            rows[name].append(cross_validate(fitter, X, y, folds))
            scores, seconds = rows[name][-1]
            print(
                f"split {split}: {name}: F1 {scores['f1']:.4f}, AUC {scores['auc']:.5f}, "
                f"log loss {scores['log_loss']:.5f}, {seconds:.2f} s per fit",
                flush=True,
            )

    print(
        "\n| candidate | out-of-fold F1 per split | mean F1 | mean ROC AUC | mean log loss | fit + predict s (median) |"
    )
    print("|---|---|---|---|---|---|")
    for name, results in rows.items():
        per_split = ", ".join(f"{s['f1']:.4f}" for s, _ in results)
        mean = mean_scores(results)
        seconds = statistics.median(t for _, t in results)
        print(
            f"| {name} | {per_split} | {mean['f1']:.4f} | {mean['auc']:.5f} | {mean['log_loss']:.5f} | {seconds:.2f} |"
        )


if __name__ == "__main__":
    main()
