"""Differential testing of ONNX export across batch sizes: random programs over every op
with a translation, exported at one example batch size and run by onnxruntime at
several, each compared with eager glassgrad at the same input; a mismatch is shrunk to
a small program and printed as Python.

    python benchmarks/export_differential.py [--seed 0] [--seconds 60] [--family all]

Needs the export extra (onnx, onnxruntime). Two families:

- ``programs``: an input of random shape (N, …) and dtype (float32 or float64),
  parameters of random shapes and dtypes, then steps drawn from the elementwise ops,
  the four arithmetic ops with a Python number on either side, reductions (sum, mean,
  max, min, var with ddof 0 and 1, logsumexp) over any axes, the batch axis included,
  softmax and log_softmax, matmul, reshapes written as user code writes them (from the
  value's own ``.shape``: flatten, merging two axes, splitting one, adding or dropping
  a size-1 axis), transpose, broadcast_to another value's shape, concatenate, where
  with a constant mask, and cast; rarely indexing and stack, which have no
  translation (their refusal is counted). A step is kept when eager glassgrad runs it at two
  batch sizes, so a program is meant to work at any.
- ``modules``: ``nn.Sequential`` of ``Linear`` and activation layers (and a lone
  ``Linear``), float32 or float64.

Each program is exported with an example batch size of 1 to 3 and run at N = 0, 1,
the example's, and two larger. An export that refuses (ExportError) is counted by the
op it names. Where eager glassgrad raises at some N (a reshape that needs an even N,
a mean over an empty batch) that N is not compared. Otherwise the output must have
eager's dtype and shape, and its values must agree to a few hundred units in the last
place of its dtype, relative to the output's largest magnitude (at least 1):
onnxruntime's kernels (vectorized exp and tanh, reductions summed in another order)
round apart from NumPy's, and a chain of a dozen ops may compound that, while a
constant of the example's shape baked into the model is off by a large fraction. A
mismatch is reported with the batch sizes it appears at (one at the example's own
batch size is a wrong translation, not a batch-size one) and counted by kind:
``silent`` (other numbers, shape or dtype: the worst), ``fails`` (onnxruntime raises
or refuses the model) or ``crash`` (the exporter raised another error than
ExportError).
"""

from __future__ import annotations

import argparse
import itertools
import re
import time
from collections.abc import Callable
from typing import Any

import glassgrad as gg
import numpy as np
import onnxruntime as ort
import programs
from glassgrad import Tensor, ops
from glassgrad.export import ExportError, to_onnx
from glassgrad.graph import walk
from glassgrad.nn import Linear, ReLU, Sequential, Sigmoid, Tanh

ort.set_default_logger_severity(4)  # its failures are findings, reported here
F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
Step = tuple[Any, ...]  # (kind, *arguments): one line of a program
Program = list[Step]  # value 0 is the input; step i makes value i + 1

# Formulas over glassgrad.ops's names (so a reproduction prints as code); domains are
# kept by the formulas: log and sqrt see x² + c, a divisor b² + 1, a power's base |a| + ½.
UNARY = {
    "neg": "neg(x)",
    "exp": "exp(tanh(x))",
    "log": "log(x * x + 0.5)",
    "sqrt": "sqrt(x * x + 0.25)",
    "sigmoid": "sigmoid(x)",
    "tanh": "tanh(x)",
    "relu": "relu(x)",
    "abs": "abs_(x)",
    "softplus": "softplus(x)",
    "log_sigmoid": "log_sigmoid(x)",
    "cube": "power(x, 3)",
    "rsqrt": "power(x * x + 1.0, -0.5)",
    "clip": "clip(x, -0.7, 0.9)",
    "clip_lo": "clip(x, -0.5, None)",
}
BINARY = {
    "add": "add(a, b)",
    "sub": "sub(a, b)",
    "mul": "mul(a, b)",
    "div": "div(a, b * b + 1.0)",
    "maximum": "maximum(a, b)",
    "minimum": "minimum(a, b)",
    "graph_power": "power(abs_(a) + 0.5, tanh(b))",
}
REDUCTIONS = ("sum", "mean", "max", "min", "var", "var1", "logsumexp")
NAMESPACE = {name: getattr(ops, name) for name in dir(ops) if not name.startswith("_")}
UNARY_FN = {k: eval(f"lambda x: {v}", NAMESPACE) for k, v in UNARY.items()}
BINARY_FN = {k: eval(f"lambda a, b: {v}", NAMESPACE) for k, v in BINARY.items()}


def constant(shape: tuple[int, ...], dtype: Any, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-2, 2, shape).astype(dtype)


def reshape_target(shape: tuple[int, ...], how: str, k: int, a: int) -> tuple[int, ...]:
    """A reshape as user code spells it, from the value's own shape at run time."""
    if how == "flatten":
        return (-1,)
    if how == "merge":  # axes k and k + 1 into one
        return (*shape[:k], shape[k] * shape[k + 1], *shape[k + 2 :])
    if how == "split":  # axis k into (a, rest)
        return (*shape[:k], a, shape[k] // a, *shape[k + 1 :])
    if how == "keep_first":  # (N, -1): the batch axis and the rest flattened
        return (shape[0], -1)
    if how == "unsqueeze":
        return (*shape[:k], 1, *shape[k:])
    return (*shape[:k], *shape[k + 1 :])  # "squeeze" a size-1 axis


def apply_step(step: Step, vals: list[Any]) -> Any:
    kind, *a = step
    if kind == "param":
        return Tensor(constant(a[0], a[1], a[2]))
    if kind == "unary":
        return UNARY_FN[a[0]](vals[a[1]])
    if kind == "binary":
        return BINARY_FN[a[0]](vals[a[1]], vals[a[2]])
    if kind == "number":
        op, i, c, left = a
        x = vals[i]
        return (
            {"+": lambda: c + x, "-": lambda: x - c, "*": lambda: c * x, "/": lambda: x / c}[op]()
            if left
            else ({"+": x + c, "-": c - x, "*": x * c, "/": c / (x * x + 1.0)}[op])
        )
    if kind == "reduce":
        name, i, axis, keepdims = a
        if name.startswith("var"):
            return gg.var(vals[i], axis=axis, keepdims=keepdims, ddof=int(name == "var1"))
        return getattr(gg, name)(vals[i], axis=axis, keepdims=keepdims)
    if kind == "along":
        return getattr(gg, a[0])(vals[a[1]], axis=a[2])
    if kind == "reshape":
        how, i, k, n = a
        return vals[i].reshape(reshape_target(vals[i].shape, how, k, n))
    if kind == "transpose":
        return gg.transpose(vals[a[0]], a[1])
    if kind == "broadcast":
        return gg.broadcast_to(vals[a[0]], vals[a[1]].shape)
    if kind == "concat":
        return gg.concatenate([vals[a[0]], vals[a[1]]], axis=a[2])
    if kind == "matmul":
        return vals[a[0]] @ vals[a[1]]
    if kind == "where":
        i, j, seed = a
        return gg.where(constant(np.broadcast_shapes(vals[i].shape, vals[j].shape), F64, seed) > 0, vals[i], vals[j])
    if kind == "cast":
        return gg.cast(vals[a[0]], a[1])
    if kind == "index":
        return vals[a[0]][..., :1]
    return gg.stack([vals[a[0]], vals[a[1]]])


def function_of(program: Program) -> Callable[[Tensor], Tensor]:
    """The program as a function of its input: its last value (a number for nothing)."""

    def fn(x: Tensor) -> Tensor:
        vals = [x]
        for step in program:
            vals.append(apply_step(step, vals))
        return vals[-1]

    return fn


# -- drawing a program ------------------------------------------------------------------


STEP_KINDS = ("unary", "binary", "number", "reduce", "along", "reshape", "transpose", "broadcast", "concat", "matmul")
STEP_KINDS += ("where", "cast", "index", "stack")
STEP_WEIGHTS = np.array([16, 18, 8, 16, 5, 12, 4, 4, 4, 6, 2, 3, 1, 1], float)


class Builder:
    """Draws steps at random, keeping each that eager glassgrad runs at two batch sizes."""

    def __init__(self, r: np.random.Generator, example: np.ndarray, other: np.ndarray) -> None:
        self.r = r
        self.program: Program = []
        self.vals = [[Tensor(example)], [Tensor(other)]]

    def try_add(self, step: Step) -> bool:
        try:
            with np.errstate(all="ignore"):
                new = [apply_step(step, vals) for vals in self.vals]
        except (ValueError, TypeError, IndexError):
            return False
        for vals, v in zip(self.vals, new):
            vals.append(v)
        self.program.append(step)
        return True

    def pick(self) -> int:
        """A value, the later ones likelier."""
        n = len(self.vals[0])
        return int(self.r.choice(n, p=np.arange(1, n + 1) / (n * (n + 1) / 2)))

    def shape(self, i: int) -> tuple[int, ...]:
        return tuple(self.vals[0][i].shape)

    def param(self, shape: tuple[int, ...]) -> int:
        self.try_add(("param", shape, self.r.choice([F32, F64]), int(self.r.integers(1 << 30))))
        return len(self.vals[0]) - 1

    def partner(self, i: int) -> int:
        """Another value for a binary step: an earlier one, or a parameter that
        broadcasts against value i (its trailing axes, or some of them set to 1)."""
        if self.r.random() < 0.5:
            return self.pick()
        shape = self.shape(i)[int(self.r.integers(0, len(self.shape(i)) + 1)) :]
        return self.param(tuple(1 if self.r.random() < 0.3 else n for n in shape))

    def axis(self, i: int) -> Any:
        ndim = len(self.shape(i))
        u = self.r.random()
        if u < 0.2 or not ndim:
            return None
        axes = tuple(int(a) for a in self.r.choice(ndim, size=int(self.r.integers(1, ndim + 1)), replace=False))
        return axes[0] - ndim * int(self.r.random() < 0.3) if len(axes) == 1 else axes

    def step(self) -> None:
        r = self.r
        kind = r.choice(
            STEP_KINDS,
            p=STEP_WEIGHTS / STEP_WEIGHTS.sum(),
        )
        i = self.pick()
        ndim = len(self.shape(i))
        if kind == "unary":
            self.try_add(("unary", str(r.choice(list(UNARY))), i))
        elif kind == "binary":
            self.try_add(("binary", str(r.choice(list(BINARY))), i, self.partner(i)))
        elif kind == "number":
            self.try_add(
                ("number", str(r.choice(["+", "-", "*", "/"])), i, float(r.choice([0.5, 2.0, -1.5])), r.random() < 0.5)
            )
        elif kind == "reduce":
            self.try_add(("reduce", str(r.choice(REDUCTIONS)), i, self.axis(i), bool(r.random() < 0.4)))
        elif kind == "along" and ndim:
            self.try_add(("along", str(r.choice(["softmax", "log_softmax"])), i, int(r.integers(-ndim, ndim))))
        elif kind == "reshape":
            how = str(r.choice(["flatten", "merge", "split", "keep_first", "unsqueeze", "squeeze"]))
            self.try_add(("reshape", how, i, int(r.integers(0, ndim + 1)), int(r.choice([2, 3]))))
        elif kind == "transpose":
            self.try_add(("transpose", i, tuple(int(a) for a in r.permutation(ndim))))
        elif kind == "broadcast":
            self.try_add(("broadcast", i, self.pick()))
        elif kind == "concat" and ndim:
            self.try_add(("concat", i, self.pick(), int(r.integers(-ndim, ndim))))
        elif kind == "matmul" and ndim:
            n = self.shape(i)[-1]
            self.try_add(("matmul", i, self.param((n, int(r.integers(1, 4))) if r.random() < 0.7 else (n,))))
        elif kind == "where":
            self.try_add(("where", i, self.partner(i), int(r.integers(1 << 30))))
        elif kind == "cast":
            self.try_add(("cast", i, r.choice([F32, F64])))
        elif kind == "index" and ndim:
            self.try_add(("index", i))
        elif kind == "stack":
            self.try_add(("stack", i, self.pick()))


def random_input(r: np.random.Generator, n: int, features: tuple[int, ...], dtype: Any) -> np.ndarray:
    return r.standard_normal((n, *features)).astype(dtype)


def random_case(family: str, r: np.random.Generator) -> tuple[Program | Any, np.ndarray]:
    """A program (or a module) and its example input."""
    dtype = r.choice([F32, F64])
    n = int(r.integers(1, 4))
    if family == "modules":
        sizes = [int(s) for s in r.integers(1, 6, size=int(r.integers(2, 5)))]
        layers: list[Any] = []
        for k, (a, b) in enumerate(itertools.pairwise(sizes)):
            layers.append(Linear(a, b, bias=bool(r.random() < 0.8), dtype=r.choice([F32, F64]), rng=k))
            layers.append(r.choice([ReLU, Tanh, Sigmoid])())
        kept = layers[: int(r.integers(1, len(layers) + 1))]
        return (kept[0] if len(kept) == 1 else Sequential(*kept)), random_input(r, n, (sizes[0],), dtype)
    features = tuple(int(s) for s in r.integers(1, 5, size=int(r.integers(0, 3))))
    b = Builder(r, random_input(r, n, features, dtype), random_input(r, n + 2, features, dtype))
    for _ in range(int(r.integers(1, 10))):
        b.step()
    return b.program, b.vals[0][0].data


# -- comparing one case ----------------------------------------------------------------


class Skip(Exception):
    """The program is no test: eager glassgrad refuses it at the example's batch size."""


def compare(case: Program | Any, example: np.ndarray, r: np.random.Generator) -> tuple[str, str | None]:
    """("refused", the error) when export refuses, else ("compared", how onnxruntime
    differs from eager glassgrad at some batch size, or None)."""
    fn = function_of(case) if isinstance(case, list) else case
    with np.errstate(all="ignore"):
        try:  # a shrunk program may not run at all
            recorded = fn(Tensor(example, requires_grad=True))
        except (ValueError, TypeError, IndexError) as e:
            raise Skip(str(e)) from e
        try:
            model = to_onnx(fn, example)
        except ExportError as e:
            return "refused", str(e)
        except Exception as e:  # a crash of the exporter is a finding
            return "compared", f"crash: export raised {type(e).__name__}: {e}"
    try:
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime's errors have no common base
        return "compared", f"fails: onnxruntime refuses the model: {str(e).splitlines()[0][:200]}"
    n0 = example.shape[0]
    # A float32 value anywhere (the input, a parameter, a cast) bounds the precision.
    with np.errstate(all="ignore"):
        dtypes = {np.result_type(v.data) for v in walk(recorded)}
    eps = float(np.finfo(F32 if F32 in dtypes else F64).eps)
    wrong = []
    for n in sorted({0, 1, n0, n0 + 3, 2 * n0 + 5}):
        x = random_input(r, n, example.shape[1:], example.dtype)
        try:
            with np.errstate(all="ignore"):
                expected = fn(Tensor(x)).data
        except (ValueError, TypeError, IndexError):
            continue
        try:
            (got,) = session.run(None, {"input": x})
        except Exception as e:  # onnxruntime's errors have no common base
            wrong.append((n, f"onnxruntime raised {str(e).splitlines()[0][:160]}"))
            continue
        problem = differs(got, np.asarray(expected), eps)
        if problem:
            wrong.append((n, problem))
    if not wrong:
        return "compared", None
    # Silent: onnxruntime gave other numbers, shapes or dtypes; else it raised.
    kind = "silent" if any(not p.startswith("onnxruntime") for _, p in wrong) else "fails"
    where = "at the example's N" if any(n == n0 for n, _ in wrong) else "at other N only"
    return "compared", f"{kind} {where} ({n0}): " + "; ".join(f"N={n}: {p}" for n, p in wrong[:2])


def differs(got: np.ndarray, expected: np.ndarray, eps: float) -> str | None:
    if got.dtype != expected.dtype:
        return f"dtype {got.dtype}, eager {expected.dtype}"
    if got.shape != expected.shape:
        return f"shape {got.shape}, eager {expected.shape}"
    finite = np.isfinite(expected)
    if not np.array_equal(np.isfinite(got), finite) or not expected.size:
        return None if np.array_equal(got, expected, equal_nan=True) else "non-finite values differ"
    scale = max(float(np.abs(expected[finite]).max(initial=0)), 1.0)
    err = np.abs(got.astype(F64) - expected.astype(F64))[finite]
    allowed = 300 * eps * scale
    if np.all(err <= allowed):
        return None
    return f"off by {err.max():.3g} (allowed {allowed:.2g})"


# -- shrinking a mismatch to a small program ------------------------------------------

REFS = {  # the positions (after the kind) of a step's arguments that name earlier values
    "param": (),
    "unary": (1,),
    "binary": (1, 2),
    "number": (1,),
    "reduce": (1,),
    "along": (1,),
    "reshape": (1,),
    "transpose": (0,),
    "broadcast": (0, 1),
    "concat": (0, 1),
    "matmul": (0, 1),
    "where": (0, 1),
    "cast": (0,),
    "index": (0,),
    "stack": (0, 1),
}


def without(program: Program, i: int) -> Program | None:
    """``program`` without step i, its uses reading step i's first input instead (None
    for a parameter that is used)."""
    step = program[i]
    refs = REFS[step[0]]
    if not refs and any(s[k + 1] == i + 1 for s in program for k in REFS[s[0]]):
        return None
    source = step[refs[0] + 1] if refs else 0
    out = []
    for s in program[:i] + program[i + 1 :]:
        s = list(s)
        for k in REFS[s[0]]:
            old = s[k + 1]
            s[k + 1] = source if old == i + 1 else old - (old > i + 1)
        out.append(tuple(s))
    return out


def shrink(program: Program, example: np.ndarray, found: str, budget: int = 200) -> tuple[Program, str]:
    """A shorter program that still mismatches: prefixes first, then single steps dropped."""

    def still(p: Program) -> str | None:
        try:
            kind, m = compare(p, example, np.random.default_rng(1))
        except Skip:
            return None
        return m if kind == "compared" and m is not None and m.split()[0] == found.split()[0] else None

    return programs.shrink(program, found, still, without, budget)


def render(program: Program, example: np.ndarray) -> str:
    """The program as glassgrad code, with its export at the example's batch size."""
    lines = ["import glassgrad as gg, numpy as np", "from glassgrad import Tensor, ops"]
    lines += ["from glassgrad.export import to_onnx", "", "", "def fn(v0):"]
    for i, (kind, *a) in enumerate(program, start=1):
        if kind == "param":
            code = f"Tensor(np.random.default_rng({a[2]}).uniform(-2, 2, {a[0]}).astype(np.{a[1]}))"
        elif kind in ("unary", "binary"):
            names = {"x": f"v{a[1]}"} if kind == "unary" else {"a": f"v{a[1]}", "b": f"v{a[2]}"}
            code = programs.formula_code((UNARY if kind == "unary" else BINARY)[a[0]], names)
        elif kind == "number":
            op, j, c, left = a
            right = {"+": f"v{j} + {c}", "-": f"{c} - v{j}", "*": f"v{j} * {c}", "/": f"{c} / (v{j} * v{j} + 1.0)"}
            code = f"{c} {op} v{j}" if left and op != "-" else (f"v{j} - {c}" if left else right[op])
        elif kind == "reduce":
            name, ddof = ("var", f", ddof={int(a[0] == 'var1')}") if a[0].startswith("var") else (a[0], "")
            code = f"gg.{name}(v{a[1]}, axis={a[2]!r}, keepdims={a[3]}{ddof})"
        elif kind == "along":
            code = f"gg.{a[0]}(v{a[1]}, axis={a[2]})"
        elif kind == "reshape":
            code = f"v{a[1]}.reshape({reshape_code(a[0], f'v{a[1]}.shape', a[2], a[3])})"
        elif kind == "transpose":
            code = f"gg.transpose(v{a[0]}, {a[1]})"
        elif kind == "broadcast":
            code = f"gg.broadcast_to(v{a[0]}, v{a[1]}.shape)"
        elif kind == "concat":
            code = f"gg.concatenate([v{a[0]}, v{a[1]}], axis={a[2]})"
        elif kind == "matmul":
            code = f"v{a[0]} @ v{a[1]}"
        elif kind == "where":
            shape = f"np.broadcast_shapes(v{a[0]}.shape, v{a[1]}.shape)"
            code = f"gg.where(np.random.default_rng({a[2]}).uniform(-2, 2, {shape}) > 0, v{a[0]}, v{a[1]})"
        elif kind == "cast":
            code = f"gg.cast(v{a[0]}, np.{a[1]})"
        elif kind == "index":
            code = f"v{a[0]}[..., :1]"
        else:
            code = f"gg.stack([v{a[0]}, v{a[1]}])"
        lines.append(f"    v{i} = {code}")
    lines.append(f"    return v{len(program)}")
    lines.append(f"model = to_onnx(fn, np.zeros({example.shape}, np.{example.dtype}))")
    return "\n".join(lines)


def reshape_code(how: str, shape: str, k: int, a: int) -> str:
    return {
        "flatten": "-1",
        "merge": f"(*{shape}[:{k}], {shape}[{k}] * {shape}[{k + 1}], *{shape}[{k + 2}:])",
        "split": f"(*{shape}[:{k}], {a}, {shape}[{k}] // {a}, *{shape}[{k + 1}:])",
        "keep_first": f"{shape}[0], -1",
        "unsqueeze": f"(*{shape}[:{k}], 1, *{shape}[{k}:])",
        "squeeze": f"(*{shape}[:{k}], *{shape}[{k + 1}:])",
    }[how]


# -- the run ---------------------------------------------------------------------------

FAMILIES = ("programs", "modules")


def refusal_reason(message: str) -> str:
    """The op a refusal names, for counting (the message up to its first colon or ';')."""
    return re.split(r"[;:(]", message.removeprefix("export: "), maxsplit=1)[0].strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=60.0, help="time budget of the whole run")
    parser.add_argument("--family", choices=("all", *FAMILIES), default="all")
    args = parser.parse_args()
    families = FAMILIES if args.family == "all" else (args.family,)
    r = np.random.default_rng(args.seed)
    compared = dict.fromkeys(families, 0)
    wrong: dict[str, int] = {}
    refused: dict[str, int] = {}
    reported: set[str] = set()
    start = time.process_time()
    while time.process_time() - start < args.seconds:
        for family in families:
            case, example = random_case(family, r)
            try:
                kind, found = compare(case, example, r)
            except Skip:
                continue
            if kind == "refused":
                assert found is not None
                refused[refusal_reason(found)] = refused.get(refusal_reason(found), 0) + 1
                continue
            compared[family] += 1
            if found is None:
                continue
            wrong[found.split()[0].rstrip(":")] = wrong.get(found.split()[0].rstrip(":"), 0) + 1
            if family == "modules":
                print(f"\n[modules] {found}\n{case!r}, example {example.shape} {example.dtype}")
                continue
            small, found = shrink(case, example, found)
            key = found.split()[0] + " ".join(str(s[:2]) for s in small if s[0] != "param")
            if key not in reported:
                reported.add(key)
                print(f"\n[{family}] {found}\n{render(small, example)}")
    cpu = time.process_time() - start
    print(
        f"\nseed {args.seed}, {cpu:.0f} s of CPU: exported and compared "
        + ", ".join(f"{n:,} {f}" for f, n in compared.items())
    )
    print(f"mismatching: {sum(wrong.values()):,} (" + ", ".join(f"{n:,} {k}" for k, n in sorted(wrong.items())) + ")")
    print(f"distinct programs reported: {len(reported)}")
    print(f"export refused: {sum(refused.values()):,}")
    for reason, n in sorted(refused.items(), key=lambda kv: -kv[1]):
        print(f"  {n:,} × {reason}")


if __name__ == "__main__":
    main()
