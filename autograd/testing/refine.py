"""An adaptive step for a central difference that disagrees: Richardson extrapolation
on shrinking steps, with its own error estimate.

The fixed step h = ∛ε·max(1, |x|) suits a function that varies on the scale of x.
One that varies far faster (sin(10⁸·x): a period of 6e-8 against h = 6e-6) makes
D(h) = (φ(x + h) − φ(x − h)) / 2h meaningless, and a right gradient fails. Where
D(h) disagrees with the analytic value, the steps shrink, hₖ = h/4ᵏ, and since

    D(h) = φ′ + c·h² + O(h⁴),       Rₖ = (16·D(hₖ) − D(hₖ₋₁)) / 15 = φ′ + O(hₖ⁴)

the extrapolations Rₖ settle on φ′ once hₖ resolves φ. Their error is estimated as
|Rₖ − Rₖ₋₁| plus what rounding costs, which grows as the step shrinks: of φ,
ε·Σ|v·f|/hₖ; and of the step. The steps are powers of two, at least 64 ulps of x
long, so x ± hₖ is exact along an element or a ±1 direction; along a Gaussian one
x + hₖ·dᵢ rounds by up to ε·|xᵢ|/2, which costs |Dₖ|·ε·|x|/2hₖ. When the estimate
falls within the row's tolerance at two of three steps running, the derivative is known to
that accuracy and decides; when rounding outgrows the tolerance first, φ varies faster
than any step float arithmetic resolves there (too oscillatory, or rough), and the
point cannot be judged.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

#: Each refinement divides the step by this (Richardson's weights below assume 4).
_SHRINK = 4.0
#: Refinements at most: h/4¹⁶ ≈ h·2e-10.
_MOST = 16
#: Steps stay this many ulps of x long at least (a multiple of 2 ulps keeps x ± h exact).
_ULPS = 64


@dataclass(frozen=True)
class Refined:
    """The derivative ``estimate`` with its ``error`` bound, from ``level`` refinements
    (0: D(h) itself stands, agreeing with the next step as far as rounding lets a
    shorter step tell)."""

    estimate: float
    error: float
    level: int


def refine(
    phi_at: Callable[[float], tuple[float, float]],
    h: float,
    eps: float,
    size: float,
    tolerance: Callable[[float], float],
    *,
    exact: bool,
) -> Refined | None:
    """Richardson extrapolation of φ′ along a direction from steps of h/4, h/16, …
    (rounded down to powers of two).

    ``phi_at(t)`` gives (φ(x + t·d), Σ|v·f| there); ``size`` bounds |x| over the
    moved elements; ``exact`` says x + t·d is exact for such steps (d has entries
    0 and ±1 only); ``tolerance(n)`` is the row's tolerance for a numeric derivative
    n, which the error estimate must reach. Returns None when it never does before
    rounding alone exceeds it and D(h) disagreed with the shorter steps (φ cannot be
    resolved at x)."""

    def central(step: float) -> tuple[float, float]:
        (plus, mag_p), (minus, mag_m) = phi_at(step), phi_at(-step)
        slope = (plus - minus) / (2 * step)
        return slope, (eps * mag_p + eps * mag_m) / step + (0.0 if exact else eps * size * abs(slope) / (2 * step))

    first, first_noise = central(h)
    previous, extrapolated = first, None
    step, level = 2.0 ** math.floor(math.log2(h)), 0
    settled: list[bool] = []
    consistent = False  # D(h) agrees with D at the first shorter step, within rounding
    while level < _MOST and step / _SHRINK >= _ULPS * eps * size:
        step /= _SHRINK
        level += 1
        current, noise = central(step)
        if level == 1:
            consistent = abs(current - first) <= tolerance(first) + first_noise + noise
        richardson = (16 * current - previous) / 15
        change = abs(richardson - extrapolated) if extrapolated is not None else abs(current - previous)
        error = change + noise
        # Settled at two of the last three steps: values that merely wander (φ sampled
        # far too coarsely) agree once by chance, not twice; φ computed through a large
        # intermediate (sin(1e8·x) rounds 1e8·x) may scatter once past its ε·Σ|v·f|.
        settled.append(error <= tolerance(richardson))
        if settled[-1] and sum(settled[-3:]) >= 2:
            return Refined(richardson, error, level)
        if noise > tolerance(richardson):
            break
        previous, extrapolated = current, richardson
    return Refined(first, first_noise, 0) if consistent else None
