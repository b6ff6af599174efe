"""Where an op's input is allowed to live.

Each op lists one :class:`Domain` per input. The same declaration does two jobs: the
forward pass rejects data outside it with a clear :class:`DomainError` (never a
silent NaN), and the property tests draw inputs from inside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Domain:
    """An interval of the real line, e.g. ``(0, inf)`` for log, ``[0, 1]`` for probabilities."""

    name: str
    low: float = -math.inf
    high: float = math.inf
    include_low: bool = False
    include_high: bool = False
    nonzero: bool = False

    def contains(self, x: object) -> bool:
        """True when every element of ``x`` (a float or an array) lies in the domain.

        NaN is not flagged (every comparison with NaN is false): NaN is the anomaly
        detector's business.
        """
        if type(x) is float:  # the Scalar path: no numpy call on one number
            return not self._outside(x)
        # This runs on every recorded op with a domain, e.g. on the targets of each
        # minibatch's loss: one comparison per bound and a count, the cheapest test.
        return not np.count_nonzero(self._outside(np.asarray(x)))

    def _outside(self, x):  # type: ignore[no-untyped-def]
        """Where x lies outside the domain (a bool, or a bool array for an array)."""
        bad = False
        if self.low > -math.inf:
            bad = (x < self.low) if self.include_low else (x <= self.low)
        if self.high < math.inf:
            above = (x > self.high) if self.include_high else (x >= self.high)
            bad = above if bad is False else bad | above
        if self.nonzero:
            zero = x == 0
            bad = zero if bad is False else bad | zero
        return bad

    def describe(self) -> str:
        if self.nonzero:
            return "x ≠ 0"
        lo = "[" if self.include_low else "("
        hi = "]" if self.include_high else ")"
        return f"x in {lo}{self.low:g}, {self.high:g}{hi}"

    def violations(self, x: object) -> str:
        """A short account of the offending elements, for error messages."""
        x = np.asarray(x)
        bad = np.asarray(self._outside(x))
        if x.ndim == 0:
            return f"got {x.item()!r}"
        idx = np.argwhere(bad)
        first = tuple(int(i) for i in idx[0])
        return f"{len(idx)} of {x.size} elements outside, first at index {first}: {x[first].item()!r}"


REAL = Domain("real")
POSITIVE = Domain("positive", low=0.0)
NONZERO = Domain("nonzero", nonzero=True)
UNIT_INTERVAL = Domain("probability", low=0.0, high=1.0, include_low=True, include_high=True)
NONNEGATIVE = Domain("nonnegative", low=0.0, include_low=True)
