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
falls within the row's tolerance at two of three steps running, with successive
slopes agreeing to half their size and the slope at a step of 0.618… of the last
agreeing too, the derivative is known to that accuracy and decides. When rounding
outgrows the tolerance first, or the steps reach 64 ulps unsettled, φ varies faster
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
#: The ratio of the step that confirms a settled slope (1/φ, the golden ratio's inverse).
_GOLDEN = (math.sqrt(5) - 1) / 2
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
    rounding alone exceeds it and D(h) disagreed with the shorter steps, or before
    the steps run out (φ cannot be resolved at x)."""

    def central(step: float) -> tuple[float, float]:
        (plus, mag_p), (minus, mag_m) = phi_at(step), phi_at(-step)
        slope = (plus - minus) / (2 * step)
        return slope, (eps * mag_p + eps * mag_m) / step + (0.0 if exact else eps * size * abs(slope) / (2 * step))

    def resolved(now: tuple[float, float], before: tuple[float, float]) -> bool:
        """Whether two steps' slopes agree to half their size or within rounding, or
        shrink to half at least (converging, as x·|x|'s D(s) = s does onto its slope
        of 0 at 0): the differences of an f the steps resolve shrink as the step does.
        Differences that do not (sin at x = 1e100, where one ulp spans 1e84 periods)
        give slopes that grow fourfold per step, all far below atol, and agree only
        within it."""
        close = abs(now[0] - before[0]) <= abs(before[0]) / 2 + now[1] + before[1]
        return close or abs(now[0]) <= abs(before[0]) / 2

    def confirmed(step: float, slope: tuple[float, float]) -> bool:
        """Whether the slope at ``step`` holds at a step with no pattern of powers of two.
        An f sampled far too coarsely can look smooth along such steps: sin at
        x ± 2ᵏ·u, u an ulp of x = 2.7e231, changes by 2ᵏ·u mod 2π, which is nearly
        linear in 2ᵏ·u for six k in a row, where the binary digits of 1/2π run to
        zeros. A step of 0.618… of it, in whole ulps (so x ± it is still exact), has
        digits down to the ulp, and breaks that alias."""
        unit = math.ulp(size)
        ulps = step * _GOLDEN / unit  # inf at x = 0, where x ± any step is exact
        other = unit * round(ulps) if ulps < 2**52 else step * _GOLDEN
        return resolved(central(other), slope)

    first, first_noise = central(h)
    previous, previous_noise, extrapolated = first, first_noise, None
    step, level = 2.0 ** math.floor(math.log2(h)), 0
    settled: list[bool] = []
    consistent = False  # D(h) agrees with D at the first shorter step, within rounding
    while level < _MOST and step / _SHRINK >= _ULPS * eps * size:
        step /= _SHRINK
        level += 1
        current, noise = central(step)
        agrees = resolved((current, noise), (previous, previous_noise))
        if level == 1:
            consistent = agrees and abs(current - first) <= tolerance(first) + first_noise + noise
        richardson = (16 * current - previous) / 15
        change = abs(richardson - extrapolated) if extrapolated is not None else abs(current - previous)
        error = change + noise
        # Settled at two of the last three steps: values that merely wander (φ sampled
        # far too coarsely) agree once by chance, not twice; φ computed through a large
        # intermediate (sin(1e8·x) rounds 1e8·x) may scatter once past its ε·Σ|v·f|.
        settled.append(agrees and error <= tolerance(richardson))
        if settled[-1] and sum(settled[-3:]) >= 2 and confirmed(step, (current, noise)):
            return Refined(richardson, error, level)
        if noise > tolerance(richardson):
            # Rounding swamps the shorter steps: D(h) stands if the first of them
            # agreed with it (steps that ran out unsettled leave nothing standing).
            return Refined(first, first_noise, 0) if consistent and confirmed(h, (first, first_noise)) else None
        previous, previous_noise, extrapolated = current, noise, richardson
    return None
