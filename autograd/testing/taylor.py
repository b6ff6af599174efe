"""The Taylor-remainder test: a second opinion that needs no choice of step.

For a direction d and the analytic slope s = ⟨∇φ(x), d⟩,

    r(h) = |φ(x + h·d) − φ(x) − h·s|

shrinks as h² when s is right (the first-order Taylor term cancels exactly) and only
as h when it is wrong (|r| ≈ h·|s − s_true|). Halving h over many scales and taking
log₂ r(h)/r(h/2) gives the observed order: ≈2 means "the gradient is right, the
finite-difference step was the problem", ≈1 means "the gradient is wrong". Orders
are read at the smallest steps whose remainder is still above rounding noise,
because a small error in s only shows once h·|error| beats the h² term.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

_NOISE = 64.0  # remainders below this many ulps of φ are rounding, not signal


@dataclass
class TaylorResult:
    """Remainders r(h) for halving steps, the orders between them, and the verdict."""

    steps: list[float] = field(default_factory=list)
    remainders: list[float] = field(default_factory=list)
    orders: list[float] = field(default_factory=list)
    order: float | None = None  # observed order at the smallest usable steps
    slope: float = 0.0  # the analytic slope tested

    @property
    def gradient_ok(self) -> bool:
        """True when the remainder is second order (or at rounding level throughout);
        never for a slope that is not finite."""
        return math.isfinite(self.slope) and (self.order is None or self.order > 1.5)

    def summary(self) -> str:
        if not math.isfinite(self.slope):
            return f"Taylor test: skipped: the analytic slope is {self.slope}, which no remainder can test"
        if not self.remainders:
            return "Taylor test: remainder at rounding level for every step (φ is linear along d); the slope is exact"
        if self.order is None:
            return "Taylor test: inconclusive (the remainder reached rounding level after one step)"
        orders = ", ".join(f"{o:.2f}" for o in self.orders[-4:])
        if self.gradient_ok:
            return (
                f"Taylor test: remainder shrinks as h^{self.order:.2f} (last orders {orders}): the gradient is "
                "right; the finite-difference step or tolerance is the problem (pass eps= or atol=/rtol=)"
            )
        return (
            f"Taylor test: remainder shrinks only as h^{self.order:.2f} (last orders {orders}): "
            "the analytic gradient is wrong"
        )


def taylor_test(
    phi_at: Callable[[float], float],
    slope: float,
    h0: float,
    halvings: int = 30,
    eps: float = 2.0**-52,
    noise: float = 0.0,
) -> TaylorResult:
    """Run the test: ``phi_at(t)`` is φ(x + t·d), ``slope`` the analytic ⟨∇φ, d⟩,
    ``h0`` the first step; stops once the remainder sinks into rounding noise: of the
    float type with machine epsilon ``eps``, or the ``noise`` φ is known to carry (a
    φ computed with cancellation is far noisier than ε·|φ|)."""
    result = TaylorResult(slope=slope)
    if not math.isfinite(slope):
        return result
    phi0 = phi_at(0.0)
    floor = max(_NOISE * eps * max(abs(phi0), 1e-300), noise)
    h = h0
    for _ in range(halvings):
        r = abs(phi_at(h) - phi0 - h * slope)
        h /= 2
        if not math.isfinite(r) and not result.remainders:
            continue  # x + h is past the edge of f's domain: smaller steps may not be
        if not r > floor:  # rounding level, or not finite past the first steps
            break
        result.steps.append(2 * h)
        result.remainders.append(r)
    rs = result.remainders
    result.orders = [math.log2(a / b) for a, b in itertools.pairwise(rs)]
    if result.orders:
        tail = result.orders[-3:]
        result.order = sorted(tail)[len(tail) // 2]  # median: robust to one noisy pair
    return result
