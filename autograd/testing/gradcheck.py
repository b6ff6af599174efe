"""Gradient checking against central differences.

For f: ℝⁿ → ℝᵐ (several inputs, one or several outputs) and a random upstream
gradient v (Gaussian, not ones: ones hide a backward that forgets to multiply by
the upstream gradient, and symmetric cancellations), the analytic vector-Jacobian
product vᵀJ from backward is compared with central differences of

    φ(x) = Σₖ vₖᵀ fₖ(x),     computed in float64 whatever dtype f runs in.

Small inputs are compared element by element (``mode="full"``: row i of the table is
∂φ/∂xᵢ); large ones along random Gaussian directions u (``mode="fast"``: ⟨vᵀJ, u⟩
against (φ(x+hu) − φ(x−hu))/2h), and on failure the element table is recomputed
when affordable. Besides the Jacobian, the check runs sub-checks that catch other
classic backward bugs: linearity in v, reentrancy, gradient shapes and dtypes,
mutation of inputs and aliasing between gradients. On a mismatch a Taylor-remainder
test tells a bad step from a bad gradient, and the failing composite is re-checked op
by op to name the first op whose backward is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ..errors import GlassgradError
from ..graph import Node, run_backward
from ..scalar import Scalar
from ..tensor import Tensor
from .finite_differences import Direction, FiniteDifferences, lowest_precision, step_size, tolerances_for
from .jacobian import entry_mismatches, numeric_jacobian
from .localize import Localization
from .localize import localize as localize_failure
from .report import BAD_SUBGRADIENT, COMPOSITE_KINK, DISCONTINUITY, KINK, MISMATCH, OK, Row, format_table, worst_first
from .taylor import TaylorResult, taylor_test

#: The sub-checks, in the order they are reported.
SUB_CHECKS = ("jacobian", "subgradient", "linearity", "reentrancy", "shape", "dtype", "mutation", "aliasing")


class GradcheckError(GlassgradError, AssertionError):
    """The analytic gradient disagrees with central differences (or a sub-check failed).
    ``.result`` holds the :class:`GradcheckResult` with the full report."""

    def __init__(self, message: str, result: GradcheckResult | None = None) -> None:
        super().__init__(message)
        self.result = result


@dataclass
class GradcheckResult:
    """What a gradient check compared and what it concluded; falsy when it failed.

    ``rows`` is the comparison table, worst first (elements in full mode, directions
    in fast mode); ``kinks`` the rows judged non-differentiable (passed);
    ``failures`` maps each failed sub-check to what went wrong.
    """

    fn_name: str = "fn"
    analytic: list[np.ndarray] = field(default_factory=list)
    numeric: list[np.ndarray] = field(default_factory=list)  # full mode only
    rows: list[Row] = field(default_factory=list)
    kinks: list[Row] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    mode: str = "full"
    evaluations: int = 0
    dtype: np.dtype = field(default_factory=lambda: np.dtype(np.float64))
    atol: float = 0.0
    rtol: float = 0.0
    step: str = ""
    taylor: TaylorResult | None = None
    localization: Localization | None = None
    notes: list[str] = field(default_factory=list)
    jacobian: tuple[np.ndarray, np.ndarray] | None = None  # (analytic, numeric), full mode on small fns

    @property
    def ok(self) -> bool:
        return not self.failures

    def __bool__(self) -> bool:
        return self.ok

    @property
    def max_abs_error(self) -> float:
        return max((r.abs_error for r in self.rows if r.verdict != KINK), default=0.0)

    def report(self, limit: int = 10) -> str:
        """The human-readable account: verdict, settings, table, diagnoses, sub-checks."""
        head = (
            f"gradcheck of {self.fn_name} failed: {', '.join(self.failures)}"
            if self.failures
            else f"gradcheck of {self.fn_name} passed"
        )
        lines = [
            head,
            f"mode {self.mode}, {self.evaluations} evaluations of f in float64 (φ = Σ vᵀf), "
            f"step {self.step}; tolerance atol={self.atol:g} + rtol={self.rtol:g}·|numeric| + rounding "
            f"({self.dtype} gradients)",
        ]
        for name, why in self.failures.items():
            if name not in ("jacobian", "subgradient"):
                lines.append(f"{name} FAILED: {why}")
        if self.rows:
            lines.append(format_table(self.rows, limit))
        if self.kinks:
            lines.append(
                f"{len(self.kinks)} non-differentiable point(s), not failures: at a kink the one-sided slopes "
                "differ and the analytic value lies between them (a valid subgradient); at a discontinuity "
                "the function jumps and no derivative exists"
            )
        lines.extend(self.notes)
        if self.taylor is not None:
            lines.append(self.taylor.summary())
        if self.localization is not None:
            lines.append(self.localization.summary())
        lines.append("sub-checks: " + ", ".join(f"{c} {'FAILED' if c in self.failures else 'ok'}" for c in SUB_CHECKS))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()


# ---------------------------------------------------------------------------------------


def _outputs(out: Any, fn_name: str) -> list[Node]:
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    for k, o in enumerate(outs):
        if not isinstance(o, Node):
            which = f"output {k}" if len(outs) > 1 else "its output"
            raise TypeError(
                f"gradcheck: {fn_name} must return a Scalar or Tensor (or a tuple of them); "
                f"{which} is a {type(o).__name__}"
            )
    return outs


def _input_name(i: int, x: Node) -> str:
    return x.name or f"input {i}"


def _leaf_copy(x: Node) -> Node:
    if isinstance(x, Scalar):
        return Scalar(x.data, requires_grad=True, name=x.name)
    return Tensor(x.data, requires_grad=True, name=x.name)


def _float64_value(x: Node) -> np.ndarray:
    return np.array(x.data, dtype=np.float64)


def _as_analytic(g: Any, x: Node) -> np.ndarray:
    """A gradient as a float64 array of x's shape (zeros when no gradient reached x)."""
    shape = np.shape(x.data)
    if g is None:
        return np.zeros(shape)
    try:
        return np.array(np.broadcast_to(np.asarray(g, dtype=np.float64), shape))
    except ValueError:
        return np.full(shape, np.nan)


def _grad_problems(grads: Sequence[Any], leaves: Sequence[Node], seeds: Sequence[Any]) -> dict[str, str]:
    """Shape, dtype and aliasing of the gradients stored by backward."""
    found: dict[str, list[str]] = {"shape": [], "dtype": [], "aliasing": []}
    arrays = []
    for leaf, g in zip(leaves, grads):
        label = leaf._describe()
        if g is None:
            continue
        if not isinstance(leaf, Tensor):  # a Scalar
            if not isinstance(g, float):
                found["dtype"].append(f"{label}: gradient is a {type(g).__name__}, expected float")
            continue
        if not isinstance(g, np.ndarray):
            found["dtype"].append(f"{label}: gradient is a {type(g).__name__}, expected numpy array")
            continue
        if g.shape != leaf.shape:
            found["shape"].append(f"{label}: gradient shape {g.shape} != input shape {leaf.shape}")
        if g.dtype != leaf.dtype:
            found["dtype"].append(f"{label}: gradient dtype {g.dtype} != input dtype {leaf.dtype}")
        arrays.append((label, g))
    others = [(leaf._describe() + " data", leaf.data) for leaf in leaves if isinstance(leaf, Tensor)]
    others += [(f"upstream gradient {k}", s) for k, s in enumerate(seeds) if isinstance(s, np.ndarray)]
    for n, (label, g) in enumerate(arrays):
        for other_label, other in arrays[n + 1 :] + others:
            if g.size and np.shares_memory(g, other):
                found["aliasing"].append(f"gradient of {label} shares memory with {other_label}")
    return {k: "; ".join(v) for k, v in found.items() if v}


def _backward_problems(
    backward: Callable[[float, bool], list[Any]],
    wanted: Sequence[Node],
    analytic: Sequence[np.ndarray],
    atol: float,
    rtol: float,
    nondet_tol: float,
) -> dict[str, str]:
    """Reentrancy (the same v twice gives the same gradients) and linearity in v
    (backward(2v) = 2·backward(v), backward(0) = 0); the last call frees the graph."""
    found = {}
    again = [_as_analytic(g, x) for g, x in zip(backward(1.0, True), wanted)]
    diff = max((float(np.max(np.abs(a - b), initial=0.0)) for a, b in zip(analytic, again)), default=0.0)
    if not diff <= nondet_tol:
        found["reentrancy"] = f"two backward passes with the same upstream gradient differ by {diff:.3g}"
    doubled = [_as_analytic(g, x) for g, x in zip(backward(2.0, True), wanted)]
    zeroed = [_as_analytic(g, x) for g, x in zip(backward(0.0, False), wanted)]
    excess = [np.abs(d - 2 * a) - (atol + rtol * np.abs(2 * a)) for a, d in zip(analytic, doubled)]
    bad_scale = max((float(np.max(e, initial=-1.0)) for e in excess), default=-1.0)
    bad_zero = max((float(np.max(np.abs(z), initial=0.0)) for z in zeroed), default=0.0)
    problems = []
    if bad_scale > 0:
        problems.append(f"backward(2v) != 2·backward(v) (off by {bad_scale:.3g} beyond tolerance)")
    if bad_zero > atol:
        problems.append(f"backward(0) gives gradients up to {bad_zero:.3g}, not 0")
    if problems:
        found["linearity"] = (
            "backward is not linear in the upstream gradient v: "
            + "; ".join(problems)
            + " (does the backward multiply by the upstream gradient?)"
        )
    return found


def _mutations(wanted: Sequence[Node], snapshots: Sequence[tuple[np.ndarray, np.dtype]]) -> dict[str, str]:
    changed = [
        leaf._describe()
        for leaf, (data, dtype) in zip(wanted, snapshots)
        if np.asarray(leaf.data).dtype != dtype or not np.array_equal(np.asarray(leaf.data), data, equal_nan=True)
    ]
    if not changed:
        return {}
    return {"mutation": f"fn or its backward modified its input(s) in place: {', '.join(changed)}"}


def gradcheck(
    fn: Callable[..., Any],
    *inputs: Any,
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    seed: int = 0,
    raise_exception: bool = True,
    mode: Literal["auto", "full", "fast"] = "auto",
    directions: int = 8,
    max_full: int = 256,
    max_entries: int = 4096,
    report_limit: int = 4096,
    nondet_tol: float = 0.0,
    localize: bool = True,
) -> GradcheckResult:
    """Check ``fn``'s gradients with respect to every input that requires grad.

    ``fn`` takes the inputs (Scalars, Tensors; other arguments are passed through as
    constants) and returns a Scalar, a Tensor or a tuple of them. The check passes
    when, for every compared derivative, ``|analytic − numeric| ≤ atol + rtol·|numeric|``
    plus the rounding noise of the finite difference, and every sub-check holds.

    - ``eps``: a fixed step; by default ∛ε·max(1, |x|) per element, ε of the dtype
      φ is computed in (float64 unless ``fn`` casts down).
    - ``atol``/``rtol``: by default from the dtype of the analytic gradients
      (float64: 1e-6/1e-5, float32: 1e-4/2e-3).
    - ``mode``: ``"full"`` compares every input element, ``"fast"`` ``directions``
      random Gaussian directions; ``"auto"`` is full up to ``max_full`` elements.
      A failed fast check recomputes the element table when there are at most
      ``report_limit`` elements. In full mode, with at most ``max_full`` output
      elements and ``max_entries`` Jacobian entries, the Jacobian is also compared
      entry by entry (row i from backward with the one-hot upstream gradient eᵢ).
    - ``seed``: seeds the upstream gradient and the directions (runs are reproducible).
    - ``nondet_tol``: how much two backward passes may differ (reentrancy).
    - ``localize``: on a Jacobian mismatch, re-check each op of the graph.

    Returns a :class:`GradcheckResult`; on failure raises :class:`GradcheckError`
    with its report unless ``raise_exception=False``.
    """
    fn_name = getattr(fn, "__name__", type(fn).__name__)
    wanted_idx = [i for i, x in enumerate(inputs) if isinstance(x, Node) and x.requires_grad]
    if not wanted_idx:
        raise ValueError(
            f"gradcheck: none of the {len(inputs)} inputs requires grad, so there is nothing to check; "
            "create them with requires_grad=True"
        )
    leaves = [_leaf_copy(x) if i in wanted_idx else x for i, x in enumerate(inputs)]
    wanted = [leaves[i] for i in wanted_idx]
    snapshots = [(np.array(leaf.data, copy=True), np.asarray(leaf.data).dtype) for leaf in wanted]

    outs = _outputs(fn(*leaves), fn_name)
    rng = np.random.default_rng(seed)
    vs = [rng.standard_normal(np.shape(o.data)) for o in outs]
    seeds = [float(v) if isinstance(o, Scalar) else v.astype(o.data.dtype) for o, v in zip(outs, vs)]
    roots = [(o, s) for o, s in zip(outs, seeds) if o.requires_grad]

    def backward(scale: float, retain: bool) -> list[Any]:
        """Gradients of the inputs for the upstream gradient scale·v."""
        for leaf in wanted:
            leaf.grad = None
        if roots:
            run_backward([o for o, _ in roots], [s * scale for _, s in roots], retain_graph=retain)
        return [leaf.grad for leaf in wanted]

    result = GradcheckResult(fn_name=fn_name)
    first = backward(1.0, True)
    result.failures.update(_grad_problems(first, wanted, seeds))
    result.analytic = [_as_analytic(g, x) for g, x in zip(first, wanted)]

    grad_dtypes = [np.asarray(x.data).dtype for x in wanted] + [np.asarray(o.data).dtype for o in outs]
    result.dtype = lowest_precision(grad_dtypes)
    default_atol, default_rtol = tolerances_for(result.dtype)
    atol = default_atol if atol is None else atol
    rtol = default_rtol if rtol is None else rtol
    result.atol, result.rtol = atol, rtol

    n_in = sum(np.size(x.data) for x in wanted)
    n_out = sum(np.size(o.data) for o in outs)
    full = mode == "full" or (mode == "auto" and n_in <= max_full)
    small = n_in > 0 and 0 < n_out <= max_full and n_in * n_out <= max_entries
    jac = _analytic_jacobian(outs, wanted) if full and small else None
    result.failures.update(_backward_problems(backward, wanted, result.analytic, atol, rtol, nondet_tol))
    result.failures.update(_mutations(wanted, snapshots))

    _compare(fn, leaves, wanted_idx, outs, vs, result, eps, mode, directions, max_full, report_limit, rng, jac)

    if localize and ("jacobian" in result.failures or "subgradient" in result.failures):
        result.localization = loc = localize_failure(fn, *[_snapshot_input(x) for x in inputs], seed=seed)
        if loc.culprit is None and loc.at_kinks:
            _composite_kinks(result, loc)
    if result.failures and raise_exception:
        raise GradcheckError(result.report(), result)
    return result


def _composite_kinks(result: GradcheckResult, loc: Localization) -> None:
    """Every op's local derivative is right, and some op sits at a kink: a composite
    that disagrees with its finite differences there is a property of composing
    subgradients, not a bug. Re-label those rows and drop the failures."""
    for name in ("jacobian", "subgradient"):
        result.failures.pop(name, None)
    for r in result.rows:
        if r.failed:
            r.verdict = COMPOSITE_KINK
            result.kinks.append(r)
    result.taylor = None
    where = ", ".join(f"`{c.op}` at {c.site or '<unknown>'}" for c in loc.at_kinks[:3])
    result.notes.append(
        f"at these points the composite's analytic gradient differs from its finite differences, but every op's own "
        f"derivative is right and {len(loc.at_kinks)} op(s) sit at a kink ({where}): the chain rule only composes "
        "subgradients into an element of a larger set (relu(x) − relu(−x) = x gets 0 at x = 0) — not a bug"
    )


def _snapshot_input(x: Any) -> Any:
    """A fresh copy of a check input (same kind, data, dtype, requires_grad)."""
    if isinstance(x, Scalar):
        return Scalar(x.data, requires_grad=x.requires_grad, name=x.name)
    if isinstance(x, Tensor):
        return Tensor(x.data, requires_grad=x.requires_grad, name=x.name)
    return x


def _analytic_jacobian(outs: Sequence[Node], wanted: Sequence[Node]) -> np.ndarray:
    """J from backward: row i with the one-hot upstream gradient on output element i
    (the graph is kept; rows of outputs that do not depend on the inputs are 0)."""
    n = sum(np.size(x.data) for x in wanted)
    rows = []
    for o in outs:
        for idx in np.ndindex(np.shape(o.data)):
            if not o.requires_grad:
                rows.append(np.zeros(n))
                continue
            if not isinstance(o, Tensor):  # a Scalar
                seed: Any = 1.0
            else:
                seed = np.zeros(o.shape, dtype=o.dtype)
                seed[idx] = 1
            for leaf in wanted:
                leaf.grad = None
            run_backward([o], [seed], retain_graph=True)
            rows.append(np.concatenate([_as_analytic(leaf.grad, leaf).ravel() for leaf in wanted]))
    return np.array(rows).reshape(len(rows), n)


def _entry_rows(
    evaluate: Callable[[Sequence[np.ndarray]], np.ndarray],
    base: list[np.ndarray],
    names: list[str],
    outs: Sequence[Node],
    jac_analytic: np.ndarray,
    element_rows: list[Row],
    result: GradcheckResult,
    eps: float | None,
    num_dtype: np.dtype,
    fd: FiniteDifferences,
) -> list[Row]:
    """Mismatching entries of the full Jacobian (columns where the element check saw
    a kink are left to its verdict)."""
    steps = [
        np.vectorize(lambda x: eps if eps is not None else step_size(x, num_dtype))(b) if b.size else b for b in base
    ]
    numeric, noise = numeric_jacobian(evaluate, base, steps, fd.eps)
    fd.evaluations += 2 * numeric.shape[1]
    result.jacobian = (jac_analytic, numeric)
    columns = [(r.input, r.index, r.x if r.x is not None else 0.0) for r in element_rows]
    labels = [
        f"output {k}" + ("" if np.ndim(o.data) == 0 else str(idx))
        if len(outs) > 1
        else ("output" + ("" if np.ndim(o.data) == 0 else str(idx)))
        for k, o in enumerate(outs)
        for idx in np.ndindex(np.shape(o.data))
    ]
    # Columns where the element check found a kink in or near its stencil keep its
    # verdict: at step h the entries would straddle that kink.
    skip = {j for j, r in enumerate(element_rows) if r.left is not None or r.verdict not in (OK, MISMATCH)}
    return entry_mismatches(jac_analytic, numeric, noise, result.atol, result.rtol, columns, labels, skip)


def _compare(
    fn: Callable[..., Any],
    leaves: list[Any],
    wanted_idx: list[int],
    outs: list[Node],
    vs: list[np.ndarray],
    result: GradcheckResult,
    eps: float | None,
    mode: str,
    directions: int,
    max_full: int,
    report_limit: int,
    rng: np.random.Generator,
    jac_analytic: np.ndarray | None,
) -> None:
    """The Jacobian (or directional) comparison, kinks, and the Taylor diagnosis."""
    kinds = [type(leaves[i]) for i in wanted_idx]
    base = [_float64_value(leaves[i]) for i in wanted_idx]
    out_dtypes: list[np.dtype] = []

    v_flat = np.concatenate([np.ravel(v) for v in vs])

    def evaluate(vals: Sequence[np.ndarray]) -> np.ndarray:
        """All outputs of fn at float64 inputs ``vals``, as one flat float64 vector."""
        args = list(leaves)
        # The perturbed inputs require grad like the originals, so a function that
        # differentiates inside (a gradient being checked, as gradgradcheck does) works.
        for i, kind, val in zip(wanted_idx, kinds, vals):
            args[i] = Scalar(float(val)) if kind is Scalar else Tensor(val, requires_grad=True)
        res = _outputs(fn(*args), result.fn_name)
        if not out_dtypes:
            out_dtypes.extend(np.asarray(o.data).dtype for o in res)
        return np.concatenate([np.ravel(np.asarray(o.data, dtype=np.float64)) for o in res])

    def objective(vals: Sequence[np.ndarray]) -> tuple[float, float]:
        terms = v_flat * evaluate(vals)
        return float(np.sum(terms)), float(np.sum(np.abs(terms)))

    fd = FiniteDifferences(objective, base, eps=0.0)
    num_dtype = lowest_precision(out_dtypes)
    fd.eps = float(np.finfo(num_dtype).eps)
    result.step = f"h = {eps:g}" if eps is not None else f"h = ∛ε·max(1,|x|), ε of {num_dtype}"
    names = [_input_name(i, leaves[i]) for i in wanted_idx]
    n = sum(b.size for b in base)
    probes: dict[int, tuple[Direction, float, float]] = {}

    def full_table() -> list[Row]:
        rows = []
        result.numeric = []
        for k, (b, a) in enumerate(zip(base, result.analytic)):
            num = np.zeros(b.shape)
            for idx in np.ndindex(b.shape):
                x = float(b[idx])
                h = eps if eps is not None else step_size(x, num_dtype)
                d = Direction.element(k, idx)
                label = "—" if b.ndim == 0 else str(tuple(int(t) for t in idx))
                row = fd.probe(d, h, float(a[idx]), result.atol, result.rtol, input=names[k], index=label, x=x)
                probes[id(row)] = (d, float(a[idx]), max(1.0, abs(x)))
                num[idx] = row.numeric
                rows.append(row)
            result.numeric.append(num)
        return rows

    if mode == "full" or (mode == "auto" and n <= max_full):
        result.mode = "full"
        rows = full_table()
        if jac_analytic is not None:
            rows += _entry_rows(evaluate, base, names, outs, jac_analytic, rows, result, eps, num_dtype, fd)
    else:
        result.mode = "fast"
        scale = max(1.0, max((float(np.max(np.abs(b), initial=0.0)) for b in base), default=0.0))
        rows = []
        for j in range(directions):
            us = [rng.standard_normal(b.shape) for b in base]
            slope = float(sum(np.sum(a * u) for a, u in zip(result.analytic, us)))
            spread = float(sum(np.sum(np.abs(a * u)) for a, u in zip(result.analytic, us)))
            size = float(sum(np.sum(np.abs(u)) for u in us))
            h = eps if eps is not None else step_size(scale, num_dtype)
            d = Direction.dense(us)
            row = fd.probe(
                d,
                h,
                slope,
                result.atol * size + result.rtol * spread,
                result.rtol,
                input="all",
                index=f"direction {j}",
                x=None,
            )
            probes[id(row)] = (d, slope, scale)
            rows.append(row)
        if any(r.failed for r in rows) and n <= report_limit:
            result.mode = "fast, element table recomputed on failure"
            rows = full_table()
    result.evaluations = fd.evaluations
    result.rows = worst_first(rows)
    result.kinks = [r for r in result.rows if r.verdict in (KINK, DISCONTINUITY)]
    mismatches = [r for r in result.rows if r.failed and r.verdict != BAD_SUBGRADIENT]
    bad_kinks = [r for r in result.rows if r.verdict == BAD_SUBGRADIENT]
    if mismatches:
        worst = mismatches[0]
        result.failures["jacobian"] = (
            f"{len(mismatches)} of {len(rows)} compared derivatives disagree; worst {worst.input} {worst.index}: "
            f"analytic {worst.analytic:.8g}, numeric {worst.numeric:.8g}"
        )
        probed = [r for r in mismatches if id(r) in probes]  # entry rows have no probe
        if probed:
            d, slope, scale = probes[id(probed[0])]
            result.taylor = taylor_test(lambda t: fd.at(d, t)[0], slope, 1e-2 * scale, eps=fd.eps)
    if bad_kinks:
        worst = bad_kinks[0]
        result.failures["subgradient"] = (
            f"{len(bad_kinks)} non-differentiable point(s) where the analytic value lies outside the one-sided "
            f"slopes; worst {worst.input} {worst.index}: analytic {worst.analytic:.8g} not in "
            f"[{min(worst.left or 0, worst.right or 0):.6g}, {max(worst.left or 0, worst.right or 0):.6g}]"
        )
