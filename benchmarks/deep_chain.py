"""W4 child: build a chain x ← x·a + c of D links (2·D scalar ops), then backward.

Run as ``python deep_chain.py LIB D REPEATS``; prints one JSON line with the forward
and backward seconds of each repeat, the peak resident memory over the run and the
gradients ∂x_D/∂x₀ = a^D, ∂x_D/∂a and ∂x_D/∂c (checked by the parent against the
Python-float sweep). Python's garbage collector stays on, as users run it.
"""

from __future__ import annotations

import gc
import json
import sys
import time
import traceback

import procmem

LIBS = {
    "python-floats-by-hand": None,
    "slotted-objects floor": None,
    "glassgrad (Scalar)": "glassgrad",
    "micrograd": "micrograd",
    "micrograd (recursion limit raised)": "micrograd",
    "torch (0-d tensors)": "torch",
}


def start_values(depth: int) -> tuple[float, float, float]:
    """x₀, a and c with a = 1 − 1/D, so a^D ≈ e⁻¹ and nothing over- or underflows."""
    return 0.5, 1.0 - 1.0 / depth, 1.0 / depth


def floats_by_hand(depth: int) -> tuple[float, float, list[float]]:
    """The floor: the same chain and its reverse sweep on plain floats."""
    x0, a, c = start_values(depth)
    t0 = time.perf_counter()
    xs = [x0]
    x = x0
    for _ in range(depth):
        x = x * a + c
        xs.append(x)
    t1 = time.perf_counter()
    g, ga, gc_ = 1.0, 0.0, 0.0
    for k in range(depth - 1, -1, -1):  # ∂x_{k+1}/∂x_k = a, ∂/∂a = x_k, ∂/∂c = 1
        ga += g * xs[k]
        gc_ += g
        g *= a
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, [g, ga, gc_]


class GCClock:
    """Time Python's garbage collector spends in collections (via ``gc.callbacks``),
    and how many full (generation 2) collections ran: the profile of where a scalar
    graph's time goes that a function profiler cannot show."""

    def __init__(self) -> None:
        self.seconds, self.full, self._t0 = 0.0, 0, 0.0
        gc.callbacks.append(self._on)

    def _on(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._t0
            self.full += info["generation"] == 2

    def read(self) -> tuple[float, int]:
        out = (self.seconds, self.full)
        self.seconds, self.full = 0.0, 0
        return out


class TapeNode:
    """The least a recorded scalar op can be: its value, its gradient, its two inputs
    and the two local derivatives, in slots; one garbage-collected object per op."""

    __slots__ = ("a", "b", "da", "data", "db", "grad")

    def __init__(
        self, data: float, a: TapeNode | None = None, b: TapeNode | None = None, da: float = 0.0, db: float = 0.0
    ):
        self.data, self.grad, self.a, self.b, self.da, self.db = data, 0.0, a, b, da, db


def slotted_floor(depth: int) -> tuple[float, float, list[float]]:
    """The floor of any pure-Python engine with one object per op (no op dispatch, no
    checks): the chain recorded on a tape of TapeNodes, then one reverse sweep."""
    x0, a, c = (TapeNode(v) for v in start_values(depth))
    t0 = time.perf_counter()
    tape = []
    x = x0
    for _ in range(depth):
        m = TapeNode(x.data * a.data, x, a, a.data, x.data)
        x = TapeNode(m.data + c.data, m, c, 1.0, 1.0)
        tape.append(m)
        tape.append(x)
    t1 = time.perf_counter()
    x.grad = 1.0
    for node in reversed(tape):
        g = node.grad
        node.a.grad += g * node.da
        node.b.grad += g * node.db
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, [x0.grad, a.grad, c.grad]


def graph_chain(lib: str, depth: int) -> tuple[float, float, list[float]]:
    x0, a, c = start_values(depth)
    if lib.startswith("glassgrad"):
        from glassgrad import Scalar

        leaves = [Scalar(x0), Scalar(a), Scalar(c)]
        grad = lambda v: v.grad  # noqa: E731
    elif lib.startswith("micrograd"):
        from micrograd.engine import Value

        leaves = [Value(x0), Value(a), Value(c)]
        grad = lambda v: v.grad  # noqa: E731
    else:
        import torch

        leaves = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (x0, a, c)]
        grad = lambda v: float(v.grad)  # noqa: E731
    x, av, cv = leaves
    t0 = time.perf_counter()
    for _ in range(depth):
        x = x * av + cv
    t1 = time.perf_counter()
    x.backward()
    t2 = time.perf_counter()
    del x
    return t1 - t0, t2 - t1, [grad(v) for v in leaves]


def main() -> None:
    lib, depth, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    module = LIBS[lib]
    if module:
        try:
            __import__(module)
        except ImportError as exc:
            print(json.dumps({"skip": f"{module} is not installed for {sys.executable} ({exc})"}))
            return
    if lib == "micrograd (recursion limit raised)":
        sys.setrecursionlimit(4 * depth + 10_000)
    run = {"python-floats-by-hand": floats_by_hand, "slotted-objects floor": slotted_floor}.get(
        lib, lambda d: graph_chain(lib, d)
    )
    rss_before = procmem.rss_bytes()
    peak_reset = procmem.reset_peak()
    result: dict = {"fwd": [], "bwd": [], "gc": [], "gc_full": [], "peak_reset": peak_reset}
    clock = GCClock()
    try:
        for _ in range(repeats):
            fwd, bwd, grads = run(depth)
            gc_seconds, full = clock.read()
            result["fwd"].append(fwd)
            result["bwd"].append(bwd)
            result["gc"].append(gc_seconds)
            result["gc_full"].append(full)
            result["grads"] = grads
    except RecursionError as exc:
        result["error"] = f"RecursionError: {exc}"
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()
    result["rss_before"] = rss_before
    result["peak"] = procmem.peak_bytes()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
