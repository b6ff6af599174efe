"""Differential testing of glassgrad under threads: random programs run in several
threads at once, switched between almost every two bytecodes, and each thread's results
compared with the same programs run one after another.

    python benchmarks/thread_differential.py [--seed 0] [--seconds 60] [--threads 3]

A round writes a module of random source: new op classes (``Function`` subclasses
whose forward and backward are one ``return``, inlined into their recorders, or two
statements, called), shared parameters (Tensors and Scalars that require grad), and
one program per thread. A program first calls the new ops (all threads start at one
barrier, so the first call of an op, which writes its recorder and chain-rule steps,
happens in several threads at once), then runs random steps:

- ``graph``: a random Scalar or Tensor graph over the thread's leaves and the shared
  parameters, inside random modes of its own (``scope``, ``record_sites``,
  ``detect_anomaly``, ``no_grad`` with ``enable_grad`` within), then ``backward()``
  (into the leaves' and the shared parameters' ``.grad``), ``grad()``, or
  ``grad(create_graph=True)`` and a second ``grad()`` of the gradient's square, with a
  hook (that doubles the gradient and notes what it saw) and ``retain_grad`` on an
  inner value; what the modes say (``is_grad_enabled``, ``requires_grad``, ``scope``,
  ``site``) is noted too;
- ``trace``: ``glassgrad.trace`` of a function of a fresh input and the shared
  parameters (the trace runs while the other threads run eagerly), called on another
  input; and a call of one compiled step shared by every thread;
- ``optim``: SGD with momentum or Adam steps on a parameter of the thread's own;
- ``hogwild``: the gradient of a loss in the parameter ``H`` shared by every thread,
  then ``H -= lr·g`` under ``no_grad()`` (eagerly, or through a compiled step).

The oracle: every noted value of a thread, and every exception, equals bit for bit
what the same program gives run alone (one thread after another); each shared
parameter's ``.grad``, the sum over the threads, equals the serial sum within float
rounding. ``H`` changes while other threads read it, so its steps are judged on their
own (their loss reads ``H`` once, by an op that saves it: an eager forward pass that
reads it in several ops may compute with two values of it, as each op reads it when
it runs): the thread copies ``H`` before the step and after its forward pass (after the
whole compiled step); the gradient must be, bit for bit, the one computed alone from
one of the two copies (the step saw ``H`` whole, before or after an update), or the
backward must refuse with ``InPlaceError`` (another thread changed ``H`` after the
graph saved it: right); a step that more than one update may have overlapped is not
judged. At the end, ``H`` must be its start minus every update made, within rounding.
A mismatch is printed once per kind with the round's module and the lines that run
it: the small reproduction.
"""

from __future__ import annotations

import argparse
import linecache
import random
import sys
import threading
import time
import traceback
import types
from typing import Any

import glassgrad as gg
import numpy as np
from glassgrad import InPlaceError, Tensor

SHAPE = 3
UNARY = (
    ("C * x * x * x", "(g * (3.0 * C) * x * x,)"),
    ("C * x * x + x", "(g * (2.0 * C * x + 1.0),)"),
)
BINARY = (("A * a * b + B * a", "g * (A * b + B), g * (A * a)"), ("a * b * b", "g * b * b, g * 2.0 * a * b"))
MODES = ('gg.scope("{name}")', "gg.record_sites()", "gg.detect_anomaly()")
Ops = tuple[list[str], list[str]]  # the recorders (apply) of the new unary and binary ops
BUILT_IN: Ops = ([], [])  # no new op: for what runs before the threads start
EXPRESSIONS = (
    "{a} + {b}",
    "{a} * {b}",
    "{a} - {b}",
    "{a} / ({b} * {b} + 1.0)",
    "gg.tanh({a})",
    "gg.sigmoid({a}) * {b}",
    "gg.exp({a} * 0.25)",
    "gg.softplus({a})",
    "gg.relu({a}) + {b}",
    "{op}({a})",
    "{op2}({a}, {b})",
)


def number(rng: random.Random) -> str:
    return repr(round(rng.uniform(-1.5, 1.5), 3))


def value(rng: random.Random, kind: str, requires_grad: bool = True) -> str:
    data = number(rng) if kind == "Scalar" else f"[{', '.join(number(rng) for _ in range(SHAPE))}]"
    return f"{kind}({data}, requires_grad={requires_grad})"


def ops_source(rng: random.Random, tag: str) -> tuple[str, list[str], list[str]]:
    """New op classes: their source, and the names of the unary and binary ones."""
    lines, unary, binary = [], [], []
    for i in range(rng.randint(1, 3)):
        binary_op = rng.random() < 0.5
        forward, backward = rng.choice(BINARY if binary_op else UNARY)
        consts = {"A": number(rng), "B": number(rng), "C": number(rng)}
        for k, v in consts.items():
            forward, backward = forward.replace(k, f"({v})"), backward.replace(k, f"({v})")
        args = "a, b" if binary_op else "x"
        name = f"Op{tag}x{i}"
        called = rng.random() < 0.4  # two statements: called, not inlined
        body = f"        y = {forward}\n        return y\n" if called else f"        return {forward}\n"
        lines += [
            f"class {name}(gg.Function):",
            "    elementwise = scalar = True",
            "    @staticmethod",
            f"    def forward(ctx, {args}):",
            body.rstrip("\n"),
            "    @staticmethod",
            f"    def backward(ctx, g, out, {args}):",
            f"        return {backward}",
            "",
        ]
        (binary if binary_op else unary).append(f"{name}.apply")
    return "\n".join(lines), unary, binary


def expression(rng: random.Random, a: str, names: list[str], unary: list[str], binary: list[str]) -> str:
    """An expression of ``a`` and a value among ``names``."""
    template = rng.choice(EXPRESSIONS)
    if ("{op}" in template and not unary) or ("{op2}" in template and not binary):
        template = "{a} * {b}"
    ops = {"op": rng.choice(unary or [""]), "op2": rng.choice(binary or [""])}
    return template.format(a=a, b=rng.choice(names), **ops)


def graph_lines(rng: random.Random, names: list[str], ops: Ops, n: int) -> tuple[list[str], str]:
    """``n`` assignments, each an expression of the one before (the first: of the first
    name) and of another earlier value; the last value's name."""
    lines, pool = [], list(names)
    for _ in range(n):
        v = f"v{len(pool)}"
        lines.append(f"{v} = {expression(rng, pool[-1] if lines else pool[0], pool, *ops)}")
        pool.append(v)
    return lines, pool[-1]


def reduce(kind: str, v: str) -> str:
    return f"({v} * {v}).sum()" if kind == "Tensor" else f"{v} * {v}"


def indent(lines: list[str], by: int = 1) -> list[str]:
    return ["    " * by + line for line in lines]


def graph_step(rng: random.Random, name: str, kind: str, leaves: list[str], ops: Ops) -> list[str]:
    shared = [f"P{kind[0]}[{i}]" for i in range(2)]
    body, last = graph_lines(rng, leaves + shared, ops, rng.randint(2, 6))
    modes = [m.format(name=name) for m in MODES if rng.random() < 0.35]
    inner = list(body)
    if rng.random() < 0.3:  # a no_grad() region, with an enable_grad() one within
        inner += [
            "with gg.no_grad():",
            f"    q = {expression(rng, last, leaves, *ops)}",
            "    note('quiet', gg.is_grad_enabled(), q.requires_grad)",
            "    with gg.enable_grad():",
            f"        e = {last} * 2.0",
            "        note('enabled', gg.is_grad_enabled(), e.requires_grad, e.scope)",
        ]
    inner.append(f"note('modes', gg.is_grad_enabled(), {last}.requires_grad, {last}.scope, {last}.site)")
    lines = [f"with {', '.join(modes)}:", *indent(inner)] if modes else inner
    lines.append(f"loss = {reduce(kind, last)}")
    wrt = ", ".join(leaves + shared[:1])
    action = rng.choice(("backward", "grad", "grad2", "hook"))
    if action == "backward":
        return [*lines, "loss.backward()", f"note('grad', {', '.join(f'{x}.grad' for x in leaves)})"]
    if action == "grad":
        return [*lines, f"note('grad', gg.grad(loss, [{wrt}], allow_unused=True))"]
    if action == "grad2":
        return [
            *lines,
            f"gs = gg.grad(loss, [{wrt}], create_graph=True, allow_unused=True)",
            "note('grad', [g if g is None else g.data for g in gs])",
            f"note('grad2', gg.grad({reduce(kind, 'gs[0]')}, [{wrt}], allow_unused=True))",
        ]
    hooked = rng.choice([line.split(" ")[0] for line in body])
    return [
        *lines,
        "seen = []",
        f"{hooked}.register_hook(lambda g: (seen.append(g), g * 2.0)[1])",
        f"{hooked}.retain_grad()",
        "loss.backward()",
        f"note('hooked', seen, {hooked}.grad, {', '.join(f'{x}.grad' for x in leaves)})",
    ]


def traced_function(rng: random.Random, name: str, ops: Ops) -> str:
    """A function of a Tensor ``x`` and the shared Tensor parameters, to trace."""
    body, last = graph_lines(rng, ["x", "PT[0]", "PT[1]"], ops, rng.randint(2, 4))
    return f"def {name}(x):\n" + "".join(f"    {line}\n" for line in body) + f"    return {reduce('Tensor', last)}\n"


def trace_step(rng: random.Random, name: str, ops: Ops) -> list[str]:
    return [
        f"step = gg.trace({name}, {value(rng, 'Tensor')})",
        f"note('traced', *step({value(rng, 'Tensor')}))",
        f"note('shared step', *SHARED_STEP({value(rng, 'Tensor')}))",
    ]


def optim_step(rng: random.Random, ops: Ops) -> list[str]:
    body, last = graph_lines(rng, ["q", "PT[0]"], ops, rng.randint(1, 3))
    make = rng.choice(("SGD([q], lr=0.05, momentum=0.9)", "Adam([q], lr=0.05)"))
    return [
        f"q = {value(rng, 'Tensor')}",
        f"opt = {make}",
        "for _ in range(3):",
        "    opt.zero_grad()",
        *indent(body),
        f"    {reduce('Tensor', last)}.backward()",
        "    opt.step()",
        "note('optim', q.data)",
    ]


def hog_function(rng: random.Random, name: str, ops: Ops, size: int) -> str:
    """A loss of ``h`` (the shared parameter H) and a constant, and its compiled step.
    H is read once, by an op that saves it: an eager forward pass that read H several
    times, while another thread updated it, computed from two values of H (each op
    with the value it read), which no copy of H reproduces."""
    body, last = graph_lines(rng, ["h", "c"], ops, rng.randint(1, 4))
    c = value(rng, "Tensor", False) if size == SHAPE else f"Tensor({number(rng)})"
    fn = f"def {name}(h):\n    h = h * 1.0\n    c = {c}\n"
    fn += "".join(f"    {line}\n" for line in body) + f"    return {reduce('Tensor', last)}\n"
    return fn + f"HOG_STEPS[{name!r}] = gg.trace({name}, Tensor(H.data.copy(), requires_grad=True))\n"


def hogwild_step(rng: random.Random, name: str) -> list[str]:
    """The gradient in H of a loss (eager, or the compiled step) with copies of H before
    and after (the forward; the whole step), then the update ``H -= 0.01·g``, counted
    in STARTED before its write and in FINISHED after it."""
    if rng.random() < 0.4:
        grad = [f"(gH,) = HOG_STEPS[{name!r}](H)[1]", "s2 = H.data.copy()"]
    else:
        grad = [f"loss = {name}(H)", "s2 = H.data.copy()", "(gH,) = gg.grad(loss, [H])"]
    return [
        "n1 = len(FINISHED)",
        "s1 = H.data.copy()",
        "try:",
        *indent(grad),
        "    n2 = len(STARTED)",
        "except InPlaceError:",
        f"    hog({name!r}, s1, None, None, 0)",
        "else:",
        f"    hog({name!r}, s1, s2, gH, n2 - n1)",
        "    STARTED.append(None)",
        "    with gg.no_grad():",
        "        H -= 0.01 * gH",
        "    FINISHED.append(None)",
        "    applied(0.01 * gH)",
    ]


def round_source(rng: random.Random, tag: str, threads: int, h_size: int) -> str:
    """The module of one round: new ops, shared parameters, one program per thread; H
    of ``h_size`` numbers."""
    ops_text, unary, binary = ops_source(rng, tag)
    ops = (unary, binary)
    module = [
        "import glassgrad as gg",
        "import numpy as np",
        "from glassgrad import InPlaceError, Scalar, Tensor",
        "from glassgrad.optim import SGD, Adam",
        "",
        ops_text,
        f"PT = [{value(rng, 'Tensor')}, {value(rng, 'Tensor')}]",
        f"PS = [{value(rng, 'Scalar')}, {value(rng, 'Scalar')}]",
        f"H = {value(rng, 'Tensor')}"
        if h_size == SHAPE
        else f"H = Tensor(np.linspace({number(rng)}, {number(rng)}, {h_size}), requires_grad=True)",
        "HOG_STEPS, STARTED, FINISHED = {}, [], []",
        traced_function(rng, "shared_fn", BUILT_IN),
        "SHARED_STEP = gg.trace(shared_fn, Tensor([0.5, 0.5, 0.5], requires_grad=True))",
        "",
    ]
    for t in range(threads):
        kind = rng.choice(("Tensor", "Scalar"))
        leaves = ["x0", "x1"]
        first = [f"{op}({value(rng, kind)})" for op in unary]
        first += [f"{op}({value(rng, kind)}, {value(rng, kind)})" for op in binary]
        rng.shuffle(first)
        # The barrier, then the first calls of the new ops in every thread at once.
        lines = ["global H", *(f"{x} = {value(rng, kind)}" for x in leaves), "ready()"]
        lines += [f"note('first', {call})" for call in first]
        for k in range(rng.randint(2, 4)):
            name = f"t{t}s{k}"
            what = rng.choices(("graph", "trace", "optim", "hogwild"), (5, 2, 1, 2))[0]
            if what == "graph":
                step = graph_step(rng, name, kind, leaves, ops)
            elif what == "trace":
                module.append(traced_function(rng, f"traced_{name}", ops))
                step = trace_step(rng, f"traced_{name}", ops)
            elif what == "optim":
                step = optim_step(rng, ops)
            else:
                module.append(hog_function(rng, f"hog_{name}", BUILT_IN, h_size))
                step = hogwild_step(rng, f"hog_{name}")
            lines += ["try:", *indent(step), "except Exception as exc:", "    error(exc)", "next_step()"]
        module += [f"def program_{t}(note, ready, next_step, error, hog, applied):", *indent(lines), ""]
    return "\n".join(module)


def load(source: str, filename: str, name: str) -> dict[str, Any]:
    """Run ``source`` as the module ``name``, its lines under ``filename`` (which the
    values' recorded sites name: the same in every run of a round)."""
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    module = types.ModuleType(name)
    module.__file__ = filename
    sys.modules[name] = module
    exec(compile(source, filename, "exec"), module.__dict__)
    return module.__dict__


def plain(x: Any) -> Any:
    """A noted value as something ``==`` compares bit for bit."""
    if isinstance(x, gg.Node):
        x = x._data
    if isinstance(x, np.ndarray):
        return ("array", x.dtype.str, x.shape, x.tobytes())
    if isinstance(x, float):
        return float.hex(x)
    if isinstance(x, (list, tuple)):
        return tuple(plain(v) for v in x)
    return x


class Run:
    """What one thread's program noted: its values and errors by step, its steps on
    ``H`` and the updates it made."""

    def __init__(self) -> None:
        self.notes: list[tuple[int, str, Any]] = []
        self.hog: list[tuple[str, np.ndarray, Any, Any, int]] = []
        self.updates: list[np.ndarray] = []
        self.step = 0
        self.where: str | None = None

    def note(self, what: str, *values: Any) -> None:
        self.notes.append((self.step, what, plain(values)))

    def next_step(self) -> None:
        self.step += 1

    def error(self, exc: Exception) -> None:
        self.notes.append((self.step, "error", (type(exc).__name__, str(exc))))
        if self.where is None and not isinstance(exc, InPlaceError):
            self.where = traceback.format_exc()

    def hog_step(self, name: str, s1: np.ndarray, s2: Any, g: Any, overlapping: int) -> None:
        self.hog.append((name, s1, s2, None if g is None else np.array(g), overlapping))

    def run(self, program: Any, ready: Any) -> None:
        try:
            with np.errstate(all="ignore"):  # per thread; an overflow to inf is the same alone
                program(self.note, ready, self.next_step, self.error, self.hog_step, self.updates.append)
        except Exception as exc:  # outside the steps: the first calls of the new ops
            self.error(exc)


def run_round(source: str, tag: str, name: str, threads: int, concurrent: bool) -> tuple[dict[str, Any], list[Run]]:
    """The programs of a round in threads at once (``concurrent``), or one thread after
    another, on a fresh load of its module."""
    space = load(source, f"<threaddiff {tag}>", name)
    space["H_START"] = space["H"].data.copy()
    runs = [Run() for _ in range(threads)]
    barrier = threading.Barrier(threads if concurrent else 1)
    workers = [threading.Thread(target=r.run, args=(space[f"program_{t}"], barrier.wait)) for t, r in enumerate(runs)]
    for w in workers:
        w.start()
        if not concurrent:
            w.join()
    for w in workers:
        w.join()
    return space, runs


def judge_hogwild(space: dict[str, Any], t: int, run: Run, counts: dict[str, int]) -> list[tuple[str, str]]:
    """Each gradient in H against the ones its copies of H give alone: the copy before
    the step, or the one after (an update between them that the step saw whole). When
    more than one update may have overlapped the step (``overlapping``: updates begun
    by its end less those finished at its start), H held other values too: not judged."""
    problems = []
    for name, s1, s2, g, overlapping in run.hog:
        counts["H steps"] += 1
        if g is None:
            counts["H refused"] += 1
            continue
        alone = [gg.grad(space[name](h), [h])[0] for h in (Tensor(s.copy(), requires_grad=True) for s in (s1, s2))]
        if any(np.array_equal(a, g, equal_nan=True) for a in alone):  # an update may overflow H
            counts["H equal"] += 1
        elif overlapping > 1 and not np.array_equal(s1, s2):
            counts["H not judged"] += 1
        else:
            problems.append(
                (f"thread {t}: {name}", f"gradient {g!r} with H = {s1!r} before, {s2!r} after: alone, {alone!r}")
            )
    return problems


def compare(source: str, tag: str, threads: int, counts: dict[str, int], reported: set[str]) -> None:
    space, runs = run_round(source, tag, f"threaddiff_{tag}", threads, concurrent=True)
    alone_space, alone = run_round(source, tag, f"threaddiff_{tag}_alone", threads, concurrent=False)
    problems = []
    for t, (got, want) in enumerate(zip(runs, alone)):
        differ = [(a, b) for a, b in zip(got.notes, want.notes) if a != b]
        if differ:
            (step, what, a), (_, _, b) = differ[0]
            problems.append((f"thread {t} step {step}: {what}", f"threads: {a!r:.500}\n  alone:   {b!r:.500}"))
        elif len(got.notes) != len(want.notes):
            problems.append((f"thread {t}: notes", f"{len(got.notes)} in threads, {len(want.notes)} alone"))
        problems += judge_hogwild(space, t, got, counts)
    made = space["H_START"] - sum((u for r in runs for u in r.updates), 0.0)
    if not np.allclose(space["H"].data, made, rtol=1e-12, atol=1e-15, equal_nan=True):
        problems.append(("H", f"{space['H'].data!r}, its start minus every update made is {made!r}"))
    for p, q in zip(space["PT"] + space["PS"], alone_space["PT"] + alone_space["PS"]):
        both = p.grad is not None and q.grad is not None
        if (p.grad is None) != (q.grad is None) or (
            both and not np.allclose(p.grad, q.grad, rtol=1e-12, atol=1e-15, equal_nan=True)
        ):
            problems.append(("shared .grad", f"threads: {p.grad!r}, alone: {q.grad!r}"))
    counts["rounds"] += 1
    counts["notes"] += sum(len(r.notes) for r in runs)
    counts["errors (same alone)"] += sum(n[1] == "error" for r in alone for n in r.notes)
    counts["MISMATCH"] += len(problems)
    for what, detail in problems:
        key = what.split(":")[-1] + detail[:30]
        if key in reported:
            continue
        reported.add(key)
        print(f"\nMISMATCH in round {tag}, {what}\n  {detail}")
        where = next((r.where for r in runs if r.where), None)
        if where:
            print("  " + where.replace("\n", "\n  "))
        print("  reproduction: run program_t(note, ready, next_step, error, hog, applied) of this module in")
        print("  each thread t at once (ready: a barrier), then alone:")
        print("\n".join("    " + line for line in source.splitlines()))
    for suffix in ("", "_alone"):
        sys.modules.pop(f"threaddiff_{tag}{suffix}", None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=60.0, help="time budget of the whole run (CPU)")
    parser.add_argument("--threads", type=int, default=3)
    help_h = "numbers in the shared parameter H: NumPy lets other threads run during an operation on many"
    parser.add_argument("--h-size", type=int, default=SHAPE, help=help_h)
    args = parser.parse_args()
    sys.setswitchinterval(1e-6)  # a switch between almost any two bytecodes
    rng = random.Random(args.seed)
    keys = (
        "rounds",
        "notes",
        "errors (same alone)",
        "H steps",
        "H equal",
        "H refused",
        "H not judged",
        "MISMATCH",
    )
    counts = dict.fromkeys(keys, 0)
    reported: set[str] = set()
    start = time.process_time()
    i = 0
    with np.errstate(all="ignore"):
        while time.process_time() - start < args.seconds:
            compare(
                round_source(rng, f"{args.seed}r{i}", args.threads, args.h_size),
                f"{args.seed}r{i}",
                args.threads,
                counts,
                reported,
            )
            i += 1
    cpu = time.process_time() - start
    print(
        f"\nseed {args.seed}, {args.threads} threads, {cpu:.0f} s of CPU: "
        + ", ".join(f"{k} {v:,}" for k, v in counts.items())
    )


if __name__ == "__main__":
    main()
