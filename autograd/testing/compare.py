"""The comparison at the heart of a gradient check: the analytic vᵀJ against central
differences of φ(x) = Σ vᵀf(x), then the verdict.

Whatever produced the analytic side (glassgrad's backward, a hand-written gradient),
the comparison sees the same things: the inputs as float64 arrays, a function giving
all outputs at such inputs, the upstream gradient v and vᵀJ for it. It then

- compares every input element (full mode) or random directions (fast mode, with the
  element table recomputed when a direction fails or meets a kink, if affordable),
- moves elements that sit at kinks together where that keeps φ smooth (ties),
- for small functions compares the Jacobian entry by entry,
- sorts the rows worst first, keeps kinks as verdicts, and on a mismatch runs the
  Taylor-remainder test along the worst element's direction.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from .finite_differences import Direction, FiniteDifferences, lowest_precision
from .jacobian import Column, Entries
from .kink_search import kinked_elements
from .report import BAD_SUBGRADIENT, DISCONTINUITY, KINK, MISMATCH, OK, UNRESOLVED, Row, worst_first
from .result import GradcheckResult
from .settings import GradcheckSettings
from .small import Probe, confirm_small, phi_along, rounding_noise
from .taylor import taylor_test
from .ties import Element, tie_probes


class Outputs:
    """f (called ``name``) at float64 inputs as one flat float64 vector of all its
    outputs; ``dtype`` is the lowest precision f computed them in (known after the
    first call, which is at the base point). Counts its ``evaluations``; where the
    Jacobian is compared, ``kept`` holds the outputs by point, and f runs once at each
    (its columns and their shorter steps are the element rows' points: x ± hₖ·eⱼ)."""

    def __init__(self, run: Callable[[Sequence[np.ndarray]], Sequence[Any]], name: str = "f") -> None:
        self.run, self.name = run, name
        self.dtype: np.dtype | None = None
        self.first: np.ndarray | None = None  # the outputs of the first call (at the base point)
        self.evaluations = 0
        self.kept: dict[bytes, np.ndarray] | None = None

    def __call__(self, values: Sequence[np.ndarray]) -> np.ndarray:
        if self.kept is None:
            return self.fresh(values)
        key = b"".join(np.ascontiguousarray(v).tobytes() for v in values)
        if key not in self.kept:
            self.kept[key] = self.fresh(values)
        return self.kept[key]

    def fresh(self, values: Sequence[np.ndarray]) -> np.ndarray:
        """f's outputs at ``values``, evaluated now."""
        self.evaluations += 1
        try:
            outs = self.run(values)
        except Exception as exc:
            if self.first is None:
                raise  # at the user's own point: their error, as they would see it
            raise ValueError(
                f"gradcheck: {self.name} raised {type(exc).__name__} at a point the check moved its inputs to "
                f"(x ± h, or up to 1e-2·max(1, |x|) away for the Taylor test): {exc}. The step crosses the edge of "
                "its domain: check farther from the edge, or pass a smaller eps="
            ) from exc
        if self.dtype is None:
            self.dtype = lowest_precision([np.asarray(o).dtype for o in outs])
        flat = np.concatenate([np.ravel(np.asarray(o, dtype=np.float64)) for o in outs])
        if self.first is None:
            self.first = flat
        return flat


@dataclass
class Comparison:
    """What the comparison needs about f at one point.

    ``base``: the checked inputs in float64, named by ``names``; ``analytic``: vᵀJ,
    one array per input; ``v``: the upstream gradients, one per output;
    ``jacobian``: J from the analytic side (outputs × input elements), or None when
    it is not compared entry by entry.
    """

    outputs: Outputs
    base: list[np.ndarray]
    names: list[str]
    analytic: list[np.ndarray]
    v: list[np.ndarray]
    jacobian: np.ndarray | None = None

    @property
    def size(self) -> int:
        return sum(b.size for b in self.base)

    def output_labels(self) -> list[str]:
        """One label per output element, in the order of the flat output vector."""
        many = len(self.v) > 1
        return [
            (f"output {k}" if many else "output") + ("" if np.ndim(v) == 0 else str(idx))
            for k, v in enumerate(self.v)
            for idx in np.ndindex(np.shape(v))
        ]


def compare(c: Comparison, result: GradcheckResult, s: GradcheckSettings, rng: np.random.Generator) -> None:
    """Fill ``result`` (mode, rows, kinks, evaluations, step, numeric, jacobian) and its
    ``jacobian``/``subgradient`` failures and Taylor diagnosis."""
    _finite_inputs(c, result.fn_name)
    if c.jacobian is not None:
        c.outputs.kept = {}
    fd = _finite_differences(c)
    _finite_outputs(c, result.fn_name)
    num_dtype = c.outputs.dtype or np.dtype(np.float64)
    probes, entries = _Probing(c, fd, result, s, num_dtype, rng).probes()
    if any(p.row.verdict != OK for p in probes) or (entries is not None and entries.failed):
        _same_twice(c, probes[0], result.fn_name, s.nondet_tol)
        # A row resolved to a slope on steps far below h (refine.py) shows φ smooth at
        # this dtype's rounding: what scatters at h is f varying fast, not a coarser
        # float inside (whose φ is flat on short steps: a slope of 0).
        resolved = any(p.row.refined and p.row.numeric != 0 for p in probes)
        coarser = None if resolved else _rounded_like(fd, c, num_dtype, probes[0].step)
        if coarser is not None:
            # f rounds like a coarser float inside (it casts down and back up): its
            # central differences at this dtype's step are rounding, not slopes.
            fd.eps = float(np.finfo(coarser).eps)
            num_dtype = coarser
            probes, entries = _Probing(c, fd, result, s, num_dtype, rng).probes()
    if s.atol is None and result.mode != "fast":
        confirm_small(probes, fd, result, max(float(np.max(np.abs(v), initial=0.0)) for v in c.v))
        if entries is not None:
            _confirm_small_entries(entries, result)
    _resolvable(fd, num_dtype, result)
    result.evaluations = c.outputs.evaluations
    _judge(result, probes, [] if entries is None else entries.failed, fd)
    if result.mode.startswith("fast") and all(_unjudged(p.row) for p in probes):
        result.failures["jacobian"] = (
            f"none of the {len(probes)} directions could be judged: each met a kink, and the elements at kinks "
            f"were too many to find; check a smaller input, or raise report_limit={s.report_limit} above "
            f"{c.size} to compare every element"
        )


#: Fast mode's tolerance in standard deviations of the error that full mode tolerates.
SIGMAS = 5.0


def _norm(arrays: Sequence[np.ndarray]) -> float:
    """‖arrays‖₂, all of them as one vector, without overflow or underflow on the way
    (the squares of derivatives of 1e200 are inf, those of 1e-200 are 0)."""
    top = max((float(np.max(np.abs(a), initial=0.0)) for a in arrays), default=0.0)
    if top == 0.0 or not np.isfinite(top):
        return top
    return top * float(np.sqrt(sum(np.sum((a / top) ** 2) for a in arrays)))


def _rademacher(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Random signs ±1."""
    return rng.integers(0, 2, shape) * 2.0 - 1.0


#: Tests of parts of a direction when searching for the elements at kinks (4 evaluations each).
_SEARCHES = 256


@dataclass
class _Probing:
    """One comparison at one numeric dtype: the function's values and analytic
    gradient, φ's finite differences, the result being filled, the settings, the dtype
    φ is computed in (its steps) and the random directions' generator. Its methods make
    the compared rows."""

    c: Comparison
    fd: FiniteDifferences
    result: GradcheckResult
    s: GradcheckSettings
    num_dtype: np.dtype
    rng: np.random.Generator

    def step(self, x: float) -> float:
        return self.s.step(x, self.num_dtype)

    def probes(self) -> tuple[list[Probe], Entries | None]:
        """The compared rows: elements (and the Jacobian's entries) in full mode,
        directions in fast mode."""
        c, result, s = self.c, self.result, self.s
        result.step = s.describe_step(self.num_dtype)
        if s.compares_elements(c.size):
            result.mode = "full"
            probes = self.elements()
            entries = None if c.jacobian is None else self.entries([p.row for p in probes])
            return probes, entries
        result.mode = "fast"
        probes = self.directions()
        met = [p for p in probes if p.row.verdict in (KINK, DISCONTINUITY)]
        if any(p.row.verdict != OK for p in probes) and c.size <= s.report_limit:
            # A failed direction, or one that met a kink (no verdict there): the
            # elements, and the kinked ones moved together, judge instead.
            result.mode = "fast, element table recomputed (a direction failed or met a kink)"
            probes = self.elements()
        elif met:
            probes = self.around_kinks(probes, met[0])
        return probes, None

    def elements(self, only: Sequence[Element] | None = None) -> list[Probe]:
        """One row per input element (or per element of ``only``): ∂φ/∂xᵢ against
        (φ(x + h·eᵢ) − φ(x − h·eᵢ)) / 2h; and where several elements sit at kinks, rows for
        them moved together (:mod:`.ties`)."""
        c, fd, result = self.c, self.fd, self.result
        elements = only if only is not None else [(k, i) for k, b in enumerate(c.base) for i in np.ndindex(b.shape)]
        probes = []
        kinked: list[Element] = []
        jumps: dict[Element, float] = {}  # each kinked element's jump in slope
        for k, idx in elements:
            b, a = c.base[k], c.analytic[k]
            x = float(b[idx])
            d = Direction.element(k, idx)
            label = "—" if b.ndim == 0 else str(tuple(int(t) for t in idx))
            row = fd.probe(d, self.step(x), float(a[idx]), result.atol, result.rtol, input=c.names[k], index=label, x=x)
            probes.append(Probe(row, d, float(a[idx]), max(1.0, abs(x)), self.step(x)))
            if row.verdict == KINK:
                kinked.append((k, idx))
                jumps[(k, idx)] = abs((row.right or 0.0) - (row.left or 0.0))
        if only is None:
            result.numeric = [np.zeros(b.shape) for b in c.base]
            for (k, idx), p in zip(elements, probes):
                result.numeric[k][idx] = p.row.numeric
        if len(kinked) > 1:
            probes += self.ties(kinked, jumps)
        return probes

    def directions(self, still: Sequence[np.ndarray] | None = None) -> list[Probe]:
        """``s.directions`` rows along random directions u, Rademacher (every uᵢ = ±1) and
        Gaussian in turn: ⟨vᵀJ, u⟩ against the directional difference (u is 0 where
        ``still`` is, one mask per input).

        Full mode lets element i be off by tᵢ = atol + rtol·|gᵢ|. For any error e within
        that, ⟨e, u⟩ has a standard deviation of at most ‖t∘u‖ over either kind of u, so a
        direction is held to ``SIGMAS``·‖t∘u‖ (a false alarm under 1e-6 even then; a right
        gradient is off by far less). Beyond it an error is caught: a Rademacher u shows a
        single wrong element whole, |⟨e, u⟩| = |eᵢ|, and a Gaussian u misses an error e with
        probability at most 0.8·SIGMAS·‖t‖/‖e‖, independently for each direction. A
        direction that meets a kink gives no verdict (along dense u the one-sided slopes
        bound ⟨g, u⟩ only for a convex φ).

        The default atol is scaled by the gradient's size S = max|gᵢ| when S < 1 (as tiny
        derivatives are re-judged in full mode): a small upstream gradient v makes every
        derivative small, and ‖atol·u‖ alone, √n·1e-6, would hide a wrong element."""
        c, fd, result, s, rng = self.c, self.fd, self.result, self.s, self.rng
        scale = max(1.0, max((float(np.max(np.abs(b), initial=0.0)) for b in c.base), default=0.0))
        size = max((float(np.max(np.abs(a), initial=0.0)) for a in c.analytic), default=0.0)
        # Not below what φ's rounding resolves at the size of f's values (as in confirm_small).
        resolved = 16 * fd.eps ** (2 / 3) * min(1.0, fd.mag0)
        atol = result.atol * (min(1.0, max(size, resolved)) if s.atol is None else 1.0)
        probes = []
        for j in range(s.directions):
            kind = "±1" if j % 2 == 0 else "Gaussian"
            us = [_rademacher(rng, b.shape) if j % 2 == 0 else rng.standard_normal(b.shape) for b in c.base]
            if still is not None:
                us = [u * m for u, m in zip(us, still)]
            slope = float(sum(np.sum(a * u) for a, u in zip(c.analytic, us)))
            spread = _norm([(atol + result.rtol * np.abs(a)) * u for a, u in zip(c.analytic, us)])
            d = Direction.dense(us)
            h = self.step(scale)
            index = f"direction {j} ({kind})"
            row = fd.probe(d, h, slope, SIGMAS * spread, 0.0, input="all", index=index, x=None, subgradient=False)
            probes.append(Probe(row, d, slope, scale, h))
        return probes

    def around_kinks(self, probes: list[Probe], met: Probe) -> list[Probe]:
        """Too many elements for the table, and a direction met a kink: find the elements
        at kinks along it (:mod:`.kink_search`), judge each alone and the tied ones moved
        together, and the rest along random directions that leave them still. Where kinks
        are too many to find, the elements that share a value with others (a fill, ties)
        are held still instead, and moved together."""
        c, result, s = self.c, self.result, self.s
        assert met.direction.arrays is not None
        found = kinked_elements(self.fd, met.direction.arrays, met.step, met.row.tolerance, _SEARCHES)
        alone = found is not None
        if found is None:
            found = _repeated(c.base)
        if not found:
            _note_unjudged(probes, result, s)
            return probes
        still = [np.ones(b.shape) for b in c.base]
        for k, idx in found:
            still[k][idx] = 0.0
        around = self.directions(still)
        _note_unjudged(around, result, s)
        if alone:
            result.mode = f"fast, around {len(found)} element(s) at kinks, each checked alone"
            return around + self.elements(found)
        result.mode = f"fast, around {len(found)} element(s) sharing values, held still and moved together"
        return around + self.ties(found)

    def entries(self, element_rows: list[Row]) -> Entries:
        """The full Jacobian judged entry by entry (:mod:`.jacobian`); columns whose element
        is at a kink keep the element's verdict: the entries would straddle that kink at
        any step. (Near a kink, the entries that disagree at h are judged on steps that
        no longer straddle it.)"""
        c, result = self.c, self.result
        assert c.jacobian is not None
        elements = [(k, idx) for k, b in enumerate(c.base) for idx in np.ndindex(b.shape)]
        columns = [
            Column(r.input, r.index, (k, idx), float(c.base[k][idx]), self.step(float(c.base[k][idx])))
            for r, (k, idx) in zip(element_rows, elements)
        ]
        entries = Entries(c.jacobian, c.outputs, c.base, columns, c.output_labels(), self.fd.eps)
        skip = {j for j, r in enumerate(element_rows[: len(columns)]) if r.verdict in _KINKS}
        entries.judge(result.atol, result.rtol, skip)
        result.jacobian = (c.jacobian, entries.numeric)
        return entries

    def ties(self, elements: Sequence[Element], jumps: dict[Element, float] | None = None) -> list[Probe]:
        """Rows for ``elements``, all at kinks (with their jumps in slope, where known),
        moved together where that keeps φ smooth (:mod:`.ties`)."""
        c, result = self.c, self.result
        tolerances = (result.atol, result.rtol)
        found = tie_probes(self.fd, c.base, elements, c.analytic, c.names, tolerances, self.step, jumps)
        return [Probe(t.row, t.direction, t.slope, t.scale, t.step) for t in found]


#: Coarser floats f may compute in while it returns a finer one.
_COARSER = (np.dtype(np.float32), np.dtype(np.float16))


def _rounded_like(fd: FiniteDifferences, c: Comparison, num_dtype: np.dtype, h: float) -> np.dtype | None:
    """The coarser float dtype φ rounds like (None when it does not): φ's scatter about
    a parabola through φ(x + j·h·1), j = −2…2 (every input moved together), is 10⁴
    times ``num_dtype``'s ε·Σ|v·f| or more (cancellation among f's values gives φ a few
    times that), yet within 16ε·Σ|v·f| of a coarser dtype. Rounding scatters as much at
    h/16; the misfit of a kink shrinks with the step, and is no rounding."""
    ones = Direction.dense([np.ones(b.shape) for b in c.base])
    noise = rounding_noise(partial(phi_along, fd, ones), h)
    scale = max(fd.mag0, 1e-300)
    if noise < 1e4 * float(np.finfo(num_dtype).eps) * scale:
        return None
    if rounding_noise(partial(phi_along, fd, ones), h / 16) < noise / 4:
        return None
    # Only a dtype that holds the inputs and f's values: sin's values at x = 1e100 scatter
    # like any dtype's rounding now and then, but no float16 computed them.
    largest = max(fd.mag0, *(float(np.max(np.abs(b), initial=0.0)) for b in c.base))
    coarser = [d for d in _COARSER if np.finfo(num_dtype).eps < np.finfo(d).eps and largest <= float(np.finfo(d).max)]
    return next((d for d in coarser if noise <= 16 * float(np.finfo(d).eps) * scale), None)


def cotangents(rng: np.random.Generator, outputs: Sequence[Any]) -> list[np.ndarray]:
    """The v of φ = Σ vᵀf, one per output: Gaussian, so that a derivative that forgets
    to multiply by v is caught; scaled by a power of two, which changes no rounding,
    where f's values are so near the largest float that Σ v·f would overflow."""
    vs = [rng.standard_normal(np.shape(o)) for o in outputs]
    top = max((float(np.max(np.abs(o), initial=0.0)) for o in outputs), default=0.0)
    if not 0.0 < top < math.inf:  # a non-finite output is refused with its own message
        return vs
    # Σ|v·f| = top·Σ|v·f/top|, each factor finite. It is kept below 2**1020, leaving
    # the steps room to grow f sixteenfold, by the least power of two that does.
    spread = sum(float(np.sum(np.abs(v * (np.asarray(o) / top)))) for v, o in zip(vs, outputs))
    magnitude = math.log2(top) + math.log2(spread) if spread > 0 else 0.0
    return vs if magnitude <= 1020 else [v * 2.0 ** (1020 - math.ceil(magnitude)) for v in vs]


def _finite_differences(c: Comparison) -> FiniteDifferences:
    """φ(x) = Σ vᵀf(x) around the base point; its rounding noise scales with Σ|v·f|."""
    v_flat = np.concatenate([np.ravel(v) for v in c.v])

    def objective(values: Sequence[np.ndarray]) -> tuple[float, float]:
        terms = v_flat * c.outputs(values)
        return float(np.sum(terms)), float(np.sum(np.abs(terms)))

    fd = FiniteDifferences(objective, c.base, eps=0.0)  # evaluates f once: its dtype is known now
    fd.eps = float(np.finfo(c.outputs.dtype or np.float64).eps)
    return fd


def _finite_inputs(c: Comparison, name: str) -> None:
    """Refuse a NaN or infinite input: x ± h is not a point near it."""
    for label, b in zip(c.names, c.base):
        bad = np.argwhere(~np.isfinite(b))
        if bad.size:
            idx = tuple(int(i) for i in bad[0])
            where = f" at index {idx}" if b.ndim else ""
            which = label if label.startswith("input ") else f"input {label}"
            raise ValueError(f"gradcheck: {which} of {name} is {b[idx]}{where}; central differences need finite inputs")


def _finite_outputs(c: Comparison, name: str) -> None:
    """Refuse a function that is NaN or infinite at the checked point: there is no
    derivative to compare there."""
    assert c.outputs.first is not None
    bad = np.flatnonzero(~np.isfinite(c.outputs.first))
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"gradcheck: {name} is {c.outputs.first[i]} at the checked point ({c.output_labels()[i]}), so it has "
            "no derivative there to compare; check it where it is finite"
        )


#: Verdicts of a row at a non-differentiable point.
_KINKS = (KINK, DISCONTINUITY, BAD_SUBGRADIENT)


def _confirm_small_entries(entries: Entries, result: GradcheckResult) -> None:
    """Judge each output's tiny derivatives on their own scale, as φ's are (:mod:`.small`;
    its upstream gradient is one-hot, of size 1)."""
    for i, probes, scale in entries.doubtful():
        confirm_small(probes, entries.output(i), result, 1.0, where=f"of {entries.rows[i]}", scale=scale)
        entries.failed += [p.row for p in probes if p.row.verdict == MISMATCH]


def _same_twice(c: Comparison, probe: Probe, name: str, nondet_tol: float) -> None:
    """Raise unless f gives the same outputs twice at the first probe's point x + h·d
    (up to ``nondet_tol`` and a few ulps). Central differences of a random function
    measure its noise, which looks like kinks and jumps at every element: refused, not
    excused. A moved point, not x: noise that scales with x vanishes at x = 0."""
    point = probe.direction.moved(c.base, probe.step)
    first, again = c.outputs.fresh(point), c.outputs.fresh(point)
    eps = float(np.finfo(c.outputs.dtype or np.float64).eps)
    with np.errstate(invalid="ignore"):  # inf − inf: the same inf is caught by ==
        close = np.abs(first - again) <= nondet_tol + 4 * eps * np.maximum(np.abs(first), np.abs(again))
    differ = ~(close | (first == again) | (np.isnan(first) & np.isnan(again)))
    if np.any(differ):
        i = int(np.argmax(differ))
        raise ValueError(
            f"gradcheck: {name} gives different outputs for the same inputs ({c.output_labels()[i]}: "
            f"{first[i]:.17g}, then {again[i]:.17g}); central differences of a random function measure its "
            "noise, not a derivative: draw its random numbers from a generator seeded inside it, or pass "
            "them in as a constant input"
        )


def _resolvable(fd: FiniteDifferences, num_dtype: np.dtype, result: GradcheckResult) -> None:
    """Fail a check whose f is too small for float arithmetic to judge: where every
    value of φ met is below tiny/∛ε of the dtype f computes in, the differences
    φ(x + h) − φ(x − h) are subnormal, with a fixed absolute spacing instead of ε
    relative, and no central difference resolves a wrong derivative from a right one.
    (φ ≡ 0 is exempt: there is nothing to resolve.)"""
    finfo = np.finfo(num_dtype)
    least = float(finfo.tiny) / float(np.cbrt(finfo.eps))
    if 0.0 < fd.peak < least:
        result.failures["resolution"] = (
            f"f is too small to judge: Σ|v·f| is at most {fd.peak:.3g} at the points the check evaluated, below "
            f"{least:.3g}, where differences of f are subnormal in {num_dtype} and keep too few digits for any "
            "central difference; scale f up by a constant (its gradient scales alike) and check again"
        )


def _repeated(base: Sequence[np.ndarray]) -> list[Element]:
    """The elements whose value another element of the same input shares."""
    found: list[Element] = []
    for k, b in enumerate(base):
        _, inverse, counts = np.unique(b, return_inverse=True, return_counts=True)
        shared = (counts > 1)[inverse.reshape(b.shape)]
        found += [(k, tuple(int(i) for i in idx)) for idx in np.argwhere(shared)]
    return found


def _unjudged(row: Row) -> bool:
    """A dense direction that met a kink: no verdict along it."""
    return row.input == "all" and row.index.startswith("direction") and row.verdict in (KINK, DISCONTINUITY)


def _note_unjudged(probes: list[Probe], result: GradcheckResult, s: GradcheckSettings) -> None:
    """Say how many directions met a kink, where no element table is recomputed."""
    met = sum(_unjudged(p.row) for p in probes)
    if met:
        result.notes.append(
            f"{met} of {len(probes)} directions met a kink and give no verdict (along a dense direction the "
            f"one-sided slopes bound the gradient only for a convex φ); the element table is not recomputed "
            f"beyond report_limit={s.report_limit} elements, and no search found the elements at kinks: check a "
            "smaller input, or raise report_limit"
        )


def _judge(result: GradcheckResult, probes: list[Probe], entries: list[Row], fd: FiniteDifferences) -> None:
    """Rows worst first, kinks set aside, failures named; the Taylor test along the
    worst mismatching element (entry rows have no direction of their own)."""
    by_row = {id(p.row): p for p in probes}
    result.rows = worst_first([p.row for p in probes] + entries)
    result.kinks = [r for r in result.rows if r.verdict in (KINK, DISCONTINUITY)]
    mismatches = [r for r in result.rows if r.verdict == MISMATCH]
    unresolved = [r for r in result.rows if r.verdict == UNRESOLVED]
    if unresolved:
        where = ", ".join(f"{r.input} {r.index}" for r in unresolved[:4])
        more = f" and {len(unresolved) - 4} more" if len(unresolved) > 4 else ""
        result.failures["resolution"] = (
            f"f cannot be checked at {where}{more}: its central differences do not settle as the step shrinks "
            "before rounding swamps them (f varies there faster than float arithmetic resolves: too oscillatory "
            "or rough), so there is no verdict either way; check it at another point, or where it varies slower"
        )
    bad_kinks = [r for r in result.rows if r.verdict == BAD_SUBGRADIENT]
    if mismatches:
        worst = mismatches[0]
        result.failures["jacobian"] = (
            f"{len(mismatches)} of {len(result.rows)} compared derivatives disagree; worst {worst.input} "
            f"{worst.index}: analytic {worst.analytic:.8g}, numeric {worst.numeric:.8g}"
        )
        probed = [by_row[id(r)] for r in mismatches if id(r) in by_row]
        if probed:
            p = probed[0]
            result.taylor = taylor_test(lambda t: fd.at(p.direction, t)[0], p.slope, 1e-2 * p.scale, eps=fd.eps)
    tied = [r for r in mismatches if r.moves]
    if tied:
        result.notes.append(
            f"{tied[0].index}: these elements sit at kinks (a tie), and moved together they keep it, so f is "
            "smooth along that direction and the gradients of the tied elements must add up to its slope "
            "(share the upstream gradient among them, or give it to one); each alone is a valid subgradient"
        )
    if any(not np.isfinite(r.numeric) for r in result.rows):
        result.notes.append(
            "numeric nan or inf: f is not finite at some points x ± h the check moved to (the step crosses the edge "
            "of its domain, or f overflows there): check farther from the edge, or pass a smaller eps="
        )
    if bad_kinks:
        worst = bad_kinks[0]
        lo, hi = sorted((worst.left or 0, worst.right or 0))
        result.failures["subgradient"] = (
            f"{len(bad_kinks)} non-differentiable point(s) where the analytic value lies outside the one-sided "
            f"slopes; worst {worst.input} {worst.index}: analytic {worst.analytic:.8g} not in [{lo:.6g}, {hi:.6g}]"
        )
