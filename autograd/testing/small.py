"""Derivatives far below atol, judged on their own scale.

A fixed atol = 1e-6 passes a gradient of 1e-9 with the wrong sign. Where every
derivative of a function is far below atol, a row that passes only thanks to atol is
re-judged at the gradient's own scale S by the Taylor test, whose longer steps
resolve slopes a central difference at h cannot, and whose noise floor is the
function's rounding as measured along the row: so λ·f is judged as f is, for any λ.
The element rows of φ = Σ vᵀf are judged so, and each output's row of the Jacobian.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from .finite_differences import Direction, FiniteDifferences, phi_along
from .report import MISMATCH, OK, Row
from .result import GradcheckResult
from .taylor import taylor_test


@dataclass
class Probe:
    """A compared row with the direction it was probed along (for the Taylor test)."""

    row: Row
    direction: Direction
    slope: float
    scale: float
    step: float


#: Rows re-judged by the Taylor test at most, worst first (each costs up to 36 evaluations).
_CONFIRMED = 4
#: The relative error from which a tiny derivative is re-judged. Below it, φ itself can be
#: off: a loss of 3e-8 computed as (8.25 + 3e-8) − 8.25 has a slope 5e-4 off the true one.
_GROSS = 1e-3


def gradient_scale(analytic: np.ndarray, numeric: np.ndarray) -> np.ndarray:
    """The gradient's scale S = max(|analytic|, |numeric|) over the finite derivatives
    (along the last axis: one gradient per row), at most 1 (1 where none is finite)."""
    sizes = np.maximum(np.abs(analytic), np.abs(numeric))
    top = np.max(np.where(np.isfinite(sizes), sizes, -np.inf), axis=-1, initial=-np.inf)
    return np.where(np.isfinite(top), np.minimum(top, 1.0), 1.0)


def may_confirm(
    abs_error: np.ndarray, tolerance: np.ndarray, numeric: np.ndarray, atol: float, scale: float | np.ndarray
) -> np.ndarray:
    """Which rows (by their errors, tolerances and numeric values) :func:`confirm_small`
    may re-judge at the gradient's scale S: a superset, since what it takes off the
    tolerance is at most atol·(1 − S)."""
    above = abs_error > tolerance - atol * (1.0 - scale)
    gross = abs_error > _GROSS * np.maximum(np.abs(numeric), 1e-300)
    return np.asarray(above & gross, dtype=bool)


def confirm_small(
    probes: list[Probe],
    fd: FiniteDifferences,
    result: GradcheckResult,
    upstream: float,
    where: str = "here",
    scale: float | None = None,
) -> None:
    """Re-judge rows that pass only thanks to the default atol although every
    derivative (of φ, or of the function ``fd`` differences, named ``where`` in a note)
    is far smaller: at the gradient's scale S = max|∂φ/∂xᵢ| < 1, atol = 1e-6 would
    pass a wrong sign on a gradient of 1e-9. A row within atol but outside
    atol·S + 16ε·M (ε of the gradients' dtype, M = min(1, max(Σ|v·f|, S, |x|·|φ''|)) the
    size of what the gradient is computed from, and for gradients coarser than float64
    at least the size of the upstream gradient v, ``upstream``), with a relative error
    above ``_GROSS``, is a MISMATCH (with that
    tolerance) when the Taylor test finds the slope wrong: so λ·f is judged as f is,
    for any λ. The test's noise floor is φ's rounding noise measured along the row's
    direction (:func:`rounding_noise`) at the step h and across the test's own steps (a φ
    computed with cancellation moves in stairs too wide to show at h), and at least
    16ε·M, so a right slope whose central difference is merely noisy or inaccurate
    (truncation) stays ok. The test's steps reach 1e-2·max(1, |x|), so a slope off by
    more than ~2000ε is found wrong even where every derivative is far below what a
    central difference at h resolves (λ‖x‖² with λ = 1e-12). ``scale`` is S where the
    probes are not all of the gradient's derivatives (default: S of the probes)."""
    if scale is None:
        sides = np.array([(p.row.analytic, p.row.numeric) for p in probes]).reshape(-1, 2)
        scale = float(gradient_scale(sides[:, 0], sides[:, 1]))
    # tolerance − shrink: atol·S + 16ε·M in place of atol. The 16ε·M is the analytic
    # side's own rounding at the size M of what it computes from: f's values
    # (1 − tanh²(9) is 0 in float32, not 6e-8) and |x|·|φ''| (x − mean(x) for var's
    # gradient at a constant x is rounding of x), so λ·f is judged as f is, for any λ.
    eps = float(np.finfo(result.dtype).eps)
    # A float32 gradient is computed from intermediates as large as v times numbers of
    # order 1 whatever f's scale: cross-entropy's softmax(x) − onehot at x = [9, −6]
    # holds p₀ = 1 − 3e-7, which float32 rounds by up to 6e-8. So in float32 a
    # derivative below 16ε·|v| (2e-6·|v|) is judged to that floor, not for any λ as in
    # float64, whose gradients leave that rounding far below what a check resolves.
    least = upstream if eps > float(np.finfo(np.float64).eps) else 0.0

    def shrink(p: Probe) -> float:
        magnitude = min(1.0, max(fd.mag0, scale, abs(p.row.x or 0.0) * p.row.curvature, least))
        return result.atol * (1.0 - scale) - 16 * eps * magnitude

    gray = [
        p
        for p in probes
        if p.row.verdict == OK
        and shrink(p) > 0
        and p.row.abs_error > p.row.tolerance - shrink(p)
        and p.row.rel_error > _GROSS
    ]
    gray.sort(key=lambda p: p.row.tolerance - shrink(p) - p.row.abs_error)
    for p in gray[:_CONFIRMED]:
        phi_at = partial(phi_along, fd, p.direction)
        # Rounding shows as scatter at the central difference's step, or, where φ moves
        # in stairs wider than that (an intermediate far larger than φ), across the
        # Taylor test's own steps.
        reach = 1e-2 * p.scale
        noise = 16 * max(
            rounding_noise(phi_at, p.step), _stairs(phi_at, reach / 2), fd.eps * min(1.0, max(fd.mag0, scale))
        )
        taylor = taylor_test(phi_at, p.slope, reach, eps=fd.eps, noise=noise)
        if not taylor.gradient_ok:
            p.row.verdict, p.row.tolerance = MISMATCH, p.row.tolerance - shrink(p)
    if any(p.row.verdict == MISMATCH for p in gray):
        result.notes.append(
            f"every derivative {where} is far below atol={result.atol:g} (the largest is {scale:.3g}), so rows within "
            f"atol were also held to atol·{scale:.3g} + 16ε·M (M the size of f's values, of |x|·|φ''|, at most 1); "
            "the Taylor test finds the slope of those marked "
            "MISMATCH wrong"
        )


def _stairs(phi_at: Callable[[float], float], h: float) -> float:
    """φ's scatter about a parabola at the step h where it is rounding (stairs of a
    large intermediate, as wide at h/8 as at h) or a kink within reach (|t| shrinks as
    t does), 0 where it is φ's own higher terms: those shrink as t³ or faster (x¹² at
    0.12 leaves 1e-13 over ±1e-2, which as a noise floor hid a slope 10 % off)."""
    wide = rounding_noise(phi_at, h)
    return wide if rounding_noise(phi_at, h / 8) >= wide / 32 else 0.0


def rounding_noise(phi_at: Callable[[float], float], h: float) -> float:
    """The rounding noise of φ along a direction, at the step h of its central
    difference: how far φ(x + j·h), j = −2…2, scatter about the parabola through them
    (over ±2h the parabola is φ up to its tiny cubic term; a φ computed through a large
    intermediate, 8.25 + 3e-8 − 8.25, moves in stairs of that intermediate's ulp)."""
    js = np.arange(-2.0, 3.0)
    values = np.array([phi_at(j * h) for j in js])
    parabola = np.polyval(np.polyfit(js, values, 2), js)
    return float(np.max(np.abs(values - parabola)))
