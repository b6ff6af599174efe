"""From one unit to a network, measured: the hidden-layer 9-detector and the ten-digit
softmax classifier against scikit-learn, side by side on official MNIST.

1. The 9-detector: the one-unit model (the tuned recipe of ``mnist_quality.py``), the
   one-hidden-layer detector (64 ReLU units, Adam), and scikit-learn's
   ``MLPClassifier(hidden_layer_sizes=(64,))`` (same size: 784 → 64 ReLU → 1 logistic
   output; its defaults: Adam, lr 1e-3, batches of 200, until the loss stops improving).
   Scored by F1 for "9" on the 10,000 test digits at threshold 0.5.
2. Ten digits: the softmax classifier (multinomial logistic regression, Adam) against
   scikit-learn's multinomial ``LogisticRegression`` (its defaults: lbfgs, C = 1,
   max_iter = 100). Scored by accuracy on the test digits.

Every model is fitted once on the 60,000 training digits; the wall time is that of the
fitting call only (data loading is shared). The fits alternate between the libraries,
and each process uses one BLAS thread (set before numpy loads): on a shared machine a
multi-threaded BLAS spends its time waiting for cores.

    python benchmarks/mnist_networks.py --data DIR [--dtype float32]

DIR holds the four official IDX files (raw or gzipped). Needs scikit-learn.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from glassgrad.models import mnist  # noqa: E402
from glassgrad.models.metrics import binary_metrics, class_metrics  # noqa: E402
from glassgrad.models.network import DigitClassifier, HiddenLayerDetector  # noqa: E402
from glassgrad.models.stopping import MaxIterations  # noqa: E402
from glassgrad.models.train import FitSettings, fit  # noqa: E402
from glassgrad.nn import Module  # noqa: E402
from glassgrad.optim import Adam, schedule_for  # noqa: E402
from mnist_quality import RECIPE, fit_glassgrad  # noqa: E402

# Adam with the learning rate cut ×0.1 after 75% of the epochs; chosen on the training
# set's loss curve (a few epochs reach the plateau), not on the test set.
NETWORK = {"lr": 1e-3, "batch_size": 128, "epochs": 30}
SOFTMAX = {"lr": 1e-3, "batch_size": 128, "epochs": 15}


def fit_network(model: Module, X: np.ndarray, y: np.ndarray, lr: float, batch_size: int, epochs: int) -> float:
    """Train ``model`` with Adam and the step schedule; the wall time of the fit."""
    steps = epochs * -(-len(y) // batch_size)
    start = time.perf_counter()
    optimizer = Adam(model.parameters(), lr=schedule_for("step", lr, steps))
    fit(
        model,  # type: ignore[arg-type]
        X,
        y,
        optimizer=optimizer,  # type: ignore[arg-type]
        stop=MaxIterations(steps),
        settings=FitSettings(batch_size=batch_size, seed=0),
    )
    return time.perf_counter() - start


def timed(make: Callable[[], Any], X: np.ndarray, y: np.ndarray) -> tuple[Any, float]:
    est = make()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lbfgs's ConvergenceWarning at its default max_iter is reported below
        est.fit(X, y)
    return est, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder with the official MNIST IDX files")
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    dtype = np.dtype(args.dtype)
    train, test = mnist.load_dir(args.data, "train"), mnist.load_dir(args.data, "test")
    X, Xt = train.features(dtype), test.features(dtype)
    y9, yt9 = (train.labels == 9).astype(dtype), test.labels == 9
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.processor() or platform.machine()}, {dtype}"
    )

    print("\n| 9-detector | F1 (9) | precision | recall | fit wall time |\n|---|---|---|---|---|")
    unit, t_unit = fit_glassgrad(X, y9, 0, **RECIPE)
    m = binary_metrics(yt9, unit.predict_proba(Xt))
    print(f"| glassgrad one unit (SGD recipe) | {m.f1:.4f} | {m.precision:.4f} | {m.recall:.4f} | {t_unit:.1f} s |")
    net = HiddenLayerDetector(64, dtype=dtype, seed=0)
    t_net = fit_network(net, X, y9, **NETWORK)
    m = binary_metrics(yt9, net.predict_proba(Xt))
    print(
        f"| glassgrad 784-64-1, Adam, {NETWORK['epochs']} epochs | {m.f1:.4f} | {m.precision:.4f} | {m.recall:.4f} "
        f"| {t_net:.1f} s |"
    )
    mlp, t_mlp = timed(lambda: MLPClassifier(hidden_layer_sizes=(64,), random_state=0), X, y9.astype(int))
    m = binary_metrics(yt9, mlp.predict_proba(Xt)[:, 1])
    print(
        f"| scikit-learn MLPClassifier(64), {mlp.n_iter_} epochs | {m.f1:.4f} | {m.precision:.4f} | "
        f"{m.recall:.4f} | {t_mlp:.1f} s |"
    )

    print("\n| ten digits | accuracy | macro F1 | fit wall time |\n|---|---|---|---|")
    lr, t_lr = timed(LogisticRegression, X, train.labels)
    c = class_metrics(test.labels, lr.predict_proba(Xt))
    print(
        f"| scikit-learn LogisticRegression (lbfgs, {int(lr.n_iter_.max())} iterations) | {c.accuracy:.4f} | "
        f"{c.macro_f1:.4f} | {t_lr:.1f} s |"
    )
    soft = DigitClassifier(dtype=dtype, seed=0)
    t_soft = fit_network(soft, X, train.labels.astype(dtype), **SOFTMAX)
    c = class_metrics(test.labels, soft.predict_proba(Xt))
    print(
        f"| glassgrad softmax 784-10, Adam, {SOFTMAX['epochs']} epochs | {c.accuracy:.4f} | {c.macro_f1:.4f} | "
        f"{t_soft:.1f} s |"
    )


if __name__ == "__main__":
    main()
