"""Sub-checks: classic backward bugs that a Jacobian comparison alone can miss.

- *shape*, *dtype*: each gradient has its input's shape and dtype (a float for a
  Python-float input);
- *aliasing*: no gradient shares memory with another gradient, an input or the
  upstream gradient (an in-place update of one would change the other);
- *linearity*: the vector-Jacobian product is linear in the upstream gradient v,
  backward(2v) = 2·backward(v) and backward(0) = 0;
- *reentrancy*: the same v twice gives the same gradients;
- *mutation*: neither the function nor its derivative changed an input in place.

Each returns a dict mapping the failed sub-check to what went wrong (empty: passed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

#: backward(scale, retain) -> the gradients for the upstream gradient scale·v
#: (``retain`` False on the last call: the graph may be freed).
Backward = Callable[[float, bool], list[Any]]


def as_analytic(g: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A gradient as a float64 array of ``shape`` (zeros when no gradient arrived,
    NaNs when it cannot take that shape)."""
    if g is None:
        return np.zeros(shape)
    try:
        return np.array(np.broadcast_to(np.asarray(g, dtype=np.float64), shape))
    except (ValueError, TypeError):
        return np.full(shape, np.nan)


def grad_problems(
    labels: Sequence[str],
    data: Sequence[Any],
    grads: Sequence[Any],
    seeds: Sequence[Any],
    *,
    aliasing: bool = True,
    noun: str = "gradient",
    of: str = "input",
) -> dict[str, str]:
    """Shape, dtype and (with ``aliasing``) aliasing of the gradients ``grads`` of
    the inputs ``data`` (floats or arrays) named by ``labels``. A forward-mode J·u is
    checked the same way against f's outputs (``noun``, ``of`` name them)."""
    found: dict[str, list[str]] = {"shape": [], "dtype": [], "aliasing": []}
    arrays = []
    for label, x, g in zip(labels, data, grads):
        if g is None:
            continue
        if not isinstance(x, np.ndarray):
            if not isinstance(g, float):
                found["dtype"].append(f"{label}: {noun} is a {type(g).__name__}, expected float")
            continue
        if not isinstance(g, np.ndarray):
            found["dtype"].append(f"{label}: {noun} is a {type(g).__name__}, expected numpy array")
            continue
        if g.shape != x.shape:
            found["shape"].append(f"{label}: {noun} shape {g.shape} != {of} shape {x.shape}")
        if g.dtype != x.dtype:
            found["dtype"].append(f"{label}: {noun} dtype {g.dtype} != {of} dtype {x.dtype}")
        arrays.append((label, g))
    if aliasing:
        others = [(label + " data", x) for label, x in zip(labels, data) if isinstance(x, np.ndarray)]
        others += [(f"upstream gradient {k}", s) for k, s in enumerate(seeds) if isinstance(s, np.ndarray)]
        for n, (label, g) in enumerate(arrays):
            for other_label, other in arrays[n + 1 :] + others:
                if g.size and np.shares_memory(g, other):
                    found["aliasing"].append(f"gradient of {label} shares memory with {other_label}")
    return {k: "; ".join(v) for k, v in found.items() if v}


def reentrancy(
    backward: Backward,
    shapes: Sequence[tuple[int, ...]],
    analytic: Sequence[np.ndarray],
    nondet_tol: float,
    what: str = "backward",
) -> dict[str, str]:
    """The same upstream gradient twice gives the same gradients (up to ``nondet_tol``)."""
    again = [as_analytic(g, s) for g, s in zip(backward(1.0, True), shapes)]
    # NaN twice, or the same inf twice, is the same answer (a wrong one, which the
    # Jacobian comparison reports); inf − inf would be NaN.
    with np.errstate(invalid="ignore"):
        gaps = [np.where((a == b) | (np.isnan(a) & np.isnan(b)), 0.0, np.abs(a - b)) for a, b in zip(analytic, again)]
    diff = max((float(np.max(g, initial=0.0)) for g in gaps), default=0.0)
    if diff <= nondet_tol:
        return {}
    return {"reentrancy": f"two {what} passes with the same upstream gradient differ by {diff:.3g}"}


def linearity(
    backward: Backward,
    shapes: Sequence[tuple[int, ...]],
    analytic: Sequence[np.ndarray],
    tolerances: tuple[float, float],
    what: str = "backward",
    vector: str = "the upstream gradient v",
) -> dict[str, str]:
    """Linearity in the vector it is given: ``what``(2v) = 2·``what``(v) and
    ``what``(0) = 0; the last call frees the graph."""
    atol, rtol = tolerances
    doubled = [as_analytic(g, s) for g, s in zip(backward(2.0, True), shapes)]
    zeroed = [as_analytic(g, s) for g, s in zip(backward(0.0, False), shapes)]
    excess = [np.abs(d - 2 * a) - (atol + rtol * np.abs(2 * a)) for a, d in zip(analytic, doubled)]
    bad_scale = max((float(np.max(e, initial=-1.0)) for e in excess), default=-1.0)
    bad_zero = max((float(np.max(np.abs(z), initial=0.0)) for z in zeroed), default=0.0)
    problems = []
    if bad_scale > 0:
        problems.append(f"{what}(2v) != 2·{what}(v) (off by {bad_scale:.3g} beyond tolerance)")
    if bad_zero > atol:
        problems.append(f"{what}(0) gives up to {bad_zero:.3g}, not 0")
    if not problems:
        return {}
    return {
        "linearity": f"{what} is not linear in {vector}: " + "; ".join(problems) + f" (does it multiply by {vector}?)"
    }


def snapshot(data: Sequence[Any]) -> list[tuple[np.ndarray, np.dtype]]:
    """Copies of the inputs' values, to detect in-place changes later."""
    return [(np.array(x, copy=True), np.asarray(x).dtype) for x in data]


def mutations(
    labels: Sequence[str], data: Sequence[Any], snapshots: Sequence[tuple[np.ndarray, np.dtype]], what: str = "backward"
) -> dict[str, str]:
    """The inputs whose value or dtype differs from their snapshot."""
    changed = [
        label
        for label, x, (before, dtype) in zip(labels, data, snapshots)
        if np.asarray(x).dtype != dtype or not np.array_equal(np.asarray(x), before, equal_nan=True)
    ]
    if not changed:
        return {}
    return {"mutation": f"fn or its {what} modified its input(s) in place: {', '.join(changed)}"}
