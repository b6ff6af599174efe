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
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from .report import BAD_SUBGRADIENT, DISCONTINUITY, KINK

# A kink's jump keeps at least this fraction when the step halves (curvature: ½).
_PERSISTS = 0.75
# Across a jump of φ the one-sided slopes double when the step halves (smooth: ~1).
_GROWS = 1.5


@dataclass(frozen=True)
class KinkEvidence:
    """One-sided slopes at step h and h/2. ``confirmed``: their gap did not shrink
    with the step (a kink); ``discontinuous``: the slopes themselves grew like 1/h
    (φ jumps, as the derivative sign(x) of |x| does at 0: no derivative exists)."""

    left: float
    right: float
    left_half: float
    right_half: float
    confirmed: bool
    discontinuous: bool = False

    @property
    def low(self) -> float:
        return min(self.left, self.right, self.left_half, self.right_half)

    @property
    def high(self) -> float:
        return max(self.left, self.right, self.left_half, self.right_half)

    def verdict(self, analytic: float, tol: float) -> str:
        """KINK when the analytic value is a subgradient (anything finite where φ
        jumps), else BAD_SUBGRADIENT."""
        if self.discontinuous:
            return DISCONTINUITY if math.isfinite(analytic) else BAD_SUBGRADIENT
        return KINK if self.low - tol <= analytic <= self.high + tol else BAD_SUBGRADIENT


def examine(
    phi_at: Callable[[float], float], phi0: float, h: float, plus: float, minus: float, tol: float
) -> KinkEvidence | None:
    """Look for a kink or a jump where a central difference disagreed with the
    analytic value (or the one-sided slopes were far apart).

    ``phi_at(t)`` evaluates φ(x + t·d); ``plus``/``minus`` are φ(x ± h·d), already
    known. Two more evaluations, at ±h/2. Returns None for a smooth point (the
    mismatch, if any, is real), else the evidence.
    """
    left, right = (phi0 - minus) / h, (plus - phi0) / h
    half = h / 2
    left2 = (phi0 - phi_at(-half)) / half
    right2 = (phi_at(half) - phi0) / half
    steep, steep2 = max(abs(left), abs(right)), max(abs(left2), abs(right2))
    discontinuous = steep > tol and steep2 >= _GROWS * steep
    confirmed = abs(right - left) > tol and abs(right2 - left2) >= _PERSISTS * abs(right - left)
    if not (confirmed or discontinuous) and abs(right - left) <= tol:
        return None
    return KinkEvidence(left, right, left2, right2, confirmed or discontinuous, discontinuous)
