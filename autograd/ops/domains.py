"""Where an op's input is allowed to live.

Each op lists one :class:`Domain` per input. The same declaration does two jobs: the
forward pass rejects data outside it with a clear :class:`DomainError` (never a
silent NaN), and the property tests draw inputs from inside it.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import DomainError

#: ``np.count_nonzero`` without its Python wrapper, which costs as much again as the
#: count of a minibatch's mask.
_count_nonzero = getattr(getattr(np, "_core", None), "multiarray", np).count_nonzero


@dataclass(frozen=True)
class Domain:
    """An interval of the real line, e.g. ``(0, inf)`` for log, ``[0, 1]`` for probabilities."""

    name: str
    low: float = -math.inf
    high: float = math.inf
    include_low: bool = False
    include_high: bool = False
    nonzero: bool = False

    @functools.cached_property
    def _tests(self) -> tuple[tuple[Callable[[Any, Any], Any], float, np.ndarray], ...]:
        """The domain as tests that are true outside it: (comparison, bound, the bound
        as a 0-d float64 array). Arrays are compared with the 0-d array, which numpy
        takes as it is, where a Python number goes through its weak-scalar promotion
        first; float64 holds every bound exactly."""
        tests: list[tuple[Callable[[Any, Any], Any], float]] = []
        if self.low > -math.inf:
            tests.append((operator.lt if self.include_low else operator.le, self.low))
        if self.high < math.inf:
            tests.append((operator.gt if self.include_high else operator.ge, self.high))
        if self.nonzero:
            tests.append((operator.eq, 0.0))
        return tuple((compare, b, np.array(b, dtype=np.float64)) for compare, b in tests)

    def contains(self, x: object) -> bool:
        """True when every element of ``x`` (a float or an array) lies in the domain.

        NaN is not flagged (every comparison with NaN is false): NaN is the anomaly
        detector's business.
        """
        if type(x) is float:  # the Scalar path: no numpy call on one number
            return not self._outside(x)
        # Every recorded op with a domain runs this (the targets of each minibatch's
        # loss): one comparison and one count per bound, no temporary beyond the mask,
        # and a loop rather than all() over a generator, which costs a frame per bound.
        if type(x) is not np.ndarray:
            x = np.asarray(x)
        for compare, _, array_bound in self._tests:  # noqa: SIM110
            if _count_nonzero(compare(x, array_bound)):
                return False
        return True

    def _outside(self, x: Any) -> Any:
        """Where x lies outside the domain (a bool, or a bool array for an array)."""
        on_array = type(x) is np.ndarray
        bad = False
        for compare, bound, array_bound in self._tests:
            out = compare(x, array_bound if on_array else bound)
            bad = out if bad is False else bad | out
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


def check_derivative_at_zero(x: Any, op: str, derivative: str) -> None:
    """Raise :class:`DomainError` where ``x`` is 0 and the derivative of ``op`` (defined
    for x ≥ 0, as √x and xᶜ for 0 < c < 1 are) is infinite. The message names the
    expression the user wrote, not the power the derivative computes."""
    if not POSITIVE.contains(x):
        raise DomainError(
            f"backward of {op}: the derivative {derivative} is infinite at x = 0 "
            f"({POSITIVE.violations(x)}); {op} has no gradient there. Keep x > 0, e.g. add a small eps"
        )
