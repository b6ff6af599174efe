"""Differential testing of gradcheck's verdicts: random functions with a right
derivative and planted wrong ones, the verdicts tallied; a false alarm, a false pass,
an error or a leaked warning is printed with its function, point and derivative.

    python benchmarks/gradcheck_differential.py [--seed 0] [--seconds 60] [--replay N]

Needs torch beside glassgrad in one interpreter: PyTorch's float64 autograd is the
oracle of every derivative. A case is an expression over NumPy primitives (exp, log of
x² + 1 and of |x| + 1, sin, cos, tanh, √(x² + 1), x², x³, 1/(x² + 1), scalings, +, −,
×, a/(b² + 1), and the piecewise abs, relu, maximum and ``where``), over one to three
inputs of one shape (0-d, a Python float, vectors and matrices up to a few hundred
elements, so full and fast mode both run), or a matrix product of two such trees;
reduced by sum, mean, Σx², logsumexp or softmax, or not at all. Its point is drawn
ordinary (|x| < 3), tiny (10⁻³⁰⁰ to 10⁻⁸), huge (10⁶ to 10³⁰⁰), mixed within one
input, or at kinks (zeros and ties), in float64 or float32. The derivative is checked
in each form: ``grad=`` (scalar outputs), ``vjp=``, ``jvp=`` and as a glassgrad
Tensor function (its own backward; a wrong one is a ``Function`` whose backward
returns it).

Right is the Jacobian J of PyTorch's float64 run at the point, cast to the input's
dtype. Wrong is planted in J: scaled by 1.01, 2 or −1; one leaf occurrence detached (a
dropped term); two input elements swapped; a square input's gradient transposed; one
element 10 % off; v (or u) forgotten, ones used instead. A wrong derivative counts as
wrong only where it differs from the right one beyond the documented tolerance, four
times over: some element of vᵀJ (v the check's own upstream gradient) off by more than
4·(atol·min(1, S) + 16ε + rtol·|gᵢ|), S the largest derivative, in full mode; in fast
mode the error's norm above 50‖t‖₂. Closer ones passing are tallied apart.

Tallies: a right derivative failed on anything but ``resolution`` (a false alarm), a
wrong one passed (a false pass), a right one UNRESOLVED (honest: no verdict), refusals
(a ``ValueError`` or ``TypeError`` starting "gradcheck:", as documented), any other
exception (a bug), and any RuntimeWarning raised from gradcheck's own arithmetic (f's
are silenced inside it). Passes at points where the check found kinks are counted
apart: there a planted error may be a valid subgradient, and the chain rule through
composite kinks (relu(x) − relu(−x)) need not be one.

Each case comes from its own seed: ``--replay N`` runs case N of ``--seed`` again and
prints its reports.
"""

from __future__ import annotations

import argparse
import time
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import glassgrad as gg
import numpy as np
import torch
from glassgrad import Function, Tensor, ops
from glassgrad.testing import gradcheck

torch.set_default_dtype(torch.float64)


# -- the three engines, one surface ----------------------------------------------------


def _np_logsumexp(x: Any) -> Any:
    top = np.max(x)
    return top + np.log(np.sum(np.exp(x - top)))


def _np_softmax(x: Any) -> Any:
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


NP = SimpleNamespace(
    exp=np.exp,
    log=np.log,
    sin=np.sin,
    cos=np.cos,
    tanh=np.tanh,
    sqrt=np.sqrt,
    abs=np.abs,
    relu=lambda x: np.maximum(x, 0.0),
    maximum=np.maximum,
    where=np.where,
    matmul=np.matmul,
    sum=np.sum,
    mean=np.mean,
    logsumexp=_np_logsumexp,
    softmax=_np_softmax,
    stop=lambda x: x,
)
TORCH = SimpleNamespace(
    exp=torch.exp,
    log=torch.log,
    sin=torch.sin,
    cos=torch.cos,
    tanh=torch.tanh,
    sqrt=torch.sqrt,
    abs=torch.abs,
    relu=torch.relu,
    maximum=torch.maximum,
    where=torch.where,
    matmul=torch.matmul,
    sum=torch.sum,
    mean=torch.mean,
    logsumexp=lambda x: torch.logsumexp(x, dim=tuple(range(x.ndim))) if x.ndim else x,
    softmax=lambda x: torch.softmax(x, -1),
    stop=lambda x: x.detach(),
)
GG = SimpleNamespace(
    exp=gg.exp,
    log=gg.log,
    tanh=gg.tanh,
    sqrt=gg.sqrt,
    abs=gg.abs,
    relu=gg.relu,
    maximum=ops.maximum,
    where=gg.where,
    matmul=gg.matmul,
    sum=gg.sum,
    mean=gg.mean,
    logsumexp=gg.logsumexp,
    softmax=gg.softmax,
    stop=lambda x: x,
)

UNARY = {
    "neg": lambda a: f"-{a}",
    "exp": lambda a: f"m.exp({a})",
    "exp_tanh": lambda a: f"m.exp(m.tanh({a}))",
    "log_sq": lambda a: f"m.log({a} * {a} + 1.0)",
    "log_abs": lambda a: f"m.log(m.abs({a}) + 1.0)",
    "sin": lambda a: f"m.sin({a})",
    "cos": lambda a: f"m.cos({a})",
    "tanh": lambda a: f"m.tanh({a})",
    "sqrt": lambda a: f"m.sqrt({a} * {a} + 1.0)",
    "square": lambda a: f"{a} * {a}",
    "cube": lambda a: f"{a} * {a} * {a}",
    "recip": lambda a: f"1.0 / ({a} * {a} + 1.0)",
    "scale": lambda a: f"3.5 * {a}",
    "shrink": lambda a: f"1e-3 * {a}",
    "abs": lambda a: f"m.abs({a})",
    "relu": lambda a: f"m.relu({a})",
    "where": lambda a: f"m.where({a} > 0, {a} * {a}, m.tanh({a}))",
}
BINARY = {
    "add": lambda a, b: f"({a} + {b})",
    "sub": lambda a, b: f"({a} - {b})",
    "mul": lambda a, b: f"{a} * {b}",
    "div": lambda a, b: f"{a} / ({b} * {b} + 1.0)",
    "maximum": lambda a, b: f"m.maximum({a}, {b})",
}
REDUCERS = {
    "sum": lambda a: f"m.sum({a})",
    "mean": lambda a: f"m.mean({a})",
    "sumsq": lambda a: f"m.sum({a} * {a})",
    "logsumexp": lambda a: f"m.logsumexp({a})",
    "softmax": lambda a: f"m.softmax({a})",
    "none": lambda a: a,
}
NOT_IN_GLASSGRAD = ("m.sin", "m.cos")
MAGNITUDES = ("ordinary", "tiny", "huge", "mixed", "kinks")
VARIANTS = ("right", "x1.01", "x2", "x-1", "dropped term", "swapped", "transposed", "one element", "forgot v")
FORMS = ("grad", "vjp", "jvp", "tensor")


# -- a case ----------------------------------------------------------------------------


@dataclass
class Case:
    """A function (``src`` over x0, x1, … with ``m`` the engine), its point, the form
    its derivative is checked in, and the planted variant of that derivative."""

    src: str
    leaves: list[tuple[str, str]]  # (token in src, input name), one per occurrence
    inputs: list[Any]
    form: str
    variant: str
    magnitude: str
    dtype: str
    wrong_at: dict[str, Any] = field(default_factory=dict)  # where the planted error sits

    def source(self, stop: int | None = None) -> str:
        """The expression with its leaves named (the ``stop``-th one detached)."""
        text = self.src
        for n, (token, name) in enumerate(self.leaves):
            text = text.replace(token, f"m.stop({name})" if n == stop else name)
        return text

    def function(self, m: Any, stop: int | None = None) -> Any:
        names = ", ".join(f"x{k}" for k in range(len(self.inputs)))
        return eval(f"lambda {names}: {self.source(stop)}", {"m": m})


class _Tree:
    """Random expression trees over named inputs, each leaf a token of its own."""

    def __init__(self, r: np.random.Generator, glassgrad: bool) -> None:
        self.r, self.leaves = r, []
        self.unary = [u for u in UNARY if not (glassgrad and u in ("sin", "cos"))]

    def leaf(self, names: list[str]) -> str:
        token = f"§{len(self.leaves)}§"
        self.leaves.append((token, str(self.r.choice(names))))
        return token

    def grow(self, names: list[str], depth: int) -> str:
        r = self.r
        if depth == 0 or r.random() < 0.25:
            return self.leaf(names)
        if r.random() < 0.55:
            return UNARY[str(r.choice(self.unary))](self.grow(names, depth - 1))
        op = BINARY[str(r.choice(list(BINARY)))]
        return op(self.grow(names, depth - 1), self.grow(names, depth - 1))


def _values(r: np.random.Generator, shape: tuple[int, ...], magnitude: str, dtype: np.dtype) -> np.ndarray:
    """A point of ``magnitude`` in ``dtype`` (float32 keeps its exponents in range)."""
    top = 300 if dtype == np.float64 else 36
    sign = r.choice([-1.0, 1.0], shape)
    kinds = {
        "ordinary": r.uniform(-3, 3, shape),
        "tiny": sign * 10.0 ** r.uniform(-top, -8, shape),
        "huge": sign * 10.0 ** r.uniform(6, top, shape),
    }
    if magnitude in kinds:
        x = kinds[magnitude]
    elif magnitude == "mixed":
        pick = r.integers(0, 3, shape)
        x = np.choose(pick, [kinds["ordinary"], kinds["tiny"], kinds["huge"]])
    else:  # kinks: zeros, and ties (one value repeated)
        x = np.round(r.uniform(-2, 2, shape) * 2) / 2
    return np.asarray(x, dtype=dtype)


def draw(r: np.random.Generator) -> Case:
    form = str(r.choice(FORMS))
    dtype = np.dtype(np.float32) if r.random() < 0.3 else np.dtype(np.float64)
    magnitude = str(r.choice(MAGNITUDES, p=[0.3, 0.15, 0.2, 0.2, 0.15]))
    tree = _Tree(r, glassgrad=form == "tensor")
    size = str(r.choice(["0-d", "small", "large"], p=[0.2, 0.6, 0.2]))
    if size != "0-d" and r.random() < 0.3:  # a matrix product of two trees
        p, q, t = (r.integers(1, 6, 3) if size == "small" else r.integers(14, 22, 3)).tolist()
        shapes = [(p, q), (q, t)]
        body = f"m.matmul({tree.grow(['x0'], 2)}, {tree.grow(['x1'], 2)})"
        if r.random() < 0.5:
            body = UNARY[str(r.choice(tree.unary))](body)
    else:
        n = int(r.integers(1, 4))
        shape: tuple[int, ...] = (
            ()
            if size == "0-d"
            else tuple(r.integers(1, 5, int(r.integers(1, 3))).tolist())
            if size == "small"
            else (int(r.integers(260, 400)),)
        )
        shapes = [shape] * n
        body = tree.grow([f"x{k}" for k in range(n)], int(r.integers(1, 4)))
    scalar_out = form == "grad" or r.random() < 0.5
    reducers = ["sum", "mean", "sumsq", "logsumexp"] if scalar_out else ["softmax", "none"]
    if size == "0-d":
        reducers = [x for x in reducers if x in ("sum", "sumsq", "none")] or ["sum"]
    src = REDUCERS[str(r.choice(reducers))](body)
    inputs: list[Any] = [_values(r, s, magnitude, dtype) for s in shapes]
    if size == "0-d" and dtype == np.float64 and form != "tensor" and r.random() < 0.5:
        inputs = [float(x) for x in inputs]  # Python floats: their gradients are floats
    variants = [v for v in VARIANTS if not (v == "forgot v" and form == "grad")]
    return Case(src, tree.leaves, inputs, form, str(r.choice(variants)), magnitude, str(dtype))


# -- the oracle: PyTorch's Jacobian, and the planted errors in it ----------------------


class Skip(Exception):
    """The case has no derivative to check: f or the oracle is not finite there."""


def jacobian(case: Case, stop: int | None = None) -> list[np.ndarray]:
    """∂f/∂x_k from PyTorch's float64 autograd, one (outputs × elements) matrix per input."""
    xs = [torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True) for x in case.inputs]
    out = case.function(TORCH, stop)(*xs).reshape(-1)
    rows: list[list[np.ndarray]] = [[] for _ in xs]
    for i in range(out.numel()):
        grads = torch.autograd.grad(out[i], xs, retain_graph=True, allow_unused=True)
        for k, (g, x) in enumerate(zip(grads, xs)):
            rows[k].append(np.zeros(x.numel()) if g is None else g.detach().numpy().reshape(-1))
    return [np.array(r).reshape(out.numel(), -1) for r in rows]


def planted(case: Case, J: list[np.ndarray], r: np.random.Generator) -> list[np.ndarray] | None:
    """The Jacobian of the case's variant (None: the variant does not apply here)."""
    v = case.variant
    if v == "right" or v == "forgot v":
        return J
    if v.startswith("x"):
        return [float(v[1:]) * j for j in J]
    if v == "dropped term":
        if len(case.leaves) < 2:
            return None
        n = int(r.integers(len(case.leaves)))
        case.wrong_at["detached"] = n
        return jacobian(case, stop=n)
    W = [j.copy() for j in J]
    k = int(r.integers(len(J)))
    shape = np.shape(case.inputs[k])
    if v == "swapped":
        if W[k].shape[1] < 2:
            return None
        i, j = r.choice(W[k].shape[1], 2, replace=False)
        W[k][:, [i, j]] = W[k][:, [j, i]]
        case.wrong_at["swapped"] = (k, int(i), int(j))
    elif v == "transposed":
        if len(shape) != 2 or shape[0] != shape[1] or shape[0] < 2:
            return None
        order = np.arange(W[k].shape[1]).reshape(shape).T.reshape(-1)
        W[k] = W[k][:, order]
        case.wrong_at["transposed"] = k
    elif v == "one element":
        i = int(r.integers(W[k].shape[1]))
        W[k][:, i] *= 1.1
        case.wrong_at["element"] = (k, i)
    return W


def check_vectors(case: Case, out: Any) -> np.ndarray:
    """The check's own upstream gradient v, flat (gradcheck draws it from seed 0)."""
    if case.form == "grad":
        return np.ones(1)
    return np.random.default_rng(0).standard_normal(np.shape(out)).reshape(-1)


def beyond_tolerance(case: Case, J: list[np.ndarray], W: list[np.ndarray], v: np.ndarray, out: Any) -> bool:
    """Whether the wrong vᵀJ differs from the right one beyond the documented
    tolerance, four times over (in fast mode, 50 times the norm of the tolerances),
    and beyond what f's rounding lets any difference resolve: 16ε·Σ|v·f| over the
    Taylor test's longest step, 1e-2·max(1, |xᵢ|)."""
    dtype = np.dtype(case.dtype)
    atol, rtol = (1e-6, 1e-5) if dtype == np.float64 else (1e-4, 2e-3)
    eps = float(np.finfo(dtype).eps)
    g = np.concatenate([v @ j for j in J])
    u = np.ones_like(v) if case.variant == "forgot v" else v
    e = np.concatenate([u @ w for w in W]) - g
    x = np.concatenate([np.abs(np.asarray(x, dtype=np.float64)).reshape(-1) for x in case.inputs])
    resolved = 16 * eps * float(np.sum(np.abs(v * np.asarray(out, dtype=np.float64).reshape(-1))))
    scale = min(1.0, float(np.max(np.abs(g), initial=0.0)))
    t = atol * scale + 16 * eps + rtol * np.abs(g) + resolved / (1e-2 * np.maximum(1.0, x))
    with np.errstate(all="ignore"):  # errors of 1e300 overflow their norm: beyond, as inf is
        if g.size > 256:
            return bool(np.linalg.norm(e) > 50 * np.linalg.norm(t))
        return bool(np.any(np.abs(e) > 4 * t))


# -- the derivative in each form -------------------------------------------------------


def _in_kind(value: np.ndarray, like: Any) -> Any:
    if isinstance(like, float):
        return float(value.reshape(()))
    return np.asarray(value.reshape(np.shape(like)), dtype=like.dtype)


def derivative(case: Case, W: list[np.ndarray], out: Any) -> dict[str, Any]:
    """The keyword gradcheck takes (grad=, vjp= or jvp=) with the derivative of
    Jacobian W; the Tensor form's wrong derivative is a Function's backward."""
    inputs = case.inputs
    forgot = case.variant == "forgot v"

    def pull(v: Any) -> list[Any]:
        flat = np.ones(np.size(out)) if forgot else np.asarray(v, dtype=np.float64).reshape(-1)
        with np.errstate(all="ignore"):
            return [_in_kind(flat @ w, x) for w, x in zip(W, inputs)]

    def one(gs: list[Any]) -> Any:
        return gs[0] if len(gs) == 1 else tuple(gs)

    if case.form == "grad":
        return {"grad": lambda *xs: one(pull(np.ones(1)))}
    if case.form == "vjp":
        return {"vjp": lambda *args: one(pull(args[-1]))}
    if case.form == "jvp":

        def jvp(*args: Any) -> Any:
            us = args[len(inputs) :]
            with np.errstate(all="ignore"):
                flat = sum(
                    w @ (np.ones(np.size(u)) if forgot else np.asarray(u, np.float64).reshape(-1))
                    for w, u in zip(W, us)
                )
                return np.asarray(np.reshape(flat, np.shape(out)), dtype=np.asarray(out).dtype)

        return {"jvp": jvp}
    return {}


def tensor_function(case: Case, W: list[np.ndarray]) -> Any:
    """The case as a function of Tensors: glassgrad's own ops for the right derivative,
    else one Function whose forward is the NumPy expression and whose backward is W."""
    if case.variant == "right":
        return case.function(GG)
    f = case.function(NP)
    forgot = case.variant == "forgot v"

    class Planted(Function):
        @staticmethod
        def forward(ctx: Any, *xs: Any) -> Any:
            with np.errstate(all="ignore"):
                return np.asarray(f(*xs))

        @staticmethod
        def backward(ctx: Any, g: Any, y: Any, *xs: Any) -> Any:
            flat = np.ones(np.size(g)) if forgot else np.asarray(g, dtype=np.float64).reshape(-1)
            with np.errstate(all="ignore"):
                return tuple(np.asarray((flat @ w).reshape(np.shape(x)), dtype=x.dtype) for w, x in zip(W, xs))

    return Planted.apply


# -- one run ---------------------------------------------------------------------------


@dataclass
class Outcome:
    """What gradcheck said about one case, and what the tally makes of it."""

    tally: str
    detail: str = ""
    report: str = ""


def run(case: Case, r: np.random.Generator) -> Outcome:
    f_np = case.function(NP)

    def f(*xs: Any) -> Any:
        with np.errstate(all="ignore"):  # f's own warnings are the user's, not the check's
            return f_np(*xs)

    f.__name__ = "f"
    out = f(*case.inputs)
    if not np.all(np.isfinite(out)):
        raise Skip("f is not finite at the point")
    J = jacobian(case)
    v = check_vectors(case, out)
    W = planted(case, J, r)
    if W is None:
        raise Skip("the variant does not apply")
    with np.errstate(all="ignore"):
        g, gw = [v @ j for j in J], [v @ w for w in W]
        finite = all(np.all(np.isfinite(np.asarray(x, dtype=case.dtype))) for x in [*g, *gw, *J, *W])
    if not finite:
        raise Skip("the derivative is not finite in the input's dtype")
    right = case.variant == "right"
    wrong = not right and beyond_tolerance(case, J, W, v, out)
    if case.form == "tensor":
        fn = tensor_function(case, W)
        args: list[Any] = [Tensor(np.asarray(x), requires_grad=True) for x in case.inputs]
        kwargs: dict[str, Any] = {}
    else:
        fn, args, kwargs = f, list(case.inputs), derivative(case, W, out)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = gradcheck(fn, *args, raise_exception=False, **kwargs)
        except (ValueError, TypeError) as exc:
            if str(exc).startswith("gradcheck:"):
                return Outcome("refused", str(exc)[:110])
            return Outcome("error", f"{type(exc).__name__}: {exc}"[:300] + "\n" + traceback.format_exc(limit=-3))
        except Exception as exc:
            return Outcome("error", f"{type(exc).__name__}: {exc}"[:300] + "\n" + traceback.format_exc(limit=-3))
    own = [w for w in caught if "/testing/" in w.filename.replace("\\", "/")]
    if own:
        w = own[0]
        return Outcome("warning", f"{w.category.__name__} at {w.filename.split('/')[-1]}:{w.lineno}: {w.message}")
    failed = set(result.failures) - {"resolution"}
    at_kink = bool(result.kinks)
    report = result.report()
    if failed:
        if right:
            return Outcome("false alarm at a kink" if at_kink else "false alarm", ", ".join(failed), report)
        return Outcome("caught" if wrong else "caught (within tolerance)", "", report)
    if result.failures:
        return Outcome("unresolved" if right else "wrong unresolved", "", report)
    if right:
        return Outcome("ok")
    if not wrong:
        return Outcome("passed within tolerance")
    return Outcome("passed at a kink" if at_kink else "false pass", "", report)


def render(case: Case, index: int, seed: int) -> str:
    """A small reproduction: the function, the point, the derivative's form and variant."""
    lines = [f"  f = lambda {', '.join(f'x{k}' for k in range(len(case.inputs)))}: {case.source()}"]
    for k, x in enumerate(case.inputs):
        text = repr(x) if isinstance(x, float) else np.array2string(x.reshape(-1)[:8], precision=17, separator=", ")
        more = "" if np.size(x) <= 8 else f" ... ({np.size(x)} elements, shape {np.shape(x)})"
        lines.append(f"  x{k} = {text}{more}  # {case.dtype}")
    where = f", planted at {case.wrong_at}" if case.wrong_at else ""
    lines.append(f"  derivative: {case.form}, {case.variant}{where}; magnitude {case.magnitude}")
    lines.append(f"  replay: python benchmarks/gradcheck_differential.py --seed {seed} --replay {index}")
    return "\n".join(lines)


BUGS = ("false alarm", "false pass", "error", "warning")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=60.0, help="time budget of the whole run (CPU)")
    parser.add_argument("--replay", type=int, default=None, help="run case N again and print its report")
    parser.add_argument("--shown", type=int, default=2, help="reproductions printed per kind of finding")
    args = parser.parse_args()
    tallies: Counter[str] = Counter()
    by_form: Counter[tuple[str, str]] = Counter()
    skipped: Counter[str] = Counter()
    shown: Counter[tuple[str, ...]] = Counter()
    start, index = time.process_time(), 0
    while time.process_time() - start < args.seconds if args.replay is None else index != args.replay:
        index = index + 1 if args.replay is None else args.replay
        r = np.random.default_rng([args.seed, index])
        case = draw(r)
        try:
            outcome = run(case, r)
        except Skip as why:
            skipped[str(why)] += 1
            if args.replay is not None:
                print(f"skipped: {why}\n{render(case, index, args.seed)}")
            continue
        tallies[outcome.tally] += 1
        by_form[(case.form, outcome.tally)] += 1
        key = (outcome.tally, case.form, case.variant == "right", case.magnitude, outcome.detail[:30])
        if args.replay is not None or (outcome.tally in BUGS and shown[key] < args.shown):
            shown[key] += 1
            print(f"\n[{outcome.tally}] {outcome.detail}\n{render(case, index, args.seed)}")
            if args.replay is not None or outcome.tally != "error":
                print("  " + outcome.report.replace("\n", "\n  ")[:3000])
    cpu = time.process_time() - start
    cases = sum(tallies.values())
    print(f"\nseed {args.seed}, {cpu:.0f} s of CPU: {cases:,} cases checked, {sum(skipped.values()):,} skipped")
    for name, n in sorted(tallies.items(), key=lambda t: -t[1]):
        forms = ", ".join(f"{f} {by_form[(f, name)]}" for f in FORMS if by_form[(f, name)])
        print(f"  {name:28s} {n:7,}  ({forms})")
    for why, n in skipped.most_common():
        print(f"  skipped: {why}: {n:,}")


if __name__ == "__main__":
    main()
