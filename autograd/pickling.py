"""Pickling and copying graph values of any depth, without recursion.

Python pickles (and deep-copies) an object by first handling what it refers to, one
call deeper each time; a value made by an op refers to its inputs, so a chain of ops
would recurse once per op and fail a few thousand ops deep. Instead, a value made by
an op is reduced to a flat list of the graph it depends on, oldest first:

- a leaf stays an ordinary object in the list, so pickle's memo and deepcopy's keep
  it shared: a parameter used by two values is one object after loading;
- an op output becomes a tuple (kind, data, op, saved, meta, inputs) that names its
  inputs by their position in the list (an op output requires grad; its ``.grad``,
  when it has one, is in its meta).

Rebuilding walks the list once. Op outputs are made afresh, so two values pickled
together that share an intermediate value each get their own copy of it (leaves stay
shared). Loaded values take new creation stamps from this process's clock and forget
in-place history: a loaded value counts as unchanged, except that an op whose output
or saved input was changed in place after it was made still refuses backward (its
output is loaded as changed after the op, and its error names the input that changed).
"""

from __future__ import annotations

from typing import Any, NamedTuple, SupportsIndex

import numpy as np

from . import graph, state
from .graph import Function, Node

_new = object.__new__

# Metadata that belongs to this process: the in-place version is a reading of its clock,
# the warning flag a courtesy already paid.
_LOCAL_META = ("version", "warned_grad")


def reduce_value(node: Node) -> tuple[Any, ...]:
    """``__reduce_ex__`` of a graph value: a leaf by its fields, an op output by the
    flat record of its graph (see :class:`FlatGraph`)."""
    if node._fn is None:
        return (_blank, (type(node),), (getattr(node, "__dict__", None), _fields(node)))
    return (rebuild, (FlatGraph.of(node),))


class FlatGraph(NamedTuple):
    """A graph as columns, leaves first and every op output after its inputs.

    Columns rather than one tuple per value: a deep graph is mostly numbers, and pickle
    writes a list of floats or one integer array many times faster than as many
    tuples. Positions count leaves first, then op outputs.
    """

    leaves: list[Node]
    ops: list[tuple[type[Node], type[Function]]]  # the distinct (kind, op) pairs
    op_of: np.ndarray  # per op output: its index in ``ops``
    data: list[Any]
    arity: np.ndarray  # per op output: the number of inputs, -1 where backward freed them
    inputs: np.ndarray  # the positions of all inputs, one op output after another
    extras: dict[int, tuple[Any, Any]]  # (saved, meta) where either is set
    stale: tuple[tuple[int, int], ...] = ()  # see _changed_after_use

    @classmethod
    def of(cls, root: Node) -> FlatGraph:
        order = _graph(root)
        position = {id(n): i for i, n in enumerate(order)}
        n_leaves = next((i for i, n in enumerate(order) if n._fn is not None), len(order))
        outputs = order[n_leaves:]
        codes: dict[tuple[type[Node], type[Function]], int] = {}
        op_of: list[int] = []
        arity: list[int] = []
        inputs: list[int] = []
        extras: dict[int, tuple[Any, Any]] = {}
        # One pass, unrolled for unary and binary ops: a deep graph is nothing else.
        add_input = inputs.append
        for i, n in enumerate(outputs):
            key = (type(n), n._fn)
            code = codes.get(key)  # type: ignore[arg-type]
            if code is None:
                code = codes[key] = len(codes)  # type: ignore[index]
            op_of.append(code)
            p0, p1 = n._p0, n._p1
            if p1 is not None:
                arity.append(2)
                add_input(position[id(p0)])
                add_input(position[id(p1)])
            elif p0 is None:  # freed by backward
                arity.append(-1)
            elif type(p0) is tuple:
                arity.append(len(p0))
                inputs.extend([position[id(p)] for p in p0])
            else:
                arity.append(1)
                add_input(position[id(p0)])
            if n.saved is not None or n._meta is not None:
                extras[i] = (n.saved, _portable(n._meta))
        # Look only when something changed in place since the oldest op was made.
        stale = _changed_after_use(outputs) if outputs and graph._last_inplace > outputs[0]._seq else ()
        return cls(
            order[:n_leaves],
            list(codes),
            np.array(op_of, dtype=np.int32),
            [n._data for n in outputs],
            np.array(arity, dtype=np.int32),
            np.array(inputs, dtype=np.int64),
            extras,
            stale,
        )


def _blank(kind: type[Node]) -> Node:
    """An empty value of ``kind`` for pickle to fill in (leaves)."""
    return _new(kind)


def copy_value(node: Node) -> Node:
    """``copy.copy``: a new value with the same data, op and inputs (shared, not copied)."""
    twin = _new(type(node))
    for slot, value in _fields(node).items():
        setattr(twin, slot, value)
    twin._meta = None if node._meta is None else dict(node._meta)
    return twin


def rebuild(flat: FlatGraph) -> Node:
    """The graph of :func:`reduce_value` made again; returns its newest value."""
    nodes: list[Node] = list(flat.leaves)
    ops, inputs = flat.ops, flat.inputs.tolist()
    at = 0
    clock = graph._clock
    stale = dict(flat.stale)
    with state.CollectorPause():  # a million small objects, and no cycle among them
        for i, (code, data, arity) in enumerate(zip(flat.op_of.tolist(), flat.data, flat.arity.tolist())):
            kind, fn = ops[code]
            node = _new(kind)
            node._data, node._fn = data, fn
            node.saved = node._meta = node._g = None
            node._p0 = node._p1 = None
            if arity == 1:
                node._p0 = nodes[inputs[at]]
            elif arity == 2:
                node._p0, node._p1 = nodes[inputs[at]], nodes[inputs[at + 1]]
            elif arity >= 0:
                node._p0 = tuple(nodes[j] for j in inputs[at : at + arity])
            at += max(arity, 0)
            if i in flat.extras:
                node.saved, node._meta = flat.extras[i]
            node._seq = next(clock)  # oldest first: consumers stay newer than inputs
            if stale and i in stale:  # changed after its op, before the consumers were made
                with state.backward_lock:
                    node._bump_version()
                if stale[i] >= 0:
                    node._meta["changed_input"] = stale[i]
            nodes.append(node)
    return nodes[-1]


def _changed_after_use(outputs: list[Node]) -> tuple[tuple[int, int], ...]:
    """(position, what changed) of each op output whose backward refuses because a value
    changed in place after its op was made: −1 for the output itself, else the index of
    the input."""
    found = []
    for i, n in enumerate(outputs):
        changed = graph.changed_after_use(n) if n._p0 is not None else None
        if changed is not None:
            found.append((i, -1 if changed is n else [id(p) for p in n.parents].index(id(changed))))
    return tuple(found)


def _fields(node: Node) -> dict[str, Any]:
    """Every slot of ``node`` that is set, with process-local metadata dropped."""
    fields = {}
    for cls in type(node).__mro__:
        for slot in cls.__dict__.get("__slots__", ()):
            if slot != "__weakref__" and hasattr(node, slot):
                fields[slot] = getattr(node, slot)
    fields["_meta"] = _portable(node._meta)
    fields["_g"] = None
    return fields


def _portable(meta: dict[str, Any] | None) -> dict[str, Any] | None:
    if meta is None or not any(key in meta for key in _LOCAL_META):
        return meta
    kept = {key: value for key, value in meta.items() if key not in _LOCAL_META}
    return kept or None


def _graph(root: Node) -> list[Node]:
    """``root`` and everything it depends on, oldest first (leaves first); freed
    parts of the graph are cut where backward freed them."""
    seen = {id(root)}
    found = [root]
    stack = [root]
    pop, push, add, mark = stack.pop, stack.append, found.append, seen.add
    while stack:
        node = pop()
        p0, p1 = node._p0, node._p1
        if p0 is None:  # a leaf, or freed
            continue
        for p in (p0, p1) if p1 is not None else (p0 if type(p0) is tuple else (p0,)):
            if id(p) not in seen:
                mark(id(p))
                add(p)
                push(p)
    found.sort(key=graph._seq_key)  # leaves (stamps −1 and 0) first, then op outputs by age
    return found


def _reduce_ex(node: Node, protocol: SupportsIndex) -> tuple[Any, ...]:
    return reduce_value(node)


# The hooks live here, beside the code they call, so the graph core does not import
# this module (the package imports it once, which installs them).
Node.__reduce_ex__ = _reduce_ex  # type: ignore[method-assign, assignment]
Node.__copy__ = copy_value  # type: ignore[attr-defined]
