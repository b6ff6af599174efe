"""The failure report of a gradient check: one row per compared element (or random
direction), worst first.

A row compares the analytic derivative ``a`` with the numerical one ``n``:

    |Δ| = |a − n|,   rel = |Δ| / max(|n|, tiny),   it fails when |Δ| > tol

where ``tol = atol + rtol·|n| + (rounding noise of the finite difference)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Verdicts a row can carry.
OK = "ok"
MISMATCH = "MISMATCH"
KINK = "kink"  # non-differentiable point, analytic value between the one-sided slopes
BAD_SUBGRADIENT = "BAD SUBGRADIENT"  # non-differentiable point, analytic value outside them
# Outside the one-sided slopes of a composite, but every op's own derivative is a valid
# subgradient: the chain rule of subgradients only guarantees an inclusion, so
# compositions of kinks (relu(x) − relu(−x) = x with relu′(0) = 0) legitimately do this.
COMPOSITE_KINK = "kink (composite)"
DISCONTINUITY = "discontinuity"  # φ itself jumps here: no derivative exists
# No step resolves φ here: its central differences never settle before rounding swamps
# them (sin(1e15·x)). No verdict either way, and the check fails saying so.
UNRESOLVED = "UNRESOLVED"


@dataclass
class Row:
    """One compared derivative: of ``input`` at ``index`` (or along a random direction)."""

    input: str
    index: str
    x: float | None
    analytic: float
    numeric: float
    tolerance: float
    verdict: str = OK
    left: float | None = None  # one-sided slopes, filled in where a kink was examined
    right: float | None = None
    moves: tuple[tuple[str, str], ...] = ()  # (input, index) of elements moved together (ties)
    refined: bool = False  # numeric is Richardson's on a shorter step than h (refine.py)
    curvature: float = 0.0  # |φ''| at x along the row's direction, by the second difference at h

    @property
    def abs_error(self) -> float:
        return abs(self.analytic - self.numeric)

    @property
    def rel_error(self) -> float:
        return self.abs_error / max(abs(self.numeric), 1e-300)

    @property
    def failed(self) -> bool:
        return self.verdict in (MISMATCH, BAD_SUBGRADIENT, UNRESOLVED)

    @property
    def excess(self) -> float:
        """How far past its tolerance the error is (negative: within it); sorts rows."""
        return self.abs_error - self.tolerance


def worst_first(rows: Sequence[Row]) -> list[Row]:
    """Failed rows first, then by how far the error exceeds the tolerance."""
    return sorted(rows, key=lambda r: (not r.failed, -r.excess))


def _num(v: float | None) -> str:
    if v is None:
        return ""
    if v == 0:
        return "0"  # −0.0 too: the sign of a zero derivative says nothing
    if 1e-4 <= abs(v) < 1e6:
        return f"{v:.6g}"
    return f"{v:.3e}"


_KINKISH = (KINK, BAD_SUBGRADIENT, COMPOSITE_KINK, DISCONTINUITY)
_HEADER = ("input", "index", "x", "analytic", "numeric", "|Δ|", "rel error", "tolerance", "verdict")


def format_table(rows: Sequence[Row], limit: int = 10) -> str:
    """A plain-text table of ``rows`` (already ordered), at most ``limit`` of them."""
    shown = list(rows[:limit])
    cells = [_HEADER] + [
        (
            r.input,
            r.index,
            _num(r.x),
            _num(r.analytic),
            _num(r.numeric),
            _num(r.abs_error),
            _num(r.rel_error) if math.isfinite(r.rel_error) else "inf",
            _num(r.tolerance),
            r.verdict
            + (
                f" (one-sided {_num(r.left)} | {_num(r.right)})" if r.verdict in _KINKISH and r.left is not None else ""
            ),
        )
        for r in shown
    ]
    widths = [max(len(row[j]) for row in cells) for j in range(len(_HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if len(rows) > limit:
        lines.append(f"... {len(rows) - limit} more rows")
    return "\n".join(lines)
