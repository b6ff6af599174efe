"""Gradient checking against central differences.

For f: ℝⁿ → ℝᵐ (several inputs, one or several outputs) and a random upstream
gradient v (Gaussian, not ones: ones hide a backward that forgets to multiply by
the upstream gradient, and symmetric cancellations), the analytic vector-Jacobian
product vᵀJ from backward is compared with central differences of

    φ(x) = Σₖ vₖᵀ fₖ(x),     computed in float64 whatever dtype f runs in.

Small inputs are compared element by element (``mode="full"``: row i of the table is
∂φ/∂xᵢ); large ones along random directions u (``mode="fast"``: ⟨vᵀJ, u⟩ against
(φ(x+hu) − φ(x−hu))/2h), and where a direction fails or meets a kink the element
table is recomputed when affordable (see :mod:`~glassgrad.testing.compare`). Besides the Jacobian, the
check runs sub-checks that catch other classic backward bugs
(:mod:`~glassgrad.testing.subchecks`). On a mismatch a Taylor-remainder test tells a
bad step from a bad gradient, and the failing composite is re-checked op by op to
name the first op whose backward is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import GradError
from ..graph import Node, run_backward
from ..scalar import Scalar
from ..tensor import Tensor
from .compare import Comparison, Outputs, compare, cotangents
from .finite_differences import lowest_precision
from .handwritten import ArgNums, HandDerivative, check_handwritten
from .localize import Localization
from .localize import localize as localize_failure
from .report import COMPOSITE_KINK, Row
from .result import SUB_CHECKS, GradcheckError, GradcheckResult, function_name
from .settings import GradcheckSettings
from .subchecks import as_analytic, grad_problems, linearity, mutations, reentrancy, snapshot

__all__ = ["SUB_CHECKS", "GradcheckError", "GradcheckResult", "GradcheckSettings", "gradcheck"]


def gradcheck(
    fn: Callable[..., Any],
    *inputs: Any,
    grad: Callable[..., Any] | None = None,
    vjp: Callable[..., Any] | None = None,
    jvp: Callable[..., Any] | None = None,
    argnums: ArgNums | None = None,
    settings: GradcheckSettings | None = None,
    **options: Any,
) -> GradcheckResult:
    """Check ``fn``'s gradients against central differences.

    Two kinds of function:

    - A plain function of floats and NumPy arrays, with your derivative:
      ``grad=df`` (``df(*inputs)`` returns ∇f, for an ``fn`` returning one number),
      ``vjp=lambda *inputs, v: ...`` (returns vᵀJ, the gradient of ⟨v, fn⟩; ``v`` is
      shaped like fn's output, a tuple for a tuple of outputs) or
      ``jvp=lambda *inputs, *tangents: ...`` (returns J·u, shaped like fn's output).
      The derivative returns one gradient per checked input (a tuple when there are
      several). ``argnums`` picks the inputs to check (default: every float and
      floating-point array; the others are passed through as constants).
    - A function of Scalars and Tensors (other arguments are passed through as
      constants) returning a Scalar, a Tensor or a tuple of them: backward is checked
      with respect to every input that requires grad.

    The check passes when, for every compared derivative,
    ``|analytic − numeric| ≤ atol + rtol·|numeric|`` plus the rounding noise of the
    finite difference, and every sub-check holds. Where a row disagrees, the step
    shrinks until the central differences settle (:mod:`~glassgrad.testing.refine`),
    and the settled value decides; where none settles (f varies faster than float
    arithmetic resolves), or f's values are subnormal, the check fails as
    ``resolution``. Derivatives far below atol are also judged on their own scale
    (:mod:`~glassgrad.testing.compare`). At a kink (relu at 0, max at a tie)
    the analytic value must lie between the one-sided slopes, and elements at kinks
    moved together (a tie kept) must match the slope along that direction.

    Fast mode (``directions`` random directions u, for more than ``max_full``
    elements) promises, for the error e of vᵀJ and the element tolerances
    tᵢ = atol + rtol·|gᵢ| of full mode: each direction is held to 5·‖t∘u‖₂, so what
    full mode passes it passes but for a chance below 1e-6; its Rademacher directions
    (uᵢ = ±1, every other one) catch a single wrong element off by more than 5·‖t‖₂
    with certainty, and each Gaussian one misses an error e with probability at most
    4·‖t‖₂/‖e‖₂, independently. Smaller errors pass it: use ``mode="full"``.

    ``settings`` (a :class:`GradcheckSettings`) and the keyword ``options`` (its
    fields: ``eps``, ``atol``, ``rtol``, ``seed``, ``raise_exception``, ``mode``,
    ``directions``, ``max_full``, ``max_entries``, ``report_limit``, ``nondet_tol``,
    ``localize``) choose the step, the tolerances and how much is compared; an option
    given as a keyword overrides the same field of ``settings``.

    Returns a :class:`GradcheckResult`; on failure raises :class:`GradcheckError`
    with its report unless ``raise_exception=False``.
    """
    s = GradcheckSettings.from_options(settings, options)
    if not callable(fn):
        raise TypeError(f"gradcheck: the function to check comes first and must be callable, got a {type(fn).__name__}")
    derivative = HandDerivative.given(grad=grad, vjp=vjp, jvp=jvp)
    if derivative is not None:
        result = check_handwritten(fn, inputs, derivative, argnums, s)
    elif argnums is not None:
        raise TypeError(
            "gradcheck: argnums= picks the inputs of a plain function checked with grad=, vjp= or jvp=; "
            "for Scalars and Tensors, requires_grad says which inputs are checked"
        )
    else:
        result = _check_graph(fn, inputs, s)
    if result.failures and s.raise_exception:
        raise GradcheckError(result.report(), result)
    return result


def _check_graph(fn: Callable[..., Any], inputs: Sequence[Any], s: GradcheckSettings) -> GradcheckResult:
    """gradcheck of a function of graph values, with backward as the analytic side."""
    name = function_name(fn)
    wanted_idx = [i for i, x in enumerate(inputs) if isinstance(x, Node) and x.requires_grad]
    if not wanted_idx:
        raise ValueError(
            f"gradcheck: none of the {len(inputs)} inputs is a Scalar or Tensor that requires grad, so there is "
            "nothing to check; create them with requires_grad=True, or check a plain NumPy function by passing "
            "its derivative as grad=, vjp= or jvp="
        )
    leaves = [_leaf_copy(x) if i in wanted_idx else x for i, x in enumerate(inputs)]
    wanted = [leaves[i] for i in wanted_idx]
    labels = [leaf._describe() for leaf in wanted]
    before = snapshot([leaf.data for leaf in wanted])
    outs = _outputs(fn(*leaves), name)
    rng = np.random.default_rng(s.seed)
    vs = cotangents(rng, [o.data for o in outs])
    backward = _Backprop(outs, vs, wanted)

    result = GradcheckResult(fn_name=name)
    result.dtype = lowest_precision([np.asarray(x.data).dtype for x in [*wanted, *outs]])
    result.atol, result.rtol = s.tolerances(result.dtype)
    try:
        first = backward(1.0, True)
    except GradError as exc:
        # backward refused to finish (a gradient of the wrong shape reached a leaf, a
        # saved value changed in place): nothing to compare, but the op can be named.
        result.failures["backward"] = f"backward raised {type(exc).__name__}: {exc}"
        result.step = s.describe_step(result.dtype)
        result.sub_checks = ("backward",)  # nothing else ran
        if s.localize:
            result.localization = localize_failure(fn, *[_snapshot_input(x) for x in inputs], seed=s.seed)
        return result
    result.failures.update(grad_problems(labels, [leaf.data for leaf in wanted], first, backward.seeds))
    shapes = [np.shape(leaf.data) for leaf in wanted]
    result.analytic = [as_analytic(g, shape) for g, shape in zip(first, shapes)]

    n_in, n_out = sum(np.size(x.data) for x in wanted), sum(np.size(o.data) for o in outs)
    jacobian = _analytic_jacobian(outs, wanted) if s.compares_entries(n_in, n_out) else None
    result.failures.update(reentrancy(backward, shapes, result.analytic, s.nondet_tol))
    result.failures.update(linearity(backward, shapes, result.analytic, (result.atol, result.rtol)))
    result.failures.update(mutations(labels, [leaf.data for leaf in wanted], before))

    evaluate = Outputs(_rerun(fn, leaves, wanted_idx, name), name)
    names = [leaves[i].name or f"input {i}" for i in wanted_idx]
    base = [np.array(leaves[i].data, dtype=np.float64) for i in wanted_idx]
    compare(Comparison(evaluate, base, names, result.analytic, vs, jacobian), result, s, rng)

    if s.localize and ("jacobian" in result.failures or "subgradient" in result.failures):
        result.localization = loc = localize_failure(fn, *[_snapshot_input(x) for x in inputs], seed=s.seed)
        if loc.culprit is None and loc.at_kinks:
            _composite_kinks(result, loc, names)
    return result


class _Backprop:
    """backward(scale, retain): the gradients of the checked leaves for the upstream
    gradient scale·v (v in each output's dtype; outputs that need no grad skipped)."""

    def __init__(self, outs: Sequence[Node], vs: Sequence[np.ndarray], wanted: Sequence[Node]) -> None:
        self.seeds = [float(v) if isinstance(o, Scalar) else v.astype(o.data.dtype) for o, v in zip(outs, vs)]
        self.roots = [(o, seed) for o, seed in zip(outs, self.seeds) if o.requires_grad]
        self.wanted = wanted

    def __call__(self, scale: float, retain: bool) -> list[Any]:
        for leaf in self.wanted:
            leaf.grad = None
        if self.roots:
            run_backward([o for o, _ in self.roots], [seed * scale for _, seed in self.roots], retain_graph=retain)
        return [leaf.grad for leaf in self.wanted]


def _rerun(
    fn: Callable[..., Any], leaves: Sequence[Any], wanted_idx: Sequence[int], name: str
) -> Callable[[Sequence[np.ndarray]], list[Any]]:
    """fn's output data at float64 values of the checked inputs."""
    kinds = [type(leaves[i]) for i in wanted_idx]

    def run(values: Sequence[np.ndarray]) -> list[Any]:
        args = list(leaves)
        # The perturbed inputs require grad like the originals, so a function that
        # differentiates inside (a gradient being checked, as gradgradcheck does) works.
        for i, kind, value in zip(wanted_idx, kinds, values):
            args[i] = Scalar(float(value)) if kind is Scalar else Tensor(value, requires_grad=True)
        return [o.data for o in _outputs(fn(*args), name)]

    return run


def _outputs(out: Any, name: str) -> list[Node]:
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    if not outs:
        raise TypeError(f"gradcheck: {name} returned an empty {type(out).__name__}; it must return at least one output")
    for k, o in enumerate(outs):
        if not isinstance(o, Node):
            which = f"output {k}" if len(outs) > 1 else "its output"
            raise TypeError(
                f"gradcheck: {name} must return a Scalar or Tensor (or a tuple of them); "
                f"{which} is a {type(o).__name__}"
            )
    return outs


def _leaf_copy(x: Node) -> Node:
    if isinstance(x, Scalar):
        return Scalar(x.data, requires_grad=True, name=x.name)
    return Tensor(x.data, requires_grad=True, name=x.name)


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
            if isinstance(o, Scalar):
                seed: Any = 1.0
            else:
                seed = np.zeros_like(o.data)
                seed[idx] = 1
            for leaf in wanted:
                leaf.grad = None
            run_backward([o], [seed], retain_graph=True)
            rows.append(np.concatenate([as_analytic(leaf.grad, np.shape(leaf.data)).ravel() for leaf in wanted]))
    return np.array(rows).reshape(len(rows), n)


def _composite_kinks(result: GradcheckResult, loc: Localization, names: Sequence[str]) -> None:
    """Every op's local derivative is right, and some op sits at a kink: when every
    failed row belongs to an element that moves a kinked value, the disagreement is a
    property of composing subgradients, not a bug. Re-label those rows and drop the
    failures; a failed row no kink reaches (a ``.data`` or ``detach`` slip elsewhere)
    keeps them all. ``names`` are the checked inputs' row names, in order."""
    reached = {
        (name, "—" if mask.ndim == 0 else str(tuple(int(t) for t in idx)))
        for name, mask in zip(names, loc.reach)
        for idx in np.ndindex(mask.shape)
        if mask[idx]
    }
    failed = [r for r in result.rows if r.failed]

    def near_a_kink(r: Row) -> bool:
        if r.moves:  # elements moved together: excused where one of them moves a kink
            return any(m in reached for m in r.moves)
        # A random direction (fast mode) moves every element, so it moves a kink if any does.
        return (r.input, r.index.split(" ← ")[0]) in reached or (r.input == "all" and bool(reached))

    if not all(near_a_kink(r) for r in failed):
        return
    for name in ("jacobian", "subgradient"):
        result.failures.pop(name, None)
    for r in failed:
        r.verdict = COMPOSITE_KINK
        result.kinks.append(r)
    result.taylor = None
    where = ", ".join(f"`{c.op}` at {c.site or '<unknown>'}" for c in loc.at_kinks[:3])
    result.notes.append(
        f"at these points the composite's analytic gradient differs from its finite differences, but every op's own "
        f"derivative is right and {len(loc.at_kinks)} op(s) sit at a kink ({where}): the chain rule only composes "
        "subgradients into an element of a larger set (relu(x) − relu(−x) = x gets 0 at x = 0) — not a bug"
    )
