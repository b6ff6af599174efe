"""Trace once, replay fast: a function's forward and backward pass as straight-line code.

``trace(f, *example_inputs)`` runs ``f`` once on the engine, reads the graph it
recorded, and writes the whole computation out as one Python function: each op's
forward, then the chain rule from the output back to every input, one line per step::

    v = f(x, …)                  forward, op by op, in the order they ran
    ∂L/∂L = 1                    the seed
    ∂L/∂u = Σ (∂L/∂v · ∂v/∂u)    one contribution per use of u, newest op first

The lines are the ops' own ``forward`` and ``backward`` bodies, inlined with the
values' names (an op whose body is more than one expression is called instead), so
the replay computes exactly what eager glassgrad computes, without building a graph:
no nodes, no dispatch, no bookkeeping per op. ``compiled.source`` is that code.

The rules of tracing (as in any tracer, ``jax.jit`` among them):

- The trace records the ops that ran for the example inputs. Python control flow
  that depends on values (``if loss.item() > 1``) is fixed at the branch it took.
- Calling the compiled step with inputs of another shape or dtype traces ``f``
  again for them (each signature is traced once and kept).
- Values computed inside ``f`` from nothing but constants (no input, no parameter
  that requires grad) are computed once, at trace time.
- Parameters ``f`` reads from outside (a model's weights) are read afresh at every
  call, so an optimizer's updates between calls are seen.
"""

from __future__ import annotations

import ast
import inspect
import os
import sys
import textwrap
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import numpy as np

from .errors import GlassgradError, GradError
from .graph import Function, Node, RawCtx, record_sites, walk
from .ops.base import sum_to
from .scalar import Scalar
from .tensor import Tensor

__all__ = ["Compiled", "TraceError", "trace"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class TraceError(GlassgradError):
    """The function cannot be replayed from one trace (see the rules of tracing)."""


# ---------------------------------------------------------------------------------------
# Reading an op's body as an expression
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Body:
    """An op's ``forward`` or ``backward`` as expressions over its argument names."""

    args: tuple[str, ...]  # the parameters after ctx, in order (keyword ones included)
    # One template per result (None: no gradient), each argument written as _TOKEN.format(i).
    results: tuple[str | None, ...]
    free: frozenset[str]  # global names the expressions read


_TOKEN = "__arg{}__"


_BODIES: dict[Callable[..., Any], _Body | None] = {}


def _body(func: Callable[..., Any]) -> _Body | None:
    """The returned expressions of ``func`` when it is a single ``return`` that uses
    ``ctx`` only as ``ctx.xp``; None when it must be called instead of inlined."""
    if func in _BODIES:
        return _BODIES[func]
    found = None
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        tree = None
    if tree is not None and isinstance(tree.body[0], ast.FunctionDef):
        found = _read_body(tree.body[0])
    _BODIES[func] = found
    return found


def _read_body(fdef: ast.FunctionDef) -> _Body | None:
    stmts = [s for s in fdef.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    a = fdef.args
    if len(stmts) != 1 or not isinstance(stmts[0], ast.Return) or a.vararg or a.kwarg or stmts[0].value is None:
        return None
    names = [p.arg for p in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
    ctx, args = names[0], tuple(names[1:])
    value = _XpToName(ctx).visit(stmts[0].value)
    for node in ast.walk(value):
        if isinstance(node, ast.Name) and node.id == ctx:
            return None  # ctx beyond ctx.xp (saved, needs_input_grad): call the op
        if isinstance(node, (ast.Lambda, ast.NamedExpr, ast.comprehension)):
            return None
    loads = {n.id for n in ast.walk(value) if isinstance(n, ast.Name)}
    value = _Rename({a: ast.Name(_TOKEN.format(i), ast.Load()) for i, a in enumerate(args)}).visit(value)
    elts = value.elts if isinstance(value, ast.Tuple) else [value]
    results = tuple(None if isinstance(e, ast.Constant) and e.value is None else ast.unparse(e) for e in elts)
    return _Body(args, results, frozenset(loads - set(args) - {"xp"}))


class _XpToName(ast.NodeTransformer):
    """``ctx.xp`` becomes the name ``xp`` (the kernels are bound in the namespace)."""

    def __init__(self, ctx: str) -> None:
        self.ctx = ctx

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        if isinstance(node.value, ast.Name) and node.value.id == self.ctx and node.attr == "xp":
            return ast.copy_location(ast.Name("xp", ast.Load()), node)
        return self.generic_visit(node)


class _Rename(ast.NodeTransformer):
    def __init__(self, mapping: dict[str, ast.expr]) -> None:
        self.mapping = mapping

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return self.mapping.get(node.id, node)


def _literal(value: Any) -> ast.expr | None:
    """``value`` as a literal expression, when its repr reads back as the same value."""
    try:
        expr = ast.parse(repr(value), mode="eval").body
        same = ast.literal_eval(expr) == value
    except (SyntaxError, ValueError, TypeError):
        return None
    return expr if same is True else None


# ---------------------------------------------------------------------------------------
# Naming values as the user did
# ---------------------------------------------------------------------------------------


@contextmanager
def _local_names(names: dict[int, str]) -> Iterator[None]:
    """While active, record the local variable names of the user's frames that hold
    graph values (id → name; the first name seen when a frame returns wins)."""

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "return" and not frame.f_code.co_filename.startswith(_PACKAGE_DIR):
            for name, value in frame.f_locals.items():
                if isinstance(value, Node) and name.isidentifier():
                    names.setdefault(id(value), name)

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        yield
    finally:
        sys.setprofile(previous)


def _outer_names(fn: Callable[..., Any]) -> dict[int, str]:
    """Names ``fn`` gives the graph values it reads from outside: its closure's and
    globals' names, and for a method or a Module, its parameters' attribute names."""
    names: dict[int, str] = {}
    owner = getattr(fn, "__self__", None)
    for source in (owner, fn):
        if source is not None and hasattr(source, "named_parameters"):
            names.update((id(p), name.replace(".", "_")) for name, p in source.named_parameters())
    if owner is not None:
        names.update((id(v), k) for k, v in vars(owner).items() if isinstance(v, Node))
    code = getattr(fn, "__code__", None)
    if code is not None:
        cells = zip(code.co_freevars, getattr(fn, "__closure__", None) or ())
        names.update((id(c.cell_contents), k) for k, c in cells if isinstance(_cell(c), Node))
        glob = getattr(fn, "__globals__", {})
        names.update((id(glob[k]), k) for k in code.co_names if isinstance(glob.get(k), Node))
    return names


def _cell(cell: Any) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell
        return None


class _Namer:
    """Unique Python identifiers for values, preferring the user's own names."""

    def __init__(self, taken: set[str]) -> None:
        self.taken = set(taken)
        self.next: dict[str, int] = {}  # the next suffix to try for a base name

    def __call__(self, wish: str) -> str:
        base = wish if wish.isidentifier() and not wish.startswith("_") else "v"
        name, k = base, self.next.get(base, 1)
        if k > 1:
            name = f"{base}_{k}"
        while name in self.taken or name in _KEYWORDS:
            k += 1
            name = f"{base}_{k}"
        self.next[base] = k + 1
        self.taken.add(name)
        return name

    def copy(self) -> _Namer:
        twin = _Namer(self.taken)
        twin.next = dict(self.next)
        return twin


_KEYWORDS = frozenset(__import__("keyword").kwlist) | frozenset(dir(__import__("builtins")))


# ---------------------------------------------------------------------------------------
# The program
# ---------------------------------------------------------------------------------------


@dataclass
class _Program:
    """The straight-line code of one traced signature and what it needs to run."""

    source: str
    run: Callable[..., Any]
    wrt: tuple[Node, ...]  # the leaves whose gradients it returns: inputs, then parameters
    captured: tuple[Node, ...]  # leaves read from outside at every call
    captured_signature: Any  # shapes and dtypes of the captured leaves when traced


@dataclass
class _Writer:
    """Writes the forward and backward lines of a traced graph."""

    kind: type[Node]
    namespace: dict[str, Any] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)  # id → the value's name in the code
    ctxs: dict[int, str] = field(default_factory=dict)  # the ctx name of each op that is called
    forward: list[str] = field(default_factory=list)
    backward: list[str] = field(default_factory=list)

    reduce_sites: set[int] | None = None  # broadcast sums that change a shape (None: not yet known)
    sites: int = 0
    bound: dict[int, str] = field(default_factory=dict)

    def bind(self, namer: _Namer, wish: str, value: Any) -> str:
        """A name in the namespace for an object the code refers to (one per object)."""
        name = self.bound.get(id(value))
        if name is None:
            name = self.bound[id(value)] = namer(wish)
            self.namespace[name] = value
        return name

    def reduce(self, expr: str, shape: tuple[int, ...]) -> str:
        """``expr`` summed back to ``shape`` where broadcasting stretched it: every site
        is a call on the first, trial run; afterwards only the sites that summed."""
        site, self.sites = self.sites, self.sites + 1
        if self.reduce_sites is None:
            return f"_reduce({site}, {expr}, {shape!r})"
        return f"sum_to({expr}, {shape!r})" if site in self.reduce_sites else expr


@dataclass
class _Graph:
    """A traced graph, its values named: what the writer turns into code."""

    out: Node
    ops: list[Node]  # the op outputs, oldest first
    inputs: Sequence[Node]
    captured: list[Node]  # leaves read from outside at every call
    wrt: list[Node]  # the leaves whose gradients the program returns
    names: dict[int, str]  # id → the value's name in the code
    namer: _Namer  # the names used so far


def _record(fn: Callable[..., Any], inputs: Sequence[Node], wanted: Sequence[bool]) -> _Graph:
    """Run ``fn`` on ``inputs`` (all requiring grad, so every op on them is recorded)
    and name the values of the graph it builds."""
    local = _outer_names(fn)
    with record_sites(), _local_names(local):
        out = fn(*inputs)
    if not isinstance(out, Node):
        name = getattr(fn, "__name__", "the function")
        raise TypeError(f"trace: {name} must return a Scalar or Tensor, got {type(out).__name__}")
    if isinstance(out, Tensor) and out.size != 1:
        raise GradError(
            f"trace: the output has shape {out.shape}; the compiled step differentiates a single number. "
            "Reduce it inside the function (e.g. .sum() or .mean())."
        )
    order = walk(out)
    _check_replayable(fn, inputs, order)
    ops = [n for n in order if n.fn is not None]
    namer = _Namer(set().union(*(_free_names(n.fn) for n in ops)) | set(_BUILTINS))  # type: ignore[arg-type]
    position = {id(x): i for i, x in enumerate(inputs)}
    arg_names = _argument_names(fn, len(inputs))
    names = {id(x): namer(arg_names[i]) for i, x in enumerate(inputs)}
    captured: list[Node] = []
    for node in order:
        if node.fn is None and id(node) not in position:
            names[id(node)] = namer(local.get(id(node)) or node.name or ("p" if node.requires_grad else "c"))
            captured.append(node)
    for node in ops:
        fallback = "loss" if node is out else node.fn.name  # type: ignore[union-attr]
        names[id(node)] = namer(local.get(id(node)) or node.name or fallback)
    wrt = [x for x, keep in zip(inputs, wanted) if keep] + [n for n in captured if n.requires_grad]
    return _Graph(out, ops, inputs, captured, wrt, names, namer)


def _check_replayable(fn: Callable[..., Any], inputs: Sequence[Node], order: Sequence[Node]) -> None:
    """Run ``fn`` again on slightly moved inputs and compare the graphs: the ops must be
    the same, and so must every constant. A constant that moved was computed from an
    input's values outside the graph (``np.asarray(x)``, ``x.item()``, ``x.data``), and
    the replay would reuse the traced one; ops that differ mean control flow that
    depends on the values. Both are errors: the compiled step would compute something
    else than ``fn``."""
    # Shrunk toward 0 by one part in 2²⁰: inside every domain the inputs were in
    # ([0, 1], x > 0, x ≠ 0), and different wherever an input is not 0.
    if not inputs:  # nothing can move
        return
    moved = [_leaf(type(x), x._data * (1 - 2**-20)) for x in inputs]
    try:
        with record_sites():
            again = walk(fn(*moved))
    except GlassgradError:  # the function refuses the moved inputs: nothing to compare
        return
    name = getattr(fn, "__qualname__", "the function")
    if [n.fn for n in again] != [n.fn for n in order]:
        raise TraceError(
            f"trace: {name} runs other ops when its inputs' values change (Python control flow on values); "
            "trace each branch separately, or run it eagerly"
        )
    for a, b in zip(order, again):
        pa, pb = a.params, b.params
        if pa.keys() != pb.keys() or not all(_same(pa[k], pb[k]) for k in pa):
            raise TraceError(
                f"trace: a parameter of {a.op} ({', '.join(pa)}) is computed from {name}'s inputs' values; "
                "the replay would reuse the traced one. Run it eagerly."
            )
    ids = {id(x) for x in [*inputs, *moved]}
    for a, b in zip(order, again):
        if a.fn is None and id(a) not in ids and not a.requires_grad and not _same(a._data, b._data):
            raise TraceError(
                f"trace: {name} computes a constant ({a._describe()}) from its inputs' values outside the graph "
                "(np.asarray(x), x.item(), x.data, float(x)); the replay would reuse the traced value. "
                "Keep the computation on graph values."
            )


def _leaf(kind: type[Node], data: Any, requires_grad: bool = True) -> Node:
    """A new leaf of ``kind``; traced inputs require grad, so every op on them is recorded."""
    make: Callable[..., Node] = kind
    return make(data, requires_grad=requires_grad)


def _same(a: Any, b: Any) -> bool:
    return a is b or bool(np.array_equal(a, b))


_BUILTINS = {"xp": None, "np": np, "sum_to": sum_to, "RawCtx": RawCtx}


def _write(graph: _Graph, reduce_sites: set[int] | None) -> tuple[str, dict[str, Any]]:
    """The program's source and the namespace it runs in."""
    kind = type(graph.out)
    w = _Writer(kind, {**_BUILTINS, "xp": kind.xp}, graph.names, reduce_sites=reduce_sites)
    for op in graph.ops:
        w.namespace.update({n: _global(op.fn, n) for n in _free_names(op.fn)})  # type: ignore[arg-type]
    namer = graph.namer.copy()
    names = graph.names
    needs = _needs_grad(graph.ops, {id(x) for x in graph.wrt})
    for node in graph.ops:
        _write_forward(w, namer, node, names, needs)
    grad_names = _write_backward(w, namer, graph.ops, names, needs, graph.out)
    header = ", ".join(names[id(x)] for x in [*graph.inputs, *graph.captured])
    # A leaf the output does not depend on has a zero gradient, as in grad(f).
    unused = [x for x in graph.wrt if id(x) not in grad_names]
    zeros = {
        id(x): w.bind(namer, f"zero_{names[id(x)]}", np.zeros_like(x._data) if x.broadcasting else 0.0) for x in unused
    }
    results = _tuple([grad_names.get(id(x)) or zeros[id(x)] for x in graph.wrt]) if graph.wrt else "()"
    lines = [f"def step({header}):", "    # forward", *w.forward, "    # backward: the chain rule, newest op first"]
    lines += [*w.backward, f"    return {names[id(graph.out)]}, {results}"]
    return "\n".join(lines) + "\n", w.namespace


def _compile(fn: Callable[..., Any], inputs: Sequence[Node], wanted: Sequence[bool]) -> _Program:
    """Trace ``fn`` and compile its program. A first version sums every broadcasting
    op's gradient back to its input's shape, as the eager driver does, and runs once
    on the traced values to find the sums that change a shape; the program keeps
    only those (shapes are fixed for a traced signature)."""
    graph = _record(fn, inputs, wanted)
    name = f"<trace of {getattr(fn, '__qualname__', 'f')}>"
    if not type(graph.out).broadcasting:  # Scalars: no gradient is ever summed
        return _program(graph, set(), name)
    trial_source, namespace = _write(graph, None)
    summed: set[int] = set()

    def reduce(site: int, g: Any, shape: tuple[int, ...]) -> Any:
        if np.shape(g) != shape:
            summed.add(site)
        return sum_to(g, shape)

    namespace["_reduce"] = reduce
    exec(compile(trial_source, name, "exec"), namespace)
    namespace["step"](*[x._data for x in [*graph.inputs, *graph.captured]])
    return _program(graph, summed, name)


def _program(graph: _Graph, summed: set[int], name: str) -> _Program:
    source, namespace = _write(graph, summed)
    exec(compile(source, name, "exec"), namespace)
    captured_signature = _signature([c._data for c in graph.captured])
    return _Program(source, namespace["step"], tuple(graph.wrt), tuple(graph.captured), captured_signature)


def _free_names(fn: type[Function]) -> set[str]:
    return set().union(*(b.free for b in (_body(fn.forward), _body(fn.backward)) if b))


def _global(fn: type[Function], name: str) -> Any:
    """What ``name`` means inside the module that defines ``fn``."""
    module = sys.modules[fn.__module__]
    if hasattr(module, name):
        return getattr(module, name)
    return getattr(__import__("builtins"), name)


def _argument_names(fn: Callable[..., Any], n: int) -> list[str]:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return [names[i] if i < len(names) else f"x{i}" for i in range(n)]


def _needs_grad(ops: Sequence[Node], wrt: set[int]) -> set[int]:
    """The ids of the values whose gradient the program must compute: the wanted
    leaves and every op output that depends on one of them."""
    needs = set(wrt)
    for node in ops:
        if any(id(p) in needs for p in node.parents):
            needs.add(id(node))
    return needs


def _write_forward(w: _Writer, namer: _Namer, node: Node, names: dict[int, str], needs: set[int]) -> None:
    fn, params = node.fn, node.params
    assert fn is not None
    args = [names[id(p)] for p in node.parents]
    out = names[id(node)]
    if fn.domains:
        op = w.bind(namer, fn.__name__, fn)
        w.forward.append(f"    {op}.check_domains({_tuple(args)})")
    body = _body(fn.forward)
    expr = _inline(body, args, params) if body is not None else None
    if expr is not None and len(expr) == 1:
        w.forward.append(f"    {out} = {expr[0]}")
        return
    op = w.bind(namer, fn.__name__, fn)
    ctx = w.ctxs[id(node)] = namer(f"ctx_{out}")
    w.forward.append(f"    {ctx} = RawCtx(xp, {tuple(id(p) in needs for p in node.parents)!r})")
    kw = _keywords(w, namer, params)
    w.forward.append(f"    {out} = {op}.forward({ctx}, {', '.join(args)}{kw})")


def _tuple(items: Sequence[str]) -> str:
    """A tuple display of names: ``(a,)``, ``(a, b)``."""
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def _keywords(w: _Writer, namer: _Namer, params: dict[str, Any]) -> str:
    parts = []
    for key, value in params.items():
        lit = _literal(value)
        parts.append(f"{key}={ast.unparse(lit) if lit is not None else w.bind(namer, key, value)}")
    return "".join(", " + p for p in parts)


def _inline(body: _Body, args: Sequence[str], params: dict[str, Any]) -> list[str] | None:
    """The body's result expressions with the op's arguments and parameters filled in."""
    fill = list(args)
    for name in body.args[len(args) :]:
        if name not in params:
            return None  # a parameter left at its default: the default is read by a call
        lit = _literal(params[name])
        if lit is None:
            return None
        text = ast.unparse(lit)
        fill.append(f"({text})" if text.startswith("-") else text)
    out = []
    for template in body.results:
        if template is not None:
            for i, text in enumerate(fill):
                template = template.replace(_TOKEN.format(i), text)
        out.append("None" if template is None else template)
    return out


def _write_backward(
    w: _Writer, namer: _Namer, ops: Sequence[Node], names: dict[int, str], needs: set[int], out: Node
) -> dict[int, str]:
    """The backward lines; returns the name of each value's gradient."""
    grads: dict[int, str] = {}
    seed = namer(f"g_{names[id(out)]}")
    if isinstance(out, Tensor):
        w.backward.append(f"    {seed} = np.ones_like({names[id(out)]})")
    else:
        w.backward.append(f"    {seed} = 1.0")
    grads[id(out)] = seed
    for node in reversed(ops):
        g = grads.get(id(node))
        if g is None or id(node) not in needs:
            continue
        fn = node.fn
        assert fn is not None
        parents = node.parents
        args = [names[id(p)] for p in parents]
        wanted = [id(p) in needs for p in parents]
        body = _body(fn.backward)
        exprs = _inline(body, [g, names[id(node)], *args], {}) if body is not None else None
        called = exprs is None or len(exprs) != len(parents)
        if called:
            exprs = _call_backward(w, namer, node, g, [(names[id(p)], id(p) in grads) for p in parents], wanted)
        for p, expr, want in zip(parents, exprs, wanted):  # type: ignore[arg-type]
            if not want or expr == "None":
                continue
            if fn.broadcasts and w.kind.broadcasting:
                expr = w.reduce(expr, np.shape(p._data))
            if id(p) in grads:
                w.backward.append(f"    {grads[id(p)]} = {grads[id(p)]} + {expr}")
            elif called and expr.isidentifier():  # the call already named it g_…
                grads[id(p)] = expr
            else:
                grads[id(p)] = namer(f"g_{names[id(p)]}")
                w.backward.append(f"    {grads[id(p)]} = {expr}")
    return grads


def _call_backward(
    w: _Writer, namer: _Namer, node: Node, g: str, args: Sequence[tuple[str, bool]], wanted: Sequence[bool]
) -> list[str]:
    """A line that calls the op's backward; returns the names of its results. ``args``
    holds each input's name and whether its gradient already has contributions (a
    first contribution is named as the gradient itself, a later one d_…)."""
    fn = node.fn
    assert fn is not None
    ctx = w.ctxs.get(id(node))
    if ctx is None:  # inlined forward: backward still wants a ctx (kernels, what is needed)
        ctx = namer(f"ctx_{w.names[id(node)]}")
        w.backward.append(f"    {ctx} = RawCtx(xp, {tuple(wanted)!r})")
    op = w.bind(namer, fn.__name__, fn)
    temps = [namer(f"{'d' if seen else 'g'}_{a}") if want else "_" for (a, seen), want in zip(args, wanted)]
    target = ", ".join(temps) + ("," if len(temps) == 1 else "")
    inputs = ", ".join(a for a, _ in args)
    w.backward.append(f"    {target} = {op}.backward({ctx}, {g}, {w.names[id(node)]}, {inputs})")
    return [t if t != "_" else "None" for t in temps]


# ---------------------------------------------------------------------------------------
# The compiled step
# ---------------------------------------------------------------------------------------


def _signature(values: Sequence[Any]) -> tuple[tuple[tuple[int, ...], str], ...]:
    return tuple((np.shape(v), np.asarray(v).dtype.str) for v in values)


class Compiled:
    """A traced function: ``compiled(*inputs)`` returns ``(value, gradients)``, the
    gradients aligned with :attr:`wrt` (the inputs that require grad, then the
    parameters the function reads from outside); :meth:`backward` adds them to
    each leaf's ``.grad`` instead, as ``loss.backward()`` does, so an optimizer's
    ``step()`` can follow. ``print(compiled)`` shows the code it runs."""

    def __init__(self, fn: Callable[..., Any], example_inputs: Sequence[Any]) -> None:
        self.fn = fn
        self._kind: type[Node] = Scalar if all(isinstance(x, (Scalar, float, int)) for x in example_inputs) else Tensor
        self._wanted = tuple(isinstance(x, Node) and x.requires_grad for x in example_inputs)
        self._programs: dict[Any, _Program] = {}
        self._latest = self._program(self._datas(example_inputs))

    def _datas(self, inputs: Sequence[Any]) -> list[Any]:
        if len(inputs) != len(self._wanted):
            raise TypeError(f"the traced function takes {len(self._wanted)} inputs, got {len(inputs)}")
        datas = []
        for x in inputs:
            if isinstance(x, Node):
                if not isinstance(x, self._kind):
                    raise TypeError(f"traced on {self._kind.__name__} inputs, got a {type(x).__name__}")
                datas.append(x._data)
            elif type(x) is np.ndarray and x.dtype.kind == "f":
                datas.append(x)  # read, never written: no copy
            else:
                datas.append(_leaf(self._kind, x, requires_grad=False)._data)  # as a new value converts
        return datas

    def _program(self, datas: Sequence[Any]) -> _Program:
        key = _signature(datas)
        program = self._programs.get(key)
        if program is None or program.captured_signature != _signature([c._data for c in program.captured]):
            leaves = [_leaf(self._kind, d) for d in datas]
            program = self._programs[key] = _compile(self.fn, leaves, self._wanted)
        return program

    @property
    def source(self) -> str:
        """The straight-line forward and backward pass of the latest signature traced."""
        return self._latest.source

    @property
    def wrt(self) -> tuple[Node, ...]:
        """The leaves the gradients are for: the inputs that require grad (as traced),
        then the parameters the function reads from outside."""
        return self._latest.wrt

    def __call__(self, *inputs: Any) -> tuple[Any, tuple[Any, ...]]:
        datas = self._datas(inputs)
        program = self._latest = self._program(datas)
        value, grads = program.run(*datas, *[c._data for c in program.captured])
        as_data = self._kind._as_data
        return as_data(value), tuple(as_data(g) for g in grads)

    def backward(self, *inputs: Any) -> Any:
        """Run the step and add each gradient to its leaf's ``.grad``; returns the value."""
        value, grads = self(*inputs)
        for leaf, g in zip(self._latest.wrt, grads):
            leaf._grad_store(g)
        return value

    def __repr__(self) -> str:
        return self.source


def trace(fn: Callable[..., Any], *example_inputs: Any) -> Compiled:
    """Run ``fn`` once on ``example_inputs`` and compile its forward and backward pass
    into straight-line code (see the module docstring for the rules of tracing).

    >>> from glassgrad import Tensor, trace
    >>> w = Tensor([0.5, -1.0], requires_grad=True)
    >>> step = trace(lambda x: (w * x).sum().sigmoid(), Tensor([2.0, 3.0]))
    >>> value, (g_w,) = step(Tensor([2.0, 3.0]))
    >>> g_w.round(4)
    array([0.21 , 0.315])
    """
    return Compiled(fn, example_inputs)
