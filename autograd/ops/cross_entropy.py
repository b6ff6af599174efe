"""Cross-entropy of class scores (logits), from integer labels or from probabilities.

For logits z of shape (N, C) (or (C,) for one sample), s = softmax(z) along the class
axis and class weights w (all 1 by default):

    from a label yᵢ:          ℓᵢ = −w_{yᵢ}·ln s_{i,yᵢ}          ∂ℓᵢ/∂zᵢ = w_{yᵢ}·(sᵢ − onehot(yᵢ))
    from probabilities pᵢ:    ℓᵢ = −Σ_c w_c·p_{ic}·ln s_{ic}    ∂ℓᵢ/∂zᵢ = (Σ_c w_c p_{ic})·sᵢ − w⊙pᵢ
                                                                ∂ℓᵢ/∂p_{ic} = −w_c·ln s_{ic}

ln s is computed as z − logsumexp(z) (log-softmax), so logits of ±1e4 give finite
losses and exact gradients. As in PyTorch, ``reduction="mean"`` divides by Σᵢ w_{yᵢ}
(the weighted mean) for labels and by N for probabilities; ``"sum"`` adds; ``"none"``
gives one loss per sample.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..formatting import number
from ..graph import Function, Node
from .base import as_raw, call, read_values
from .domains import UNIT_INTERVAL
from .loss import REDUCTIONS, check_mean_of_some
from .softmax import log_softmax, logsumexp_kept, softmax


def _log_probs(z: np.ndarray) -> Any:
    return z - logsumexp_kept(z, (z.ndim - 1,))


def _reduce(losses: np.ndarray, reduction: str, denominator: Any) -> Any:
    if reduction == "none":
        return losses
    total = np.sum(losses)
    return total / denominator if reduction == "mean" else total


def _per_sample(g: Any, saved: Any) -> Any:
    """∂L/∂ℓᵢ as a column against the class axis: g/denominator for mean, g for sum,
    gᵢ for none."""
    if saved.reduced == "none":
        return _column(g)
    return g / saved.denominator if saved.reduced == "mean" else g


def _column(g: Any) -> Any:
    """g with a size-1 class axis appended, so it scales each sample's row."""
    return g.reshape((*g.shape, 1))


def _suffix(saved: Any) -> str:
    return f"/{number(saved.denominator)}" if saved.reduced == "mean" and saved.denominator != 1 else ""


class CrossEntropy(Function, register=True):
    """ℓᵢ = −w_{yᵢ}·ln softmax(zᵢ)_{yᵢ} for integer labels y;  ∂ℓᵢ/∂zᵢ = w_{yᵢ}(softmax(zᵢ) − onehot(yᵢ))"""

    name = "cross_entropy"

    class Saved(NamedTuple):
        onehot: np.ndarray  # the labels as rows of 0s and a 1, shaped like z
        sample_weight: np.ndarray  # w_{yᵢ} per sample, as a column
        reduced: str  # mean, sum or none
        denominator: Any  # what a mean divides by: Σᵢ w_{yᵢ}

    @staticmethod
    def reference(z, labels, weight, reduction):
        w = np.ones(z.shape[-1], z.dtype) if weight is None else weight.astype(z.dtype)
        ls = z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))
        picked = np.take_along_axis(ls, labels[..., None], axis=-1)[..., 0]
        losses = -w[labels] * picked
        return {"mean": np.sum(losses) / np.sum(w[labels]), "sum": np.sum(losses)}.get(reduction, losses)

    @staticmethod
    def forward(ctx, z, labels, weight, reduction):
        onehot = np.zeros_like(z)
        np.put_along_axis(onehot, labels[..., None], 1, axis=-1)
        sample_weight = np.ones(labels.shape, z.dtype) if weight is None else weight[labels].astype(z.dtype)
        losses = -sample_weight * np.sum(onehot * _log_probs(z), axis=-1)
        denominator = np.sum(sample_weight)
        ctx.saved = CrossEntropy.Saved(onehot, sample_weight[..., None], reduction, denominator)
        return _reduce(losses, reduction, denominator)

    @staticmethod
    def backward(ctx, g, out, z):
        saved = ctx.saved
        return (_per_sample(g, saved) * saved.sample_weight * (softmax(z, axis=-1) - saved.onehot),)

    @staticmethod
    def formulas(ctx, out, z):
        w = "" if np.all(ctx.saved.sample_weight == 1) else "w_y·"
        return (f"{w}(softmax({z}) − onehot(y)){_suffix(ctx.saved)}",)

    @staticmethod
    def detail(ctx):
        return "" if ctx.saved.reduced == "mean" else ctx.saved.reduced


class SoftCrossEntropy(Function, register=True):
    """ℓᵢ = −Σ_c w_c·p_{ic}·ln softmax(zᵢ)_c for target probabilities p;
    ∂ℓᵢ/∂zᵢ = (Σ_c w_c p_{ic})·softmax(zᵢ) − w⊙pᵢ,  ∂ℓᵢ/∂p_{ic} = −w_c·ln softmax(zᵢ)_c"""

    name = "soft_cross_entropy"
    domains = (None, UNIT_INTERVAL)

    class Saved(NamedTuple):
        weight: Any  # the class weights, or 1
        reduced: str
        denominator: int  # what a mean divides by: N

    @staticmethod
    def reference(z, p, weight, reduction):
        w = 1.0 if weight is None else weight.astype(z.dtype)
        losses = -np.sum(w * p * (z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))), axis=-1)
        return {"mean": np.mean(losses), "sum": np.sum(losses)}.get(reduction, losses)

    @staticmethod
    def forward(ctx, z, p, weight, reduction):
        w = 1.0 if weight is None else weight.astype(z.dtype)
        losses = -np.sum(w * p * _log_probs(z), axis=-1)
        ctx.saved = SoftCrossEntropy.Saved(w, reduction, losses.size)
        return _reduce(losses, reduction, losses.size)

    @staticmethod
    def backward(ctx, g, out, z, p):
        saved = ctx.saved
        scale = _per_sample(g, saved)
        need_z, need_p = ctx.needs_input_grad
        wp = saved.weight * p
        gz = scale * (wp.sum(axis=-1, keepdims=True) * softmax(z, axis=-1) - wp) if need_z else None
        gp = scale * -saved.weight * log_softmax(z, axis=-1) if need_p else None
        return gz, gp

    @staticmethod
    def formulas(ctx, out, z, p):
        w = "" if isinstance(ctx.saved.weight, float) else "w⊙"
        n = _suffix(ctx.saved)
        return f"(Σ {w}{p})·softmax({z}) − {w}{p}{n}", f"−{w}log_softmax({z}){n}"

    detail = CrossEntropy.detail


def cross_entropy(logits: Any, target: Any, weight: Any = None, reduction: str = "mean") -> Any:
    """The cross-entropy of class scores ``logits`` (N, C) — or (C,) for one sample —
    against ``target``: integer labels (N,) in [0, C), or probabilities shaped like the
    logits (each row sums to 1; a graph value gets a gradient too).

    ``weight`` (C,) scales each class's loss (for imbalanced classes); ``reduction`` is
    ``"mean"`` (default; weighted by the labels' class weights), ``"sum"`` or ``"none"``.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"cross_entropy: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    shape = tuple(np.shape(as_raw(logits)))
    if len(shape) not in (1, 2) or shape[-1] == 0:
        raise ValueError(f"cross_entropy: logits must have shape (N, C) or (C,) with C ≥ 1 classes, got {shape}")
    n_classes = shape[-1]
    check_mean_of_some("cross_entropy", reduction, shape[:-1])
    if weight is not None:
        weight = np.asarray(read_values(weight, "cross_entropy's weight"), dtype=np.float64)
        if weight.shape != (n_classes,) or not np.all(weight >= 0):
            raise ValueError(
                f"cross_entropy: weight must hold one number ≥ 0 per class, shape ({n_classes},), got {weight.shape}"
            )
    raw = as_raw(target)
    kind = np.asarray(raw).dtype.kind
    if isinstance(target, Node) or kind == "f":
        if tuple(np.shape(raw)) != shape:
            hint = " (integer labels must have an integer dtype)" if np.shape(raw) == shape[:-1] else ""
            raise ValueError(
                f"cross_entropy: probability targets must have the logits' shape {shape}, got {np.shape(raw)}{hint}"
            )
        return call(SoftCrossEntropy, logits, target, weight=weight, reduction=reduction)
    labels = np.asarray(raw)
    if kind not in "iu" or labels.shape != shape[:-1]:
        raise ValueError(
            f"cross_entropy: labels must be integers of shape {shape[:-1]} (one class index per sample) "
            f"or probabilities of shape {shape}; got {labels.dtype} of shape {labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        bad = labels[(labels < 0) | (labels >= n_classes)]
        raise ValueError(f"cross_entropy: labels must lie in [0, {n_classes}), got {bad.flat[0]}")
    return call(CrossEntropy, logits, labels=labels.astype(np.intp), weight=weight, reduction=reduction)
