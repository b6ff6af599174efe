"""Find the elements that sit at kinks among many, by halving a direction's support.

Fast mode compares dense random directions, and one that meets a kink gives no
verdict. Beyond the element table's reach, the elements whose moves meet the kink are
found by halving: along u restricted to part of its support, φ has a kink there when
its one-sided slopes differ at the step h and still differ at h/2 (curvature halves
the gap, a kink keeps it). A part with a kink is halved again, down to single
elements; k kinks among n elements cost about 2k·log₂(n) tests of 4 evaluations.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .finite_differences import Direction, FiniteDifferences
from .ties import Element

#: A kink keeps at least this share of the one-sided slopes' gap when the step halves.
_PERSISTS = 0.75


def _meets_a_kink(fd: FiniteDifferences, arrays: Sequence[np.ndarray], h: float, tol: float) -> bool:
    """Whether φ along ``arrays`` has a kink at x: a gap between the one-sided slopes
    above ``tol`` at h that persists at h/2."""
    d = Direction.dense(arrays)

    def gap(step: float) -> float:
        plus, minus = fd.at(d, step)[0], fd.at(d, -step)[0]
        return abs((plus - fd.phi0) - (fd.phi0 - minus)) / step

    first = gap(h)
    return first > tol and gap(h / 2) >= _PERSISTS * first


def kinked_elements(
    fd: FiniteDifferences, arrays: Sequence[np.ndarray], h: float, tol: float, budget: int
) -> list[Element] | None:
    """The elements of the direction ``arrays`` (one per input) whose moves meet a kink,
    in at most ``budget`` tests; None when the budget runs out (kinks everywhere)."""
    parts = [[(k, tuple(int(i) for i in idx)) for k, a in enumerate(arrays) for idx in np.argwhere(a)]]
    found: list[Element] = []
    while parts:
        part = parts.pop()
        if budget == 0:
            return None
        budget -= 1
        restricted = [np.zeros_like(a) for a in arrays]
        for k, idx in part:
            restricted[k][idx] = arrays[k][idx]
        if not _meets_a_kink(fd, restricted, h, tol):
            continue
        if len(part) == 1:
            found.append(part[0])
        else:
            parts += [part[: len(part) // 2], part[len(part) // 2 :]]
    return sorted(found)
