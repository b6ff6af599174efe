"""Gradient checking against central differences.

For f: ℝⁿ → ℝᵐ and a random upstream vector v, the analytic vector-Jacobian product
vᵀJ from backward is compared, element by element of every input, with the numerical
one from central differences computed in float64:

    ∂(vᵀf)/∂xᵢ ≈ (vᵀf(x + h·eᵢ) − vᵀf(x − h·eᵢ)) / 2h
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import GlassgradError
from ..graph import Node, run_backward
from ..scalar import Scalar
from ..tensor import Tensor


class GradcheckError(GlassgradError, AssertionError):
    """The analytic gradient disagrees with central differences."""


@dataclass
class GradcheckResult:
    """What a gradient check compared: per input, the analytic and numerical gradients."""

    analytic: list[np.ndarray] = field(default_factory=list)
    numeric: list[np.ndarray] = field(default_factory=list)
    max_abs_error: float = 0.0
    ok: bool = True

    def __bool__(self) -> bool:
        return self.ok


def _leaf_copy(x: Node) -> Node:
    if isinstance(x, Scalar):
        return Scalar(x.data, requires_grad=True)
    return Tensor(x.data, requires_grad=True)


def _evaluate(fn: Callable[..., Any], values: Sequence[Any], like: Sequence[Node]) -> np.ndarray:
    """f at raw float64 inputs, as a float64 array. Inputs require grad as the
    originals do, so functions that differentiate inside (gradients of gradients) work."""
    args = [
        Scalar(float(v), requires_grad=x.requires_grad) if isinstance(x, Scalar) else Tensor(v, requires_grad=x.requires_grad)
        for v, x in zip(values, like)
    ]
    out = fn(*args)
    return np.asarray(out.data if isinstance(out, Node) else out, dtype=np.float64)


def gradcheck(
    fn: Callable[..., Any],
    *inputs: Node,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
    raise_exception: bool = True,
) -> GradcheckResult:
    """Check ``fn``'s gradients with respect to every input that requires grad.

    ``fn`` takes the inputs (Scalars or Tensors) and returns one Scalar or Tensor. The
    check passes when ``|analytic − numeric| ≤ atol + rtol·|numeric|`` everywhere.
    On failure it raises :class:`GradcheckError` (or returns a falsy result with
    ``raise_exception=False``) naming the input, the worst element and both values.
    """
    leaves = [_leaf_copy(x) for x in inputs]
    out = fn(*leaves)
    if not isinstance(out, Node):
        raise TypeError(f"gradcheck: fn must return a Scalar or Tensor, got {type(out).__name__}")
    rng = np.random.default_rng(seed)
    out_shape = np.shape(out.data)
    v = rng.standard_normal(out_shape) if out_shape else np.float64(rng.standard_normal())
    seed_grad = float(v) if isinstance(out, Scalar) else np.asarray(v, dtype=out.data.dtype)
    wanted = [leaf for leaf, x in zip(leaves, inputs) if x.requires_grad]
    analytic = run_backward([out], [seed_grad], inputs=wanted) if out.requires_grad else [None] * len(wanted)

    base = [np.array(x.data, dtype=np.float64) for x in inputs]
    result = GradcheckResult()
    worst: tuple[float, str] = (-1.0, "")
    k = 0
    for i, x in enumerate(inputs):
        if not x.requires_grad:
            continue
        a = np.zeros(np.shape(base[i])) if analytic[k] is None else np.asarray(analytic[k], dtype=np.float64)
        k += 1
        num = np.zeros(np.shape(base[i]))
        for idx in np.ndindex(num.shape):
            vals = [b.copy() for b in base]
            vals[i][idx] += eps
            up = float(np.sum(v * _evaluate(fn, vals, inputs)))
            vals[i][idx] -= 2 * eps
            down = float(np.sum(v * _evaluate(fn, vals, inputs)))
            num[idx] = (up - down) / (2 * eps)
        result.analytic.append(a)
        result.numeric.append(num)
        err = np.abs(a - num)
        excess = err - (atol + rtol * np.abs(num))
        if err.size:
            result.max_abs_error = max(result.max_abs_error, float(err.max()))
            j = np.unravel_index(int(np.argmax(excess)), excess.shape)
            if excess[j] > worst[0]:
                worst = (
                    float(excess[j]),
                    f"input {i}, index {tuple(int(t) for t in j)}: x = {base[i][j]:.6g}, "
                    f"analytic {a[j]:.8g}, numeric {num[j]:.8g}, |Δ| = {err[j]:.3g} "
                    f"> atol + rtol·|numeric| = {atol + rtol * abs(num[j]):.3g}",
                )
    if worst[0] > 0:
        result.ok = False
        if raise_exception:
            raise GradcheckError(f"gradient mismatch in {getattr(fn, '__name__', 'fn')}: {worst[1]}")
    return result
