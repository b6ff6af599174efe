"""Non-differentiable points ("kinks") are a verdict, not a failure.

At x the one-sided slopes of φ along a direction d are

    L = (φ(x) − φ(x − h·d)) / h,      R = (φ(x + h·d) − φ(x)) / h

For a smooth φ they differ by about h·φ'' and the gap halves with h; at a kink
(relu and |x| at 0, max at a tie) they differ by the jump of the derivative, which
does not shrink with h. There any value in [min(L, R), max(L, R)] is a valid
(sub)gradient, so the analytic value must lie in that interval — relu′(0) = 0 and
abs′(0) = 0 are fine, relu′(0) = 5 is not. Where φ itself jumps (a second-order
check of |x| at 0 differentiates sign x), both slopes grow like 1/h and no
derivative exists: that is reported as a discontinuity, not a failure.

A kink *near* x (closer than h, but not at x) makes the stencil straddle it too; then
the step is halved until the stencil no longer does (the gap collapses) and the
central difference at that smaller step decides.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

from .report import BAD_SUBGRADIENT, DISCONTINUITY, KINK

# A kink's jump keeps at least this fraction each time the step halves (curvature: ½),
# and grows by at most its inverse.
_PERSISTS = 0.75
# Across a jump of φ the one-sided slopes double when the step halves (smooth: ~1).
_GROWS = 1.5
# Halvings tried to get a stencil clear of a nearby kink (h/256 ≈ 2e-8 for float64).
_HALVINGS = 8


@dataclass(frozen=True)
class KinkEvidence:
    """One-sided slopes (left, right) at steps h, h/2, h/4, …

    ``confirmed``: the gap between them never shrank (a kink at x);
    ``discontinuous``: the slopes grew like 1/h (φ jumps there, as the derivative
    sign x of |x| does at 0: no derivative exists); ``settled``: the central
    difference at the first step whose stencil was clear of a nearby kink, with that
    step's rounding-noise factor, or where the gap never closed, at the smallest step
    (``cleared`` False: strong curvature, or kinks on both sides of x closer than the
    smallest step, which it still straddles).
    """

    slopes: tuple[tuple[float, float], ...]
    confirmed: bool
    discontinuous: bool = False
    settled: tuple[float, float] | None = None
    cleared: bool = False

    @property
    def left(self) -> float:
        return self.slopes[0][0]

    @property
    def right(self) -> float:
        return self.slopes[0][1]

    @property
    def low(self) -> float:
        return min(min(p) for p in self.slopes)

    @property
    def high(self) -> float:
        return max(max(p) for p in self.slopes)

    def verdict(self, analytic: float, tol: float) -> str:
        """KINK when the analytic value is a subgradient (anything finite where φ
        jumps), else BAD_SUBGRADIENT."""
        if self.discontinuous:
            return DISCONTINUITY if math.isfinite(analytic) else BAD_SUBGRADIENT
        return KINK if self.low - tol <= analytic <= self.high + tol else BAD_SUBGRADIENT


def _jumps(phi_at: Callable[[float], float], phi0: float, h: float) -> bool:
    """Whether φ jumps at x: its one-sided differences φ(x ± t) − φ(x) settle on the
    jump's heights as t halves from h five times, each pair within 1 − ``_PERSISTS``
    of the larger one's size (where φ merely varies faster than the step, sin(1e15·x),
    they wander)."""
    sides = [(phi_at(h / 2**j) - phi0, phi0 - phi_at(-h / 2**j)) for j in range(6)]
    return all(
        max(abs(b[0] - a[0]), abs(b[1] - a[1])) <= (1 - _PERSISTS) * max(map(abs, a))
        for a, b in itertools.pairwise(sides)
    )


def examine(
    phi_at: Callable[[float], float], phi0: float, h: float, plus: float, minus: float, tol: float
) -> KinkEvidence | None:
    """Look for a kink or a jump where a central difference disagreed with the
    analytic value (or the one-sided slopes were far apart).

    ``phi_at(t)`` evaluates φ(x + t·d); ``plus``/``minus`` are φ(x ± h·d), already
    known. Halves the step (two evaluations each time) while the gap between the
    one-sided slopes persists. Returns None for a smooth point (the mismatch, if
    any, is real), else the evidence.
    """
    slopes = [((phi0 - minus) / h, (plus - phi0) / h)]
    gap0 = abs(slopes[0][1] - slopes[0][0])
    step, streak = h, 0
    for k in range(1, _HALVINGS + 1):
        step /= 2
        left, right = (phi0 - phi_at(-step)) / step, (phi_at(step) - phi0) / step
        slopes.append((left, right))
        gap, previous = abs(right - left), abs(slopes[-2][1] - slopes[-2][0])
        if (
            k == 1
            and max(abs(left), abs(right)) >= _GROWS * max(map(abs, slopes[0])) > tol
            and _jumps(phi_at, phi0, step)
        ):
            return KinkEvidence(tuple(slopes), True, discontinuous=True)
        if gap0 <= tol:  # the slopes agreed at h: a smooth point, the mismatch is real
            return None
        if gap <= tol * 2**k:  # the stencil is clear: rounding-level gap at this step
            return KinkEvidence(tuple(slopes), False, settled=((left + right) / 2, float(2**k)), cleared=True)
        # A kink's jump keeps its size; a gap that grows (a step far above the scale
        # on which f varies: sin(1e8·x) at h = 6e-6) is no kink.
        streak = streak + 1 if _PERSISTS * previous <= gap <= previous / _PERSISTS else 0
        if streak >= 2:  # the gap held over two halvings: a kink at x
            return KinkEvidence(tuple(slopes), True)
    # Curvature too strong for the gap to close: the smallest central difference is the
    # most accurate one there.
    return KinkEvidence(tuple(slopes), False, settled=((slopes[-1][0] + slopes[-1][1]) / 2, float(2**_HALVINGS)))
