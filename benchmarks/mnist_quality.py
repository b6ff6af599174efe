"""Quality of the 9-detector against scikit-learn's LogisticRegression, side by side.

Both are fitted on the same full official MNIST training set (60,000 digits) and
scored on the official test set (10,000 digits) at threshold 0.5, for the same digit.
The wall time of each fit is measured around the fitting call only (data loading and
feature scaling are shared and not counted); the fits alternate, so a busy machine
slows both alike. glassgrad runs minibatch SGD with momentum, positive-class weight
1.25 and a step decay of the learning rate for a fixed number of epochs (the recipe was
chosen beforehand on the training set alone, by ``mnist_recipe_cv.py``; see
docs/benchmarks.md); scikit-learn runs its default solver (lbfgs, C = 1) to convergence.
A paired bootstrap over the test digits gives the 95% interval of the F1 difference, to
show whether a difference is larger than the test set's own noise.

    python benchmarks/mnist_quality.py --data DIR [--seeds 3] [--dtype float32]

DIR holds the four official IDX files (raw or gzipped). Needs scikit-learn.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
from glassgrad.models import mnist
from glassgrad.models.logistic import LogisticModel
from glassgrad.models.metrics import BinaryMetrics, binary_metrics
from glassgrad.models.stopping import MaxIterations
from glassgrad.models.train import FitSettings, fit
from glassgrad.optim import SCHEDULES, SGD, schedule_for

# The tuned recipe (see docs/benchmarks.md for how it was chosen).
RECIPE = {"lr": 0.2, "momentum": 0.9, "batch_size": 500, "epochs": 40, "pos_weight": 1.25, "schedule": "step"}


def fit_glassgrad(
    X, y, seed: int, lr: float, momentum: float, batch_size: int, epochs: int, pos_weight: float, schedule: str
) -> tuple[LogisticModel, float]:
    model = LogisticModel(X.shape[1], dtype=X.dtype)
    steps = epochs * -(-len(y) // batch_size)
    start = time.perf_counter()
    optimizer = SGD(model.parameters(), schedule_for(schedule, lr, steps), momentum=momentum)
    fit(
        model,
        X,
        y,
        optimizer=optimizer,
        stop=MaxIterations(steps),
        settings=FitSettings(batch_size=batch_size, pos_weight=pos_weight, seed=seed),
    )
    return model, time.perf_counter() - start


def fit_sklearn(X, y) -> tuple[object, float]:
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(max_iter=1000)
    start = time.perf_counter()
    clf.fit(X, y)
    return clf, time.perf_counter() - start


def f1_difference_interval(
    y: np.ndarray, ours: np.ndarray, theirs: np.ndarray, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """95% paired-bootstrap interval of F1(ours) − F1(theirs); predictions are booleans.

    Each resample draws the test digits with replacement and scores both detectors on
    the same draw, so the noise they share cancels. F1 = 2·TP / (2·TP + FP + FN), and 0
    on a draw with no positives and none predicted, as in ``binary_metrics``.
    """
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(y), size=(resamples, len(y)))

    def f1(pred: np.ndarray) -> np.ndarray:
        tp = np.sum(pred[draws] & y[draws], axis=1)
        wrong = np.sum(pred[draws] != y[draws], axis=1)
        return np.divide(2 * tp, 2 * tp + wrong, out=np.zeros(resamples), where=2 * tp + wrong > 0)

    low, high = np.percentile(f1(ours) - f1(theirs), [2.5, 97.5])
    return float(low), float(high)


def row(name: str, m: BinaryMetrics, seconds: list[float]) -> str:
    t = statistics.median(seconds)
    spread = f" (min {min(seconds):.2f}, max {max(seconds):.2f})" if len(seconds) > 1 else ""
    return (
        f"| {name} | {m.f1:.4f} | {m.accuracy:.4f} | {m.precision:.4f} | {m.recall:.4f} | {m.roc_auc:.4f} "
        f"| {t:.2f}{spread} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="folder with the four official MNIST IDX files")
    parser.add_argument("--digit", type=int, default=9)
    parser.add_argument("--seeds", type=int, default=3, help="glassgrad runs (shuffling seeds 0..n-1)")
    parser.add_argument(
        "--sklearn-runs", type=int, default=3, help="scikit-learn fits (timed; the fit is deterministic)"
    )
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float32", help="features for both fits")
    for key, value in RECIPE.items():
        choices = SCHEDULES if key == "schedule" else None
        parser.add_argument(f"--{key.replace('_', '-')}", type=type(value), default=value, choices=choices)
    args = parser.parse_args()

    import sklearn

    train, test = mnist.load_dir(args.data, "train"), mnist.load_dir(args.data, "test")
    dtype = np.dtype(args.dtype)
    X, Xt = train.features(dtype), test.features(dtype)
    y = mnist.binary_targets(train.labels, args.digit, dtype)
    yt = test.labels == args.digit
    recipe = {k: getattr(args, k) for k in RECIPE}

    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; Python {platform.python_version()}, "
        f"numpy {np.__version__}, scikit-learn {sklearn.__version__}; {platform.machine()}, "
        f"{len(y):,} training / {len(yt):,} test digits, features {dtype}, digit {args.digit}"
    )
    print(f"# glassgrad recipe: SGD {recipe}, threshold 0.5; scikit-learn: LogisticRegression(max_iter=1000)")
    print("| fit | F1 | accuracy | precision | recall | ROC AUC | fit wall time, s (median) |")
    print("|---|---|---|---|---|---|---|")
    f1s, times, sk_times, predictions = [], [], [], []
    for i in range(max(args.seeds, args.sklearn_runs)):
        if i < args.seeds:
            model, seconds = fit_glassgrad(X, y, i, **recipe)
            m = binary_metrics(yt, model.predict_proba(Xt), 0.5)
            f1s.append(m.f1)
            predictions.append(model.predict(Xt))
            times.append(seconds)
            print(row(f"glassgrad SGD, seed {i}", m, [seconds]), flush=True)
        if i < args.sklearn_runs:
            clf, seconds = fit_sklearn(X, y.astype(bool))
            sk_times.append(seconds)
    sk = binary_metrics(yt, clf.predict_proba(Xt)[:, 1], 0.5)
    print(row(f"scikit-learn lbfgs ({clf.n_iter_[0]} iterations)", sk, sk_times))
    print(
        f"\nglassgrad F1 median {statistics.median(f1s):.4f} (min {min(f1s):.4f}, max {max(f1s):.4f}) vs "
        f"scikit-learn {sk.f1:.4f}; fit time median {statistics.median(times):.2f} s "
        f"vs {statistics.median(sk_times):.2f} s"
    )
    median_seed = int(np.argsort(f1s)[len(f1s) // 2])
    low, high = f1_difference_interval(yt, predictions[median_seed], clf.predict_proba(Xt)[:, 1] >= 0.5)
    print(
        f"F1 difference, seed {median_seed} (the median) minus scikit-learn: {f1s[median_seed] - sk.f1:+.4f}, "
        f"95% paired-bootstrap interval [{low:+.4f}, {high:+.4f}] over the {len(yt):,} test digits"
    )


if __name__ == "__main__":
    main()
