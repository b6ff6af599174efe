"""Parameter and Module: the small base a model is built from.

A :class:`Parameter` is a leaf Tensor that requires grad. A :class:`Module` finds the
Parameters (and sub-Modules) among its attributes, names each parameter after its
attribute (``self.w = Parameter(...)`` gets ``.name == "w"``), and runs ``forward``
inside ``scope(<module name>)`` so graph drawings can cluster the model's values.

>>> import numpy as np
>>> class Affine(Module):
...     def __init__(self):
...         self.w = Parameter(np.zeros(3))
...         self.b = Parameter(np.zeros(1))
...     def forward(self, x):
...         return x @ self.w + self.b
>>> [name for name, _ in Affine().named_parameters()]
['w', 'b']
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from .graph import no_grad, scope
from .tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor with ``requires_grad=True``: what an optimizer updates.

    ``Parameter(data, name=None)`` copies ``data`` (numpy arrays keep their dtype,
    Python numbers become float64); the data must be floating point.
    """

    __slots__ = ()

    def __init__(self, data: Any, name: str | None = None) -> None:
        super().__init__(data, requires_grad=True, name=name)


class Module:
    """Base class of models: subclasses set Parameters as attributes and define ``forward``.

    ``module(*args)`` calls ``forward(*args)`` inside ``glassgrad.scope(module.scope_name)``.
    """

    def __setattr__(self, key: str, value: Any) -> None:
        if isinstance(value, Parameter) and value.name is None:
            value.name = key  # the drawing and error messages say "w", not "Tensor"
        object.__setattr__(self, key, value)

    @property
    def scope_name(self) -> str:
        """The scope name used for this module's values (its class name)."""
        return type(self).__name__

    def forward(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with scope(self.scope_name):
            return self.forward(*args, **kwargs)

    # -- parameters ---------------------------------------------------------------------
    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) for this module's and its sub-modules' parameters,
        in attribute order."""
        for key, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + key, value
            elif isinstance(value, Module):
                yield from value.named_parameters(prefix + key + ".")

    def parameters(self) -> list[Parameter]:
        """The parameters, in the order of :meth:`named_parameters`."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Forget accumulated gradients (``.grad = None`` on every parameter)."""
        for p in self.parameters():
            p.grad = None

    # -- state ----------------------------------------------------------------------------
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
