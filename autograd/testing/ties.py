"""Ties: kinked elements moved together, along which φ is smooth again.

At a tie of max(x₁, x₂) each element alone sits at a kink: its one-sided slopes are
0 and 1, any value between them is a valid subgradient, and so ∂/∂x₁ = ∂/∂x₂ = 1
(every tied element gets the whole gradient: the max-pool slip) passes element by
element. Moving the tied elements together keeps the tie: along d = e₁ + e₂,
max(x + t·d) = max(x) + t is smooth, its derivative exists, and every right
convention (the first index, an even split) gives ⟨g, d⟩ = 1 where the slip gives 2.

So where several elements sit at kinks, the check also moves them together: all of
them, each group that shares one value (a tie of equal inputs), all of them along
the signs of the analytic gradient (max(x₁, −x₂) ties with x₂ moving down), and
along those signs scaled by the inverse of each element's jump in slope: a tie of
max(2x₁, x₂) at x₂ = 2x₁ is kept by d = (½, 1), along which both branches move
alike (the jumps are 2 and 1, the slopes of the branches each element feeds).
Along such a direction φ is either smooth, and then ⟨g, d⟩ must equal the central
difference, or it still has a kink there (relu at 0 on two elements whose upstream
gradients have opposite signs): then the one-sided slopes along d bound ⟨g, d⟩ only
for a convex φ, so the direction gives no verdict and is dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .finite_differences import Direction, FiniteDifferences
from .report import MISMATCH, OK, Row

#: An element of the checked inputs: (input number, index).
Element = tuple[int, tuple[int, ...]]
#: Directions tried at most, each two evaluations of f (more where it meets a kink).
_MOST = 5
#: Elements named in a row's index before the rest are counted.
_NAMED = 4


@dataclass
class Tie:
    """A probe along kinked elements moved together: its row and what made it."""

    row: Row
    direction: Direction
    slope: float  # ⟨g, d⟩
    scale: float  # max(1, |x|) over the moved elements
    step: float


def _candidates(
    base: Sequence[np.ndarray],
    kinked: Sequence[Element],
    analytic: Sequence[np.ndarray],
    jumps: Mapping[Element, float],
) -> list[list[tuple[Element, float]]]:
    """Weighted element sets to move together: all kinked elements, each group of them
    sharing one value, all of them along the signs of the analytic gradient, and along
    those signs over each element's jump in slope (``jumps``, where known)."""
    found = [[(e, 1.0) for e in kinked]]
    by_value: dict[float, list[Element]] = {}
    for k, idx in kinked:
        by_value.setdefault(float(base[k][idx]), []).append((k, idx))
    groups = sorted((g for g in by_value.values() if 1 < len(g) < len(kinked)), key=len, reverse=True)
    found += [[(e, 1.0) for e in g] for g in groups]
    signed = [(e, float(np.sign(analytic[e[0]][e[1]]))) for e in kinked]
    signed = [(e, s) for e, s in signed if s != 0]
    if len(signed) > 1 and len({s for _, s in signed}) > 1:
        found.append(signed)
    known = [(e, s, jumps[e]) for e, s in signed if jumps.get(e, 0.0) > 0]
    if len(known) > 1 and len({j for _, _, j in known}) > 1:
        least = min(j for _, _, j in known)
        found.append([(e, s * least / j) for e, s, j in known])
    return [c for c in found if len(c) > 1][:_MOST]


def _index(moved: Sequence[tuple[Element, float]], names: Sequence[str], several: bool) -> str:
    """How a row names the elements it moves: "(1,) + (2,) together"."""
    parts = []
    for n, ((k, idx), weight) in enumerate(moved[:_NAMED]):
        where = (f"{names[k]} " if several else "") + ("—" if not idx else str(tuple(int(i) for i in idx)))
        scaled = "" if abs(weight) == 1 else f"{abs(weight):.3g}·"
        parts.append(("− " if weight < 0 else "+ " if n else "") + scaled + where)
    rest = f" + {len(moved) - _NAMED} more" if len(moved) > _NAMED else ""
    return " ".join(parts) + rest + " together"


def tie_probes(
    fd: FiniteDifferences,
    base: Sequence[np.ndarray],
    kinked: Sequence[Element],
    analytic: Sequence[np.ndarray],
    names: Sequence[str],
    tolerances: tuple[float, float],
    step: Callable[[float], float],
    jumps: Mapping[Element, float] | None = None,
) -> list[Tie]:
    """Rows along the kinked elements moved together where φ is smooth along them
    (:func:`_candidates`); ``step(x)`` is the central-difference step at size |x|;
    ``jumps`` the elements' jumps in slope |right − left|, where known.
    A row's tolerance is the sum of its elements' own: atol·Σ|dᵢ| + rtol·Σ|gᵢ·dᵢ|."""
    atol, rtol = tolerances
    several = len({k for k, _ in kinked}) > 1
    ties = []
    for moved in _candidates(base, kinked, analytic, jumps or {}):
        arrays = [np.zeros(b.shape) for b in base]
        for (k, idx), weight in moved:
            arrays[k][idx] = weight
        slope = float(sum(np.sum(a * d) for a, d in zip(analytic, arrays)))
        spread = float(sum(np.sum(np.abs(a * d)) for a, d in zip(analytic, arrays)))
        scale = max(max(1.0, abs(float(base[k][idx]))) for (k, idx), _ in moved)
        h = step(scale)
        direction = Direction.dense(arrays)
        label = names[moved[0][0][0]] if not several else "all"
        row = fd.probe(
            direction,
            h,
            slope,
            atol * len(moved) + rtol * spread,
            rtol,
            input=label,
            index=_index(moved, names, several),
            x=None,
            subgradient=False,
        )
        if row.verdict in (OK, MISMATCH):  # smooth along d: the derivative exists
            row.moves = tuple((names[k], "—" if not idx else str(tuple(int(i) for i in idx))) for (k, idx), _ in moved)
            ties.append(Tie(row, direction, slope, scale, h))
    return ties
