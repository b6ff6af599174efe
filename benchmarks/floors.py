"""Where the eager scalar engine's time goes, beside the floor of the same work, printed
as Markdown (docs/benchmarks.md shows the runs):

    python benchmarks/floors.py w4 [--depth 1000000] [--repeats 3]
    python benchmarks/floors.py w3 [--rounds 3] [--repeats 3]   # under the peers' python

- ``w4``: the chain x ← x·a + c split into recording, the cyclic collector's time
  while recording (timed with ``gc.callbacks``), backward, and freeing the graph, with
  the collector on and off; beside it the floor of one slotted Python object per op on
  a tape (``deep_chain.TapeNode``) and plain float arithmetic.
- ``w3``: one step of micrograd's demo split into building the loss, backward, the
  update and the collector's time, for glassgrad, micrograd and ``TapeValue``, the
  least an engine with one slotted object per op and operator overloading can do (no
  checks, no dispatch, one tape swept in reverse); and glassgrad and ``TapeValue``
  again in processes that imported torch and JAX first (glassgrad also in one that
  then called ``gc.freeze()``), each beside the same engine in a clean process, with
  the full collections and the objects each of them walks. Each contender has fresh
  processes of its own, so none pays for another's garbage; micrograd, torch and JAX
  come from the peers' virtualenv.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, ClassVar

import deep_chain
import mlp_demo

# -- W4: one deep chain ---------------------------------------------------------------


def glassgrad_chain(depth: int) -> tuple[Callable[[], Any], Callable[[Any], None]]:
    from glassgrad import Scalar

    def record() -> Any:
        x0, a, c = (Scalar(v) for v in deep_chain.start_values(depth))
        x = x0
        for _ in range(depth):
            x = x * a + c
        return x

    return record, lambda x: x.backward()


def tape_chain(depth: int) -> tuple[Callable[[], Any], Callable[[Any], None]]:
    TapeNode = deep_chain.TapeNode

    def record() -> Any:
        x0, a, c = (TapeNode(v) for v in deep_chain.start_values(depth))
        tape, x = [], x0
        for _ in range(depth):
            m = TapeNode(x.data * a.data, x, a, a.data, x.data)
            x = TapeNode(m.data + c.data, m, c, 1.0, 1.0)
            tape.append(m)
            tape.append(x)
        return tape

    def backward(tape: list) -> None:
        tape[-1].grad = 1.0
        for node in reversed(tape):
            g = node.grad
            node.a.grad += g * node.da
            node.b.grad += g * node.db

    return record, backward


def split_chain(
    make: Callable[[int], tuple[Callable[[], Any], Callable[[Any], None]]], depth: int, collector: bool
) -> dict[str, float]:
    """Seconds of one chain: recording (GC time apart), backward, freeing the graph."""
    record, backward = make(depth)
    clock = deep_chain.GCClock()
    (gc.enable if collector else gc.disable)()
    try:
        t0 = time.perf_counter()
        root = record()
        t1 = time.perf_counter()
        gc_record, full = clock.read()
        backward(root)
        t2 = time.perf_counter()
        gc_backward, _ = clock.read()
        del root
        t3 = time.perf_counter()
        gc_free, _ = clock.read()
    finally:
        gc.enable()
        gc.callbacks.remove(clock._on)
    return {
        "record": t1 - t0 - gc_record,
        "gc in record": gc_record,
        "backward": t2 - t1 - gc_backward,
        "gc in backward": gc_backward,
        "free": t3 - t2 - gc_free,
        "gc in free": gc_free,
        "full GCs": full,
    }


def floats_chain(depth: int) -> dict[str, float]:
    fwd, bwd, _ = deep_chain.floats_by_hand(depth)
    return {"record": fwd, "backward": bwd}


def w4(depth: int, repeats: int) -> None:
    ops = 2 * depth
    rows: dict[str, list[dict[str, float]]] = {}
    for _ in range(repeats):  # the contenders alternate, repeat by repeat
        for collector in (True, False):
            on = "on" if collector else "off"
            rows.setdefault(f"glassgrad (Scalar), collector {on}", []).append(
                split_chain(glassgrad_chain, depth, collector)
            )
            rows.setdefault(f"slotted-object floor, collector {on}", []).append(
                split_chain(tape_chain, depth, collector)
            )
        rows.setdefault("Python floats by hand", []).append(floats_chain(depth))
    cols = ["record", "gc in record", "backward", "gc in backward", "free", "gc in free"]
    print(f"W4 at D = {depth:,} ({ops:,} ops), ns per op, median of {repeats} runs per row (one process, alternating)")
    print()
    print("| contender | " + " | ".join(cols) + " | record + backward, GC included | full GCs |")
    print("|---|" + "---:|" * (len(cols) + 2))
    for name, runs in rows.items():
        med = {k: statistics.median(r.get(k, 0.0) for r in runs) for k in [*cols, "full GCs"]}
        total = sum(med[k] for k in ("record", "gc in record", "backward", "gc in backward"))
        cells = " | ".join(f"{med[k] / ops * 1e9:,.0f}" for k in cols)
        print(f"| {name} | {cells} | **{total / ops * 1e9:,.0f}** | {med['full GCs']:.0f} |")
    small = min(depth, 100_000)
    print()
    print(
        f"At D = {small:,}: glassgrad {node_footprint(glassgrad_chain, small)}; "
        f"the floor {node_footprint(tape_chain, small)}."
    )


def node_footprint(make: Callable[[int], tuple[Callable[[], Any], Callable[[Any], None]]], depth: int) -> str:
    """Objects the collector tracks per op while a chain is alive, and one node's size."""
    record, _ = make(depth)
    gc.collect()
    before = len(gc.get_objects())
    root = record()
    per_op = (len(gc.get_objects()) - before) / (2 * depth)
    node = root[-1] if isinstance(root, list) else root
    slots = [s for cls in type(node).__mro__ for s in getattr(cls, "__slots__", ())]
    return f"{per_op:.4f} tracked objects per op, {len(slots)} slots and {sys.getsizeof(node)} bytes per node"


# -- W3: one step of micrograd's demo --------------------------------------------------


class TapeValue:
    """The least a scalar value with operator overloading can be: data, grad, two
    inputs and their local derivatives in slots, appended to one tape that backward
    sweeps in reverse. No checks, no modes, no op classes."""

    __slots__ = ("a", "b", "da", "data", "db", "grad")
    tape: ClassVar[list[TapeValue]] = []

    def __init__(self, data: float, a: Any = None, b: Any = None, da: float = 0.0, db: float = 0.0):
        self.data, self.grad, self.a, self.b, self.da, self.db = data, 0.0, a, b, da, db

    def __add__(self, other: Any) -> TapeValue:
        other = other if type(other) is TapeValue else TapeValue(other)
        out = TapeValue(self.data + other.data, self, other, 1.0, 1.0)
        TapeValue.tape.append(out)
        return out

    __radd__ = __add__

    def __mul__(self, other: Any) -> TapeValue:
        other = other if type(other) is TapeValue else TapeValue(other)
        out = TapeValue(self.data * other.data, self, other, other.data, self.data)
        TapeValue.tape.append(out)
        return out

    __rmul__ = __mul__

    def relu(self) -> TapeValue:
        out = TapeValue(self.data if self.data > 0 else 0.0, self, SINK, 1.0 if self.data > 0 else 0.0)
        TapeValue.tape.append(out)
        return out

    def backward(self) -> None:
        self.grad = 1.0
        for node in reversed(TapeValue.tape):
            g = node.grad
            node.a.grad += g * node.da
            node.b.grad += g * node.db
        TapeValue.tape.clear()


SINK = TapeValue(0.0)  # the second input of a one-input op: its gradient is never read


class TapeFloor(mlp_demo.ScalarMLP):
    parameter = constant = TapeValue  # type: ignore[assignment]

    def zero_grad(self) -> None:
        for p in self.params_:
            p.grad = 0.0


CONTENDERS = {
    "glassgrad (Scalar)": ("clean", mlp_demo.GlassgradScalar),
    "slotted-object floor (TapeValue)": ("clean", TapeFloor),
    "micrograd": ("clean", mlp_demo.Micrograd),
    "glassgrad (Scalar), torch and jax imported": ("imported", mlp_demo.GlassgradScalar),
    "glassgrad (Scalar), torch and jax imported, then gc.freeze()": ("frozen", mlp_demo.GlassgradScalar),
    "slotted-object floor (TapeValue), torch and jax imported": ("imported", TapeFloor),
}


class Collections:
    """Each collection timed by generation (``gc.callbacks``), and the objects a full
    one walks: every object the collector tracks when it starts."""

    def __init__(self) -> None:
        self.seconds, self.walked, self._t0 = [0.0, 0.0, 0.0], [], 0.0
        gc.callbacks.append(self._on)

    def _on(self, phase: str, info: dict) -> None:
        if phase == "start":
            if info["generation"] == 2:
                self.walked.append(len(gc.get_objects()))
            self._t0 = time.perf_counter()
        else:
            self.seconds[info["generation"]] += time.perf_counter() - self._t0

    def read(self) -> float:
        out = sum(self.seconds)
        self.seconds = [0.0, 0.0, 0.0]
        return out


def w3_child(contender: str, steps: int) -> None:
    """One process, one contender: a step untimed, then ``steps`` steps, each split into
    building the loss, backward and the update (collections apart); one JSON line."""
    heap, cls = CONTENDERS[contender]
    if heap != "clean":
        import jax  # noqa: F401
        import torch  # noqa: F401
    if heap == "frozen":
        gc.collect()
        gc.freeze()
    X, y = mlp_demo.make_moons()
    adapter = cls(X, y, mlp_demo.initial_parameters())
    adapter.step()
    tracked = len(gc.get_objects())
    clock = Collections()
    runs = []
    for _ in range(steps):
        clock.walked = []
        t0 = time.perf_counter()
        total = adapter.loss()
        t1 = time.perf_counter()
        gc_loss = clock.read()
        adapter.zero_grad()
        total.backward()
        t2 = time.perf_counter()
        gc_backward = clock.read()
        lr = mlp_demo.learning_rate(adapter.k)
        for p in adapter.params_:
            adapter.update(p, lr)
        adapter.k += 1
        del total
        t3 = time.perf_counter()
        gc_rest = clock.read()
        runs.append(
            {
                "loss": t1 - t0 - gc_loss,
                "backward": t2 - t1 - gc_backward,
                "update and free": t3 - t2 - gc_rest,
                "GC": gc_loss + gc_backward + gc_rest,
                "step": t3 - t0,
                "walked": clock.walked,
            }
        )
    print(json.dumps({"runs": runs, "tracked": tracked}))


def w3(rounds: int, steps: int) -> None:
    names = list(CONTENDERS)
    runs: dict[str, list[dict]] = {name: [] for name in names}
    tracked: dict[str, list[int]] = {name: [] for name in names}
    for r in range(rounds):  # a fresh process per contender, the order rotating
        for name in names[r % len(names) :] + names[: r % len(names)]:
            out = subprocess.run(
                [sys.executable, __file__, "w3-child", "--contender", name, "--repeats", str(steps)],
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(out.stdout)
            runs[name] += result["runs"]
            tracked[name].append(result["tracked"])
    X, y = mlp_demo.make_moons()
    TapeFloor(X, y, mlp_demo.initial_parameters()).loss()
    ops, TapeValue.tape = len(TapeValue.tape), []
    med = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0] if k != "walked"} for name, rs in runs.items()}
    micrograd = med["micrograd"]["step"]
    # Each engine beside itself in a clean process: what the imports' heap costs it.
    clean = {cls: med[name]["step"] for name, (heap, cls) in CONTENDERS.items() if heap == "clean"}
    cols = ["loss", "backward", "update and free", "GC"]
    print(
        f"W3, one step of micrograd's demo ({ops:,} recorded ops); {rounds} fresh processes per row "
        f"(alternating), {steps} steps each after one; ms, medians over the steps"
    )
    print()
    print(
        "| contender | " + " | ".join(cols) + " | step | best step | ns per op | micrograd ÷ this | × clean process "
        "| full GCs per step | objects a full GC walks | tracked objects before the steps |"
    )
    print("|---|" + "---:|" * (len(cols) + 8))
    for name, rs in runs.items():
        m = med[name]
        walks = [w for r in rs for w in r["walked"]]
        print(
            f"| {name} | " + " | ".join(f"{m[k] * 1e3:.1f}" for k in cols) + f" | **{m['step'] * 1e3:.1f}** "
            f"| {min(r['step'] for r in rs) * 1e3:.1f} | {m['step'] / ops * 1e9:,.0f} | {micrograd / m['step']:.1f} "
            f"| {m['step'] / clean[CONTENDERS[name][1]]:.2f} | {len(walks) / len(rs):.2f} "
            f"| {statistics.median(walks) if walks else 0:,.0f} | {statistics.median(tracked[name]):,.0f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["w4", "w3", "w3-child"])
    parser.add_argument("--depth", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--contender", choices=list(CONTENDERS))
    args = parser.parse_args()
    if args.what == "w4":
        w4(args.depth, args.repeats)
    elif args.what == "w3":
        w3(args.rounds, args.repeats)
    else:
        w3_child(args.contender, args.repeats)


if __name__ == "__main__":
    main()
