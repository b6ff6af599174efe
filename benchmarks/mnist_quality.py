"""Quality of the 9-detector against scikit-learn's LogisticRegression, side by side.

Both learn from the same full official MNIST training set (60,000 digits) and are scored
on the official test set (10,000 digits) for the same digit. By default the command a
user runs, ``glassgrad train --data DIR``, with its defaults (the large-data recipe, chosen
beforehand on the training set alone by ``mnist_recipe_cv.py``; see docs/benchmarks.md),
runs alternately with scikit-learn's default ``LogisticRegression()`` (lbfgs, C = 1) on the
same pixels / 255; a busy machine slows both alike. glassgrad's fit time is the training
time the command reports, next to the whole command's wall time (start-up, reading the
files, the pictures); scikit-learn's is measured around ``fit`` alone, next to a whole
script that reads the same files with the same loader, fits and predicts the test set. With ``--library``
the recipe runs through ``fit`` for several shuffling seeds instead. A paired bootstrap
over the test digits gives the 95% interval of the F1 difference, to show whether a
difference is larger than the test set's own noise.

    python benchmarks/mnist_quality.py --data DIR [--runs 3]
    python benchmarks/mnist_quality.py --data DIR --library [--seeds 3] [--dtype float32]

DIR holds the four official IDX files (raw or gzipped). Needs scikit-learn.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from glassgrad.models import mnist
from glassgrad.models.logistic import LogisticModel
from glassgrad.models.metrics import BinaryMetrics, binary_metrics
from glassgrad.models.recipe import LARGE
from glassgrad.models.report import load_model
from glassgrad.models.stopping import MaxIterations
from glassgrad.models.train import FitSettings, fit
from glassgrad.optim import SCHEDULES, SGD, schedule_for

# The large-data recipe of `glassgrad train` (see docs/benchmarks.md for how it was chosen).
RECIPE = {k: getattr(LARGE, k) for k in ("lr", "momentum", "batch_size", "epochs", "pos_weight", "schedule")}


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

    clf = LogisticRegression()
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


def row(name: str, m: BinaryMetrics, *times: tuple[float, float] | list[float]) -> str:
    """One table row: the metrics, then each time as a median (min, max) of several runs,
    or as wall / CPU seconds of one run."""
    cells = []
    for t in times:
        if isinstance(t, tuple):
            cells.append(f"{t[0]:.2f} / {t[1]:.2f}")
        else:
            spread = f" (min {min(t):.2f}, max {max(t):.2f})" if len(t) > 1 else ""
            cells.append(f"{statistics.median(t):.2f}{spread}")
    return (
        f"| {name} | {m.f1:.4f} | {m.accuracy:.4f} | {m.precision:.4f} | {m.recall:.4f} | {m.roc_auc:.4f} | "
        + " | ".join(cells)
        + " |"
    )


def compare_library(args: argparse.Namespace) -> None:
    """``fit`` with the recipe for several shuffling seeds against scikit-learn, fit times only."""
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
    print(f"# glassgrad recipe: SGD {recipe}, threshold 0.5; scikit-learn: LogisticRegression()")
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


# scikit-learn's whole job, to set beside the whole command: start-up, reading the same
# files with the same loader, the fit, and the test predictions.
SKLEARN_SCRIPT = """
import sys
from glassgrad.models import mnist
from sklearn.linear_model import LogisticRegression
train, test = mnist.load_dir(sys.argv[1], "train"), mnist.load_dir(sys.argv[1], "test")
clf = LogisticRegression().fit(train.features("float32"), train.labels == int(sys.argv[2]))
clf.predict_proba(test.features("float32"))
"""


def compare_command(args: argparse.Namespace) -> None:
    """`glassgrad train --data DIR` with its defaults against scikit-learn's default
    ``LogisticRegression()``, alternating; F1 on the official test set at 0.5. Each time
    is given as wall seconds / processor seconds: on a busy machine the processor time
    is the fairer one (both run single-threaded with OPENBLAS_NUM_THREADS=1)."""
    import sklearn

    train, test = mnist.load_dir(args.data, "train"), mnist.load_dir(args.data, "test")
    X, Xt = train.features(np.float32), test.features(np.float32)
    y, yt = train.labels == args.digit, test.labels == args.digit
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; Python {platform.python_version()}, "
        f"numpy {np.__version__}, scikit-learn {sklearn.__version__}; {platform.machine()}, "
        f"{len(y):,} training / {len(yt):,} test digits, digit {args.digit}; load average {os.getloadavg()[0]:.1f}"
    )
    print(f"# glassgrad: `glassgrad train --data DIR --digit {args.digit} --quiet` (its defaults)")
    print("# scikit-learn: LogisticRegression() on the same pixels / 255 (float32)")
    print(
        "| run | F1 | accuracy | precision | recall | ROC AUC | fit, wall / CPU s "
        "| whole command or script, wall / CPU s |"
    )
    print("|---|---|---|---|---|---|---|---|")
    ours, theirs, ours_pred = [], [], None
    argv = ["-m", "glassgrad.models.cli", "train", "--data", args.data, "--digit", str(args.digit), "--quiet"]
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            out = os.path.join(tmp, f"run{i}")
            command = timed_process([*argv, "--out", out])
            summary = json.loads(Path(out, "summary.json").read_text())
            fitted = (summary["wall_time_s"], summary["cpu_time_s"])
            model, meta = load_model(Path(out, "model.npz"))
            proba = model.predict_proba(Xt)
            m = binary_metrics(yt, proba, meta["threshold"])
            ours.append((fitted, command))
            ours_pred = proba >= meta["threshold"]
            print(row(f"glassgrad train, run {i + 1}", m, fitted, command), flush=True)
            cpu_start = time.process_time()
            clf, seconds = fit_sklearn(X, y)
            sk_fit = (seconds, time.process_time() - cpu_start)
            sk = binary_metrics(yt, clf.predict_proba(Xt)[:, 1], 0.5)
            script = timed_process(["-c", SKLEARN_SCRIPT, args.data, str(args.digit)])
            theirs.append((sk_fit, script))
            print(row(f"scikit-learn, run {i + 1} ({clf.n_iter_[0]} iterations)", sk, sk_fit, script), flush=True)

    def medians(pairs: list[tuple[tuple[float, float], tuple[float, float]]], k: int) -> str:
        return " / ".join(f"{statistics.median(p[k][j] for p in pairs):.2f}" for j in (0, 1))

    print(
        f"\nglassgrad F1 {m.f1:.4f} vs scikit-learn {sk.f1:.4f}; medians, wall / CPU s: fit {medians(ours, 0)} vs "
        f"{medians(theirs, 0)}; whole command {medians(ours, 1)} vs whole script {medians(theirs, 1)}"
    )
    low, high = f1_difference_interval(yt, ours_pred, clf.predict_proba(Xt)[:, 1] >= 0.5)
    print(
        f"F1 difference glassgrad minus scikit-learn: {m.f1 - sk.f1:+.4f}, "
        f"95% paired-bootstrap interval [{low:+.4f}, {high:+.4f}] over the {len(yt):,} test digits"
    )


def timed_process(argv: list[str]) -> tuple[float, float]:
    """Run ``python argv`` to the end; its wall seconds and processor seconds (user + system)."""
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run([sys.executable, *argv], check=True, stdout=subprocess.DEVNULL)
    after, wall = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter() - start
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


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
    parser.add_argument(
        "--library", action="store_true", help="fit() with the recipe for --seeds seeds instead of the command"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs of the command and of scikit-learn, alternating")
    args = parser.parse_args()
    (compare_library if args.library else compare_command)(args)


if __name__ == "__main__":
    main()
