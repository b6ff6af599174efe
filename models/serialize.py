"""Save and load any :class:`~glassgrad.nn.Module`: ``save(module, path)``, ``load(path)``.

The file is a numpy ``.npz``: one array per parameter, by its dotted name (the
module's ``state_dict``), and a JSON header under ``__glassgrad__``::

    {"format": "glassgrad-module", "format_version": 1, "glassgrad": "0.1.0",
     "architecture": {"class": "glassgrad.nn.Sequential", "config": {"layers": [...]}},
     "dtype": "float64", "parameters": {"0.weight": {"shape": [64, 784], "dtype": "float64"}, ...},
     "metadata": {...}}

The architecture is the module's class and :meth:`~glassgrad.nn.Module.config` (the
arguments that rebuild it), so :func:`load` returns a ready model; a module whose class
has no ``config`` is still saved, and loads into a model you build (``load(path,
into=model)``). The file is written atomically and never unpickled: loading never
runs code from the file.

A file is checked before the model is built, so a small hostile file cannot make
:func:`load` claim gigabytes: its arrays are counted and sized from the zip's directory
and their own headers before they are read (:mod:`.npzfile`), the JSON header is
bounded in size and nesting, every parameter must be floating point and finite, and the
shape and dtype the architecture gives each parameter
(:meth:`~glassgrad.nn.Module.parameter_specs`) must be those of the array the file
holds. A class of your own that is sized by its arguments is rebuilt from a file only
when it says its parameters' shapes and dtypes from its config (its own
``parameter_specs``): running its constructor on a file's numbers could allocate any
amount of memory from a tiny file. Without it, build the model and ``load(path,
into=model)``, which checks the file's arrays against the model's parameters. Every
problem is a one-line :class:`ModuleFileError`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import glassgrad
import numpy as np
from glassgrad.errors import GlassgradError
from glassgrad.nn import Module, ParameterSpec, architecture, build, parameter_specs

from .atomic import write_atomic
from .npzfile import read_npz

FORMAT = "glassgrad-module"
FORMAT_VERSION = 1
HEADER = "__glassgrad__"
MAX_ARRAYS = 10_000  # the header and one array per parameter
MAX_BYTES = 1 << 30  # what the arrays may unpack to, headers included
MAX_HEADER_BYTES = 1 << 20  # the architecture and the metadata as JSON
MAX_DEPTH = 64  # levels of lists and dicts in the header; a Sequential inside another takes 3
MAX_INT_DIGITS = 4300  # in a whole number of the header: Python's own limit since 3.11
NPY_HEADER_BYTES = 256  # what np.savez puts before each array's values, at most, for a parameter


class ModuleFileError(GlassgradError, ValueError):
    """A module file that is missing, unreadable, of another format, or that does not fit."""


def save(module: Module, path: str | os.PathLike[str], metadata: dict[str, Any] | None = None) -> Path:
    """Write ``module``'s parameters, architecture and ``metadata`` (JSON values) to
    ``path`` (.npz) atomically; returns the path. A module :func:`load` would refuse
    for its size raises ValueError, and nothing is written."""
    if not isinstance(module, Module):
        raise TypeError(f"save: expected a glassgrad Module, got {type(module).__name__}")
    state = module.state_dict()
    dtypes = {str(a.dtype) for a in state.values()}
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "glassgrad": glassgrad.__version__,
        "architecture": architecture(module),
        "dtype": dtypes.pop() if len(dtypes) == 1 else None,
        "parameters": {name: {"shape": list(a.shape), "dtype": str(a.dtype)} for name, a in state.items()},
        "metadata": metadata or {},
    }
    if _depth(header) > MAX_DEPTH:
        raise ValueError(f"save: the architecture and metadata are nested more than {MAX_DEPTH} lists or dicts deep")
    try:
        text = json.dumps(header, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise TypeError(f"save: the metadata must be JSON values (numbers, strings, lists, dicts): {exc}") from None
    if len(text) > MAX_HEADER_BYTES:
        raise ValueError(
            f"save: the header (architecture and metadata) is {len(text):,} bytes of JSON, more than the "
            f"{MAX_HEADER_BYTES:,} a module file may hold; keep large metadata in a file of its own"
        )
    size = len(text) + sum(a.nbytes for a in state.values()) + NPY_HEADER_BYTES * (len(state) + 1)
    if len(state) + 1 > MAX_ARRAYS or size > MAX_BYTES:
        raise ValueError(
            f"save: {len(state):,} parameters of {size:,} bytes in all; a module file holds at most "
            f"{MAX_ARRAYS - 1:,} parameters and {MAX_BYTES:,} bytes"
        )
    arrays = {HEADER: np.frombuffer(text, dtype=np.uint8), **state}
    # numpy's stub checks the ** names against savez's allow_pickle flag too; none is called that.
    return write_atomic(path, lambda f: np.savez(f, **arrays))  # type: ignore[arg-type]


def load(path: str | os.PathLike[str], into: Module | None = None) -> Module:
    """The module saved at ``path``: rebuilt from its architecture, or ``into`` (a
    module of the same shape) with the saved parameters copied in."""
    header, state = read(path)
    return restore(header, state, f"module file {Path(path)}", into)


def read(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header and the parameter arrays of a module file, checked against each other."""
    where = f"module file {Path(path)}"
    return split(read_npz(path, where, ModuleFileError, MAX_ARRAYS, MAX_BYTES), where)


def split(arrays: dict[str, np.ndarray], where: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header and the parameters among the ``arrays`` of a module file (``where``
    names it in errors): every parameter the header lists, floating point and finite."""
    state = dict(arrays)
    header = _header(state.pop(HEADER, None), where)
    if header.get("format_version") != FORMAT_VERSION:
        raise ModuleFileError(
            f"{where} has format version {header.get('format_version')!r} (written by glassgrad "
            f"{header.get('glassgrad')}); this glassgrad reads version {FORMAT_VERSION}"
        )
    declared = header.get("parameters")
    if not isinstance(declared, dict) or set(declared) != set(state):
        listed = sorted(declared) if isinstance(declared, dict) else declared
        raise ModuleFileError(
            f"{where} is damaged: its header lists parameters {_shown(listed)} but it holds {_shown(sorted(state))}"
        )
    for name, a in state.items():
        spec = declared[name]
        if not isinstance(spec, dict) or spec.get("shape") != list(a.shape) or spec.get("dtype") != str(a.dtype):
            raise ModuleFileError(
                f"{where} is damaged: parameter {name!r} is {a.dtype}{list(a.shape)} but the header says {_shown(spec)}"
            )
        if a.dtype.kind != "f":
            raise ModuleFileError(f"{where}: parameter {name!r} has dtype {a.dtype}; parameters are floating point")
        if not np.isfinite(a).all():
            raise ModuleFileError(
                f"{where}: parameter {name!r} holds NaN or infinite values (its training diverged); train again"
            )
    return header, state


def restore(header: dict[str, Any], state: dict[str, np.ndarray], where: str, into: Module | None = None) -> Module:
    """The module of a module file's ``header`` and ``state`` (from :func:`split`):
    rebuilt from its architecture, or ``into`` with the parameters copied in."""
    if into is None:
        into = _rebuilt(header.get("architecture"), state, where)
    try:
        into.load_state_dict(state)
    except (KeyError, ValueError) as exc:
        raise ModuleFileError(f"{where} does not fit {type(into).__name__}: {_one_line(exc)}") from None
    return into


def _rebuilt(spec: Any, state: dict[str, np.ndarray], where: str) -> Module:
    """The module ``spec`` describes, built only when the shapes and dtypes its classes
    give its parameters are those of the arrays in ``state``."""
    if not isinstance(spec, dict) or "config" not in spec:
        cls = spec.get("class") if isinstance(spec, dict) else "module"
        raise ModuleFileError(
            f"{where} holds a {_shown(cls)}, which has no config() to rebuild it: build the model and "
            "call load(path, into=model)"
        )
    try:
        with _config_errors(where):
            specs = parameter_specs(spec)
    except NotImplementedError as exc:
        raise ModuleFileError(
            f"{where}: {_one_line(exc)}, so it is not built from a file's numbers: define that classmethod, "
            "or build the model and call load(path, into=model)"
        ) from None
    _check_specs(specs, state, where)
    with _config_errors(where):
        return build(spec)


@contextmanager
def _config_errors(where: str) -> Iterator[None]:
    """A config that does not fit its class as a ModuleFileError: wrong names or types
    (KeyError, TypeError, AttributeError, ValueError), a module of glassgrad's that is
    not there (ImportError), or a model, of the size the file's arrays are, too large for
    the memory left (MemoryError)."""
    try:
        yield
    except (KeyError, TypeError, ValueError, AttributeError, ImportError, MemoryError) as exc:
        raise ModuleFileError(f"{where}: cannot rebuild the architecture ({_one_line(exc)})") from None


def _check_specs(expected: dict[str, ParameterSpec], held: dict[str, np.ndarray], where: str) -> None:
    if set(expected) != set(held):
        raise ModuleFileError(
            f"{where} is damaged: its architecture has the parameters {_shown(sorted(expected))} "
            f"but the file holds {_shown(sorted(held))}"
        )
    for name, (shape, dtype) in expected.items():
        if tuple(shape) != held[name].shape or dtype != held[name].dtype:
            raise ModuleFileError(
                f"{where} is damaged: its architecture makes parameter {name!r} {dtype}{_shown(list(shape))} "
                f"but the file holds {held[name].dtype}{list(held[name].shape)}"
            )


def _header(raw: np.ndarray | None, where: str) -> dict[str, Any]:
    """The JSON header of a module file, bounded in size and nesting before it is parsed."""
    not_ours = f"{where} is not a {FORMAT} file (it has no glassgrad header); save it with save()"
    too_deep = f"{where}: its header is nested more than {MAX_DEPTH} lists or dicts deep"
    if raw is None or raw.dtype != np.uint8 or raw.ndim != 1:
        raise ModuleFileError(not_ours)
    if raw.size > MAX_HEADER_BYTES:
        raise ModuleFileError(
            f"{where}: its header is {raw.size:,} bytes, more than the {MAX_HEADER_BYTES:,} a module file's may be"
        )
    try:
        header = json_loads(raw.tobytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ModuleFileError(f"{where}: its header is not UTF-8 (byte {exc.start}); the file is damaged") from None
    except RecursionError:  # JSON nested thousands deep
        raise ModuleFileError(too_deep) from None
    except ValueError as exc:
        raise ModuleFileError(
            f"{where}: its header cannot be read as JSON ({_one_line(exc)}); the file is damaged"
        ) from None
    if _depth(header) > MAX_DEPTH:
        raise ModuleFileError(too_deep)
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModuleFileError(not_ours)
    return header


def json_loads(text: str) -> Any:
    """``json.loads`` of text from a file, whole numbers held to ``MAX_INT_DIGITS`` digits
    on every Python: 3.11 and later refuse longer ones themselves, 3.10 would spend 10 s
    on a million digits."""
    return json.loads(text, parse_int=_whole_number)


def _whole_number(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"a whole number of {len(digits):,} digits; at most {MAX_INT_DIGITS:,} digits are read")
    return int(digits)


def _depth(value: Any) -> int:
    """How many lists and dicts deep ``value`` is nested (0 for a number or a string)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is not None:
            deepest = max(deepest, depth)
            if depth <= MAX_DEPTH:  # deeper is refused whatever lies below
                stack.extend((child, depth + 1) for child in children)
    return deepest


def _shown(value: Any, width: int = 200) -> str:
    text = str(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).strip("'\"").split())
