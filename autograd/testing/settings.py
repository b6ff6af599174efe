"""The settings of a gradient check: step, tolerances, how much to compare, what to do
on failure. One frozen object, so the parts of a check read the same choices."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .finite_differences import step_size, tolerances_for

Mode = Literal["auto", "full", "fast"]
_MODES = ("auto", "full", "fast")


def _check_number(name: str, value: Any, what: str, positive: bool = False) -> None:
    """Refuse an option that is not a finite real number ≥ 0 (> 0 when ``positive``)."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok or not np.isfinite(value) or value < 0 or (positive and value == 0):
        raise ValueError(f"gradcheck: {name}={value!r} must be {what}")


@dataclass(frozen=True)
class GradcheckSettings:
    """How :func:`~glassgrad.testing.gradcheck` compares; every field is also a keyword
    of ``gradcheck`` (``gradcheck(fn, x, atol=1e-5)`` is
    ``gradcheck(fn, x, settings=GradcheckSettings(atol=1e-5))``).

    - ``eps``: a fixed step; by default ∛ε·max(1, |x|) per element, ε of the dtype
      φ is computed in (float64 unless ``fn`` casts down).
    - ``atol``/``rtol``: by default from the dtype of the analytic gradients
      (float64: 1e-6/1e-5, float32: 1e-4/2e-3).
    - ``mode``: ``"full"`` compares every input element, ``"fast"`` ``directions``
      random directions (Rademacher and Gaussian in turn; what that guarantees:
      :func:`~glassgrad.testing.gradcheck`); ``"auto"`` is full up to
      ``max_full`` elements. A fast check whose direction failed or met a kink
      recomputes the element table when there are at most ``report_limit``
      elements. In full mode, with at most ``max_full`` output elements and
      ``max_entries`` Jacobian entries, the Jacobian is also compared entry by entry.
    - ``seed``: seeds the upstream gradient and the directions (runs are reproducible).
    - ``nondet_tol``: how much two backward passes may differ (reentrancy), and two
      evaluations of ``fn`` at the same point (a random ``fn`` is refused).
    - ``localize``: on a Jacobian mismatch, re-check each op of the graph.
    - ``raise_exception``: raise :class:`~glassgrad.testing.GradcheckError` on failure
      (else return the falsy result).
    """

    eps: float | None = None
    atol: float | None = None
    rtol: float | None = None
    seed: int = 0
    raise_exception: bool = True
    mode: Mode = "auto"
    directions: int = 8
    max_full: int = 256
    max_entries: int = 4096
    report_limit: int = 4096
    nondet_tol: float = 0.0
    localize: bool = True

    def __post_init__(self) -> None:
        if self.mode not in _MODES:
            raise ValueError(f"gradcheck: mode={self.mode!r} is not one of {', '.join(map(repr, _MODES))}")
        if self.eps is not None:
            _check_number("eps", self.eps, "a positive step (or None for ∛ε·max(1, |x|))", positive=True)
        for name in ("atol", "rtol"):
            if getattr(self, name) is not None:
                _check_number(name, getattr(self, name), "a tolerance ≥ 0 (or None for the dtype's default)")
        _check_number("nondet_tol", self.nondet_tol, "a tolerance ≥ 0")
        for name, least in (("seed", 0), ("directions", 1), ("max_full", 0), ("max_entries", 0), ("report_limit", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
                raise ValueError(f"gradcheck: {name}={value!r} must be an integer ≥ {least}")

    @classmethod
    def from_options(cls, settings: GradcheckSettings | None, options: dict[str, Any]) -> GradcheckSettings:
        """``settings`` (default: the defaults) with the keyword ``options`` replaced."""
        base = settings if settings is not None else cls()
        unknown = sorted(set(options) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            names = ", ".join(f.name for f in dataclasses.fields(cls))
            raise TypeError(f"gradcheck: unknown option(s) {', '.join(unknown)}; the options are: {names}")
        return dataclasses.replace(base, **options) if options else base

    def tolerances(self, dtype: np.dtype) -> tuple[float, float]:
        """(atol, rtol): the given ones, else the defaults for gradients in ``dtype``."""
        default_atol, default_rtol = tolerances_for(dtype)
        return (
            default_atol if self.atol is None else self.atol,
            default_rtol if self.rtol is None else self.rtol,
        )

    def step(self, x: float, dtype: np.dtype) -> float:
        """The central-difference step for a coordinate of size |x| evaluated in ``dtype``."""
        return self.eps if self.eps is not None else step_size(x, dtype)

    def describe_step(self, dtype: np.dtype) -> str:
        return f"h = {self.eps:g}" if self.eps is not None else f"h = ∛ε·max(1,|x|), ε of {dtype}"

    def compares_elements(self, n_inputs: int) -> bool:
        """Full mode: every one of the ``n_inputs`` input elements gets a row."""
        return self.mode == "full" or (self.mode == "auto" and n_inputs <= self.max_full)

    def compares_entries(self, n_inputs: int, n_outputs: int) -> bool:
        """The Jacobian is small enough to compare entry by entry (in full mode)."""
        return (
            self.compares_elements(n_inputs)
            and n_inputs > 0
            and 0 < n_outputs <= self.max_full
            and n_inputs * n_outputs <= self.max_entries
        )
