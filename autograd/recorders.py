"""The two pieces of code every op runs, written once and specialised per op class.

Recording an op (``Function.apply``) and applying the chain rule at one of its nodes
(the backward driver's step) are the same for every op but for its inputs and its
math. Each is written here once, as the text of a Python function (:data:`RECORD`,
:data:`CHAIN`); on the first call of an op, its class's functions are written from
them (:func:`specialise`), filling in

- the op's inputs, read from its ``backward(ctx, g, out, *inputs)``: ``a``, ``a, b``
  or ``*inputs``, and ``**params`` only where ``forward`` takes parameters;
- the op's ``forward`` and ``backward`` themselves, as expressions, when each is one
  ``return`` statement (``Add``: ``a + b`` and ``g, g``); other ops are called.

The result is the code one would write by hand for that op, with no ``*args``, no
loop over two inputs and no call that can be avoided. In a scalar graph every value
is one such recording and one such step, so these calls are the engine's cost per
value. ``Function.source()`` shows an op's code, and tracebacks show its lines (the
line cache holds them, under file names like ``<apply(a, b) #6>``).
"""

from __future__ import annotations

import ast
import builtins
import copy
import inspect
import itertools
import linecache
import os
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from types import CodeType, FunctionType, ModuleType
from typing import Any

import numpy as np

from .errors import GlassgradError, mixed_kinds

#: ``Function.apply``: run forward on the inputs' data and record the output node.
RECORD = """\
def apply({inputs}{params}):
    kind = type({first}){check_inputs}
    # The output node is the op's ctx. Its inputs are in place before forward runs,
    # so ctx.needs_input_grad answers in forward as it does in backward.
    out = _new(kind)
    out.saved = None
    out._p0, out._p1 = {slots}
    # A mode switched in any thread: read this thread's (see state.switched).
    modes = state.modes if state.switched else None
    # An input requires grad when its _seq is not 0 (see Node.__slots__).
    if ({wants_grad}) and (modes is None or modes.grad_enabled):
        out._fn = cls
        out._seq = next(_clock)
    else:
        out._fn = None
        out._seq = 0
    try:
        data = {forward}
        out._data = data if type(data) is kind.data_type else kind._as_data(data)
    except GlassgradError:
        raise
    except (ValueError, TypeError, IndexError, ZeroDivisionError, OverflowError, AttributeError) as exc:
        raise kind._op_error(cls, {tuple}, exc) from None
    out._g = out._meta = None
    if out._fn is None:  # not recorded: keep no inputs and nothing for a backward
        out._p0 = out._p1 = out.saved = None
    if modes is not None and not modes.plain:
        _annotate_op(cls, out, {tuple}, {param_dict})
    return out
"""

#: The chain rule at one node of the op: ``∂L/∂x += backward(∂L/∂out)`` for each input
#: x that requires grad and is reached by this pass (its running sum ``_g`` is not None),
#: summed back to x's shape when broadcasting stretched it (a gradient of x's own shape
#: is tested here, where most are: a call costs more than the test).
#: Backward sees raw data, or with ``create_graph`` the graph values themselves, so that
#: it records itself. ``broadcasting``: the values are Tensors, so a broadcasting op's
#: gradients are summed back to their inputs' shapes. ``check``: the anomaly check.
CHAIN = """\
def chain(node, g, broadcasting, check):
    {unpack}
    {grads} = {backward}
    if check:
        _check_backward(node, ({grads}))
    reduce = broadcasting and cls.broadcasts
{accumulate}"""

ACCUMULATE = """\
    if {g} is not None:
        sum_so_far = {x}._g
        if sum_so_far is not None:
            if reduce and (type({g}) is not _ndarray or {g}.shape != {x}._data.shape):
                {g} = {x}._sum_to({g})
            {x}._g = {g} if sum_so_far is _VISITED else sum_so_far + {g}
"""

#: How the parts of the templates read for an op of one, two or any number of inputs.
SHAPES: dict[int | None, dict[str, str]] = {
    1: {
        "inputs": "a",
        "first": "a",
        "check_inputs": "",
        "tuple": "(a,)",
        "slots": "a, None",
        "wants_grad": "a._seq",
        "datas": "a._data",
        "unpack": "a = node._p0",
        "grads": "(ga,)",
        "accumulate": ACCUMULATE.format(g="ga", x="a"),
    },
    2: {
        "inputs": "a, b",
        "first": "a",
        "check_inputs": "\n    if type(b) is not kind:\n        b = _operand(kind, b, a, cls)",
        "tuple": "(a, b)",
        "slots": "a, b",
        "wants_grad": "a._seq or b._seq",
        "datas": "a._data, b._data",
        "unpack": "a, b = node._p0, node._p1",
        "grads": "ga, gb",
        "accumulate": ACCUMULATE.format(g="ga", x="a") + ACCUMULATE.format(g="gb", x="b"),
    },
    None: {
        "inputs": "*inputs",
        "first": "inputs[0]",
        "tuple": "inputs",
        "check_inputs": "\n    for x in inputs:\n"
        "        if x.data_type is not kind.data_type:\n"
        "            raise mixed_kinds(kind, type(x), cls.name)",
        "slots": "inputs, None",
        "wants_grad": "any(x._seq for x in inputs)",
        "datas": "*[x._data for x in inputs]",
        "unpack": "inputs = node._p0",
        "grads": "grads",
        "accumulate": "    for x, gx in zip(inputs, grads, strict=True):\n"
        + textwrap.indent(ACCUMULATE.format(g="gx", x="x"), "    "),
    },
}

#: The names the templates bind themselves; an inlined body must not read them.
_TEMPLATE_NAMES = frozenset(
    {"a", "b", "cls", "check", "data", "exc", "g", "ga", "gb", "grads", "gx", "inputs", "kind", "modes"}
    | {"node", "out", "params", "reduce", "sum_so_far", "x", "broadcasting", "domain_a", "domain_b"}
)


@dataclass(frozen=True)
class Specialised:
    """An op class's own code: its recorder, and its chain-rule step on raw data and on
    graph values (``create_graph``)."""

    apply: Callable[..., Any]
    chains: tuple[Callable[..., None], Callable[..., None]]


def specialise(fn: Any, namespace: dict[str, Any]) -> Specialised:
    """The op class ``fn``'s own functions; ``namespace`` holds the names the templates
    use besides the op's (``_new``, ``state``, ``_VISITED``, …).

    They are written on the first call of any of them (reading the op's source costs
    more than importing it); until then each is a stub that writes all three and
    calls on. Writing replaces their code in place, so every reference to them (the
    operators hold some) runs the written code from then on."""
    scope = {**namespace, "GlassgradError": GlassgradError, "mixed_kinds": mixed_kinds, "_ndarray": np.ndarray}
    scope.update(cls=fn, forward=fn.forward, backward=fn.backward)
    made = Specialised(
        _function(STUB.format(name="apply", index="apply"), f"{fn.__qualname__}.apply", scope),
        (
            _function(STUB.format(name="chain", index="chains[0]"), f"{fn.__qualname__}.chain", scope),
            _function(STUB.format(name="chain", index="chains[1]"), f"{fn.__qualname__}.chain_graph", scope),
        ),
    )
    made.apply.__doc__ = fn.__doc__
    scope["_written"] = lambda: _write(fn, scope, made)
    return made


#: What an op's functions run until their first call has written them.
STUB = """\
def {name}(*args, **kwargs):
    return _written().{index}(*args, **kwargs)
"""


def source(apply: Callable[..., Any]) -> str:
    """The code an op runs, given its recorder (written now if it was not yet): the
    recorder, then its chain-rule step on raw data."""
    made: Specialised = apply.__globals__["_written"]()
    return "\n".join("".join(linecache.getlines(f.__code__.co_filename)) for f in (made.apply, made.chains[0]))


def _write(fn: Any, scope: dict[str, Any], made: Specialised) -> Specialised:
    """Fill in the templates for the op class ``fn`` and give ``made`` their code."""
    n_inputs = _positional(fn.backward, skip=3)
    n_forward = _positional(fn.forward, skip=1)
    takes_params = n_inputs is None or n_forward is None or n_forward > n_inputs or _keywords(fn.forward)
    parts = dict(SHAPES[n_inputs if n_inputs in (1, 2) else None])
    parts["params"] = ", **params" if takes_params else ""
    parts["param_dict"] = "params" if takes_params else "None"
    inputs = parts["unpack"].split(" = ")[0].split(", ") if n_inputs in (1, 2) else None
    parts["check_inputs"] += _domain_checks(fn, inputs, parts["datas"], scope)
    forward = (
        None if takes_params or inputs is None else _inlined(fn.forward, ["out", *parts["datas"].split(", ")], scope)
    )
    parts["forward"] = forward or f"forward(out, {parts['datas']}{parts['params']})"
    made.apply.__code__ = _code(RECORD.format(**parts))
    for graph, chain in enumerate(made.chains):
        values = [x if graph else f"{x}._data" for x in ("node", *(inputs or ["*inputs"]))]
        if not graph and inputs is None:
            values[1:] = ["*[x._data for x in inputs]"]
        backward = None if inputs is None else _inlined(fn.backward, ["node", "g", *values], scope)
        parts["backward"] = backward or f"backward(node, g, {', '.join(values)})"
        chain.__code__ = _code(CHAIN.format(**parts))
    return made


def _domain_checks(fn: Any, inputs: list[str] | None, datas: str, scope: dict[str, Any]) -> str:
    """The recorder's lines that check the inputs against the op's domains: one test per
    input that has a domain (``cls.check_domains`` raises the error it finds)."""
    if not fn.domains:
        return ""
    if inputs is None:
        return f"\n    cls.check_domains(({datas},))"
    lines = ""
    for x, domain in zip(inputs, fn.domains):
        if domain is not None:
            scope[f"domain_{x}"] = domain
            lines += f"\n    if not domain_{x}.contains({x}._data):\n        cls.check_domains(({datas},))"
    return lines


def _function(source: str, name: str, scope: dict[str, Any]) -> Any:
    """The function ``source`` defines, with ``scope`` as its globals and ``name`` as its
    qualified name."""
    func = FunctionType(_code(source), scope)
    func.__qualname__ = name
    return func


#: Numbers the texts :func:`_code` compiles: one each, also for two compiled at once in
#: two threads (the first calls of two ops), whose lines the line cache keeps apart.
_texts = itertools.count()


@cache
def _code(source: str) -> CodeType:
    """``source`` compiled once for all the ops it serves (many ops that are called,
    not inlined, share their text). Its file name is inside the package, so error
    sites skip it as they skip the engine's other frames."""
    head = source.split(":", 1)[0].removeprefix("def ")
    filename = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"<{head} #{next(_texts)}>")
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    module = compile(source, filename, "exec")
    return next(c for c in module.co_consts if isinstance(c, CodeType))


def _inlined(func: Callable[..., Any], spelled: Sequence[str], scope: dict[str, Any]) -> str | None:
    """The expression ``func`` returns with its parameters replaced by ``spelled`` (the
    template's expression for each), when its body is that one ``return``; the globals
    it reads are added to ``scope``. None when it must be called instead: more than one
    statement, no source, a name that would mean something else in the template, or a
    global that holds data.

    ``scope`` keeps the value each global has now. A module, a class or a function stays
    bound to its name; a number or an array is often bound anew between calls (``EPS =
    1e-6`` after a first pass), and Python reads it at each call, so the op is called."""
    found = _returned(func)
    if found is None or func.__code__.co_freevars or len(found[0]) != len(spelled):
        return None
    params, expr = found
    replace = {p: ast.parse(s, mode="eval").body for p, s in zip(params, spelled)}
    for name in {n.id for n in ast.walk(expr) if isinstance(n, ast.Name)} - set(replace):
        value = func.__globals__.get(name, getattr(builtins, name, scope))
        if name in _TEMPLATE_NAMES or value is scope or scope.get(name, value) is not value:
            return None
        if not (callable(value) or isinstance(value, ModuleType)):
            return None
        scope[name] = value
    return ast.unparse(_Rename(replace).visit(expr))


def _returned(func: Callable[..., Any]) -> tuple[list[str], ast.expr] | None:
    """The positional parameters of ``func`` and (a copy of) the expression it returns,
    when its body (after a docstring) is one ``return`` whose names are all its own."""
    fdef = definition(func)
    if fdef is None or fdef.args.vararg or fdef.args.kwarg or fdef.args.kwonlyargs:
        return None
    body = [s for s in fdef.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    if len(body) != 1 or not isinstance(body[0], ast.Return) or body[0].value is None:
        return None
    if any(isinstance(n, (ast.Lambda, ast.NamedExpr, ast.comprehension)) for n in ast.walk(body[0].value)):
        return None  # a scope of its own: its names are not the function's
    return [p.arg for p in (*fdef.args.posonlyargs, *fdef.args.args)], copy.deepcopy(body[0].value)


@cache
def definition(func: Callable[..., Any]) -> ast.FunctionDef | None:
    """The parsed definition of ``func``, shared: never change it (None when its source
    cannot be read). Its lines are its decorators and ``def``, then every line indented
    deeper: ``inspect.getsource`` would tokenize them and search every module first."""
    code = getattr(func, "__code__", None)
    lines = linecache.getlines(code.co_filename)[code.co_firstlineno - 1 :] if code else []
    if not lines:
        return None
    indent = len(lines[0]) - len(lines[0].lstrip())
    end = 1
    while end < len(lines) and lines[end - 1].lstrip().startswith("@"):
        end += 1  # the decorators, then the def line
    while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent):
        end += 1
    try:
        (fdef,) = ast.parse(textwrap.dedent("".join(lines[:end]))).body
    except (SyntaxError, ValueError):
        return None
    return fdef if isinstance(fdef, ast.FunctionDef) else None


class _Rename(ast.NodeTransformer):
    def __init__(self, mapping: dict[str, ast.expr]) -> None:
        self.mapping = mapping

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return self.mapping.get(node.id, node)


def _positional(func: Callable[..., Any], skip: int) -> int | None:
    """How many positional parameters ``func`` has after the first ``skip``; None when
    it takes any number (``*args``)."""
    params = list(inspect.signature(func).parameters.values())
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return None
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params) - skip


def _keywords(func: Callable[..., Any]) -> bool:
    return any(p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD) for p in inspect.signature(func).parameters.values())
