"""Localize a wrong gradient: re-check every op of a failing function on its own.

The function is run once inside ``record_sites()``, so every op node knows the line of
user code that created it and the parameters its forward got. Then, oldest op first,
each node's ``Function.backward`` is compared with central differences of its
``Function.forward`` on the node's actual input values (in float64, with a random
upstream gradient g):

    local φ(x₁, …, xₖ) = ⟨g, forward(x₁, …, xₖ)⟩,    ∂φ/∂xᵢ  vs  backward(g)ᵢ

The first op whose local check fails is the culprit: the chain rule composes correct
local derivatives into a correct gradient, so when all ops pass, the fault is in how
they are combined (values changed in place, ``.data`` or ``detach`` between ops).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..graph import Node, RawCtx, record_sites, run_backward, walk
from ..ops.base import sum_to
from ..ops.kernels import kernels_for
from .finite_differences import Direction, FiniteDifferences, lowest_precision, step_size, tolerances_for
from .report import DISCONTINUITY, KINK, Row, format_table, worst_first
from .ties import Element, tie_probes


@dataclass
class OpCheck:
    """The local check of one op node: its rows (worst first) and verdict."""

    position: int  # 1-based, among the op nodes in creation order
    op: str
    site: str | None
    rows: list[Row] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # e.g. a gradient of the wrong shape
    kinks: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)  # (input, element) at a kink

    @property
    def ok(self) -> bool:
        return not self.problems and not any(r.failed for r in self.rows)


@dataclass
class Localization:
    """Which op of a failing function has a wrong local derivative (``culprit``)."""

    ops_total: int  # op nodes in the graph
    culprit: OpCheck | None = None
    at_kinks: list[OpCheck] = field(default_factory=list)  # correct ops evaluated at a kink
    # Per input that requires grad: the elements that move some op input sitting at a kink.
    reach: list[np.ndarray] = field(default_factory=list)

    def summary(self, limit: int = 5) -> str:
        if self.culprit is None and self.at_kinks:
            return (
                f"localization: all {self.ops_total} ops have correct local derivatives on the actual intermediate "
                f"values, {len(self.at_kinks)} of them at a kink"
            )
        if self.culprit is None:
            return (
                f"localization: all {self.ops_total} ops have correct local derivatives on the actual "
                "intermediate values; the fault is in how they are combined (a value changed in place, "
                ".data/detach between ops, or Python code the graph cannot see)"
            )
        c = self.culprit
        return (
            f"localization: first wrong op is `{c.op}` (op #{c.position} of {self.ops_total}, oldest first), "
            f"created at {c.site or '<unknown>'}; its backward disagrees with central differences of its "
            f"forward on the actual input values:\n" + "\n".join([*c.problems, format_table(c.rows, limit)])
        )


def _raw(value: np.ndarray, like: Any) -> Any:
    """float64 data back in the kind the op expects (a float for Scalar ops)."""
    return float(value) if type(like) is float else value


def check_op(node: Node, position: int = 1, seed: int = 0) -> OpCheck:
    """Check one recorded op node's backward against central differences of its forward.

    Needs the op's parameters, so the node must have been created inside
    ``record_sites()`` if its forward takes any.
    """
    fn = node.fn
    if fn is None:
        raise ValueError(f"check_op: {node._describe()} is a leaf, not the output of an op")
    parents = node.parents
    params = node.params
    raw = [p.data for p in parents]
    diff = [k for k, p in enumerate(parents) if p.requires_grad and np.asarray(p.data).dtype.kind == "f"]
    base = [np.array(raw[k], dtype=np.float64) for k in diff]
    needs = tuple(k in diff for k in range(len(parents)))
    xp = kernels_for(raw[0])

    def run(vals: Sequence[np.ndarray]) -> tuple[RawCtx, list[Any], Any]:
        args = list(raw)
        for k, v in zip(diff, vals):
            args[k] = _raw(v, raw[k])
        ctx = RawCtx(xp, needs)
        return ctx, args, fn.forward(ctx, *args, **params)

    ctx0, args0, out0 = run(base)
    rng = np.random.default_rng(seed)
    g = rng.standard_normal(np.shape(out0))
    g_raw = float(g) if type(out0) is float else g

    def objective(vals: Sequence[np.ndarray]) -> tuple[float, float]:
        terms = g * np.asarray(run(vals)[2], dtype=np.float64)
        return float(np.sum(terms)), float(np.sum(np.abs(terms)))

    grads = list(fn.backward(ctx0, g_raw, out0, *args0))
    dtype = lowest_precision([np.asarray(r).dtype for r in raw] + [np.asarray(node.data).dtype])
    atol, rtol = tolerances_for(dtype)
    fd = FiniteDifferences(objective, base, eps=float(np.finfo(lowest_precision([np.asarray(out0).dtype])).eps))
    check = OpCheck(position, fn.name, node.site)
    analytic: list[np.ndarray] = []
    kinked: list[Element] = []
    labels = [f"{parents[k].name or f'input {k}'} of {fn.name}" for k in diff]
    for j, k in enumerate(diff):
        shape = np.shape(raw[k])
        gk = grads[k]
        if gk is None:
            a = np.zeros(shape)
        else:
            a = np.asarray(gk, dtype=np.float64)
            if fn.broadcasts and a.shape != shape and len(a.shape) >= len(shape):
                a = np.asarray(sum_to(a, shape))
            if a.shape != shape:
                check.problems.append(f"backward returned a gradient of shape {a.shape} for input {k} of shape {shape}")
                continue
        analytic.append(a)
        for idx in np.ndindex(shape):
            x = float(base[j][idx])
            row = fd.probe(
                Direction.element(j, idx),
                step_size(x, np.asarray(out0).dtype),
                float(a[idx]),
                atol,
                rtol,
                input=labels[j],
                index="—" if not shape else str(idx),
                x=x,
            )
            check.rows.append(row)
            if row.verdict in (KINK, DISCONTINUITY):
                check.kinks.append((k, idx))
            if row.verdict == KINK:
                kinked.append((j, idx))
    if len(kinked) > 1 and not check.problems:
        dtype_out = np.asarray(out0).dtype
        ties = tie_probes(fd, base, kinked, analytic, labels, (atol, rtol), lambda x: step_size(x, dtype_out))
        check.rows += [t.row for t in ties]
    check.rows = worst_first(check.rows)
    return check


def localize(fn: Callable[..., Any], *inputs: Any, seed: int = 0) -> Localization:
    """Run ``fn`` on ``inputs`` recording the graph, then check each op, oldest first,
    and stop at the first whose local derivative is wrong."""
    with record_sites():
        out = fn(*inputs)
    outs = [o for o in (out if isinstance(out, (tuple, list)) else [out]) if isinstance(o, Node)]
    ops = [n for n in walk(outs) if n.fn is not None and any(p.requires_grad for p in n.parents)]
    result = Localization(ops_total=len(ops))
    kinked: list[tuple[Node, tuple[int, ...]]] = []
    for position, node in enumerate(ops, start=1):
        check = check_op(node, position, seed)
        if not check.ok:
            result.culprit = check
            return result
        if check.kinks:
            result.at_kinks.append(check)
            kinked.extend((node.parents[k], idx) for k, idx in check.kinks)
    leaves = [x for x in inputs if isinstance(x, Node) and x.requires_grad]
    result.reach = _reach(kinked, leaves, seed)
    return result


def _reach(kinked: Sequence[tuple[Node, tuple[int, ...]]], leaves: Sequence[Node], seed: int) -> list[np.ndarray]:
    """Which elements of ``leaves`` move some kinked value: the nonzero pattern of
    ∂(Σ rᵢ·uᵢ)/∂leaf for the kinked elements uᵢ with random weights rᵢ (random, so
    that no two paths cancel)."""
    rng = np.random.default_rng(seed)
    seeds: dict[int, tuple[Node, Any]] = {}
    for node, idx in kinked:
        if not node.requires_grad:
            continue  # a constant at a kink: no input moves it
        _, g = seeds.get(id(node), (node, np.zeros(np.shape(node.data))))
        g[idx] += rng.standard_normal()
        seeds[id(node)] = (node, g)
    if not seeds:
        return [np.zeros(np.shape(x.data), dtype=bool) for x in leaves]
    roots = [node for node, _ in seeds.values()]
    gradients = [float(g) if isinstance(node.data, float) else g.astype(node.data.dtype) for node, g in seeds.values()]
    grads = run_backward(roots, gradients, retain_graph=True, inputs=leaves) or []
    return [np.zeros(np.shape(x.data), dtype=bool) if g is None else np.asarray(g) != 0 for g, x in zip(grads, leaves)]
