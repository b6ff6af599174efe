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
        x = np.asarray(x)
        # This runs on every recorded op with a domain, e.g. on the targets of each
        # minibatch's loss. For an interval, the extremes decide in two reductions;
        # a NaN makes them NaN and sends us to the elementwise test, which skips NaN.
        if not self.nonzero and x.size and x.dtype.kind == "f":
            lo, hi = np.minimum.reduce(x, axis=None), np.maximum.reduce(x, axis=None)
            if self._between(lo) and self._between(hi):
                return True
        return not self._outside(x).any()

    def _between(self, v: float) -> bool:
        """v lies within the bounds (False for NaN: every comparison with NaN is false)."""
        ok = True
        if self.low > -math.inf:
            ok = ok and ((v >= self.low) if self.include_low else (v > self.low))
        if self.high < math.inf:
            ok = ok and ((v <= self.high) if self.include_high else (v < self.high))
        return bool(ok)

    def _outside(self, x):  # type: ignore[no-untyped-def]
        bad = False
        if self.low > -math.inf:
            bad = bad | ((x < self.low) if self.include_low else (x <= self.low))
        if self.high < math.inf:
            bad = bad | ((x > self.high) if self.include_high else (x >= self.high))
        if self.nonzero:
            bad = bad | (x == 0)
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
