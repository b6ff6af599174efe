"""Numerical derivatives of a scalar objective φ(x₁, …, xₖ) by central differences,
and the comparison of one analytic derivative with them.

A check reduces every function to one number per evaluation: with a random
upstream gradient v, φ(x) = Σ vᵀf(x). Along a direction d (one element eᵢ, or a
random Gaussian vector) the derivative is

    ∂φ/∂d ≈ (φ(x + h·d) − φ(x − h·d)) / 2h,        error O(h²) + O(ε·|φ|/h)

The step balancing the two errors is h ≈ ∛ε·max(1, |x|) for the machine epsilon ε
of the dtype φ is computed in; the rounding part, ε·Σ|v·f|/h, is added to the
tolerance so that large outputs do not cause false alarms.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from . import kinks
from .refine import refine
from .report import KINK, MISMATCH, OK, UNRESOLVED, Row

#: φ(values) -> (φ, Σ|v·f|): the objective and the magnitude its rounding scales with.
Objective = Callable[[Sequence[np.ndarray]], tuple[float, float]]

#: Default (atol, rtol) by the dtype the analytic side ran in (JAX's gradient table,
#: with float64 a little tighter: the numerical side is float64 in every case).
TOLERANCES: dict[np.dtype, tuple[float, float]] = {
    np.dtype(np.float64): (1e-6, 1e-5),
    np.dtype(np.float32): (1e-4, 2e-3),
    np.dtype(np.float16): (1e-2, 1e-2),
}


def tolerances_for(dtype: np.dtype) -> tuple[float, float]:
    """Default (atol, rtol) for gradients computed in ``dtype``."""
    dtype = np.dtype(dtype)
    rows = sorted(TOLERANCES.items(), key=lambda row: np.finfo(row[0]).eps)  # finest first
    if dtype in TOLERANCES or dtype.kind not in "fc":
        return TOLERANCES.get(dtype, rows[-1][1])
    # Another float (long double, a library's bfloat16): the row of the finest listed
    # dtype no more precise than it; a long double's is float64's, since the numerical
    # side is float64 in every case.
    eps = np.finfo(dtype).eps
    return next((tol for listed, tol in rows if np.finfo(listed).eps >= eps), rows[-1][1])


def step_size(x: float, dtype: np.dtype) -> float:
    """Central-difference step for a coordinate of size |x| evaluated in ``dtype``:
    ∛ε·max(1, |x|) (≈ 6e-6 for float64, 5e-3 for float32)."""
    return float(np.cbrt(np.finfo(dtype).eps)) * max(1.0, abs(x))  # in float64: float16's ∛ε·1e5 is inf


def lowest_precision(dtypes: Sequence[np.dtype]) -> np.dtype:
    """The float dtype with the largest machine epsilon among ``dtypes`` (float64 if none)."""
    floats = [np.dtype(d) for d in dtypes if np.dtype(d).kind == "f"]
    return max(floats, key=lambda d: np.finfo(d).eps, default=np.dtype(np.float64))


class Direction:
    """A perturbation x + t·d of all inputs: one element (``Direction.element``) or
    dense arrays (``Direction.dense``, which keeps them as ``arrays``)."""

    def __init__(
        self,
        moved: Callable[[Sequence[np.ndarray], float], list[np.ndarray]],
        arrays: Sequence[np.ndarray] | None = None,
    ) -> None:
        self.moved = moved
        self.arrays = arrays

    @classmethod
    def element(cls, i: int, idx: tuple[int, ...]) -> Direction:
        def moved(base: Sequence[np.ndarray], t: float) -> list[np.ndarray]:
            vals = list(base)
            vals[i] = base[i].copy()
            vals[i][idx] += t
            return vals

        return cls(moved)

    @classmethod
    def dense(cls, arrays: Sequence[np.ndarray]) -> Direction:
        def moved(base: Sequence[np.ndarray], t: float) -> list[np.ndarray]:
            return [b + t * d for b, d in zip(base, arrays)]

        return cls(moved, arrays)


@dataclass
class FiniteDifferences:
    """φ around a base point. ``eps`` is the machine epsilon of the dtype φ is computed
    in (for the rounding-noise estimate)."""

    objective: Objective
    base: list[np.ndarray]
    eps: float
    peak: float = 0.0  # the largest Σ|v·f| met: below float's tiny/∛ε, differences of φ are subnormal

    def __post_init__(self) -> None:
        self.phi0, self.mag0 = self.objective(self.base)
        self.peak = self.mag0

    def at(self, direction: Direction, t: float) -> tuple[float, float]:
        phi, mag = self.objective(direction.moved(self.base, t))
        self.peak = max(self.peak, mag)
        return phi, mag

    def probe(
        self,
        direction: Direction,
        h: float,
        analytic: float,
        atol: float,
        rtol: float,
        *,
        input: str,
        index: str,
        x: float | None,
        subgradient: bool = True,
    ) -> Row:
        """Compare ``analytic`` (= ⟨∇φ, d⟩ from backward) with the central difference
        along ``direction``; on a mismatch, examine the point for a kink.

        At a confirmed kink along ``direction`` the analytic value must lie between the
        one-sided slopes; with ``subgradient=False`` the kink gives no verdict (the row is
        a KINK whatever the analytic value): along a direction that moves several kinked
        elements the interval bounds ⟨g, d⟩ only for a convex φ."""
        plus, mag_p = self.at(direction, h)
        minus, mag_m = self.at(direction, -h)
        numeric = (plus - minus) / (2 * h)
        # ε first: the magnitudes of an f near the largest float add up past it.
        noise = (self.eps * mag_p + self.eps * mag_m + 2 * self.eps * self.mag0) / h
        tol = atol + rtol * abs(numeric) + noise
        row = Row(input, index, x, float(analytic), float(numeric), float(tol))
        row.curvature = abs((plus - self.phi0) - (self.phi0 - minus)) / h / h  # 2φ and h² overflow near 1e308
        if not math.isfinite(tol) and math.isfinite(numeric):
            # f's rounding at its size swamps any change a step of h makes (an element
            # of 1 beside one of 1e308): nothing to judge by, so no verdict either way.
            row.verdict = UNRESOLVED
            return row
        matched = abs(analytic - numeric) <= tol
        jump = abs((plus - self.phi0) - (self.phi0 - minus)) / h
        if matched and jump <= tol + 0.1 * abs(numeric):
            return row  # smooth here (curvature only bends the one-sided slopes slightly)
        # A mismatch, or one-sided slopes far apart although the central difference
        # matched (abs at 0: the symmetric difference averages the jump away).
        evidence = kinks.examine(lambda t: self.at(direction, t)[0], self.phi0, h, plus, minus, tol + noise)
        if evidence is None or (matched and not evidence.confirmed):
            row.verdict = OK if matched else MISMATCH
            if not matched:
                self.rejudge(row, direction, h, atol, rtol)
            return row
        row.left, row.right = evidence.left, evidence.right
        if evidence.confirmed:
            row.verdict = evidence.verdict(analytic, tol + noise) if subgradient else KINK
        elif evidence.settled is not None and (subgradient or evidence.cleared):
            # The gap closed at a smaller step: curvature, or a kink near x that the
            # smaller stencil no longer straddles. Judge by the central difference there.
            row.numeric, noise_factor = evidence.settled
            row.verdict = OK if abs(analytic - row.numeric) <= tol + noise * noise_factor else MISMATCH
        else:
            # Several kinked elements moved together, with kinks on both sides of x closer
            # than any step the check takes (|x| at 0 and at 6e-8): φ is not smooth along
            # the direction at a resolved scale, so it gives no verdict.
            row.verdict = KINK
        if row.verdict == MISMATCH:
            self.rejudge(row, direction, h, atol, rtol)
        return row

    def rejudge(self, row: Row, direction: Direction, h: float, atol: float, rtol: float) -> None:
        """Re-judge a mismatch with an adaptive step (:mod:`.refine`): the step may be far
        too long for f. The refined central difference decides, within the row's
        tolerance plus its own error estimate; where none settles, the row is UNRESOLVED."""
        if not (np.isfinite(row.analytic) and np.isfinite(row.numeric)):
            return  # f is not finite past an edge, or the derivative is not: no step helps
        # x + t·d rounds at the scale of |x|: of the moved element, or of the largest for a dense d.
        size = abs(row.x) if row.x is not None else max(float(np.max(np.abs(b), initial=0.0)) for b in self.base)
        exact = direction.arrays is None or all(np.all(np.isin(d, (-1.0, 0.0, 1.0))) for d in direction.arrays)
        refined = refine(partial(self.at, direction), h, self.eps, size, partial(_tolerance, atol, rtol), exact=exact)
        if refined is None:
            row.verdict = UNRESOLVED
            return
        tolerance = _tolerance(atol, rtol, refined.estimate) + refined.error
        if abs(row.analytic - refined.estimate) > tolerance and refined.level <= 2:
            return  # D(h) agreed with the shorter steps: it was accurate, and the mismatch is real
        # The fixed step was the problem (truncation, or f varies faster than h): the
        # refined central difference and its error decide, and the row shows them.
        row.numeric, row.tolerance, row.refined = refined.estimate, tolerance, True
        row.verdict = OK if abs(row.analytic - refined.estimate) <= tolerance else MISMATCH


def _tolerance(atol: float, rtol: float, numeric: float) -> float:
    return atol + rtol * abs(numeric)
