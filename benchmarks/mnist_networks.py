"""From one unit to a network, measured: the hidden-layer 9-detector and the ten-digit
softmax classifier against scikit-learn, side by side on official MNIST.

1. The 9-detector: the one-unit model (the tuned recipe of ``mnist_quality.py``), the
   one-hidden-layer detector (64 ReLU units) with the large-data recipe of
   ``glassgrad train --hidden 64`` (``glassgrad.models.recipe.LARGE_NETWORK``, chosen on
   held-out training digits by ``mnist_network_select.py``), and scikit-learn's
   ``MLPClassifier(hidden_layer_sizes=(64,))`` (same size: 784 → 64 ReLU → 1 logistic
   output; its defaults: Adam, lr 1e-3, batches of 200, until the loss stops improving).
   Scored by F1 for "9" on the 10,000 test digits at threshold 0.5. ``--seeds N`` fits
   both networks for seeds 0..N−1 (glassgrad's initial weights, shuffling and shifted
   copies; scikit-learn's ``random_state``), and the paired bootstrap gives the 95%
   interval of seed 0's F1 difference.
2. Ten digits: the softmax classifier (multinomial logistic regression, Adam) against
   scikit-learn's multinomial ``LogisticRegression`` (its defaults: lbfgs, C = 1,
   max_iter = 100). Scored by accuracy on the test digits.

Every model is fitted on the 60,000 training digits; the wall time is that of the
fitting call only (data loading is shared; glassgrad's includes making the recipe's
shifted copies). The fits alternate between the libraries, and each process uses one
BLAS thread (set before numpy loads): on a shared machine a multi-threaded BLAS spends
its time waiting for cores. Both libraries get the same pixels / 255, in the recipe's
float32 unless ``--dtype`` says otherwise.

    python benchmarks/mnist_networks.py --data DIR [--seeds 5] [--dtype float64]

DIR holds the four official IDX files (raw or gzipped). Needs scikit-learn.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from glassgrad.models import mnist  # noqa: E402
from glassgrad.models.metrics import binary_metrics, class_metrics  # noqa: E402
from glassgrad.models.network import DigitClassifier, HiddenLayerDetector  # noqa: E402
from glassgrad.models.recipe import LARGE_FROM, Recipe, recipe_for  # noqa: E402
from glassgrad.models.stopping import MaxIterations  # noqa: E402
from glassgrad.models.train import FitSettings, fit  # noqa: E402
from glassgrad.nn import Module  # noqa: E402
from mnist_quality import RECIPE, f1_difference_interval, fit_glassgrad  # noqa: E402

# The hidden-layer detector trains with the recipe of `glassgrad train --hidden 64` on
# large data (chosen on held-out training digits by mnist_network_select.py); the
# softmax classifier with Adam at 1e-3, ×0.1 after 75% of 15 epochs of batches of 128.
NETWORK = recipe_for(LARGE_FROM, "network")
SOFTMAX = dataclasses.replace(
    recipe_for(LARGE_FROM, "classifier"), name="softmax", batch_size=128, epochs=15, pos_weight=None
)


def fit_recipe(model: Module, X: np.ndarray, y: np.ndarray, recipe: Recipe, seed: int = 0) -> float:
    """Train ``model`` on every digit of (X, y) and the recipe's shifted copies for its
    epochs, with its optimizer, schedule, batch size and positive-class weight; the wall
    time of the fit, making the copies included."""
    start = time.perf_counter()
    X, y = mnist.with_shifted_copies(X, y, recipe.shifted_copies, seed)
    steps = recipe.epochs * -(-len(y) // recipe.batch_size)
    fit(
        model,  # type: ignore[arg-type]
        X,
        y,
        optimizer=recipe.build_optimizer(model.parameters(), steps),  # type: ignore[arg-type]
        stop=MaxIterations(steps),
        settings=FitSettings(batch_size=recipe.batch_size, pos_weight=recipe.pos_weight, seed=seed),
    )
    return time.perf_counter() - start


def fit_sklearn_mlp(X: np.ndarray, y: np.ndarray, seed: int = 0) -> tuple[Any, float]:
    """scikit-learn's MLPClassifier of the same size with its defaults, and its fit's wall time."""
    from sklearn.neural_network import MLPClassifier

    return timed(lambda: MLPClassifier(hidden_layer_sizes=(64,), random_state=seed), X, y.astype(int))


def timed(make: Callable[[], Any], X: np.ndarray, y: np.ndarray) -> tuple[Any, float]:
    est = make()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lbfgs's ConvergenceWarning at its default max_iter is reported below
        est.fit(X, y)
    return est, time.perf_counter() - start


def networks(X: np.ndarray, y: np.ndarray, Xt: np.ndarray, yt: np.ndarray, seeds: int) -> None:
    """The hidden-layer detector and MLPClassifier, alternately, for seeds 0..seeds−1 (of
    the initial weights and the shuffling: ``random_state`` for scikit-learn); then the
    95% paired-bootstrap interval of the F1 difference of seed 0's pair."""
    predictions = []
    for seed in range(seeds):
        net = HiddenLayerDetector(64, dtype=X.dtype, seed=seed)
        t_net = fit_recipe(net, X, y, NETWORK, seed)
        p_net = net.predict_proba(Xt)
        m = binary_metrics(yt, p_net)
        print(
            f"| glassgrad 784-64-1 ({NETWORK.name} recipe), seed {seed} | {m.f1:.4f} | {m.precision:.4f} | "
            f"{m.recall:.4f} | {t_net:.1f} s |",
            flush=True,
        )
        mlp, t_mlp = fit_sklearn_mlp(X, y, seed)
        p_mlp = mlp.predict_proba(Xt)[:, 1]
        m = binary_metrics(yt, p_mlp)
        print(
            f"| scikit-learn MLPClassifier(64), random_state {seed}, {mlp.n_iter_} epochs | {m.f1:.4f} | "
            f"{m.precision:.4f} | {m.recall:.4f} | {t_mlp:.1f} s |",
            flush=True,
        )
        predictions.append((p_net >= 0.5, p_mlp >= 0.5))
    low, high = f1_difference_interval(yt, *predictions[0])
    print(f"\nF1 of glassgrad − scikit-learn (seed 0): 95% paired-bootstrap interval [{low:+.4f}, {high:+.4f}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder with the official MNIST IDX files")
    parser.add_argument("--dtype", choices=("float64", "float32"), default=NETWORK.dtype)
    parser.add_argument("--seeds", type=int, default=1, help="fit both networks for seeds 0..n-1")
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression

    dtype = np.dtype(args.dtype)
    train, test = mnist.load_dir(args.data, "train"), mnist.load_dir(args.data, "test")
    X, Xt = train.features(dtype), test.features(dtype)
    y9, yt9 = (train.labels == 9).astype(dtype), test.labels == 9
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.processor() or platform.machine()}, "
        f"{dtype}, load average {os.getloadavg()[0]:.1f}"
    )

    print("\n| 9-detector | F1 (9) | precision | recall | fit wall time |\n|---|---|---|---|---|")
    unit, t_unit = fit_glassgrad(X, y9, 0, **RECIPE)
    m = binary_metrics(yt9, unit.predict_proba(Xt))
    print(f"| glassgrad one unit (SGD recipe) | {m.f1:.4f} | {m.precision:.4f} | {m.recall:.4f} | {t_unit:.1f} s |")
    networks(X, y9, Xt, yt9, args.seeds)

    print("\n| ten digits | accuracy | macro F1 | fit wall time |\n|---|---|---|---|")
    lr, t_lr = timed(LogisticRegression, X, train.labels)
    c = class_metrics(test.labels, lr.predict_proba(Xt))
    print(
        f"| scikit-learn LogisticRegression (lbfgs, {int(lr.n_iter_.max())} iterations) | {c.accuracy:.4f} | "
        f"{c.macro_f1:.4f} | {t_lr:.1f} s |"
    )
    soft = DigitClassifier(dtype=dtype, seed=0)
    t_soft = fit_recipe(soft, X, train.labels.astype(dtype), SOFTMAX)
    c = class_metrics(test.labels, soft.predict_proba(Xt))
    print(
        f"| glassgrad softmax 784-10, Adam, {SOFTMAX.epochs} epochs | {c.accuracy:.4f} | {c.macro_f1:.4f} | "
        f"{t_soft:.1f} s |"
    )
    print(f"\n# load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
