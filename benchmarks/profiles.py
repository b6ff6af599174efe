"""Where glassgrad's time goes on W2 (minibatch logistic regression), printed as
Markdown: cProfile of the eager training step, the traced step line by line beside the
hand-written NumPy step, the eager step by phase and piece by piece beside NumPy's, and
the eager step whole, by the width of the data and beside other work. Run by run.py (or
``python profiles.py``) with glassgrad importable; the profiles explain the distance to
hand-written NumPy.

cProfile's own cost per Python call inflates the engine's share, so its table is read
for *where* the time goes, and the timed workloads for *how much*. The line timings run
each line alone, many times, on one cached minibatch: they show what each line costs
alone, not what it costs among the step's other lines (``profile_in_step``).
"""

from __future__ import annotations

import ast
import copy
import cProfile
import dataclasses
import fractions
import inspect
import json
import pstats
import sys
import textwrap
import timeit
from typing import Any

import logistic_adapters
import numpy as np
import synthetic_data

STEPS = 3000


def profile_minibatch(seed: int = 0, top: int = 14) -> str:
    X, y = synthetic_data.synthetic_mnist(5000, "float64", seed)
    w0, b0 = synthetic_data.initial_parameters(X.shape[1], "float64", seed)
    adapter = logistic_adapters.Glassgrad(X, y, w0, b0, 0.1, 64)
    for _ in range(100):
        adapter.step()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(STEPS):
        adapter.step()
    prof.disable()
    stats = pstats.Stats(prof)
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = [
        f"cProfile of {STEPS:,} glassgrad W2 steps ({total / STEPS * 1e6:.0f} µs per step under the profiler), "
        f"top {top} by own time:",
        "",
        "| function | calls per step | own µs per step | share |",
        "|---|---:|---:|---:|",
    ]
    entries = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)  # type: ignore[attr-defined]
    for (file, line, name), (_, ncalls, tottime, _, _) in entries[:top]:
        where = name if file == "~" else f"{file.split('/')[-2]}/{file.split('/')[-1]}:{line} {name}"
        rows.append(f"| `{where}` | {ncalls / STEPS:.0f} | {tottime / STEPS * 1e6:.1f} | {tottime / total:.0%} |")
    return "\n".join(rows)


def line_times(lines: list[str], scope: dict[str, Any], number: int = 3000) -> list[tuple[str, float]]:
    """Run ``lines`` in order in ``scope``, then time each alone (best of 7, µs). A
    ``return`` line is timed as its expression, an in-place ``r /= n`` as ``r / n``
    (repeated in place, it would drive r into subnormal numbers)."""
    for line in lines:
        exec(line.strip().removeprefix("return "), scope)
    timed = []
    for line in lines:
        stmt = ast.parse(line.strip()).body[0]
        if isinstance(stmt, ast.AugAssign):
            text = ast.unparse(ast.BinOp(ast.Name(ast.unparse(stmt.target), ast.Load()), stmt.op, stmt.value))
        else:
            text = line.strip().removeprefix("return ")
        timed.append((line.strip(), min(timeit.repeat(text, globals=scope, number=number, repeat=7)) / number * 1e6))
    return timed


def _body_lines(func: Any) -> list[str]:
    """The statements of a method's body, one string each (docstring and comments left out)."""
    fdef = ast.parse(textwrap.dedent(inspect.getsource(func))).body[0]
    assert isinstance(fdef, ast.FunctionDef)
    return [ast.unparse(s) for s in fdef.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]


def profile_traced_lines(seed: int = 0) -> str:
    """The traced W2 step and the NumPy step, line by line, and what the compiled step's
    call and the update add."""
    X, y = synthetic_data.synthetic_mnist(5000, "float64", seed)
    w0, b0 = synthetic_data.initial_parameters(X.shape[1], "float64", seed)
    traced = logistic_adapters.GlassgradTraced(X, y, w0, b0, 0.1, 64)
    by_hand = logistic_adapters.NumpyByHand(X, y, w0, b0, 0.1, 64)
    Xb, yb = traced.batches[0]
    program = traced.compiled._latest  # the program of this signature
    names = program.source.splitlines()[0][len("def step(") : -2].split(", ")
    scope = {**program.run.__globals__, **dict(zip(names, [Xb.data, yb.data, *[c.data for c in program.captured]]))}
    body = [ln for ln in program.source.splitlines()[1:] if not ln.strip().startswith("#")]
    rows = [("traced", text, t) for text, t in line_times(body, scope)]
    hand_scope = {"np": np, "self": by_hand, "X": Xb.data, "y": yb.data}
    rows += [("numpy", text, t) for text, t in line_times(_body_lines(by_hand._forward_backward), hand_scope)]

    def best(stmt: str, where: dict[str, Any]) -> float:
        return min(timeit.repeat(stmt, globals=where, number=3000, repeat=7)) / 3000 * 1e6

    # The call alone: the same compiled step with a program that does nothing.
    from glassgrad import Tensor
    from glassgrad.tracing import _entry

    idle = copy.copy(traced.compiled)
    idle._latest = dataclasses.replace(program, run=lambda *args: None)
    idle._latest.enter = _entry(idle._latest, Tensor, 2)
    call = best("c(X, y)", {"c": idle, "X": Xb, "y": yb}) - best("f(1, 2, 3, 4)", {"f": lambda *args: None})
    out = [
        "The traced W2 step line by line (each line alone, best of 7 × 3,000 runs on one minibatch), "
        "beside the NumPy step's lines:",
        "",
        "| step | line | µs |",
        "|---|---|---:|",
    ]
    out += [f"| {who} | `{text.replace('|', '¦')}` | {t:.2f} |" for who, text, t in rows]
    for who in ("traced", "numpy"):
        out.append(f"| {who} | **sum of the lines** | **{sum(t for w, _, t in rows if w == who):.2f}** |")
    out.append(f"| traced | the compiled step's call, beyond its lines | {call:.2f} |")
    return "\n".join(out)


def profile_eager_pieces(seed: int = 0) -> str:
    """Each piece of the eager W2 step timed alone on one cached minibatch, beside the
    NumPy work inside it: what the engine adds per piece, where the loop's total hides it.
    The chain-rule steps are called directly on a recorded graph (the driver's
    ``fn._chains[0]``), their inputs marked as reached, as ``backward()`` does."""
    from glassgrad import graph, no_grad
    from glassgrad.ops.domains import UNIT_INTERVAL

    X, y = synthetic_data.synthetic_mnist(5000, "float64", seed)
    w0, b0 = synthetic_data.initial_parameters(X.shape[1], "float64", seed)
    eager = logistic_adapters.Glassgrad(X, y, w0, b0, 0.1, 64)
    Xb, yb = eager.batches[0]
    w, b = eager.w, eager.b
    xw = Xb @ w
    z = xw + b
    loss = eager.bce(z, yb)
    sp = np.logaddexp(0.0, z.data)
    scope = {
        "np": np, "X": Xb, "y": yb, "w": w, "b": b, "xw": xw, "z": z, "loss": loss, "bce": eager.bce,
        "Xd": Xb.data, "yd": yb.data, "wd": w0.copy(), "bd": b0.copy(), "xwd": xw.data, "zd": z.data, "sp": sp,
        "g1": loss._seed(), "gz": np.full(64, 1 / 64), "gw": np.ones(784), "gb": np.float64(1.0),
        "V": graph._VISITED, "reach": graph._reachable, "no_grad": no_grad, "U": UNIT_INTERVAL,
        "chain_loss": loss.fn._chains[0], "chain_add": z.fn._chains[0], "chain_mm": xw.fn._chains[0],
    }  # fmt: skip
    pieces = [
        ("record the matmul", "X @ w", "Xd @ wd"),
        ("record the add", "xw + b", "xwd + bd"),
        (
            "record the loss, with its domain test",
            "bce(z, y)",
            "np.add.reduce(np.logaddexp(0.0, zd) - yd * zd, axis=None) / 64",
        ),
        ("of which the targets' domain test", "U.contains(yd)", "pass"),
        ("the loss's chain-rule step", "z._g = V; chain_loss(loss, g1, True, 0)", "(np.exp(zd - sp) - yd) * (1 / 64)"),
        ("the add's chain-rule step", "xw._g = b._g = V; chain_add(z, gz, True, 0)", "np.add.reduce(gz, axis=None)"),
        ("the matmul's chain-rule step", "w._g = V; chain_mm(xw, gz, True, 0)", "Xd.T @ gz"),
        ("store the two gradients", "w._grad = b._grad = None; w._grad_store(gw); b._grad_store(gb)", "gw.copy()"),
        ("find and order the graph's nodes", "for n in reach([loss]): n._g = None", "pass"),
        (
            "update both parameters in place",
            "with no_grad(): w.__isub__(gw); b.__isub__(gb)",
            "wd.__isub__(gw); bd.__isub__(gb)",
        ),
    ]

    def best(stmt: str) -> float:
        return min(timeit.repeat(stmt, globals=scope, number=3000, repeat=7)) / 3000 * 1e6

    rows = [
        "The eager W2 step's pieces, each alone (best of 7 × 3,000 runs on one minibatch), µs:",
        "",
        "| piece | glassgrad | the NumPy work in it | difference |",
        "|---|---:|---:|---:|",
    ]
    total = 0.0
    for name, ours, theirs in pieces:
        a, n = best(ours), best(theirs)
        total += (a - n) if not name.startswith("of which") else 0.0
        rows.append(f"| {name} | {a:.2f} | {n:.2f} | {a - n:.2f} |")
    rows.append(f"| **sum of the differences** | | | **{total:.2f}** |")
    return "\n".join(rows)


class TapeNode:
    """One recorded op of the least eager engine: its value, its gradient, its inputs
    and the function from ∂L/∂out to ∂L/∂inputs."""

    __slots__ = ("data", "grad", "inputs", "vjp")

    def __init__(self, data: Any, inputs: tuple = (), vjp: Any = None):
        self.data, self.grad, self.inputs, self.vjp = data, None, inputs, vjp


def tape_step(X: np.ndarray, y: np.ndarray, w: TapeNode, b: TapeNode, lr: float) -> None:
    """The W2 step on the least eager engine: NumPy's own math, each op recorded on a
    tape as one object with a closure, one reverse sweep, no checks, no modes; then
    the in-place update. What any eager engine adds to NumPy is at least this."""
    n = len(y)
    xw = TapeNode(X @ w.data, (w,), lambda g: (X.T @ g,))
    z = TapeNode(xw.data + b.data, (xw, b), lambda g: (g, g.sum()))
    sp = np.logaddexp(0.0, z.data)
    loss = TapeNode(np.add.reduce(sp - y * z.data) / n, (z,), lambda g: (g / n * (np.exp(z.data - sp) - y),))
    loss.grad = 1.0
    for node in (loss, z, xw):
        for inp, g in zip(node.inputs, node.vjp(node.grad)):
            inp.grad = g if inp.grad is None else inp.grad + g
    w.data -= lr * w.grad
    b.data -= lr * b.grad
    w.grad = b.grad = None


def profile_eager_phases(seed: int = 0) -> str:
    """The eager W2 step in three phases (record the loss, backward, update), each timed
    alone on one cached minibatch, beside the NumPy step's same phases, and what the
    engine costs per op where NumPy's work is nearly nothing (0-d arrays)."""
    from glassgrad import Tensor

    X, y = synthetic_data.synthetic_mnist(5000, "float64", seed)
    w0, b0 = synthetic_data.initial_parameters(X.shape[1], "float64", seed)
    eager = logistic_adapters.Glassgrad(X, y, w0, b0, 0.1, 64)
    by_hand = logistic_adapters.NumpyByHand(X, y, w0, b0, 0.1, 64)
    Xb, yb = eager.batches[0]
    Xn, yn = by_hand.batches[0]
    scope = {"e": eager, "X": Xb, "y": yb, "h": by_hand, "Xn": Xn, "yn": yn}
    exec("w, b = e.w, e.b; loss = e._loss(X, y)", scope)

    def best(stmt: str, setup: str = "pass") -> float:
        return min(timeit.repeat(stmt, setup, globals=scope, number=3000, repeat=7)) / 3000 * 1e6

    record = best("e._loss(X, y)")
    record_backward = best("e._loss(X, y).backward(); w.grad = b.grad = None")
    step = best("e.sgd_step(X, y)")
    np_forward = best("z = Xn @ h.w; z += h.b; sp = np.logaddexp(0, z); np.mean(sp - yn * z)", "import numpy as np")
    np_forward_backward = best("h._forward_backward(Xn, yn)")
    np_step = best("h.sgd_step(Xn, yn)")
    a, b = (Tensor(np.asarray(v), requires_grad=True) for v in (1.0, 2.0))
    na, nb = np.asarray(1.0), np.asarray(2.0)
    scope.update(a=a, b0=b, na=na, nb=nb)
    one_op = best("a + b0") - best("na + nb")
    one_op_backward = best("(a + b0).backward(); a.grad = b0.grad = None") - best("a + b0")
    scope.update(tape_step=tape_step, tw=TapeNode(w0.copy()), tb=TapeNode(b0.copy()))
    floor = best("tape_step(Xn, yn, tw, tb, 0.1)")
    rows = [
        "The eager W2 step by phase (each alone, best of 7 × 3,000 runs on one minibatch), µs:",
        "",
        "| phase | glassgrad eager | hand-written NumPy | difference |",
        "|---|---:|---:|---:|",
        f"| forward (the loss) | {record:.2f} | {np_forward:.2f} | {record - np_forward:.2f} |",
        f"| backward | {record_backward - record:.2f} | {np_forward_backward - np_forward:.2f} "
        f"| {record_backward - record - np_forward_backward + np_forward:.2f} |",
        f"| update | {step - record_backward:.2f} | {np_step - np_forward_backward:.2f} "
        f"| {step - record_backward - np_step + np_forward_backward:.2f} |",
        f"| **step** | **{step:.2f}** | **{np_step:.2f}** | **{step - np_step:.2f}** ({step / np_step:.2f}×) |",
        "",
        f"One op on 0-d tensors, beyond NumPy's own add: {one_op:.2f} µs to record; "
        f"{one_op_backward:.2f} µs for backward() over it. The least eager engine (``profiles.tape_step``: "
        f"three ops on a tape, one reverse sweep, no checks): {floor:.2f} µs per step, {floor / np_step:.2f}× NumPy.",
    ]
    return "\n".join(rows)


def _unrelated_work() -> None:
    """Python work that shares no code or data with a W2 step (the standard library's
    JSON encoder and fractions)."""
    json.dumps({"a": [1, 2.5, "x", None, {"b": True}], "c": "hello"})
    fractions.Fraction(3, 7) + fractions.Fraction(2, 9)


def profile_in_step(seed: int = 0) -> str:
    """Why the eager W2 step costs more than its pieces timed alone: the step's extra
    time at several widths of the data (the same at every width: Python's work, not
    NumPy's), and what other Python work run in the same loop adds to the NumPy step
    and to glassgrad's: more than its own time, as the code of one evicts the other's
    from the processor's caches and branch predictors (the likely cause; this machine
    has no hardware counters to show it)."""
    X, y = synthetic_data.synthetic_mnist(64, "float64", seed)
    steps: dict[str, Any] = {}

    def best(func: Any) -> float:
        return min(timeit.repeat(func, number=3000, repeat=7)) / 3000 * 1e6

    rows = [
        "The whole W2 step on one minibatch of 64 rows, by the width of the data (best of 7 × 3,000 steps), µs:",
        "",
        "| width | hand-written NumPy | glassgrad eager | the tape engine | glassgrad − NumPy |",
        "|---:|---:|---:|---:|---:|",
    ]
    for width in (4, 64, 256, 784):
        Xw = np.ascontiguousarray(X[:, :width])
        w0, b0 = synthetic_data.initial_parameters(width, "float64", seed)
        steps = {name: cls(Xw, y, w0, b0, 0.1, 64).step for name, cls in (
            ("numpy", logistic_adapters.NumpyByHand), ("glassgrad", logistic_adapters.Glassgrad))}  # fmt: skip
        tw, tb = TapeNode(w0.copy()), TapeNode(b0.copy())
        steps["tape"] = lambda Xw=Xw, tw=tw, tb=tb: tape_step(Xw, y, tw, tb, 0.1)
        t = {name: best(step) for name, step in steps.items()}
        rows.append(f"| {width} | {t['numpy']:.2f} | {t['glassgrad']:.2f} | {t['tape']:.2f} | "
                    f"{t['glassgrad'] - t['numpy']:.2f} |")  # fmt: skip
    alone = best(_unrelated_work)
    rows += [
        "",
        f"Each step followed by unrelated Python work in the same loop (`profiles._unrelated_work`, "
        f"{alone:.2f} µs alone; width 784), µs:",
        "",
        "| step | alone | with the other work | added beyond the two alone |",
        "|---|---:|---:|---:|",
    ]
    for name in ("numpy", "glassgrad"):
        step = steps[name]

        def both(step: Any = step) -> None:
            step()
            _unrelated_work()

        own, together = best(step), best(both)
        rows.append(f"| {name} | {own:.2f} | {together:.2f} | {together - own - alone:.2f} |")
    return "\n".join(rows)


if __name__ == "__main__":
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    print(profile_minibatch(seed))
    print()
    print(profile_traced_lines(seed))
    print()
    print(profile_eager_phases(seed))
    print()
    print(profile_eager_pieces(seed))
    print()
    print(profile_in_step(seed))
