"""Non-differentiable points ("kinks") are a verdict, not a failure.

At x the one-sided slopes of φ along a direction d are

    L = (φ(x) − φ(x − h·d)) / h,      R = (φ(x + h·d) − φ(x)) / h

For a smooth φ they differ by about h·φ'' and the gap halves with h; at a kink
(relu and |x| at 0, max at a tie) they differ by the jump of the derivative, which
does not shrink with h. There any value in [min(L, R), max(L, R)] is a valid
(sub)gradient, so the analytic value must lie in that interval — relu′(0) = 0 and
abs′(0) = 0 are fine, relu′(0) = 5 is not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .report import BAD_SUBGRADIENT, KINK

# A kink's jump keeps at least this fraction when the step halves (curvature: ½).
_PERSISTS = 0.75


@dataclass(frozen=True)
class KinkEvidence:
    """One-sided slopes at step h and h/2; ``confirmed`` when the gap did not shrink."""

    left: float
    right: float
    left_half: float
    right_half: float
    confirmed: bool

    @property
    def low(self) -> float:
        return min(self.left, self.right, self.left_half, self.right_half)

    @property
    def high(self) -> float:
        return max(self.left, self.right, self.left_half, self.right_half)

    def verdict(self, analytic: float, tol: float) -> str:
        """KINK when the analytic value is a subgradient, else BAD_SUBGRADIENT."""
        return KINK if self.low - tol <= analytic <= self.high + tol else BAD_SUBGRADIENT


def examine(
    phi_at: Callable[[float], float], phi0: float, h: float, plus: float, minus: float, tol: float
) -> KinkEvidence | None:
    """Look for a kink where a central difference disagreed with the analytic value.

    ``phi_at(t)`` evaluates φ(x + t·d); ``plus``/``minus`` are φ(x ± h·d), already
    known. Returns None when the one-sided slopes agree within ``tol`` (a smooth point:
    the mismatch is real), else the evidence, with two more evaluations at h/2.
    """
    left, right = (phi0 - minus) / h, (plus - phi0) / h
    if abs(right - left) <= tol:
        return None
    half = h / 2
    left2 = (phi0 - phi_at(-half)) / half
    right2 = (phi_at(half) - phi0) / half
    confirmed = abs(right2 - left2) >= _PERSISTS * abs(right - left)
    return KinkEvidence(left, right, left2, right2, confirmed)
