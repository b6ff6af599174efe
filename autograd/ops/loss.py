"""Binary cross-entropy, from logits (fused and stable) and from probabilities.

For a logit z and a target y ∈ [0, 1], with positive-class weight w (``pos_weight``):

    ℓ(z, y) = w·y·softplus(−z) + (1 − y)·softplus(z)
            = (1 − y)·z + (1 + (w − 1)·y)·softplus(−z)
    ∂ℓ/∂z  = (1 + (w − 1)·y)·σ(z) − w·y            (= σ(z) − y when w = 1)
    ∂ℓ/∂y  = −z + (w − 1)·softplus(−z) = w·softplus(−z) − softplus(z)

softplus never overflows, so logits of ±1e4 give finite losses and gradients.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from ..errors import ShapeError
from ..formatting import number
from ..graph import Function, Node
from .base import as_raw, call
from .domains import UNIT_INTERVAL
from .elementwise import cast, clip, log, sigmoid, softplus
from .shape import broadcast_to

REDUCTIONS = ("mean", "sum", "none")


def _reduce(xp: Any, loss: Any, reduction: str) -> Any:
    if reduction == "mean":
        return xp.mean(loss)
    if reduction == "sum":
        return xp.sum(loss)
    return loss


def _targets_grad(gy: Any, x: Any, y: Any) -> Any:
    """The targets' gradient at the broadcast shape of (x, y), where the driver sums it
    back to y's shape. It is computed from the logits or probabilities x alone, so with
    a mean or sum reduction (g one number) it has x's shape, smaller than y's when y was
    broadcast against x. (The gradient for x involves y: it has the broadcast shape.)"""
    xs, ys = _shape(x), _shape(y)
    if xs == ys:
        return gy
    shape = np.broadcast_shapes(xs, ys)
    return gy if _shape(gy) == shape else broadcast_to(gy, shape)


def _shape(x: Any) -> tuple[int, ...]:
    """Shape of an array or Tensor; () for floats and Scalars (which never broadcast)."""
    return getattr(x, "shape", ())


def _scale(saved: Any, g: Any) -> Any:
    """∂(reduction)/∂ℓᵢ times the upstream gradient: g/n for mean, g for sum and none."""
    if saved.reduction != "mean":
        return g
    # g is one number: as a numpy scalar (g[()]: same dtype, same rounding) it is
    # divided without numpy's 0-d array machinery.
    return (g[()] if type(g) is np.ndarray else g) / saved.n


def mean_suffix(saved: Any) -> str:
    """``/n`` after a formula of a mean over n > 1 elements."""
    return f"/{saved.n}" if saved.reduction == "mean" and saved.n > 1 else ""


def _reduction_detail(ctx: Any) -> str:
    reduction: str = ctx.saved.reduction
    return "" if reduction == "mean" else reduction


def _reduced_reference(loss: np.ndarray, reduction: str) -> Any:
    if reduction == "none":
        return loss
    return loss.mean() if reduction == "mean" else loss.sum()


def _loss_examples(**extra: tuple[Any, ...]) -> tuple[dict[str, Any], ...]:
    """Every reduction, with every combination of the ``extra`` parameters' values."""
    examples: list[dict[str, Any]] = [{"reduction": r} for r in REDUCTIONS]
    for name, values in extra.items():
        examples = [{**e, name: v} for e in examples for v in values]
    return tuple(examples)


class BCEWithLogits(Function, register=True):
    """ℓ = (1−y)·z + (1+(w−1)y)·softplus(−z);  ∂ℓ/∂z = (1+(w−1)y)·σ(z) − w·y

    Without ``pos_weight`` this is ℓ = softplus(z) − y·z (the same number, since
    softplus(z) = z + softplus(−z)), and backward reuses the forward's softplus:
    σ(z) = exp(z − softplus(z)), whose exponent is ≤ 0, so it never overflows.
    """

    category = "loss"
    name = "bce_with_logits"
    broadcasts = True
    domains = (None, UNIT_INTERVAL)
    examples = _loss_examples(pos_weight=(None, 0.5, 2.0))

    class Saved(NamedTuple):
        reduction: str
        n: int  # elements of the unreduced loss
        pos_weight: float | None
        softplus: Any  # softplus(z), for backward's σ(z); None with a pos_weight

    @staticmethod
    def reference(z, y, pos_weight, reduction):
        w = 1.0 if pos_weight is None else pos_weight
        return _reduced_reference(w * y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z), reduction)

    @staticmethod
    def forward(ctx, z, y, pos_weight, reduction):
        xp = ctx.xp
        sp = None
        if pos_weight is None:
            sp = xp.softplus(z)
            loss = sp - y * z
        else:
            loss = (1 - y) * z + (1 + (pos_weight - 1) * y) * xp.softplus(-z)
        ctx.saved = BCEWithLogits.Saved(reduction, xp.count(loss), pos_weight, sp)
        return _reduce(xp, loss, reduction)

    @staticmethod
    def backward(ctx, g, out, z, y):
        saved = ctx.saved
        w = saved.pos_weight
        g = _scale(saved, g)
        need_z, need_y = ctx.needs_input_grad
        if w is None:
            # On raw data the saved softplus gives σ(z) in two array passes; on graph
            # values (create_graph) σ must be a recorded op to be differentiated again.
            s = sigmoid(z) if isinstance(z, Node) else ctx.xp.exp(z - saved.softplus)
            return (g * (s - y) if need_z else None), (_targets_grad(g * -z, z, y) if need_y else None)
        return (
            g * ((1 + (w - 1) * y) * sigmoid(z) - w * y) if need_z else None,
            _targets_grad(g * (w * softplus(-z) - softplus(z)), z, y) if need_y else None,
        )

    @staticmethod
    def formulas(ctx, out, z, y):
        n = mean_suffix(ctx.saved)
        if ctx.saved.pos_weight is None:
            return f"(σ({z})−{y}){n}", f"−{z}{n}"
        w = number(ctx.saved.pos_weight)
        return f"((1+({w}−1){y})σ({z}) − {w}·{y}){n}", f"({w}·softplus(−{z}) − softplus({z})){n}"

    detail = staticmethod(_reduction_detail)


class BCE(Function, register=True):
    """ℓ = −[y·ln p + (1−y)·ln(1−p)];  ∂ℓ/∂p = (p − y)/(p(1−p)),  ∂ℓ/∂y = ln(1−p) − ln p

    As in PyTorch, each log is clamped at −100 (so p = 0 or 1 gives a finite loss)
    and p(1−p) is clamped at 1e-12 in the gradient.
    """

    category = "loss"
    name = "binary_cross_entropy"
    broadcasts = True
    domains = (UNIT_INTERVAL, UNIT_INTERVAL)
    examples = _loss_examples()

    class Saved(NamedTuple):
        reduction: str
        n: int  # elements of the unreduced loss

    @staticmethod
    def reference(p, y, reduction):
        return _reduced_reference(-(y * np.log(p) + (1 - y) * np.log1p(-p)), reduction)

    @staticmethod
    def forward(ctx, p, y, reduction):
        loss = -(y * _log_clamped(p) + (1 - y) * _log_clamped(1 - p))
        ctx.saved = BCE.Saved(reduction, ctx.xp.count(loss))
        return _reduce(ctx.xp, loss, reduction)

    @staticmethod
    def backward(ctx, g, out, p, y):
        g = _scale(ctx.saved, g)
        gp = g * (p - y) / clip(p * (1 - p), 1e-12, None)
        return gp, _targets_grad(g * (_log_clamped(1 - p) - _log_clamped(p)), p, y)

    @staticmethod
    def formulas(ctx, out, p, y):
        n = mean_suffix(ctx.saved)
        return f"({p}−{y})/({p}(1−{p})){n}", f"(ln(1−{p}) − ln {p}){n}"

    detail = staticmethod(_reduction_detail)


_TINY = math.exp(-100.0)


def _log_clamped(x: Any) -> Any:
    """max(ln x, −100), without evaluating ln 0: ln is increasing, so clamp x at e⁻¹⁰⁰."""
    return log(clip(x, _TINY, None))


def _loss_shape(name: str, x: Any, targets: Any) -> tuple[int, ...]:
    """The shape of the unreduced loss, predictions and targets broadcast (x's own when
    they do not broadcast: the op reports that). Refuses predictions and targets that
    broadcast to a shape neither has: (N,) against (N, 1) gives an (N, N) loss of every
    prediction against every target, a plausible number where the user meant N pairs.
    One side may stretch to the other's shape."""
    xs, ys = _shape(x), _shape(targets)
    if xs == ys:
        return xs
    try:
        shape = np.broadcast_shapes(xs, ys)
    except ValueError:
        return xs
    if shape != xs and shape != ys:
        raise ShapeError(
            f"{name}: predictions of shape {xs} and targets of shape {ys} broadcast to {shape}, "
            "a loss of every prediction against every target; give both the same shape "
            f"(targets.reshape({xs}))"
        )
    return shape


def check_mean_of_some(name: str, reduction: str, shape: tuple[int, ...]) -> None:
    """Refuse the mean of no losses (an empty batch): it is 0/0, refused as ``mean()`` of
    nothing is, rather than a NaN."""
    if reduction == "mean" and 0 in shape:
        raise ShapeError(
            f"{name}: the mean of 0 losses (an empty batch: losses of shape {shape}) is 0/0; "
            "use reduction='sum' or 'none', whose gradient is empty"
        )


def _float_targets(x: Any, targets: Any, raw: Any) -> Any:
    """Boolean or integer ``targets`` (their data: ``raw``) as floats of NumPy's result
    dtype with the predictions ``x`` (float32 for a float32 model's bool labels). Left
    to the formulas, ``1 − y`` on labels is integer arithmetic, whose int64 would
    promote the loss to float64 where NumPy keeps float32."""
    dtype = np.result_type(as_raw(x), raw)
    if dtype.kind != "f":
        return targets
    return cast(targets, dtype) if isinstance(targets, Node) else raw.astype(dtype)


def _loss_targets(name: str, x: Any, targets: Any, reduction: str) -> Any:
    """The ``targets`` of a loss of the predictions ``x``, checked and converted: their
    shapes must give a loss of x's pairs (:func:`_loss_shape`), a mean must be over
    some losses (:func:`check_mean_of_some`), and boolean or integer targets become
    floats (:func:`_float_targets`). Every training step calls it: the usual targets
    (floats of the predictions' shape) cost a comparison of shapes and of a dtype."""
    raw = as_raw(targets)
    shape = getattr(as_raw(x), "shape", ())
    if getattr(raw, "shape", ()) != shape:
        shape = _loss_shape(name, x, targets)
    check_mean_of_some(name, reduction, shape)
    if isinstance(raw, (np.ndarray, np.generic)) and raw.dtype.kind in "biu":
        return _float_targets(x, targets, raw)
    return targets


def binary_cross_entropy_with_logits(
    logits: Any, targets: Any, pos_weight: float | None = None, reduction: str = "mean"
) -> Any:
    """Binary cross-entropy of ``targets`` under σ(``logits``), fused and stable.

    ``pos_weight`` multiplies the loss of positive targets (use n_neg/n_pos for an
    imbalanced class). ``reduction`` is ``"mean"`` (default), ``"sum"`` or ``"none"``.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if pos_weight is not None and not pos_weight > 0:
        raise ValueError(f"pos_weight must be > 0, got {pos_weight!r}")
    targets = _loss_targets(BCEWithLogits.name, logits, targets, reduction)
    return call(BCEWithLogits, logits, targets, pos_weight=pos_weight, reduction=reduction)


def binary_cross_entropy(probs: Any, targets: Any, reduction: str = "mean") -> Any:
    """Binary cross-entropy of ``targets`` under probabilities ``probs`` ∈ [0, 1].

    Prefer :func:`binary_cross_entropy_with_logits` when you have logits: it is exact
    where σ(z) rounds to 0 or 1.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return call(BCE, probs, _loss_targets(BCE.name, probs, targets, reduction), reduction=reduction)
