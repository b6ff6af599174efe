"""glassgrad train: train the digit detector (or the ten-digit classifier) and write
every artifact of the run.

The model is the one-unit detector by default; --hidden H puts a layer of H ReLU units
before its output, and --classes 10 trains a softmax classifier of the ten digits
instead (multinomial logistic regression, or with --hidden a network).

The output folder gets model.npz (parameters + metadata), summary.json, loss_curve.png,
weights.png (what the model looks at: the one unit's weights as 28×28, or the first
layer's as a grid of 28×28 images), mistakes.png (a detector's most confident mistakes)
or confusion.png (a classifier's confusion matrix) and, for one validation digit (a
training digit when none is held out), its graphs and explorer.html (its backward
pass, step by step). The folder appears whole or not at
all: it is filled under a hidden name beside it and renamed into place when the run
ends. The options a user does not give come from the recipe for the size of the data
(see glassgrad.models.recipe).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from glassgrad.optim import SCHEDULES, Optimizer

from .. import mnist, plots
from ..atomic import atomic_dir
from ..formatting import probability
from ..logistic import Detector, LogisticModel
from ..metrics import BinaryMetrics, ClassMetrics
from ..network import DigitClassifier, HiddenLayerDetector
from ..recipe import ADAM_LR, LARGE, LARGE_FROM, LARGE_NETWORK, OPTIMIZERS, SMALL, Recipe, recipe_for
from ..report import save_model, write_summary
from ..stopping import Criterion, MaxIterations, Patience, TargetLoss, TimeBudget
from ..train import FitSettings, Model, TrainResult, evaluate, fit
from .blas import add_threads_argument
from .options import EXIT_INTERRUPTED, UsageError, existing_dir, number, output_dir, url

RUN_MARKERS = ("summary.json", "model.npz")  # a folder holding one of these is a run's, replaced by a new run


def _recipe_default(
    field: str, shown: str | None = None, recipes: tuple[Recipe, ...] = (SMALL, LARGE, LARGE_NETWORK)
) -> str:
    """The default of ``field`` for the help: the small, large and large-network recipes'
    values (``shown`` stands for None)."""
    small, large, *network = (shown if getattr(r, field) is None else getattr(r, field) for r in recipes)
    if small == large and network in ([], [large]):
        return f"(default {small})"
    also = f"; {network[0]} for a --hidden detector from there on" if network not in ([], [large]) else ""
    return f"(default {small} below {LARGE_FROM:,} training digits, {large} from there on{also})"


HELP = "train the digit detector (the 9-detector by default) or, with --classes 10, a ten-digit classifier"


def add_arguments(p: argparse.ArgumentParser) -> None:
    r = _recipe_default
    data = p.add_argument_group(
        "data (default: the embedded MNIST sample, 6,000 training and 2,000 test digits of the official sets)"
    )
    data.add_argument(
        "--data",
        type=existing_dir,
        help="folder with the MNIST IDX files (raw or .gz), or CSV files mnist_train.csv/mnist_test.csv "
        "or train.csv/test.csv (label first)",
    )
    data.add_argument("--download", action="store_true", help="download the official MNIST files (SHA-256 verified)")
    data.add_argument("--cache-dir", type=Path, default=None, help="where --download keeps the files")
    data.add_argument(
        "--mirror",
        type=url,
        default=None,
        metavar="URL",
        help=f"where --download fetches from (default {mnist.DEFAULT_URL})",
    )
    data.add_argument("--digit", type=number(int, 0, 9), default=None, help="the digit to detect, 0..9 (default 9)")
    data.add_argument(
        "--val-fraction",
        type=number(float, 0, 1, high_open=True),
        default=None,
        help=f"share of the training data held out for validation, in [0, 1); 0 = none {r('val_fraction')}",
    )
    data.add_argument(
        "--shifted-copies",
        type=number(int, 0, 100),
        default=None,
        help="train also on this many copies of the training digits, each moved by up to a pixel along each "
        f"axis {r('shifted_copies')}",
    )
    model = p.add_argument_group("model (default: one unit, the logistic 9-detector)")
    model.add_argument(
        "--hidden", type=number(int, 1, 4096), default=None, help="a hidden layer of this many ReLU units"
    )
    model.add_argument(
        "--classes",
        type=int,
        choices=(10,),
        default=None,
        help="10 = a softmax classifier of the ten digits instead of a detector of one",
    )
    opt = p.add_argument_group("optimizer")
    opt.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        default=None,
        help="sgd (with momentum), adam or adamw (default sgd for one unit, adam for --hidden and --classes)",
    )
    opt.add_argument(
        "--lr",
        type=number(float, 0, 100, low_open=True),
        default=None,
        help=f"in (0, 100] {r('lr', recipes=(SMALL, LARGE))} for sgd; {ADAM_LR} for adam and adamw "
        f"({LARGE_NETWORK.lr} for a --hidden detector from {LARGE_FROM:,} training digits on)",
    )
    opt.add_argument(
        "--momentum", type=number(float, 0, 1, high_open=True), default=None, help=f"SGD's, in [0, 1) {r('momentum')}"
    )
    opt.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default=None,
        help="learning-rate schedule over the --epochs/--max-iterations budget: step = ×0.1 after 75%%, "
        "exponential = down to 1%%, inverse-time = lr/(1 + 10·t/T), cosine = half a cosine down to 0 "
        f"{r('schedule')}",
    )
    opt.add_argument("--nesterov", action="store_true", help="Nesterov momentum")
    opt.add_argument(
        "--weight-decay",
        type=number(float, 0, 100),
        default=None,
        help="in [0, 100]: SGD's and Adam's L2 penalty, AdamW's decoupled decay (default 0; adamw 0.01, PyTorch's)",
    )
    opt.add_argument(
        "--batch-size",
        type=number(int, 0, 10**7),
        default=None,
        help=f"minibatch size, 0 = full batch {r('batch_size')}",
    )
    opt.add_argument(
        "--pos-weight",
        type=number(float, 0, 1e4, low_open=True),
        default=None,
        help=f"weight of the positive class in the loss, in (0, 10000] {r('pos_weight', '1')}",
    )
    stop = p.add_argument_group("stopping (whichever comes first)")
    stop.add_argument("--epochs", type=number(int, 1, 10**6), default=None, help=f"at most this many {r('epochs')}")
    stop.add_argument(
        "--max-iterations", type=number(int, 1, 10**9), default=None, help="at most this many optimizer steps"
    )
    stop.add_argument("--time-budget", type=number(float, 0, 1e7), default=None, help="seconds of training at most")
    stop.add_argument(
        "--patience",
        type=number(int, 0, 10**6),
        default=None,
        help=f"stop after this many epochs without a better validation loss; 0 = off {r('patience')}",
    )
    stop.add_argument("--min-delta", type=number(float, 0, 1e6), default=0.0, help="what counts as better (default 0)")
    stop.add_argument(
        "--target-loss", type=number(float, 0, 1e6), default=None, help="stop when the training loss reaches this"
    )
    job = p.add_argument_group("run")
    job.add_argument(
        "--threshold",
        choices=("0.5", "auto"),
        default="0.5",
        help="decision threshold: 0.5, or auto = the one maximizing F1 on validation (default 0.5)",
    )
    job.add_argument("--dtype", choices=("float64", "float32"), default=None, help=f"floating-point type {r('dtype')}")
    job.add_argument(
        "--seed", type=number(int, 0, 2**32 - 1), default=0, help="seed of the split and the shuffling (default 0)"
    )
    job.add_argument(
        "--out", type=output_dir, default=None, help="output folder, replaced whole (default runs/digit<d>-<time>)"
    )
    job.add_argument("--quiet", action="store_true", help="no progress bar")
    add_threads_argument(job)


def check_options(args: argparse.Namespace) -> None:
    """Options that cannot work together, found before any work is done."""
    if args.download and args.data is not None:
        raise UsageError("use either --data DIR or --download, not both")
    for option, value in (("--cache-dir", args.cache_dir), ("--mirror", args.mirror)):
        if value is not None and not args.download:
            raise UsageError(f"{option} only applies with --download")
    if args.nesterov and args.momentum == 0:
        raise UsageError("--nesterov needs --momentum > 0")
    check_model_options(args)


def check_model_options(args: argparse.Namespace) -> None:
    """Fill in the defaults that depend on the model; refuse what does not apply to it."""
    if args.classes is not None:
        for option, given in (
            ("--digit", args.digit is not None),
            ("--pos-weight", args.pos_weight is not None),
            ("--threshold auto", args.threshold == "auto"),
        ):
            if given:
                raise UsageError(f"{option} belongs to a detector of one digit; --classes 10 classifies every digit")
    elif args.digit is None:
        args.digit = 9
    optimizer = args.optimizer or ("sgd" if model_kind(args) == "unit" else "adam")
    if args.nesterov and optimizer != "sgd":
        raise UsageError(f"--nesterov belongs to sgd, not {optimizer}")


def model_kind(args: argparse.Namespace) -> str:
    """What the options ask to train, as :func:`~glassgrad.models.recipe.recipe_for` names it."""
    if args.classes is not None:
        return "classifier"
    return "unit" if args.hidden is None else "network"


def build_model(args: argparse.Namespace, n_features: int, dtype: np.dtype) -> Model:
    """The one-unit detector, the hidden-layer detector or the digit classifier."""
    if args.classes is not None:
        return DigitClassifier(args.classes, args.hidden or 0, n_features, dtype, seed=args.seed)
    if args.hidden is not None:
        return HiddenLayerDetector(args.hidden, n_features, dtype, seed=args.seed)
    return LogisticModel(n_features, dtype=dtype)


def build_optimizer(args: argparse.Namespace, recipe: Recipe, model: Model, budget: int) -> Optimizer:
    return recipe.build_optimizer(model.parameters(), budget, nesterov=args.nesterov)


def check_out(out: Path, args: argparse.Namespace) -> None:
    """Refuse an output folder that holds anything but an earlier run (which is replaced),
    or that is or holds a folder the run must leave standing: the data it reads, the
    download cache, the current folder."""
    try:
        here: Path | None = Path.cwd()
    except FileNotFoundError:  # the current folder was deleted: nothing of it to keep
        here = None
    kept = {"the current folder": here, "the --data folder": args.data}
    if args.download:
        kept["the --cache-dir folder"] = args.cache_dir if args.cache_dir is not None else mnist.DEFAULT_CACHE
    replaced = os.path.realpath(out)
    for what, folder in kept.items():
        inside = os.path.realpath(folder) if folder is not None else None
        if inside is not None and os.path.commonpath([replaced, inside]) == replaced:
            relation = "is" if inside == replaced else "holds"
            raise UsageError(
                f"--out {out} {relation} {what} ({folder}), and a run replaces its --out folder whole; "
                "give another --out folder"
            )
    if not out.is_dir():
        return
    names = sorted(p.name for p in out.iterdir())
    if names and not any(name in names for name in RUN_MARKERS):
        raise UsageError(
            f"--out {out} holds files that are not a glassgrad run ({', '.join(names[:3])}"
            f"{', …' if len(names) > 3 else ''}); give a new or empty folder"
        )


def resolve_recipe(args: argparse.Namespace, n_digits: int) -> Recipe:
    """The recipe for the model and ``n_digits`` training digits with the options the user gave."""
    base = recipe_for(n_digits, model_kind(args), args.optimizer)
    given = {
        f.name: getattr(args, f.name) for f in dataclasses.fields(Recipe) if getattr(args, f.name, None) is not None
    }
    if given.get("val_fraction") == 0:
        given.setdefault("patience", 0)  # nothing held out: no validation loss to wait on
    recipe = dataclasses.replace(base, **given)
    if recipe.val_fraction == 0:
        for option, value in (("--patience", recipe.patience), ("--threshold auto", args.threshold == "auto")):
            if value:
                why = (
                    "--val-fraction 0 holds none out"
                    if "val_fraction" in given
                    else f"the {base.name}-data recipe holds none out: add --val-fraction 0.1 (for example)"
                )
                raise UsageError(f"{option} needs a validation split, and {why}")
    return recipe


def load_data(args: argparse.Namespace) -> tuple[mnist.Digits, mnist.Digits | None]:
    """The training digits and, when the source has one, the official test digits."""
    folder = args.data
    if args.download:
        cache = args.cache_dir if args.cache_dir is not None else mnist.DEFAULT_CACHE
        folder = mnist.download(cache, args.mirror or mnist.DEFAULT_URL)
    if folder is None:
        return mnist.load_embedded("train"), mnist.load_embedded("test")
    train = mnist.load_dir(folder, "train")
    test = mnist.load_dir(folder, "test") if mnist.has_split(folder, "test") else None
    if test is not None and len(test) == len(train) and np.array_equal(test.images, train.images):
        raise mnist.DataError(
            f"{folder}: the train and test files hold the same {len(test):,} digits; give a real test set"
        )
    return train, test


def check_classes(name: str, labels: np.ndarray, digit: int) -> None:
    """A detector of ``digit`` learns and is judged only on sets with both kinds of digits."""
    positives = int(np.count_nonzero(labels == digit))
    if positives in (0, len(labels)):
        what = f"no {digit}s" if positives == 0 else f"only {digit}s"
        raise mnist.DataError(
            f"the {name} set has {what} among its {len(labels):,} digits; a {digit}-detector needs "
            f"{digit}s and other digits in every set (check the labels, or give more data)"
        )


def build_stop(args: argparse.Namespace, recipe: Recipe, steps_per_epoch: int) -> tuple[Criterion, int]:
    """The stopping criteria the options ask for, and the iteration budget."""
    budget = min(recipe.epochs * steps_per_epoch, args.max_iterations or np.iinfo(np.int64).max)
    stop: Criterion = MaxIterations(budget)
    if args.time_budget is not None:
        stop = stop | TimeBudget(args.time_budget)
    if recipe.patience:
        stop = stop | Patience(recipe.patience, args.min_delta, on="val")
    if args.target_loss is not None:
        stop = stop | TargetLoss(args.target_loss, on="train")
    return stop, budget


def run(args: argparse.Namespace) -> int:
    check_options(args)
    plots.check_available()
    name = "digits" if args.classes is not None else f"digit{args.digit}"
    out = args.out or Path("runs") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    check_out(out, args)
    with atomic_dir(out) as folder:  # made now: an --out that cannot be written fails before training
        digits, test = load_data(args)
        recipe = resolve_recipe(args, len(digits))
        result, files, test_metrics = train_and_write(args, recipe, digits, test, folder)
    _print_report(args, digits, result, test_metrics, out, files)
    if result.stop.criterion == "KeyboardInterrupt":
        print(
            f"glassgrad train: interrupted at iteration {result.iterations}; the run so far is in {out}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    return 0


def train_and_write(
    args: argparse.Namespace, recipe: Recipe, digits: mnist.Digits, test: mnist.Digits | None, folder: Path
) -> tuple[TrainResult, dict[str, Path], BinaryMetrics | ClassMetrics | None]:
    """Split, train and evaluate as ``recipe`` says; write the run's files into ``folder``."""
    train_idx, val_idx = mnist.train_val_split(len(digits), recipe.val_fraction, args.seed)
    if args.classes is None:
        for name, labels in (("training", digits.labels[train_idx]), ("validation", digits.labels[val_idx])):
            if name == "training" or len(labels):
                check_classes(name, labels, args.digit)
        if test is not None:
            check_classes("test", test.labels, args.digit)
    dtype = np.dtype(recipe.dtype)
    X = digits.features(dtype)
    y = targets(args, digits.labels, dtype)
    if len(val_idx):
        X_train, y_train, X_val, y_val = X[train_idx], y[train_idx], X[val_idx], y[val_idx]
        del X
    else:  # every digit trains: no copy of the (N, 784) matrix
        X_train, y_train, X_val, y_val = X, y, X[:0], y[:0]

    model = build_model(args, X_train.shape[1], dtype)
    X_fit, y_fit = mnist.with_shifted_copies(X_train, y_train, recipe.shifted_copies, args.seed)
    batch = recipe.batch_size if 0 < recipe.batch_size < len(y_fit) else len(y_fit)
    stop, budget = build_stop(args, recipe, -(-len(y_fit) // batch))
    optimizer = build_optimizer(args, recipe, model, budget)
    result = fit(
        model,
        X_fit,
        y_fit,
        optimizer=optimizer,  # type: ignore[arg-type]
        stop=stop,
        val=(X_val, y_val) if len(y_val) else None,
        settings=FitSettings(
            batch_size=recipe.batch_size,
            pos_weight=recipe.pos_weight if args.classes is None else None,  # a classifier has no positive class
            seed=args.seed,
            choose_threshold=args.threshold == "auto",
            progress=not args.quiet and sys.stderr.isatty(),
        ),
    )
    test_metrics = None
    if test is not None:
        test_metrics = evaluate(model, test.features(dtype), targets(args, test.labels, dtype), result.threshold)

    shown = test if test is not None else digits.subset(val_idx if len(val_idx) else train_idx)
    stats = {
        "source": digits.source,
        "recipe": recipe.name,
        "n_train": len(y_train),
        "n_val": len(y_val),
        "iterations": result.iterations,
        "epochs": result.epochs,
        "best_iteration": result.best_iteration,
        "stop": str(result.stop),
        "val_f1": _f1(result.val_metrics) if result.val_metrics else None,
        "test_f1": _f1(test_metrics) if test_metrics else None,
    }
    what = "ten-digit classifier" if args.classes is not None else f"{args.digit}-detector"
    held_out = f" and {len(y_val):,} validation" if len(y_val) else ""
    files = {
        "model": save_model(folder / "model.npz", model, args.digit, result.threshold, **stats),
        "loss_curve": plots.loss_curve(
            folder / "loss_curve.png",
            result.batch_losses,
            result.history,
            f"{what}: loss on {len(y_train):,} training{held_out} digits{_copies(recipe)}",
        ),
        "weights": weights_picture(folder / "weights.png", model, what, args.digit),
    }
    shown_proba = model.predict_proba(shown.features(dtype))
    if isinstance(model, Detector):
        files["mistakes"] = plots.mistakes_grid(
            folder / "mistakes.png", shown.images, shown.labels, shown_proba, args.digit, result.threshold
        )
    else:
        shown_metrics = model.metrics(shown.features(dtype), shown.labels)
        where = "test" if test is not None else "held-out"
        files["confusion"] = plots.confusion_matrix(
            folder / "confusion.png",
            shown_metrics.confusion,
            f"{what} on {len(shown):,} {where} digits: accuracy {shown_metrics.accuracy:.4f}",
        )
    sample = (X_val, y_val) if len(y_val) else (X_train, y_train)
    files.update(render_sample_graph(model, sample[0][:1], sample[1][:1], folder))
    summary = _summary(args, recipe, digits, result, test_metrics, files)
    files["summary"] = write_summary(folder / "summary.json", summary)
    return result, files, test_metrics


def targets(args: argparse.Namespace, labels: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """What the model learns: 1/0 for "is the digit" (a detector), or the labels (a classifier)."""
    if args.classes is not None:
        return labels.astype(dtype)
    return mnist.binary_targets(labels, args.digit, dtype)


def weights_picture(path: Path, model: Model, what: str, digit: int | None) -> Path:
    """The one unit's weights as 28×28, or the first layer's rows as a grid of 28×28."""
    if isinstance(model, LogisticModel):
        assert digit is not None
        return plots.weights_heatmap(path, model.w.data, digit)
    assert isinstance(model, (HiddenLayerDetector, DigitClassifier))
    rows = "hidden unit" if model.first_layer is not model.layers[-1] else "digit"
    return plots.weight_grid(
        path, model.first_layer.weight.data, f"{what}: the first layer, one 28×28 image per {rows}"
    )


def _copies(recipe: Recipe) -> str:
    n = recipe.shifted_copies
    return f" (and {n} shifted {'copy' if n == 1 else 'copies'})" if n else ""


def _f1(m: BinaryMetrics | ClassMetrics) -> float:
    return m.f1 if isinstance(m, BinaryMetrics) else m.macro_f1


def render_sample_graph(model: Model, x: np.ndarray, y: np.ndarray, out: Path) -> dict[str, Path]:
    """The forward and backward graphs of one sample's loss and its explorer (steps
    through both passes in a browser), when ``glassgrad.viz`` exists."""
    try:
        from glassgrad import viz

        from .vizwarnings import viz_warnings
    except ImportError:
        return {}
    loss = model.loss(x, y)
    files = {}
    try:
        with viz_warnings("train"):
            for view in ("forward", "backward"):
                files[f"graph_{view}"] = Path(viz.draw(loss, view=view).save(out / f"graph_{view}.svg"))
            files["explorer"] = viz.explore(loss, title="The loss of one validation digit").save(out / "explorer.html")
    except Exception as exc:  # an optional picture must never cost the trained model
        print(
            f"glassgrad train: note: graph of one sample not drawn: {' '.join(str(exc).split())[:200]}", file=sys.stderr
        )
    return files


def _metrics_dict(m: BinaryMetrics | ClassMetrics | None) -> dict[str, Any] | None:
    return None if m is None else m.to_dict()


def _summary(
    args: argparse.Namespace,
    recipe: Recipe,
    digits: mnist.Digits,
    result: TrainResult,
    test: BinaryMetrics | ClassMetrics | None,
    files: dict[str, Path],
) -> dict[str, Any]:
    options = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k not in ("run", "command")}
    options.update((k, v) for k, v in dataclasses.asdict(recipe).items() if k != "name")  # what the run used
    return {
        "digit": args.digit,
        "data": digits.source,
        "recipe": recipe.name,
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
        "cpu_time_s": result.cpu_time,
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
    test: BinaryMetrics | ClassMetrics | None,
    out: Path,
    files: dict[str, Path],
) -> None:
    what = "ten-digit classifier" if args.classes is not None else f"{args.digit}-detector"
    print(
        f"{what} trained on {digits.source}: {result.iterations} iterations, {result.epochs} epochs, "
        f"{result.wall_time:.2f} s"
    )
    print(f"stopped by {result.stop}")
    kept = f"parameters of iteration {result.best_iteration} kept"
    threshold = probability(result.threshold, decimals=3)  # 1e-4 is not 0.000
    print(kept if args.classes is not None else f"{kept}; decision threshold {threshold}")
    rows = [("train", result.train_metrics), ("validation", result.val_metrics), ("test", test)]
    print("\n".join(metrics_table(rows, classes=args.classes is not None)))
    print(f"wrote {len(files)} files to {out}/: " + ", ".join(p.name for p in files.values()))


def metrics_table(rows: list[tuple[str, BinaryMetrics | ClassMetrics | None]], classes: bool) -> list[str]:
    """The report's table of metrics, one line per split that has them, then a note for
    each metric the split's counts leave undefined (a 0 that is no score, a missing F1)."""
    notes = []
    if classes:
        lines = [f"{'':12}{'accuracy':>10}{'macro F1':>10}   F1 of 0 … 9"]
        for name, c in rows:
            if isinstance(c, ClassMetrics):
                f1 = " ".join(f"{'—':>4}" if math.isnan(f) else f"{f:.2f}" for f in c.f1)
                lines.append(f"{name:12}{c.accuracy:>10.4f}{c.macro_f1:>10.4f}   {f1}")
                if c.absent:
                    missing = ", ".join(map(str, c.absent))
                    why = f"no {missing} among the digits or the predictions: no F1 (—), left out of macro F1"
                    notes.append(f"note: {name}: {why}")
        return lines + notes
    counts = f"{'TP':>6}{'FP':>6}{'FN':>6}{'TN':>7}"
    lines = [f"{'':12}{'accuracy':>10}{'precision':>11}{'recall':>8}{'F1':>8}{'ROC AUC':>9}{counts}"]
    for name, m in rows:
        if isinstance(m, BinaryMetrics):
            (tn, fp), (fn, tp) = m.confusion
            lines.append(
                f"{name:12}{m.accuracy:>10.4f}{m.precision:>11.4f}{m.recall:>8.4f}{m.f1:>8.4f}{m.roc_auc:>9.4f}"
                f"{tp:>6}{fp:>6}{fn:>6}{tn:>7}"
            )
            notes += [f"note: {name}: {why}" for why in m.undefined()]
    return lines + notes
