"""Export a forward computation to ONNX, from the ops it records.

``to_onnx(fn_or_module, example_input)`` runs ``fn_or_module`` once on the example,
walks the recorded graph and writes each op in ONNX as the op itself declares it: an op
whose ONNX operator takes the same inputs names it (``onnx_op = "Exp"``); any other
spells itself with the :class:`OnnxBuilder` it is given (``to_onnx(ctx, b, *inputs)``).
Leaves become initializers (the parameters, in the model's dtype); the example becomes
the graph's input ``input``, its first axis a free batch size ``N``.

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

from collections.abc import Callable
from typing import Any

import numpy as np

from .errors import GlassgradError
from .graph import Node, record_sites, walk
from .optional import require
from .tensor import Tensor

OPSET = 18  # reductions take their axes as an input from here on


class ExportError(GlassgradError):
    """A computation that cannot be written in ONNX (an op without a translation)."""


class OnnxBuilder:
    """What an op's ``to_onnx`` writes with: ONNX nodes and constants, named by strings.

    ``dtype`` is the float type of the model (the dtype of the recorded values).
    """

    def __init__(self, dtype: np.dtype, dynamic_batch: bool) -> None:
        from onnx import helper, numpy_helper

        self._helper, self._numpy_helper = helper, numpy_helper
        self.dtype = dtype
        self.dynamic_batch = dynamic_batch
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0

    def _name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def op(self, op_type: str, *inputs: str, **attributes: Any) -> str:
        """Add an ``op_type`` node reading ``inputs`` (``""`` for an omitted optional
        one); returns the name of its output."""
        out = self._name(op_type.lower())
        self.nodes.append(self._helper.make_node(op_type, list(inputs), [out], name=out, **attributes))
        return out

    def const(self, value: Any, dtype: Any = None, name: str | None = None) -> str:
        """A constant (an initializer) of ``dtype``; by default arrays keep their dtype
        (integers become int64) and Python numbers become float64."""
        arr = np.asarray(value)
        if dtype is not None:
            arr = arr.astype(dtype, copy=False)
        elif arr.dtype.kind in "iu":
            arr = arr.astype(np.int64, copy=False)
        out = self._name(name or "const")
        self.initializers.append(self._numpy_helper.from_array(np.ascontiguousarray(arr), out))
        return out

    def ints(self, values: Any) -> str:
        """An int64 vector constant (shapes, axes)."""
        return self.const(np.asarray(values, dtype=np.int64).reshape(-1))

    def target_shape(self, source: tuple[int, ...], target: tuple[int, ...]) -> str:
        """Reshape's shape input for ``source`` → ``target``, free of the example's batch
        size where it can be: a first axis that stays is 0 (ONNX: keep the input's), and
        a flattening to one axis is −1."""
        shape = list(target)
        if self.dynamic_batch and source and shape and source[0] == shape[0]:
            shape[0] = 0
        elif self.dynamic_batch and len(shape) == 1:
            shape[0] = -1
        return self.ints(shape)

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
    inputs = [
        b.op("Cast", name, to=b.cast_code(dtype)) if np.result_type(p.data) != dtype else name
        for name, p in zip(inputs, node.parents)
    ]
    if fn.onnx_op is not None:
        return b.op(fn.onnx_op, *inputs)
    if fn.to_onnx is None:
        raise ExportError(
            f"export: the op {fn.name} has no ONNX translation (its Function declares neither onnx_op nor "
            "to_onnx); export the forward computation without it"
        )
    return str(fn.to_onnx(node, b, *inputs))


def to_onnx(
    fn_or_module: Callable[[Tensor], Tensor], example_input: Any, *, dynamic_batch: bool = True, name: str = "glassgrad"
) -> Any:
    """An ``onnx.ModelProto`` computing ``fn_or_module(input)`` as recorded on ``example_input``.

    ``example_input`` is an array of the input's shape and float dtype; with
    ``dynamic_batch`` its first axis is free (``N``) in the exported model. The output
    is named ``output``. Raises :class:`ExportError` for an op without a translation.
    """
    onnx = require("onnx", "export", "export to ONNX")
    example = np.asarray(example_input.data if isinstance(example_input, Node) else example_input)
    if example.dtype.kind != "f":
        raise TypeError(f"to_onnx: the example input must be floating point, got {example.dtype}")
    x = Tensor(example, requires_grad=True)  # requires grad: every op on it is recorded
    with record_sites():  # keeps each op's forward parameters (axis, keepdims, …)
        out = fn_or_module(x)
    if not isinstance(out, Tensor):
        raise TypeError(f"to_onnx: the function must return a Tensor, got {type(out).__name__}")
    b = OnnxBuilder(out.dtype, dynamic_batch)
    names: dict[int, str] = {id(x): "input"}
    for node in walk(out):
        if id(node) in names:
            continue
        if node.is_leaf:
            names[id(node)] = b.const(node.data, name=node.name or "param")
        else:
            names[id(node)] = translate(node, b, [names[id(p)] for p in node.parents])
    b.nodes.append(onnx.helper.make_node("Identity", [names[id(out)]], ["output"], name="output"))
    elem = b.cast_code(example.dtype)
    in_shape = ["N", *example.shape[1:]] if dynamic_batch and example.ndim else list(example.shape)
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
