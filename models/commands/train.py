"""glassgrad train: train the digit detector and write every artifact of the run.

The output folder gets model.npz (parameters + metadata), summary.json, loss_curve.png,
weights.png (what the detector looks at), mistakes.png (its most confident mistakes)
and, for one validation digit, its graphs and explorer.html (its backward pass, step
by step). Nothing is written until training has finished, and every file is written
atomically.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from glassgrad.optim import SCHEDULES, SGD, schedule_for

from .. import mnist, plots
from ..logistic import LogisticModel, logistic_loss
from ..metrics import BinaryMetrics
from ..report import save_model, write_summary
from ..stopping import Criterion, MaxIterations, Patience, TargetLoss, TimeBudget
from ..train import FitSettings, TrainResult, evaluate, fit
from .options import UsageError, existing_dir, number, output_dir

# Defaults chosen by trying them on the embedded sample and on the full training set
# (docs/benchmarks.md): momentum SGD on minibatches of 100 reaches the validation loss
# of a converged fit in a few epochs.
DEFAULTS = {
    "digit": 9,
    "lr": 0.1,
    "momentum": 0.9,
    "batch_size": 100,
    "epochs": 30,
    "patience": 5,
    "val_fraction": 0.2,
    "seed": 0,
}


HELP = "train the digit detector (the 9-detector by default)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = DEFAULTS
    data = p.add_argument_group(
        "data (default: the embedded MNIST sample, 6,000 training and 2,000 test digits of the official sets)"
    )
    data.add_argument(
        "--data", type=existing_dir, help="folder with the MNIST IDX files (raw or .gz) or train.csv/test.csv"
    )
    data.add_argument("--download", action="store_true", help="download the official MNIST files (SHA-256 verified)")
    data.add_argument("--cache-dir", type=Path, default=None, help="where --download keeps the files")
    data.add_argument(
        "--digit", type=number(int, 0, 9), default=d["digit"], help="the digit to detect, 0..9 (default 9)"
    )
    data.add_argument(
        "--val-fraction",
        type=number(float, 0, 1, low_open=True, high_open=True),
        default=d["val_fraction"],
        help="share of the training data held out for validation, in (0, 1) (default 0.2)",
    )
    opt = p.add_argument_group("optimizer")
    opt.add_argument(
        "--lr", type=number(float, 0, low_open=True), default=d["lr"], help="learning rate > 0 (default 0.1)"
    )
    opt.add_argument(
        "--momentum", type=number(float, 0, 1, high_open=True), default=d["momentum"], help="in [0, 1) (default 0.9)"
    )
    opt.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default="constant",
        help="learning-rate schedule over the --epochs/--max-iterations budget: step = ×0.1 after 75%%, "
        "exponential = down to 1%%, inverse-time = lr/(1 + 10·t/T) (default constant)",
    )
    opt.add_argument("--nesterov", action="store_true", help="Nesterov momentum")
    opt.add_argument("--weight-decay", type=number(float, 0), default=0.0, help="L2 penalty ≥ 0 (default 0)")
    opt.add_argument(
        "--batch-size",
        type=number(int, 0),
        default=d["batch_size"],
        help="minibatch size, 0 = full batch (default 100)",
    )
    opt.add_argument(
        "--pos-weight",
        type=number(float, 0, low_open=True),
        default=None,
        help="weight of the positive class in the loss (default 1)",
    )
    stop = p.add_argument_group("stopping (whichever comes first)")
    stop.add_argument(
        "--epochs", type=number(int, 1), default=d["epochs"], help="at most this many epochs (default 30)"
    )
    stop.add_argument("--max-iterations", type=number(int, 1), default=None, help="at most this many optimizer steps")
    stop.add_argument("--time-budget", type=number(float, 0), default=None, help="seconds of training at most")
    stop.add_argument(
        "--patience",
        type=number(int, 0),
        default=d["patience"],
        help="stop after this many epochs without a better validation loss; 0 = off (default 5)",
    )
    stop.add_argument("--min-delta", type=number(float, 0), default=0.0, help="what counts as better (default 0)")
    stop.add_argument(
        "--target-loss", type=number(float, 0), default=None, help="stop when the training loss reaches this"
    )
    job = p.add_argument_group("run")
    job.add_argument(
        "--threshold",
        choices=("0.5", "auto"),
        default="0.5",
        help="decision threshold: 0.5, or auto = the one maximizing F1 on validation (default 0.5)",
    )
    job.add_argument(
        "--dtype", choices=("float64", "float32"), default="float64", help="floating-point type (default float64)"
    )
    job.add_argument(
        "--seed", type=number(int, 0), default=d["seed"], help="seed of the split and the shuffling (default 0)"
    )
    job.add_argument("--out", type=output_dir, default=None, help="output folder (default runs/digit<d>-<time>)")
    job.add_argument("--quiet", action="store_true", help="no progress bar")


def load_data(args: argparse.Namespace) -> tuple[mnist.Digits, mnist.Digits | None]:
    """The training digits and, when the source has one, the official test digits."""
    if args.download and args.data is not None:
        raise UsageError("use either --data DIR or --download, not both")
    if args.cache_dir is not None and not args.download:
        raise UsageError("--cache-dir only applies with --download")
    folder = args.data
    if args.download:
        folder = mnist.download(args.cache_dir if args.cache_dir is not None else mnist.DEFAULT_CACHE)
    if folder is None:
        return mnist.load_embedded("train"), mnist.load_embedded("test")
    train = mnist.load_dir(folder, "train")
    has_test = any("t10k" in f.name or "test" in f.name for f in Path(folder).iterdir())
    return train, (mnist.load_dir(folder, "test") if has_test else None)


def build_stop(args: argparse.Namespace, steps_per_epoch: int) -> tuple[Criterion, int]:
    """The stopping criteria the options ask for, and the iteration budget."""
    budget = min(args.epochs * steps_per_epoch, args.max_iterations or np.iinfo(np.int64).max)
    stop: Criterion = MaxIterations(budget)
    if args.time_budget is not None:
        stop = stop | TimeBudget(args.time_budget)
    if args.patience:
        stop = stop | Patience(args.patience, args.min_delta, on="val")
    if args.target_loss is not None:
        stop = stop | TargetLoss(args.target_loss, on="train")
    return stop, budget


def run(args: argparse.Namespace) -> int:
    if args.nesterov and args.momentum == 0:
        raise UsageError("--nesterov needs --momentum > 0")
    plots.check_available()
    out = args.out or Path("runs") / f"digit{args.digit}-{time.strftime('%Y%m%d-%H%M%S')}"
    digits, test = load_data(args)
    train_idx, val_idx = mnist.train_val_split(len(digits), args.val_fraction, args.seed)
    if len(train_idx) == 0 or len(val_idx) == 0:
        raise UsageError(
            f"--val-fraction {args.val_fraction} leaves an empty training or validation set of {len(digits)} samples"
        )
    dtype = np.dtype(args.dtype)
    X = digits.features(dtype)
    y = mnist.binary_targets(digits.labels, args.digit, dtype)
    val = digits.subset(val_idx)
    X_train, y_train, X_val, y_val = X[train_idx], y[train_idx], X[val_idx], y[val_idx]
    del X

    model = LogisticModel(X_train.shape[1], dtype=dtype)
    batch = args.batch_size if 0 < args.batch_size < len(y_train) else len(y_train)
    stop, budget = build_stop(args, -(-len(y_train) // batch))
    optimizer = SGD(
        model.parameters(),
        schedule_for(args.schedule, args.lr, budget),
        momentum=args.momentum,
        nesterov=args.nesterov,
        weight_decay=args.weight_decay,
    )
    result = fit(
        model,
        X_train,
        y_train,
        optimizer=optimizer,
        stop=stop,
        val=(X_val, y_val),
        settings=FitSettings(
            batch_size=args.batch_size,
            pos_weight=args.pos_weight,
            seed=args.seed,
            choose_threshold=args.threshold == "auto",
            progress=not args.quiet and sys.stderr.isatty(),
        ),
    )
    test_metrics = None
    if test is not None:
        test_metrics = evaluate(model, test.features(dtype), test.labels == args.digit, result.threshold)

    out.mkdir(parents=True, exist_ok=True)
    shown = test if test is not None else val
    assert result.val_metrics is not None  # fit() had a validation set
    shown_proba = model.predict_proba(shown.features(dtype))
    stats = {
        "source": digits.source,
        "n_train": len(y_train),
        "n_val": len(y_val),
        "iterations": result.iterations,
        "epochs": result.epochs,
        "best_iteration": result.best_iteration,
        "stop": str(result.stop),
        "val_f1": result.val_metrics.f1,
        "test_f1": test_metrics.f1 if test_metrics else None,
    }
    files = {
        "model": save_model(out / "model.npz", model, args.digit, result.threshold, **stats),
        "loss_curve": plots.loss_curve(
            out / "loss_curve.png",
            result.batch_losses,
            result.history,
            f"{args.digit}-detector: loss on {len(y_train):,} training and {len(y_val):,} validation digits",
        ),
        "weights": plots.weights_heatmap(out / "weights.png", model.w.data, args.digit),
        "mistakes": plots.mistakes_grid(
            out / "mistakes.png", shown.images, shown.labels, shown_proba, args.digit, result.threshold
        ),
    }
    graph = render_sample_graph(model, X_val[:1], y_val[:1], out)
    if graph:
        files.update(graph)
    summary = _summary(args, digits, result, test_metrics, files)
    files["summary"] = write_summary(out / "summary.json", summary)
    _print_report(args, digits, result, test_metrics, files)
    return 0


def render_sample_graph(model: LogisticModel, x: np.ndarray, y: np.ndarray, out: Path) -> dict[str, Path]:
    """The forward and backward graphs of one sample's loss and its explorer (steps
    through both passes in a browser), when ``glassgrad.viz`` exists."""
    try:
        from glassgrad import viz
    except ImportError:
        return {}
    loss = logistic_loss(model, x, y)
    files = {}
    try:
        for view in ("forward", "backward"):
            files[f"graph_{view}"] = Path(viz.draw(loss, view=view).save(out / f"graph_{view}.svg"))
        files["explorer"] = viz.explore(loss, title="The loss of one validation digit").save(out / "explorer.html")
    except Exception as exc:  # an optional picture must never cost the trained model
        print(
            f"glassgrad train: note: graph of one sample not drawn: {' '.join(str(exc).split())[:200]}", file=sys.stderr
        )
    return files


def _metrics_dict(m: BinaryMetrics | None) -> dict[str, Any] | None:
    return None if m is None else m.to_dict()


def _summary(
    args: argparse.Namespace,
    digits: mnist.Digits,
    result: TrainResult,
    test: BinaryMetrics | None,
    files: dict[str, Path],
) -> dict[str, Any]:
    options = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k not in ("run", "command")}
    return {
        "digit": args.digit,
        "data": digits.source,
        "options": options,
        "stop": {
            "criterion": result.stop.criterion,
            "iteration": result.stop.iteration,
            "value": result.stop.value,
            "message": result.stop.message,
        },
        "iterations": result.iterations,
        "epochs": result.epochs,
        "best_iteration": result.best_iteration,
        "wall_time_s": result.wall_time,
        "threshold": result.threshold,
        "metrics": {
            "train": _metrics_dict(result.train_metrics),
            "validation": _metrics_dict(result.val_metrics),
            "test": _metrics_dict(test),
        },
        "history": [vars(h) for h in result.history],
        "files": {k: p.name for k, p in files.items()},
    }


def _print_report(
    args: argparse.Namespace,
    digits: mnist.Digits,
    result: TrainResult,
    test: BinaryMetrics | None,
    files: dict[str, Path],
) -> None:
    d = args.digit
    print(
        f"{d}-detector trained on {digits.source}: {result.iterations} iterations, {result.epochs} epochs, "
        f"{result.wall_time:.2f} s"
    )
    print(f"stopped by {result.stop}")
    print(f"parameters of iteration {result.best_iteration} kept; decision threshold {result.threshold:.3f}")
    print(
        f"{'':12}{'accuracy':>10}{'precision':>11}{'recall':>8}{'F1':>8}{'ROC AUC':>9}"
        f"{'TP':>6}{'FP':>6}{'FN':>6}{'TN':>7}"
    )
    for name, m in (("train", result.train_metrics), ("validation", result.val_metrics), ("test", test)):
        if m is None:
            continue
        (tn, fp), (fn, tp) = m.confusion
        print(
            f"{name:12}{m.accuracy:>10.4f}{m.precision:>11.4f}{m.recall:>8.4f}{m.f1:>8.4f}{m.roc_auc:>9.4f}"
            f"{tp:>6}{fp:>6}{fn:>6}{tn:>7}"
        )
    print(f"wrote {len(files)} files to {files['summary'].parent}/: " + ", ".join(p.name for p in files.values()))
