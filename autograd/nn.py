"""Parameter and Module: the small base a model is built from, and the layers.

A :class:`Parameter` is a leaf Tensor that requires grad. A :class:`Module` finds the
Parameters and sub-Modules among its attributes (also inside lists, tuples and dicts), names
each parameter after its attribute (``self.w = Parameter(...)`` gets ``.name == "w"``),
and runs ``forward`` inside ``scope(<module name>)`` so graph drawings can cluster the
model's values.

>>> import numpy as np
>>> class Affine(Module):
...     def __init__(self):
...         self.w = Parameter(np.zeros(3))
...         self.b = Parameter(np.zeros(1))
...     def forward(self, x):
...         return x @ self.w + self.b
>>> [name for name, _ in Affine().named_parameters()]
['w', 'b']

The layers (:class:`Linear`, :class:`ReLU`, :class:`Tanh`, :class:`Sigmoid`) stack
with :class:`Sequential`; parameter names and shapes are PyTorch's, so a state dict
loads into a ``torch.nn`` model of the same shape unchanged.

>>> Sequential(Linear(784, 64, rng=0), ReLU(), Linear(64, 10, rng=1))
Sequential(  # 50,890 parameters
  (0): Linear(in_features=784, out_features=64)  # 50,240 parameters
  (1): ReLU()
  (2): Linear(in_features=64, out_features=10)  # 650 parameters
)
"""

from __future__ import annotations

import importlib
import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from types import CodeType
from typing import Any, NamedTuple

import numpy as np

from . import ops
from .errors import ShapeError
from .graph import Node, no_grad, scope
from .tensor import Tensor, as_tensor, dtype_name


class ParameterSpec(NamedTuple):
    """What a parameter will be, said before it is allocated: its shape and dtype (see
    :meth:`Module.parameter_specs`)."""

    shape: tuple[Any, ...]
    dtype: np.dtype[Any]


class Parameter(Tensor):
    """A leaf Tensor with ``requires_grad=True``: what an optimizer updates.

    ``Parameter(data, name=None)`` copies ``data`` (numpy arrays keep their dtype,
    Python numbers become float64); the data must be floating point.
    """

    __slots__ = ()

    def __init__(self, data: Any, name: str | None = None) -> None:
        super().__init__(data, requires_grad=True, name=name)


#: Moves at every assignment or deletion of a module's attribute: a compiled step that
#: read modules compares them with what it traced only when this moved (guards.py).
#: Each change stores a new reading of :data:`_counts`, never an increment: two threads
#: incrementing at once would store one count for two changes, and a thread that stores
#: an older count back lets a later change store a count a step has already seen.
_assignments = 0
_counts = itertools.count(1)


class Module:
    """Base class of models: subclasses set Parameters and Modules as attributes (alone or
    in lists, tuples and dicts) and define ``forward``.

    ``module(*args)`` calls ``forward(*args)`` inside ``glassgrad.scope(module.scope_name)``.
    ``training`` is True until :meth:`eval` (layers that act differently while training
    read it).
    """

    training: bool = True  # the class default; train()/eval() set it on each instance

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _CLASSES[_class_path(cls)] = cls

    def __setattr__(self, key: str, value: Any) -> None:
        global _assignments
        if isinstance(value, Parameter) and value.name is None:
            value.name = key  # the drawing and error messages say "w", not "Tensor"
        object.__setattr__(self, key, value)
        _assignments = next(_counts)

    def __delattr__(self, key: str) -> None:
        global _assignments
        object.__delattr__(self, key)
        _assignments = next(_counts)

    @property
    def scope_name(self) -> str:
        """The scope name used for this module's values (its class name)."""
        return type(self).__name__

    def forward(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._run(self.scope_name, *args, **kwargs)

    def _run(self, scope_name: str, *args: Any, **kwargs: Any) -> Any:
        with scope(scope_name):
            return self.forward(*args, **kwargs)

    # -- what the module holds --------------------------------------------------------------
    def _members(self) -> Iterator[tuple[str, Any]]:
        """(name, value) of the attributes, with lists and tuples opened up as
        ``name.0``, ``name.1``, … and dicts as ``name.key`` (PyTorch's names for a
        ModuleList and a ModuleDict); the walks below keep the Parameters and Modules."""
        for key, value in vars(self).items():
            if isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    yield f"{key}.{i}", item
            elif isinstance(value, dict):
                for k, item in value.items():
                    yield f"{key}.{k}", item
            else:
                yield key, value

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, sub-module) for the modules this one holds directly."""
        for name, value in self._members():
            if isinstance(value, Module):
                yield name, value

    def modules(self) -> Iterator[Module]:
        """This module and every module inside it, each once, parents first."""
        seen: set[int] = set()
        stack: list[Module] = [self]
        while stack:
            m = stack.pop()
            if id(m) not in seen:
                seen.add(id(m))
                yield m
                stack.extend(reversed([c for _, c in m.named_children()]))

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) for this module's and its sub-modules' parameters,
        in attribute order; a parameter shared by two modules is listed once."""
        seen: set[int] = set()
        for name, p in self._walk_parameters(prefix):
            if id(p) not in seen:
                seen.add(id(p))
                yield name, p

    def _walk_parameters(self, prefix: str) -> Iterator[tuple[str, Parameter]]:
        for name, value in self._members():
            if isinstance(value, Parameter):
                yield prefix + name, value
            elif isinstance(value, Module):
                yield from value._walk_parameters(prefix + name + ".")

    def parameters(self) -> list[Parameter]:
        """The parameters, in the order of :meth:`named_parameters`."""
        return [p for _, p in self.named_parameters()]

    def num_parameters(self) -> int:
        """How many numbers the parameters hold in all."""
        return sum(p.size for p in self.parameters())

    def zero_grad(self) -> None:
        """Forget accumulated gradients (``.grad = None`` on every parameter)."""
        for p in self.parameters():
            p.grad = None

    # -- modes ------------------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set ``training`` on this module and every module inside it; returns self."""
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self) -> Module:
        """``train(False)``: the mode for evaluation and prediction; returns self."""
        return self.train(False)

    # -- description ------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """What goes between the parentheses of the repr: by default the module's own
        parameters as ``name: dtype[shape]``."""
        return ", ".join(
            f"{name}: {dtype_name(v.dtype)}{list(v.shape)}" for name, v in self._members() if isinstance(v, Parameter)
        )

    def __repr__(self) -> str:
        head, extra = type(self).__name__, self.extra_repr()
        count = _count_comment(self.num_parameters())
        children = list(self.named_children())
        if not children:
            return f"{head}({extra}){count}"
        lines = [f"{head}({count}"]
        if extra:
            lines.append(f"  {extra}")
        for name, child in children:
            lines.append(f"  ({name}): " + repr(child).replace("\n", "\n  "))
        lines.append(")")
        return "\n".join(lines)

    # -- architecture -----------------------------------------------------------------------
    def config(self) -> dict[str, Any] | None:
        """The constructor arguments (JSON values) that rebuild this module with the same
        parameter shapes, for :func:`glassgrad.save`; None when it cannot be rebuilt.

        The default is ``{}`` for a class whose ``__init__`` takes no arguments and None
        otherwise: a class with arguments returns them from its own ``config``.
        """
        return {} if _takes_no_arguments(type(self)) else None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Module:
        """The module that :meth:`config` describes (``cls(**config)``)."""
        return cls(**config)

    @classmethod
    def parameter_specs(cls, config: Mapping[str, Any]) -> dict[str, ParameterSpec]:
        """The shape and dtype of each parameter of ``cls.from_config(config)``, by name,
        found without building from ``config``.

        A model file's architecture is checked against the arrays the file holds before
        the model is built from it: a config that promises terabytes, or another dtype
        than the arrays', is refused, not allocated. The default knows a class whose
        constructor takes no arguments (it makes the same parameters whatever a file
        says, so one is built to look). A class sized by its arguments says its shapes
        and dtypes here from the config alone, as :class:`Linear` does; without that the
        default raises NotImplementedError and such a class is never built from a file's
        config, since its constructor could allocate any amount of memory from a tiny
        file (a model built by hand still loads a file's parameters).
        """
        if not _takes_no_arguments(cls):
            raise NotImplementedError(
                f"{cls.__name__} is sized by its arguments and has no parameter_specs to say its "
                "parameters' shapes and dtypes from its config without being built"
            )
        return {name: ParameterSpec(p.shape, p.dtype) for name, p in cls.from_config(config).named_parameters()}

    # -- state ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter's data, by dotted name."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Copy ``state`` into the parameters (in place, so optimizers keep working).

        Every parameter must be present with the same shape and dtype, and no extra
        entries are allowed; nothing is changed unless everything fits.
        """
        params = dict(self.named_parameters())
        missing = sorted(set(params) - set(state))
        unexpected = sorted(set(state) - set(params))
        if missing or unexpected:
            raise KeyError(
                f"{type(self).__name__}.load_state_dict: missing {missing or 'nothing'}, "
                f"unexpected {unexpected or 'nothing'}; expected exactly {sorted(params)}"
            )
        arrays = {name: np.asarray(state[name]) for name in params}
        for name, p in params.items():
            a = arrays[name]
            if a.shape != p.shape or a.dtype != p.dtype:
                raise ValueError(
                    f"{type(self).__name__}.load_state_dict: parameter {name!r} is "
                    f"{p.dtype}{list(p.shape)} but the state holds {a.dtype}{list(a.shape)}; "
                    "build the model with the same shape and dtype as the saved one"
                )
        with no_grad():
            for name, p in params.items():
                p[...] = arrays[name]


#: Every Module subclass by "module.QualName": the classes an architecture may name.
_CLASSES: dict[str, type[Module]] = {}


def _class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _takes_no_arguments(cls: type[Module]) -> bool:
    init = cls.__init__
    return init is object.__init__ or _arg_count(init) == 1


def _arg_count(fn: Any) -> int:
    """The arguments a function takes (self included), counting keyword-only ones,
    ``*args`` and ``**kwargs``."""
    code: CodeType = fn.__code__
    return code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & 0x04) + bool(code.co_flags & 0x08)


def architecture(module: Module) -> dict[str, Any]:
    """``{"class": "module.Class", "config": {...}}``: what rebuilds ``module`` with
    :func:`build` (without ``"config"`` when the module cannot say)."""
    spec: dict[str, Any] = {"class": _class_path(type(module))}
    config = module.config()
    if config is not None:
        spec["config"] = config
    return spec


def build(spec: Mapping[str, Any]) -> Module:
    """The module an :func:`architecture` describes, with fresh parameters.

    The class must be a Module subclass already imported, or one of glassgrad's own
    (imported on demand): a file can name a class but never make Python import code.
    """
    cls, config = _resolve(spec)
    return cls.from_config(config)


def parameter_specs(spec: Mapping[str, Any]) -> dict[str, ParameterSpec]:
    """The shape and dtype of each parameter of ``build(spec)``, by name, without
    building it; NotImplementedError when a class in it cannot say (see
    :meth:`Module.parameter_specs`)."""
    cls, config = _resolve(spec)
    return cls.parameter_specs(config)


def _resolve(spec: Any) -> tuple[type[Module], Mapping[str, Any]]:
    """The class an architecture names and its config."""
    path = spec.get("class") if isinstance(spec, Mapping) else None
    if not isinstance(path, str):
        shown = repr(spec) if len(repr(spec)) <= 60 else repr(spec)[:57] + "..."
        raise ValueError(f"an architecture is {{'class': ..., 'config': ...}}, got {shown}")
    if path not in _CLASSES and path.startswith("glassgrad."):
        importlib.import_module(path.rsplit(".", 1)[0])
    cls = _CLASSES.get(path)
    if cls is None:
        raise ValueError(f"unknown module class {path}: import the code that defines it first")
    if "config" not in spec:
        raise ValueError(f"{path} has no config to rebuild it from")
    return cls, spec["config"]


def _count_comment(n: int) -> str:
    if n == 0:
        return ""
    return f"  # {n:,} parameter" + ("" if n == 1 else "s")


# ---------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------


class Linear(Module):
    """``Linear(in_features, out_features, bias=True, *, dtype=float64, rng=None)``:
    y = x·Wᵀ + b.

    W has shape (out_features, in_features) and b (out_features,), as in
    ``torch.nn.Linear``. Both start uniform in [−k, k] with k = 1/√in_features, which
    is PyTorch's default (its Kaiming-uniform with a = √5 works out to this bound): the
    outputs start with a variance that does not grow with the number of inputs.
    ``rng`` is a seed or a ``numpy.random.Generator``; the same seed gives the same
    weights (None draws fresh ones).

    The input is (…, in_features); numpy arrays are converted to the weights' dtype.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        dtype: Any = np.float64,
        rng: int | np.random.Generator | None = None,
    ) -> None:
        for what, n in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"Linear: {what} must be an integer ≥ 1, got {n!r}")
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"Linear: dtype must be a float type (float64 or float32), got {dtype}")
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        k = 1.0 / math.sqrt(in_features)
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = Parameter(gen.uniform(-k, k, (self.out_features, self.in_features)).astype(dtype))
        self.bias = Parameter(gen.uniform(-k, k, self.out_features).astype(dtype)) if bias else None

    def config(self) -> dict[str, Any]:
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias is not None,
            "dtype": str(self.weight.dtype),
        }

    @classmethod
    def parameter_specs(cls, config: Mapping[str, Any]) -> dict[str, ParameterSpec]:
        """W (out_features, in_features) and, with a bias, b (out_features,), of the dtype
        the config names."""
        if cls.__init__ is not Linear.__init__ or cls.config is not Linear.config:  # a subclass of its own kind
            return super().parameter_specs(config)
        n_in, n_out, dtype = config["in_features"], config["out_features"], np.dtype(config.get("dtype", np.float64))
        specs = {"weight": ParameterSpec((n_out, n_in), dtype), "bias": ParameterSpec((n_out,), dtype)}
        if not config.get("bias", True):
            del specs["bias"]
        return specs

    def forward(self, x: Any) -> Tensor:
        if not isinstance(x, Node):
            x = as_tensor(np.asarray(x), dtype=self.weight.dtype)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ShapeError(
                f"Linear({self.in_features} → {self.out_features}): the input's last axis must have "
                f"{self.in_features} features, got shape {x.shape}"
            )
        y: Tensor = x @ self.weight.T
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        no_bias = "" if self.bias is not None else ", bias=False"
        kind = "" if self.weight.dtype == np.float64 else f", dtype={dtype_name(self.weight.dtype)}"
        return f"in_features={self.in_features}, out_features={self.out_features}{no_bias}{kind}"


class ReLU(Module):
    """max(x, 0), elementwise."""

    def forward(self, x: Any) -> Any:
        return ops.relu(x)


class Tanh(Module):
    """tanh x, elementwise."""

    def forward(self, x: Any) -> Any:
        return ops.tanh(x)


class Sigmoid(Module):
    """σ(x) = 1/(1+e⁻ˣ), elementwise."""

    def forward(self, x: Any) -> Any:
        return ops.sigmoid(x)


class Sequential(Module):
    """``Sequential(*layers)``: y = layerₙ(…layer₂(layer₁(x))).

    The layers are named by position (``0.weight``, ``2.bias``), as in
    ``torch.nn.Sequential``; each runs in its own scope (``Linear 0``, ``ReLU 1``, …) so
    a drawing shows one cluster per layer.
    """

    def __init__(self, *layers: Module) -> None:
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: layer {i} is a {type(layer).__name__}, not a Module")
        self.layers = tuple(layers)

    def _members(self) -> Iterator[tuple[str, Any]]:
        for i, layer in enumerate(self.layers):
            yield str(i), layer

    def config(self) -> dict[str, Any] | None:
        layers = [architecture(layer) for layer in self.layers]
        return {"layers": layers} if all("config" in spec for spec in layers) else None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Module:
        if cls.config is not Sequential.config:  # a subclass described by its own arguments
            return super().from_config(config)
        return cls(*[build(spec) for spec in _layer_specs(config)])

    @classmethod
    def parameter_specs(cls, config: Mapping[str, Any]) -> dict[str, ParameterSpec]:
        """Each layer's, under its position (``0.weight``)."""
        if cls.config is not Sequential.config:
            return super().parameter_specs(config)
        return {
            f"{i}.{name}": param
            for i, spec in enumerate(_layer_specs(config))
            for name, param in parameter_specs(spec).items()
        }

    def forward(self, x: Any) -> Any:
        for i, layer in enumerate(self.layers):
            x = layer._run(f"{layer.scope_name} {i}", x)
        return x

    def __getitem__(self, i: int) -> Module:
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)


def _layer_specs(config: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    """The layers' architectures of a Sequential's config, each a mapping."""
    layers = config["layers"]
    if not isinstance(layers, (list, tuple)):
        raise ValueError(
            f"Sequential: the config's layers must be a list of architectures, got {type(layers).__name__}"
        )
    for i, spec in enumerate(layers):
        if not isinstance(spec, Mapping):
            raise ValueError(f"Sequential: layer {i} of the config is a {type(spec).__name__}, not an architecture")
    return layers
