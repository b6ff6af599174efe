"""An op's ``forward`` or ``backward`` body written out as straight-line code, at trace time.

The tracer (tracing.py) reads the op's own source and evaluates it partially: what is
fixed for a traced signature is computed now, the rest is written as lines of the
compiled step. Fixed for a signature are

- the op's parameters (``reduction='mean'``), ``ctx.needs_input_grad`` and ``ctx.xp``;
- the type, shape, size, ndim and dtype of every value (a new shape or dtype traces
  again), so ``len(a.shape) == 2`` or ``isinstance(z, Node)`` (False: the replay runs
  on raw data) pick their branch here, and dead branches are never written;
- whatever is computed from those alone (``x.size``, ``g[()] / n`` on the seed).

Locals become uniquely named lines; ``ctx.saved = Op.Saved(...)`` becomes a record of
those names and constants, which the op's backward reads for ``ctx.saved.field``.
Helpers the body calls that are defined in glassgrad (``_reduce``, ``sum_to``, the
kernels behind ``ctx.xp``) are written out the same way. A branch on values that only
raises (an op's check of its inputs) becomes an ``if ...: raise ...`` line of its own,
with the op's message. A construct this reader does not resolve (a loop or a branch on
values, ``x += y`` on an array) makes it give up on that function: the tracer calls it
instead, which computes the same numbers.
"""

from __future__ import annotations

import ast
import builtins
import functools
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .ops.base import call
from .recorders import definition

__all__ = ["CtxView", "Giveup", "Known", "Lines", "Record", "Results", "Value", "global_names", "inline"]

_PACKAGE = __name__.rpartition(".")[0]


class Giveup(Exception):
    """The body uses something the reader does not resolve: call the function instead."""


@dataclass(frozen=True)
class Known:
    """A value fixed for the traced signature. ``spelling`` says how code refers to it
    when it is no literal: the name it was read from, the object that name means, and
    the attributes read from it (``np``, numpy, ``("add", "reduce")``)."""

    value: Any
    spelling: tuple[str, Any, tuple[str, ...]] | None = None


class Results(tuple):  # type: ignore[type-arg]
    """Several results (``return ga, gb``), each a Known value, a line's name or code."""


#: What a local holds: a Known value, or the name of a line's result in the compiled step.
Value = Known | str


@dataclass
class Record:
    """``ctx.saved``: the op's ``Saved`` fields, each a Known value or a line's name."""

    kind: type
    fields: dict[str, Value]


@dataclass
class CtxView:
    """What ``ctx`` offers at trace time: the kernels, which inputs need a gradient and
    (in backward) what forward saved; forward stores its ``ctx.saved`` in ``saved``."""

    xp: Any
    needs_input_grad: tuple[bool, ...]
    saved: Record | None = None


class Lines(Protocol):
    """Where the inlined lines go (the tracer's writer)."""

    def line(self, target: str | None, expr: ast.expr) -> str:
        """Write ``target = expr`` (a new name made from ``target``; no assignment
        when None) and return the name; lines run on the traced values when
        :meth:`evaluate` looks at one."""
        ...

    def evaluate(self, expr: str) -> Any:
        """``expr`` computed on the traced values."""
        ...

    def spell(self, known: Known) -> ast.expr:
        """A Known value as code: a literal, or names bound in the step's namespace."""
        ...

    def mark(self) -> int:
        """A point to roll back to when an inlined helper gives up."""
        ...

    def apply(self, fn: type, args: list[Value], params: dict[str, Value]) -> Value | ast.expr:
        """The op ``fn`` run on raw data (what ``ops.base.call`` does outside the graph):
        its domain check and its forward."""
        ...

    def rollback(self, mark: int) -> None: ...

    def check(self, text: str, values: tuple[str, ...]) -> None:
        """Write a line that raises an error about ``values`` (it goes where they go unread)."""
        ...

    def constants(self) -> set[str]:
        """The names the step's namespace binds (constants, functions, modules)."""
        ...


@functools.cache
def global_names(func: Callable[..., Any]) -> frozenset[str]:
    """The global names ``func``'s body reads."""
    fdef = definition(func)
    found = getattr(func, "__globals__", {})
    return frozenset(n.id for n in ast.walk(fdef) if isinstance(n, ast.Name) and n.id in found) if fdef else frozenset()


def _ours(func: Any) -> bool:
    """A plain Python function defined in glassgrad: one the reader may write out."""
    return isinstance(func, types.FunctionType) and (func.__module__ or "").startswith(_PACKAGE + ".")


def inline(
    func: Callable[..., Any],
    args: Sequence[Value],
    out: Lines,
    ctx: CtxView | None = None,
    keywords: dict[str, Value] | None = None,
) -> Value | ast.expr:
    """Write ``func(ctx, *args, **keywords)`` (no ``ctx`` when None) as lines and
    return its result: a Value, ``Known(Results(...))`` for a tuple of results, or
    the code of its returned expression, for the caller to name. Raises
    :class:`Giveup` (after rolling its lines back) when it cannot."""
    fdef = definition(func)
    if fdef is None:
        raise Giveup(getattr(func, "__qualname__", repr(func)))
    a = fdef.args
    if a.kwarg or a.kwonlyargs or a.posonlyargs:
        raise Giveup("keyword-only parameters")
    names = [p.arg for p in a.args]
    if ctx is not None:
        names = names[1:]
    defaults = dict(zip(reversed(names), reversed(a.defaults)))
    given: dict[str, Value] = {**dict(zip(names, args)), **(keywords or {})}
    rest = args[len(names) :]
    if a.vararg is not None:  # *shape: Known values only
        if not all(isinstance(v, Known) for v in rest):
            raise Giveup("*args of values")
        given[a.vararg.arg] = Known(tuple(v.value for v in rest))  # type: ignore[union-attr]
        names.append(a.vararg.arg)
    elif rest:
        raise Giveup("arguments")
    if any(n not in given and n not in defaults for n in names):
        raise Giveup("arguments")
    frame = _Frame(func, out, ctx, fdef.args.args[0].arg if ctx is not None else None)
    mark = out.mark()
    try:
        for n in names:
            frame.locals[n] = given[n] if n in given else frame.value(defaults[n])
        result = frame.block(fdef.body)
    except Giveup:
        out.rollback(mark)
        raise
    return Known(None) if result is None else result  # no return statement: None


class _Return(Exception):
    def __init__(self, value: Value | ast.expr) -> None:
        self.value = value


_STATIC_ATTRS = frozenset({"shape", "ndim", "size", "dtype"})
_UNROLL = 64  # the longest loop over Known values written out
# An f-string's !s, !r, !a (and none) on a value
_CONVERSIONS: dict[int, Callable[[Any], Any]] = {-1: lambda v: v, 115: str, 114: repr, 97: ascii}
_STATIC_CALLS: frozenset[Any] = frozenset({len, type, isinstance, np.shape, np.ndim, np.size})


class _Frame:
    """One function being written out: its locals and how to read its expressions."""

    def __init__(self, func: Callable[..., Any], out: Lines, ctx: CtxView | None, ctx_name: str | None) -> None:
        self.func, self.out, self.ctx, self.ctx_name = func, out, ctx, ctx_name
        self.globals: dict[str, Any] = getattr(func, "__globals__", {})
        self.locals: dict[str, Value] = {}

    # -- statements --------------------------------------------------------------------
    def block(self, body: Sequence[ast.stmt]) -> Value | ast.expr | None:
        try:
            for stmt in body:
                self.stmt(stmt)
        except _Return as r:
            return r.value
        return None

    def stmt(self, s: ast.stmt) -> None:
        if isinstance(s, ast.Expr):
            if not isinstance(s.value, ast.Constant):  # a docstring says nothing to run
                self.write(s.value, None)
        elif isinstance(s, ast.Return):  # code is left for the caller to name
            raise _Return(Known(None) if s.value is None else self.expr(s.value))
        elif isinstance(s, ast.If):
            test = self.expr(s.test)
            if isinstance(test, Known):
                for inner in s.body if test.value else s.orelse:
                    self.stmt(inner)
            else:
                self.check(test, s)
        elif isinstance(s, ast.Assign) and len(s.targets) == 1:
            self.assign(s.targets[0], s.value)
        elif isinstance(s, ast.Assign) and all(isinstance(t, ast.Name) for t in s.targets):  # a = b = None
            value = self.value(s.value)
            for t in s.targets:
                self.locals[t.id] = value  # type: ignore[attr-defined]
        elif isinstance(s, ast.AnnAssign) and s.value is not None:
            self.assign(s.target, s.value)
        elif isinstance(s, ast.AugAssign) and isinstance(s.target, ast.Name):
            self.augment(s)
        elif isinstance(s, ast.For) and isinstance(s.target, ast.Name) and not s.orelse:
            items = self.value(s.iter)
            if not isinstance(items, Known) or isinstance(items.value, Results) or len(items.value) > _UNROLL:
                raise Giveup("a loop over values")
            for item in items.value:  # unrolled: each pass with the item fixed
                self.locals[s.target.id] = Known(item)
                for inner in s.body:
                    self.stmt(inner)
        else:
            raise Giveup(type(s).__name__)

    def assign(self, target: ast.expr, value: ast.expr) -> None:
        if isinstance(target, ast.Name):
            v = self.value(value, target.id)
            if isinstance(v, Known) and v.spelling is None:  # named as the body names it, if code needs a name
                v = Known(v.value, (target.id, v.value, ()))
            self.locals[target.id] = v
        elif isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) and len(target.elts) == len(value.elts):
            values = [self.value(v, getattr(t, "id", "v")) for t, v in zip(target.elts, value.elts)]
            for t, v in zip(target.elts, values):
                if not isinstance(t, ast.Name):
                    raise Giveup("assignment")
                self.locals[t.id] = v
        elif isinstance(target, ast.Tuple):
            known = self.value(value)
            if not (isinstance(known, Known) and isinstance(known.value, tuple)):
                raise Giveup("unpacking")
            if len(known.value) != len(target.elts) or not all(isinstance(t, ast.Name) for t in target.elts):
                raise Giveup("unpacking")
            for t, v in zip(target.elts, known.value):
                name = t.id  # type: ignore[attr-defined]
                self.locals[name] = self.named(v, name) if isinstance(known.value, Results) else Known(v, (name, v, ()))
        elif self._is_ctx_saved(target) and self.ctx is not None:
            record = self.value(value)
            if not (isinstance(record, Known) and isinstance(record.value, Record)):
                raise Giveup("ctx.saved")
            self.ctx.saved = record.value
        else:
            raise Giveup("assignment")

    def check(self, test: Value | ast.expr, s: ast.If) -> None:
        """A branch on values that only raises (the op's own check of its inputs):
        written as a check line, ``if test: raise ...``."""
        if s.orelse or len(s.body) != 1 or not isinstance(s.body[0], ast.Raise) or s.body[0].exc is None:
            raise Giveup("a branch on values")
        code = ast.unparse(self.code(test))
        error = ast.unparse(self.code(self.pure(s.body[0].exc)))
        names = tuple(n.id for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Name))
        self.out.check(f"if {code}: raise {error}", names)

    def augment(self, s: ast.AugAssign) -> None:
        """``n *= k`` on Known values. On an array it would write in place, into memory
        the op may share, so a value there makes the reader give up."""
        assert isinstance(s.target, ast.Name)
        current, step = self.expr_Name(s.target), self.value(s.value)
        if not (isinstance(current, Known) and isinstance(step, Known)):
            raise Giveup("x += y on values")
        template = ast.BinOp(ast.Name("a", ast.Load()), s.op, ast.Name("b", ast.Load()))
        self.locals[s.target.id] = Known(_fold(template, a=current.value, b=step.value))

    def _is_ctx_saved(self, node: ast.expr) -> bool:
        return (
            isinstance(node, ast.Attribute)
            and node.attr == "saved"
            and isinstance(node.value, ast.Name)
            and node.value.id == self.ctx_name
        )

    # -- expressions -------------------------------------------------------------------
    def value(self, node: ast.expr, wish: str = "v") -> Value:
        """The expression as a Known value or the name of the line that computes it."""
        return self.write(node, wish)

    def write(self, node: ast.expr, wish: str | None) -> Value:
        e = self.expr(node)
        if isinstance(e, (Known, str)):
            return e
        return self.out.line(wish, e)

    def code(self, v: Value | ast.expr) -> ast.expr:
        if isinstance(v, str):
            return ast.Name(v, ast.Load())
        if isinstance(v, Known):
            if isinstance(v.value, Results):
                return ast.Tuple([self.code(e) for e in v.value], ast.Load())
            if isinstance(v.value, (CtxView, Record)):
                raise Giveup("ctx or ctx.saved passed on")
            return self.out.spell(v)
        return v

    def example(self, v: Value | ast.expr) -> Any:
        """The traced value (for what is fixed about it: type, shape, dtype)."""
        if isinstance(v, Known):
            return v.value
        return self.out.evaluate(v if isinstance(v, str) else ast.unparse(v))

    def expr(self, node: ast.expr) -> Value | ast.expr:
        """A Known value, a line's name, or code (an ast) that computes the value."""
        method = getattr(self, "expr_" + type(node).__name__, None)
        if method is None:
            if isinstance(node, (ast.GeneratorExp, ast.ListComp, ast.SetComp, ast.DictComp)):
                return self.comprehension(node)
            raise Giveup(type(node).__name__)
        result: Value | ast.expr = method(node)
        return result

    def comprehension(self, node: ast.expr) -> Known:
        """A comprehension over Known values, computed now. A value may appear in it
        only through what is fixed about it (``x.ndim``)."""
        bound = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        parents = {id(c): p for p in ast.walk(node) for c in ast.iter_child_nodes(p)}
        scope: dict[str, Any] = {}
        for n in ast.walk(node):
            if not isinstance(n, ast.Name) or n.id in bound:
                continue
            v = self.expr_Name(n)
            if isinstance(v, Known) and not isinstance(v.value, (CtxView, Record, Results)):
                scope[n.id] = v.value
                continue
            parent = parents.get(id(n))
            if not (isinstance(parent, ast.Attribute) and parent.attr in _STATIC_ATTRS):
                raise Giveup("a comprehension over values")
            scope[n.id] = self.example(v)
        code = compile(ast.fix_missing_locations(ast.Expression(node)), "<fold>", "eval")
        return Known(eval(code, {"__builtins__": builtins, **scope}))

    def expr_Constant(self, node: ast.Constant) -> Value:
        return Known(node.value)

    def expr_Name(self, node: ast.Name) -> Value:
        if node.id in self.locals:
            return self.locals[node.id]
        if node.id == self.ctx_name:
            return Known(self.ctx)
        if node.id in self.globals:
            value = self.globals[node.id]
            return Known(value, (node.id, value, ()))
        if hasattr(builtins, node.id):
            value = getattr(builtins, node.id)
            return Known(value, (node.id, value, ()))
        raise Giveup(f"unbound {node.id}")

    def expr_Attribute(self, node: ast.Attribute) -> Value | ast.expr:
        base = self.expr(node.value)
        attr = node.attr
        if isinstance(base, Known):
            obj = base.value
            if isinstance(obj, CtxView):
                if attr == "xp":
                    return Known(obj.xp, ("xp", obj.xp, ()))
                if attr == "needs_input_grad":
                    return Known(obj.needs_input_grad)
                if attr == "saved" and obj.saved is not None:
                    return Known(obj.saved)
                raise Giveup(f"ctx.{attr}")
            if isinstance(obj, Record):
                if attr not in obj.fields:
                    raise Giveup(f"saved.{attr}")
                return obj.fields[attr]
            s = base.spelling
            return Known(getattr(obj, attr), s and (s[0], s[1], (*s[2], attr)))
        if attr in _STATIC_ATTRS:
            return Known(getattr(self.example(base), attr))
        return ast.Attribute(self.code(base), attr, ast.Load())

    def expr_Subscript(self, node: ast.Subscript) -> Value | ast.expr:
        base, index = self.expr(node.value), self.expr(node.slice)
        if isinstance(base, Known) and isinstance(index, Known):
            return Known(base.value[index.value])
        return ast.Subscript(self.code(base), self.code(index), ast.Load())

    def expr_Tuple(self, node: ast.Tuple) -> Value:
        elts: list[Value | ast.expr] = []
        for e in node.elts:
            if isinstance(e, ast.Starred):  # (*shape[:-1], 1): a Known sequence spliced in
                seq = self.expr(e.value)
                if not isinstance(seq, Known) or isinstance(seq.value, Results):
                    raise Giveup("a starred value")
                elts += [Known(v) for v in seq.value]
            else:
                elts.append(self.expr(e))
        if all(isinstance(e, Known) and not isinstance(e.value, Results) for e in elts):
            return Known(tuple(e.value for e in elts))  # type: ignore[union-attr]
        # Several results (``return ga, gb``), kept apart: code stays code, for the
        # caller to write where each result goes (or not at all, when none is wanted).
        return Known(Results(elts))

    def expr_UnaryOp(self, node: ast.UnaryOp) -> Value | ast.expr:
        operand = self.expr(node.operand)
        if isinstance(operand, Known):
            return Known(_fold(ast.UnaryOp(node.op, ast.Name("a", ast.Load())), a=operand.value))
        return ast.UnaryOp(node.op, self.code(operand))

    def expr_BinOp(self, node: ast.BinOp) -> Value | ast.expr:
        left, right = self.expr(node.left), self.expr(node.right)
        if isinstance(left, Known) and isinstance(right, Known):
            template = ast.BinOp(ast.Name("a", ast.Load()), node.op, ast.Name("b", ast.Load()))
            return Known(_fold(template, a=left.value, b=right.value))
        return ast.BinOp(self.code(left), node.op, self.code(right))

    def expr_Compare(self, node: ast.Compare) -> Value | ast.expr:
        if len(node.ops) != 1:  # a chain (0 < c < 1): on Known values only
            operands = [self.expr(e) for e in (node.left, *node.comparators)]
            if not all(isinstance(e, Known) for e in operands):
                raise Giveup("a chained comparison of values")
            names: list[ast.expr] = [ast.Name(f"x{i}", ast.Load()) for i in range(len(operands))]
            chain = ast.Compare(names[0], node.ops, names[1:])
            return Known(_fold(chain, **{f"x{i}": e.value for i, e in enumerate(operands)}))  # type: ignore[union-attr]
        left, right = self.expr(node.left), self.expr(node.comparators[0])
        op = node.ops[0]
        if isinstance(op, (ast.Is, ast.IsNot)) and not (isinstance(left, Known) and isinstance(right, Known)):
            # A value's identity with a constant (None, a type) is fixed for the signature.
            left, right = Known(self.example(left)), Known(self.example(right))
        if isinstance(left, Known) and isinstance(right, Known):
            template = ast.Compare(ast.Name("a", ast.Load()), [op], [ast.Name("b", ast.Load())])
            return Known(_fold(template, a=left.value, b=right.value))
        return ast.Compare(self.code(left), [op], [self.code(right)])

    def expr_Slice(self, node: ast.Slice) -> Value:
        parts = [Known(None) if e is None else self.expr(e) for e in (node.lower, node.upper, node.step)]
        if not all(isinstance(p, Known) for p in parts):
            raise Giveup("a slice of values")
        return Known(slice(*(p.value for p in parts)))  # type: ignore[union-attr]

    def expr_Dict(self, node: ast.Dict) -> Value:
        keys = [self.expr(k) if k is not None else None for k in node.keys]
        values = [self.expr(v) for v in node.values]
        if not all(isinstance(v, Known) and not isinstance(v.value, Results) for v in [*keys, *values]):
            raise Giveup("a dict of values")
        return Known({k.value: v.value for k, v in zip(keys, values)})  # type: ignore[union-attr]

    def expr_BoolOp(self, node: ast.BoolOp) -> Value | ast.expr:
        is_and = isinstance(node.op, ast.And)
        for i, v in enumerate(node.values):
            e = self.expr(v)
            if not isinstance(e, Known):  # from here on, code: and/or decides at every call
                rest = [e, *(self.pure(u) for u in node.values[i + 1 :])]
                return ast.BoolOp(node.op, [self.code(r) for r in rest])
            if bool(e.value) != is_and:  # short circuit: the rest is never read
                return e
        return e

    def expr_IfExp(self, node: ast.IfExp) -> Value | ast.expr:
        test = self.expr(node.test)
        if not isinstance(test, Known):
            raise Giveup("a conditional on values")
        return self.expr(node.body if test.value else node.orelse)

    def expr_JoinedStr(self, node: ast.JoinedStr) -> Value | ast.expr:
        """An f-string (an error message): its values as code, or the text when all
        are Known."""
        parts: list[ast.expr] = []
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                value = self.pure(part.value)
                spec = None if part.format_spec is None else self.pure(part.format_spec)
                if isinstance(value, Known) and (spec is None or isinstance(spec, Known)):  # into the text
                    shown = _CONVERSIONS[part.conversion](value.value)
                    part = ast.Constant(format(shown, "" if spec is None else spec.value))
                else:
                    spec_code = None if spec is None else self.code(spec)
                    part = ast.FormattedValue(self.code(value), part.conversion, spec_code)
            parts.append(part)
        code = ast.JoinedStr(parts)
        names = {n.id for n in ast.walk(code) if isinstance(n, ast.Name)}
        if not names - set(self.out.constants()):
            return Known(self.out.evaluate(ast.unparse(code)))
        return code

    def pure(self, node: ast.expr) -> Value | ast.expr:
        """``node`` as code that writes no line: it may never run (the right of an
        ``and``, an error message), so nothing it needs may run before it."""
        mark = self.out.mark()
        e = self.expr(node)
        if self.out.mark() != mark:
            raise Giveup("lines in code that may not run")
        return e

    def expr_Call(self, node: ast.Call) -> Value | ast.expr:
        func = self.expr(node.func)
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            raise Giveup("*args or **kwargs")
        args: list[Value | ast.expr] = [self.expr(a) for a in node.args]
        kwargs: dict[str, Value | ast.expr] = {str(k.arg): self.expr(k.value) for k in node.keywords}
        if not isinstance(func, Known):
            return self._call_code(func, args, kwargs)
        f = func.value
        values = [*args, *kwargs.values()]
        if f is call and args and isinstance(args[0], Known):  # an op on raw data: written out too
            params = {k: self.named(v, k) for k, v in kwargs.items()}
            return self.out.apply(args[0].value, [self.named(v) for v in args[1:]], params)
        if isinstance(f, type) and issubclass(f, tuple) and hasattr(f, "_fields"):  # an op's Saved
            fields = {**dict(zip(f._fields, args)), **kwargs}
            return Known(Record(f, {k: self.named(v, k) for k, v in fields.items()}))
        known = [v.value for v in values if isinstance(v, Known)]
        special = any(isinstance(v, (CtxView, Record, Results)) for v in known)
        if len(known) == len(values) and not special and not _random(f):  # computed once, at trace time
            return Known(f(*known[: len(args)], **dict(zip(kwargs, known[len(args) :]))))
        if f in _STATIC_CALLS and not kwargs and not special:  # len(x), type(x), isinstance(x, T): fixed
            return Known(f(*[self.example(a) for a in args]))
        if _ours(f):
            named = [self.named(v) for v in values]
            try:
                return inline(f, named[: len(args)], self.out, keywords=dict(zip(kwargs, named[len(args) :])))
            except Giveup:
                args, kwargs = list(named[: len(args)]), dict(zip(kwargs, named[len(args) :]))
        return self._call_code(func, args, kwargs)

    def named(self, v: Value | ast.expr, wish: str | None = None) -> Value:
        """``v`` as a Value: code becomes a line of its own."""
        return v if isinstance(v, (Known, str)) else self.out.line(wish or _wish(v), v)

    def _call_code(
        self, func: Value | ast.expr, args: list[Value | ast.expr], kwargs: dict[str, Value | ast.expr]
    ) -> ast.expr:
        return ast.Call(
            self.code(func), [self.code(a) for a in args], [ast.keyword(k, self.code(v)) for k, v in kwargs.items()]
        )


def _random(f: Any) -> bool:
    """Whether ``f`` draws random numbers (each call must draw anew, never at trace time)."""
    owner = getattr(f, "__self__", None)
    modules = (getattr(f, "__module__", None), type(owner).__module__ if owner is not None else None)
    return any(m is not None and m.split(".")[-1] in ("random", "_generator", "mtrand") for m in modules)


def _wish(code: ast.expr) -> str:
    """A name for a line computing ``code``: the function it calls (clip), else v."""
    if isinstance(code, ast.Call):
        func = code.func
        return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "v")
    return "v"


def _fold(template: ast.expr, **values: Any) -> Any:
    """Evaluate an operator on Known values (at trace time)."""
    code = compile(ast.fix_missing_locations(ast.Expression(template)), "<fold>", "eval")
    return eval(code, {"__builtins__": {}}, values)
