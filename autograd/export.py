"""Export a forward computation to ONNX, from the ops it records.

``to_onnx(fn_or_module, example_input)`` runs ``fn_or_module`` once on the example,
walks the recorded graph and writes each op in ONNX as the op itself declares it: an op
whose ONNX operator takes the same inputs names it (``onnx_op = "Exp"``); any other
spells itself with the :class:`OnnxBuilder` it is given (``to_onnx(ctx, b, *inputs)``).
Leaves become initializers (the parameters, in the model's dtype); the example becomes
the graph's input ``input``, its first axis a free batch size ``N``.

A free batch size is checked, not assumed: the function is recorded a second time on
the example with one more row, and the axes whose length changed are the ones that
follow the batch size (a translation reads them with :meth:`OnnxBuilder.batch_axes`
and takes their lengths from the input at run time). Both recordings are then
translated, and every ONNX node and constant must come out the same: one that differs
(a constant of the example's shape, a mask computed from it) would be wrong at any
other batch size, so export refuses it and names the op.

>>> import numpy as np, onnx, onnxruntime                       # doctest: +SKIP
>>> model = to_onnx(net, np.zeros((1, 784)))                    # doctest: +SKIP
>>> onnx.save(model, "net.onnx")                                # doctest: +SKIP
>>> session = onnxruntime.InferenceSession("net.onnx")          # doctest: +SKIP
>>> session.run(None, {"input": images})[0]                     # doctest: +SKIP

Needs the ``onnx`` package (``pip install glassgrad[export]``); the engine imports it
only here, and only when called. Only forward computations export: a loss needs labels,
which a served model does not have.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np

from .errors import GlassgradError
from .graph import Node, record_sites, walk
from .optional import require
from .tensor import Tensor

OPSET = 18  # reductions take their axes as an input from here on


class ExportError(GlassgradError):
    """A computation that cannot be written in ONNX: an op without a translation, or
    one whose ONNX would hold a number of the example's batch size."""


def refuse_dynamic(what: str) -> ExportError:
    """The error for a computation that ONNX cannot follow to another batch size."""
    return ExportError(
        f"export: {what}; compute it from the input inside the function, or export with "
        "dynamic_batch=False for a model of the example's batch size only"
    )


class OnnxBuilder:
    """What an op's ``to_onnx`` writes with: ONNX nodes and constants, named by strings.

    ``dtype`` is the float type of the model (the dtype of the recorded values);
    ``batch_axes`` maps ``id(node)`` to the axes of its value whose length follows the
    batch size (none for a node it does not name).
    """

    def __init__(self, dtype: np.dtype, batch_axes: Mapping[int, tuple[int, ...]]) -> None:
        from onnx import helper, numpy_helper

        self._helper, self._numpy_helper = helper, numpy_helper
        self.dtype = dtype
        self._batch_axes = batch_axes
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._producers: dict[str, Any] = {}  # each node by the name of its output
        self._count = 0

    def _name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def batch_axes(self, node: Node) -> tuple[int, ...]:
        """The axes of ``node``'s value whose length follows the batch size."""
        return self._batch_axes.get(id(node), ())

    def refuse(self, what: str) -> ExportError:
        """The error for a translation that cannot keep the batch size free: ``what``
        names the op and why."""
        return refuse_dynamic(what)

    def op(self, op_type: str, *inputs: str, **attributes: Any) -> str:
        """Add an ``op_type`` node reading ``inputs`` (``""`` for an omitted optional
        one); returns the name of its output."""
        out = self._name(op_type.lower())
        self.nodes.append(self._helper.make_node(op_type, list(inputs), [out], name=out, **attributes))
        self._producers[out] = self.nodes[-1]
        return out

    def cast(self, x: str, dtype: Any) -> str:
        """``x`` converted to ``dtype``. The cast of a transpose is written as the
        transpose of a cast (the two commute): onnxruntime 1.32 crashes the process
        building a session where a Transpose of the leading axes feeds a MatMul
        through a Cast."""
        producer = self._producers.get(x)
        if producer is not None and producer.op_type == "Transpose":
            perm = self._helper.get_attribute_value(producer.attribute[0])
            return self.op("Transpose", self.cast(producer.input[0], dtype), perm=list(perm))
        return self.op("Cast", x, to=self.cast_code(dtype))

    def const(self, value: Any, dtype: Any = None, name: str | None = None) -> str:
        """A constant (an initializer) of ``dtype``; by default arrays keep their dtype
        (integers become int64) and Python numbers become float64."""
        arr = np.asarray(value)
        if dtype is not None:
            arr = arr.astype(dtype, copy=False)
        elif arr.dtype.kind in "iu":
            arr = arr.astype(np.int64, copy=False)
        out = self._name(name or "const")
        # np.require keeps a 0-d array 0-d (np.ascontiguousarray makes it 1-d).
        self.initializers.append(self._numpy_helper.from_array(np.require(arr, requirements="C"), out))
        return out

    def ints(self, values: Any) -> str:
        """An int64 vector constant (shapes, axes)."""
        return self.const(np.asarray(values, dtype=np.int64).reshape(-1))

    def reshape(self, x: str, source: Node, target: Node) -> str:
        """Reshape ``source``'s value (named ``x``) to ``target``'s shape, free of the
        batch size: an axis that follows it is 0 where the source has it at the same
        place (ONNX: keep the input's length), and −1 (ONNX: whatever the elements make)
        for the one left. Raises :class:`ExportError` when two are left."""
        shape, kept = list(np.shape(target.data)), self.batch_axes(source)
        left = []
        for i in self.batch_axes(target):
            if i in kept and np.shape(source.data)[i] == shape[i]:
                shape[i] = 0
            else:
                left.append(i)
        if len(left) > 1:
            raise self.refuse(
                f"the op reshape to {tuple(np.shape(target.data))} spreads the batch size over axes {tuple(left)}"
            )
        if left:
            shape[left[0]] = -1
        # Without a kept axis, a 0 is a length of 0 (allowzero), as numpy reads it.
        copies = set(self.batch_axes(target)) - set(left)
        return self.op("Reshape", x, self.ints(shape), allowzero=int(not copies))

    def count(self, x: str, node: Node, axes: tuple[int, ...], dtype: Any) -> str:
        """The number of elements of ``node``'s value (named ``x`` in ONNX) along
        ``axes``, as ``dtype``: read from its shape at run time when one of them follows
        the batch size."""
        if not set(axes) & set(self.batch_axes(node)):
            return self.const(np.prod([np.shape(node.data)[a] for a in axes]), dtype)
        lengths = self.op("Gather", self.op("Shape", x), self.ints(axes))
        return self.op("Cast", self.op("ReduceProd", lengths, keepdims=0), to=self.cast_code(dtype))

    def reduce(self, kind: str, x: str, axes: tuple[int, ...], keepdims: bool) -> str:
        """``Reduce<kind>`` over ``axes`` (an empty tuple reduces nothing)."""
        return self.op(f"Reduce{kind}", x, self.ints(axes), keepdims=int(keepdims), noop_with_empty_axes=1)

    def cast_code(self, dtype: Any) -> int:
        """ONNX's number for a numpy dtype (Cast's ``to``)."""
        return int(self._helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))


def translate(node: Node, b: OnnxBuilder, inputs: list[str]) -> str:
    """``node``'s op in ONNX, as its Function declares it. Float inputs of another dtype
    than the result are cast to it first: numpy promotes (float32 @ float64 is float64),
    ONNX does not."""
    fn = node.fn
    assert fn is not None
    dtype = np.result_type(node.data)
    inputs = [b.cast(name, dtype) if np.result_type(p.data) != dtype else name for name, p in zip(inputs, node.parents)]
    if fn.onnx_op is not None:
        return b.op(fn.onnx_op, *inputs)
    if fn.to_onnx is None:
        raise ExportError(
            f"export: the op {fn.name} has no ONNX translation (its Function declares neither onnx_op nor "
            "to_onnx); export the forward computation without it"
        )
    return str(fn.to_onnx(node, b, *inputs))


class Recording(NamedTuple):
    """A forward computation recorded on one input: the input, the output and every
    node between them, oldest first."""

    x: Tensor
    out: Tensor
    nodes: list[Node]


def record(fn_or_module: Callable[[Tensor], Tensor], example: np.ndarray) -> Recording:
    """Run ``fn_or_module`` on ``example``, recording every op."""
    x = Tensor(example, requires_grad=True)  # requires grad: every op on it is recorded
    with record_sites():  # keeps each op's forward parameters (axis, keepdims, …)
        out = fn_or_module(x)
    if not isinstance(out, Tensor):
        raise TypeError(f"to_onnx: the function must return a Tensor, got {type(out).__name__}")
    return Recording(x, out, walk(out))


def record_twin(fn_or_module: Callable[[Tensor], Tensor], example: np.ndarray) -> Recording:
    """Record ``fn_or_module`` at batch size N + 1: on the example with a copy of its
    first row appended (so that values computed from the example stay put), or on
    zeros for an empty example."""
    row = example[:1] if len(example) else np.zeros_like(example, shape=(1, *example.shape[1:]))
    try:
        return record(fn_or_module, np.concatenate([example, row]))
    except (ValueError, TypeError, IndexError) as e:
        raise refuse_dynamic(f"the function fails at batch size {len(example) + 1} ({e})") from e


def batch_axes_of(one: Recording, other: Recording) -> list[tuple[int, ...]]:
    """For each node of two recordings of one function at batch sizes N and N + 1, the
    axes whose length differs between them: the ones that follow the batch size.
    Raises :class:`ExportError` when the two recorded different computations."""
    n = len(one.x.data)
    if len(one.nodes) != len(other.nodes) or any(
        a.fn is not b.fn or np.ndim(a.data) != np.ndim(b.data) for a, b in zip(one.nodes, other.nodes)
    ):
        raise refuse_dynamic(f"the function records other ops at batch size {n + 1} than at {n}")
    return [
        tuple(i for i, (p, q) in enumerate(zip(np.shape(a.data), np.shape(b.data))) if p != q)
        for a, b in zip(one.nodes, other.nodes)
    ]


def translate_all(rec: Recording, b: OnnxBuilder) -> tuple[str, list[tuple[list[Any], list[Any]]]]:
    """Translate every node of ``rec``; returns the output's name and, per node, the
    ONNX nodes and constants it wrote."""
    names: dict[int, str] = {id(rec.x): "input"}
    written = []
    for node in rec.nodes:
        nodes, consts = len(b.nodes), len(b.initializers)
        if id(node) not in names:
            if node.is_leaf:
                names[id(node)] = b.const(node.data, name=node.name or "param")
            else:
                names[id(node)] = translate(node, b, [names[id(p)] for p in node.parents])
        written.append((b.nodes[nodes:], b.initializers[consts:]))
    return names[id(rec.out)], written


def check_same(one: Recording, other: Recording, written: list[Any], other_written: list[Any]) -> None:
    """Raise :class:`ExportError` at the first node whose ONNX differs between the
    recordings at batch sizes N and N + 1: a number in it follows the example."""
    from onnx import numpy_helper

    n = len(one.x.data)
    for node, twin, (nodes, consts), (twin_nodes, twin_consts) in zip(one.nodes, other.nodes, written, other_written):
        same = [a.SerializeToString() for a in nodes] == [a.SerializeToString() for a in twin_nodes] and all(
            np.array_equal(numpy_helper.to_array(a), numpy_helper.to_array(c), equal_nan=True)
            and numpy_helper.to_array(a).shape == numpy_helper.to_array(c).shape
            for a, c in zip(consts, twin_consts)
        )
        if not same:
            raise refuse_dynamic(f"{changed(node, twin, n)}: ONNX would keep the example's batch size in it")


def changed(node: Node, twin: Node, n: int) -> str:
    """What differs in ``node``'s ONNX between batch sizes ``n`` and ``n + 1``."""
    if node.fn is not None:
        return f"the op {node.fn.name} writes a constant (a mask, a shape) that changes from batch size {n} to {n + 1}"
    a, c = np.shape(node.data), np.shape(twin.data)
    how = f"is {c} at batch size {n + 1}" if a != c else f"changes from batch size {n} to {n + 1}"
    return f"the constant {node.name or 'param'} of shape {a} {how}"


def to_onnx(
    fn_or_module: Callable[[Tensor], Tensor], example_input: Any, *, dynamic_batch: bool = True, name: str = "glassgrad"
) -> Any:
    """An ``onnx.ModelProto`` computing ``fn_or_module(input)`` as recorded on ``example_input``.

    ``example_input`` is an array of the input's shape and float dtype; with
    ``dynamic_batch`` its first axis is free (``N``) in the exported model, and the
    function runs twice: it must compute the same ops at batch size N + 1 (see the
    module's notes). The output is named ``output``. Raises :class:`ExportError` for
    an op without a translation, or one whose ONNX would be right at the example's
    batch size only.
    """
    onnx = require("onnx", "export", "export to ONNX")
    example = np.asarray(example_input.data if isinstance(example_input, Node) else example_input)
    if example.dtype.kind != "f":
        raise TypeError(f"to_onnx: the example input must be floating point, got {example.dtype}")
    rec = record(fn_or_module, example)
    twin = record_twin(fn_or_module, example) if dynamic_batch and example.ndim else None
    found = batch_axes_of(rec, twin) if twin else [() for _ in rec.nodes]
    b = OnnxBuilder(rec.out.dtype, {id(node): axes for node, axes in zip(rec.nodes, found)})
    output, written = translate_all(rec, b)
    if twin:
        twin_b = OnnxBuilder(twin.out.dtype, {id(node): axes for node, axes in zip(twin.nodes, found)})
        check_same(rec, twin, written, translate_all(twin, twin_b)[1])
    b.nodes.append(onnx.helper.make_node("Identity", [output], ["output"], name="output"))
    elem = b.cast_code(example.dtype)
    in_shape = ["N", *example.shape[1:]] if twin else list(example.shape)
    out = rec.out
    graph = onnx.helper.make_graph(
        b.nodes,
        name,
        [onnx.helper.make_tensor_value_info("input", elem, in_shape)],
        # Each output axis gets a name of its own: its size may follow the batch.
        [onnx.helper.make_tensor_value_info("output", b.cast_code(out.dtype), [f"out{i}" for i in range(out.ndim)])],
        initializer=b.initializers,
    )
    model = onnx.helper.make_model(
        graph, opset_imports=[onnx.helper.make_opsetid("", OPSET)], producer_name="glassgrad", ir_version=8
    )
    onnx.checker.check_model(model)
    return model
