"""The full Jacobian, entry by entry, for small functions.

The element-wise check compares vᵀJ for one random v; an error δ in a single entry
Jᵢⱼ then shows only as vᵢ·δ, which a small vᵢ, or a large entry beside it in φ's row
(whose rtol covers δ), can hide. For small functions the check also builds J itself:
row i from backward with the one-hot upstream gradient eᵢ, column j from central
differences of all outputs,

    J[:, j] ≈ (f(x + h·eⱼ) − f(x − h·eⱼ)) / 2h,

and judges each entry as an element row is judged, with the output fᵢ in place of φ:
where an entry disagrees at h, the step along eⱼ shrinks until fᵢ's central
differences settle (:mod:`.refine`), and the settled value decides, or the entry is
UNRESOLVED; where every derivative of an output is far below atol, its entries are
judged on their own scale (:mod:`.small`). f runs once at each point: the columns at
h are the element rows' points, and the entries of one column share the shorter steps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .finite_differences import Direction, FiniteDifferences
from .report import MISMATCH, OK, Row
from .small import Probe, gradient_scale, may_confirm


@dataclass(frozen=True)
class Column:
    """An input element as a column of J: ``input``'s element ``element`` (labelled
    ``index``), its value ``x`` and step ``h``."""

    input: str
    index: str
    element: tuple[int, tuple[int, ...]]
    x: float
    h: float


class Entries:
    """J from the analytic side (outputs × input elements) against central differences
    of every output along every column, judged entry by entry. ``outputs`` maps input
    arrays to the flat float64 vector of all outputs, evaluating each point once (the
    entries of a column are refined along the same steps, the element's row among
    them); ``rows`` labels each output element; ``eps`` is the machine epsilon of the
    dtype f computes in."""

    def __init__(
        self,
        analytic: np.ndarray,
        outputs: Callable[[Sequence[np.ndarray]], np.ndarray],
        base: list[np.ndarray],
        columns: Sequence[Column],
        rows: Sequence[str],
        eps: float,
    ) -> None:
        self.analytic, self.outputs, self.base = analytic, outputs, base
        self.columns, self.rows, self.eps = columns, rows, eps
        self.first = outputs(base)
        self.numeric, self.noise, self.curvature = self._differences()
        self.failed: list[Row] = []  # the entries whose verdict is not ok
        self.rejudged: dict[tuple[int, int], Row] = {}  # the entries judged on shorter steps
        self.tolerances: tuple[float, float] = (0.0, 0.0)  # (atol, rtol), and the columns skipped, once judged
        self.skip: set[int] = set()
        self._alone: dict[int, FiniteDifferences] = {}

    def _differences(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """J at the fixed steps, the rounding noise ε·(|f₊| + |f₋|)/2h of each entry, and
        |f″| along each column by the second difference."""
        columns, noises, curvatures = [], [], []
        for c in self.columns:
            direction = Direction.element(*c.element)
            plus, minus = self.outputs(direction.moved(self.base, c.h)), self.outputs(direction.moved(self.base, -c.h))
            columns.append((plus - minus) / (2 * c.h))
            noises.append((self.eps * np.abs(plus) + self.eps * np.abs(minus)) / (2 * c.h))
            curvatures.append(np.abs((plus - self.first) - (self.first - minus)) / c.h / c.h)  # 2f, h² overflow
        return np.stack(columns, axis=1), np.stack(noises, axis=1), np.stack(curvatures, axis=1)

    def output(self, i: int) -> FiniteDifferences:
        """Central differences of the output element i alone, from the kept evaluations."""
        if i not in self._alone:

            def objective(values: Sequence[np.ndarray]) -> tuple[float, float]:
                value = float(self.outputs(values)[i])
                return value, abs(value)

            self._alone[i] = FiniteDifferences(objective, self.base, self.eps)
        return self._alone[i]

    def row(self, i: int, j: int, atol: float, rtol: float) -> Row:
        """Entry (i, j) as a row at the fixed step."""
        c, numeric = self.columns[j], float(self.numeric[i, j])
        tolerance = atol + rtol * abs(numeric) + float(self.noise[i, j])
        row = Row(c.input, f"{c.index} ← {self.rows[i]}", c.x, float(self.analytic[i, j]), numeric, tolerance)
        row.curvature = float(self.curvature[i, j])
        return row

    def judge(self, atol: float, rtol: float, skip: set[int]) -> None:
        """Judge every entry outside the columns in ``skip`` (already judged
        non-differentiable): those that disagree at the fixed step are re-judged on
        shorter ones, and the entries that still fail are kept in ``failed``."""
        self.tolerances, self.skip = (atol, rtol), skip
        tol = atol + rtol * np.abs(self.numeric) + self.noise
        for i, j in np.argwhere(np.abs(self.analytic - self.numeric) > tol):
            if j in skip:
                continue
            row = self.row(i, j, atol, rtol)
            row.verdict = MISMATCH
            self.output(i).rejudge(row, Direction.element(*self.columns[j].element), self.columns[j].h, atol, rtol)
            self.numeric[i, j] = row.numeric
            self.rejudged[(int(i), int(j))] = row
            if row.verdict != OK:
                self.failed.append(row)

    def doubtful(self) -> Iterator[tuple[int, list[Probe], float]]:
        """Each output i with passed entries that may need judging on the scale S of its
        derivatives (:func:`.small.may_confirm`): i, those entries as probes along their
        columns, and S."""
        atol, rtol = self.tolerances
        judged = np.ones(self.analytic.shape, dtype=bool)
        judged[:, sorted(self.skip)] = False
        scales = gradient_scale(np.where(judged, self.analytic, 0.0), np.where(judged, self.numeric, 0.0))
        error, tolerance = np.abs(self.analytic - self.numeric), atol + rtol * np.abs(self.numeric) + self.noise
        maybe = may_confirm(error, tolerance, self.numeric, atol, scales[:, None])
        for i, j in self.rejudged:  # their tolerance is the refined one
            maybe[i, j] = True
        maybe &= judged & (scales < 1.0)[:, None]
        for i in map(int, np.flatnonzero(np.any(maybe, axis=1))):
            found = []
            for j in map(int, np.flatnonzero(maybe[i])):
                row = self.rejudged.get((i, j)) or self.row(i, j, atol, rtol)
                if row.verdict == OK:
                    c = self.columns[j]
                    found.append(Probe(row, Direction.element(*c.element), row.analytic, max(1.0, abs(c.x)), c.h))
            yield i, found, float(scales[i])
