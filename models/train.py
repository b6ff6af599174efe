"""The training loop: an optimizer on a detector or classifier until a stopping criterion fires.

One iteration takes a batch (the whole training set when ``batch_size`` is 0, else a
shuffled minibatch), computes the loss L on the engine, back-propagates, and lets the
optimizer step. At the end of each epoch (every iteration in full-batch mode) the
validation loss is computed and the stopping criteria see the epoch's losses. When
training stops — by a criterion, by Ctrl-C or SIGTERM — the parameters of the best epoch are
restored (by validation loss, or by training loss without a validation set). A loss or
gradient that becomes NaN or infinite raises :class:`TrainingDiverged`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

import numpy as np
from glassgrad import Compiled, no_grad, trace
from glassgrad.errors import GlassgradError
from glassgrad.models.stopping import BestState, Criterion, MaxIterations, Patience, State, StopReason
from glassgrad.optim import SGD

from .logistic import Detector
from .metrics import BinaryMetrics, ClassMetrics, best_f1_threshold
from .mnist import minibatches

if TYPE_CHECKING:
    from .network import DigitClassifier


#: What fit trains: a detector (binary cross-entropy) or a digit classifier (softmax
#: cross-entropy); both give ``loss(X, y, pos_weight)`` and ``metrics(X, y, threshold)``.
Model = Union[Detector, "DigitClassifier"]


class TrainingDiverged(GlassgradError):
    """The loss or its gradient became NaN or infinite: the step was too large. The model
    keeps the parameters of the best epoch before it, if there was one."""


@dataclass(frozen=True)
class Epoch:
    """One row of the history: losses after ``epoch`` epochs, ``iteration`` steps."""

    epoch: int
    iteration: int
    train_loss: float
    val_loss: float | None
    lr: float
    elapsed: float


@dataclass
class TrainResult:
    """What training did: its history, why it stopped, and how good the detector is."""

    history: list[Epoch]
    batch_losses: np.ndarray  # the loss of every iteration's batch, before its step
    stop: StopReason
    best_iteration: int | None  # the iteration whose parameters the model now holds
    threshold: float
    train_metrics: BinaryMetrics | ClassMetrics
    val_metrics: BinaryMetrics | ClassMetrics | None
    wall_time: float
    cpu_time: float  # processor seconds of this process while training (fairer than wall time on a busy machine)
    iterations: int = 0
    epochs: int = 0


def loss_value(model: Model, X: Any, y: Any, pos_weight: float | None = None) -> float:
    """The mean loss on (X, y) without recording a graph."""
    with no_grad():
        return model.loss(X, y, pos_weight).item()


def evaluate(model: Model, X: Any, y: Any, threshold: float = 0.5) -> BinaryMetrics | ClassMetrics:
    """The model's metrics on (X, y) (a detector's at ``threshold``)."""
    return model.metrics(X, y, threshold)


def _check_finite(name: str, data: Any) -> None:
    """Refuse data holding NaN or infinity: the loss would be NaN from the first step on
    (or the validation loss for ever), which looks like divergence."""
    a = np.asarray(data) if data is not None else None
    if a is None or a.dtype.kind != "f":
        return
    # The sum is one pass without an (N, 784) mask, and NaN or ±inf make it non-finite;
    # only then are the values looked at one by one (a huge sum may be finite values).
    with np.errstate(over="ignore"):
        if math.isfinite(np.sum(a, dtype=np.float64)):
            return
    bad = np.argwhere(~np.isfinite(a))
    if not len(bad):
        return
    first = tuple(int(i) for i in bad[0])
    raise ValueError(f"fit: {name} holds NaN or infinite values (first at index {first}); remove or fix those samples")


def _grad_norm(model: Model) -> float:
    return math.sqrt(sum(float(np.vdot(p.grad, p.grad)) for p in model.parameters() if p.grad is not None))


def _training_step(model: Model, pos_weight: float | None, traced: bool) -> Any:
    """A function of one batch that leaves the loss's gradient in each parameter's
    ``.grad`` and returns the loss: compiled on the first batch, or eager. A classifier
    runs eager: its labels are a parameter of the cross-entropy op, not an input a
    compiled trace would read anew each batch."""
    traced = traced and isinstance(model, Detector)

    def loss_of(X: Any, y: Any) -> Any:
        return model.loss(X, y, pos_weight)

    compiled: list[Compiled] = []

    def step(X: Any, y: Any) -> float:
        if not traced:
            loss = loss_of(X, y)
            loss.backward()
            return loss.item()
        # The pixels in the model's dtype, as the model converts them when it reads them:
        # inside the trace that conversion would read a traced input's values.
        X = np.asarray(X, dtype=model.dtype)
        if not compiled:
            compiled.append(trace(loss_of, X, y))
        return float(compiled[0].backward(X, y))

    return step


def _progress_bar(enabled: bool, stop: Criterion) -> Any:
    from tqdm import tqdm

    caps = [c.n for c in stop if isinstance(c, MaxIterations)]
    return tqdm(total=min(caps) if caps else None, disable=not enabled, unit="it", leave=False, dynamic_ncols=True)


@dataclass(frozen=True)
class FitSettings:
    """How ``fit`` trains, beyond the optimizer and the stopping rule.

    ``batch_size``: the minibatch size, 0 = the whole training set every step;
    ``pos_weight``: the weight of the positive class in the loss (None = 1);
    ``seed``: seed of the minibatch shuffling; ``choose_threshold``: pick the threshold
    that maximizes F1 on the validation set (else 0.5); ``progress``: show a tqdm bar on
    stderr with the loss; ``traced``: run each step as a compiled trace of the loss
    (:func:`glassgrad.trace`: the same numbers, without building a graph per step),
    else record and back-propagate the graph every step.
    """

    batch_size: int = 0
    pos_weight: float | None = None
    seed: int = 0
    choose_threshold: bool = False
    progress: bool = False
    traced: bool = True

    def __post_init__(self) -> None:
        b = self.batch_size
        if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 0:
            raise ValueError(f"batch_size must be an integer ≥ 0 (0 = full batch), got {b!r}")


def fit(
    model: Model,
    X: Any,
    y: Any,
    *,
    optimizer: SGD,
    stop: Criterion,
    val: tuple[Any, Any] | None = None,
    settings: FitSettings = FitSettings(),
) -> TrainResult:
    """Train ``model`` on (X, y) with ``optimizer`` until ``stop`` fires, watching the
    validation set ``val`` = (X_val, y_val) when given; see the module doc and
    :class:`FitSettings`."""
    y = np.asarray(y, dtype=model.dtype)
    n = y.shape[0]
    batch_size, pos_weight = settings.batch_size, settings.pos_weight
    full_batch = batch_size == 0 or batch_size >= n
    X_val, y_val = val if val is not None else (None, None)
    has_val = y_val is not None and len(y_val) > 0
    if has_val:
        y_val = np.asarray(y_val, dtype=model.dtype)
    for name, data in (("X", X), ("y", y), ("X_val", X_val), ("y_val", y_val)):
        _check_finite(name, data)
    patience = next((c for c in stop if isinstance(c, Patience)), None)
    best = patience.best if patience is not None else BestState("val" if has_val else "train")
    rng = np.random.default_rng(settings.seed)
    stop.reset()
    step = _training_step(model, pos_weight, settings.traced)

    batch_losses: list[float] = []
    history: list[Epoch] = []
    iteration = epoch = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    bar = _progress_bar(settings.progress, stop)
    reason: StopReason | None = None
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # divergence is caught, not warned
        try:
            while reason is None:
                batches = [None] if full_batch else list(minibatches(n, batch_size, rng))
                first = len(batch_losses)
                for k, idx in enumerate(batches):
                    lr = optimizer.lr
                    optimizer.zero_grad()
                    batch_loss = step(X if idx is None else X[idx], y if idx is None else y[idx])
                    grad_norm = _grad_norm(model)
                    if not (math.isfinite(batch_loss) and math.isfinite(grad_norm)):
                        raise TrainingDiverged(
                            f"training diverged at iteration {iteration + 1}: the loss is {batch_loss:.4g} and the "
                            f"gradient norm {grad_norm:.4g}; lower the learning rate, the weight decay or the "
                            "positive-class weight"
                        )
                    optimizer.step()
                    iteration += 1
                    batch_losses.append(batch_loss)
                    bar.update()
                    state = State(iteration, epoch, grad_norm=grad_norm, model=model)
                    if k == len(batches) - 1:
                        epoch += 1
                        state.epoch = epoch
                        sizes = [n if idx is None else len(idx) for idx in batches]  # the last may be smaller
                        state.train_loss = float(np.average(batch_losses[first:], weights=sizes))
                        state.val_loss = loss_value(model, X_val, y_val, pos_weight) if has_val else None
                        history.append(
                            Epoch(epoch, iteration, state.train_loss, state.val_loss, lr, time.perf_counter() - start)
                        )
                        bar.set_postfix(loss=f"{state.train_loss:.4f}", refresh=False)
                        if patience is None:
                            best.update(state)
                    reason = stop.check(state)
                    if reason is not None:
                        break
        except KeyboardInterrupt:
            reason = StopReason("KeyboardInterrupt", iteration, float("nan"), "interrupted (Ctrl-C or SIGTERM)")
        except TrainingDiverged:
            best.restore(model)
            raise
        finally:
            bar.close()
    wall_time, cpu_time = time.perf_counter() - start, time.process_time() - cpu_start
    best_iteration = best.iteration if best.restore(model) else iteration

    threshold = 0.5
    val_metrics = None
    if has_val:
        if settings.choose_threshold:
            threshold, _ = best_f1_threshold(y_val, model.predict_proba(X_val))
        val_metrics = evaluate(model, X_val, y_val, threshold)
    return TrainResult(
        history=history,
        batch_losses=np.asarray(batch_losses),
        stop=reason,
        best_iteration=best_iteration,
        threshold=threshold,
        train_metrics=evaluate(model, X, y, threshold),
        val_metrics=val_metrics,
        wall_time=wall_time,
        cpu_time=cpu_time,
        iterations=iteration,
        epochs=epoch,
    )
