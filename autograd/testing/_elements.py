"""The floats and shapes every gradient-check strategy is built from.

Finite floats only (no NaN, no inf, no subnormals), with a margin around the points
they are told to avoid (an op's kinks and domain edges), so the central-difference
stencil x ± h never straddles them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ..ops.domains import REAL, Domain

Shape = tuple[int, ...]
DEFAULT_MARGIN = 1e-2
DEFAULT_BOUND = 10.0


def _intervals(low: float, high: float, avoid: Sequence[float], margin: float) -> list[tuple[float, float]]:
    """[low, high] minus a ``margin``-neighbourhood of every point in ``avoid``."""
    parts = [(low, high)]
    for p in sorted(float(a) for a in avoid):
        gap = margin * max(1.0, abs(p))
        parts = [piece for lo, hi in parts for piece in ((lo, min(hi, p - gap)), (max(lo, p + gap), hi))]
    return [(lo, hi) for lo, hi in parts if lo <= hi]


def floats_in(
    domain: Domain = REAL,
    *,
    min_value: float = -DEFAULT_BOUND,
    max_value: float = DEFAULT_BOUND,
    avoid: Sequence[float] = (),
    margin: float = DEFAULT_MARGIN,
    dtype: Any = np.float64,
) -> st.SearchStrategy[float]:
    """Finite floats in ``domain`` ∩ [min_value, max_value], at least ``margin``·max(1, |p|)
    away from every point p in ``avoid`` and from the domain's edges (and from 0 for a
    nonzero domain). ``dtype`` float32 gives float32-representable values."""
    low, high = max(min_value, domain.low), min(max_value, domain.high)
    points = list(avoid)
    # Closed edges too: the stencil x ± h must stay inside, and derivatives are often
    # infinite at the edge (√x at 0).
    if domain.low > -math.inf:
        low = max(low, domain.low + margin * max(1.0, abs(domain.low)))
    if domain.high < math.inf:
        high = min(high, domain.high - margin * max(1.0, abs(domain.high)))
    if domain.nonzero:
        points.append(0.0)
    parts = _intervals(low, high, points, margin)
    if not parts:
        raise ValueError(
            f"floats_in: nothing left of [{min_value}, {max_value}] in {domain.describe()} avoiding {points}"
        )
    width: Literal[32, 64] = 32 if np.dtype(dtype) == np.float32 else 64
    if width == 32:  # bounds must be float32-representable, inside the interval
        parts = [
            (
                float(np.nextafter(np.float32(lo), np.float32(np.inf))),
                float(np.nextafter(np.float32(hi), np.float32(-np.inf))),
            )
            for lo, hi in parts
        ]
        parts = [(lo, hi) for lo, hi in parts if lo <= hi]
    return st.one_of(
        *[
            st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False, width=width)
            for lo, hi in parts
        ]
    )


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4) -> st.SearchStrategy[Shape]:
    """Array shapes (small by default: gradient checks cost two evaluations per element)."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)
