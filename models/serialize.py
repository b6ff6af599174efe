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
into=model)``). The file is written atomically and read with ``allow_pickle=False``:
loading never runs code from the file. Every problem is a one-line
:class:`ModuleFileError`.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import glassgrad
import numpy as np
from glassgrad.errors import GlassgradError
from glassgrad.nn import Module, architecture, build

from .atomic import write_atomic

FORMAT = "glassgrad-module"
FORMAT_VERSION = 1
HEADER = "__glassgrad__"


class ModuleFileError(GlassgradError, ValueError):
    """A module file that is missing, unreadable, of another format, or that does not fit."""


def save(module: Module, path: str | os.PathLike[str], metadata: dict[str, Any] | None = None) -> Path:
    """Write ``module``'s parameters, architecture and ``metadata`` (JSON values) to
    ``path`` (.npz) atomically; returns the path."""
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
    try:
        text = json.dumps(header, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"save: the metadata must be JSON values (numbers, strings, lists, dicts): {exc}") from None
    arrays = {HEADER: np.frombuffer(text.encode("utf-8"), dtype=np.uint8), **state}
    # numpy's stub checks the ** names against savez's allow_pickle flag too; none is called that.
    return write_atomic(path, lambda f: np.savez(f, **arrays))  # type: ignore[arg-type]


def load(path: str | os.PathLike[str], into: Module | None = None) -> Module:
    """The module saved at ``path``: rebuilt from its architecture, or ``into`` (a
    module of the same shape) with the saved parameters copied in."""
    header, state = read(path)
    where = f"module file {Path(path)}"
    if into is None:
        spec = header.get("architecture")
        if not isinstance(spec, dict) or "config" not in spec:
            cls = spec.get("class") if isinstance(spec, dict) else "module"
            raise ModuleFileError(
                f"{where} holds a {cls}, which has no config() to rebuild it: build the model and "
                "call load(path, into=model)"
            )
        try:
            into = build(spec)
        except (KeyError, TypeError, ValueError, ImportError) as exc:
            raise ModuleFileError(f"{where}: cannot rebuild the architecture ({_one_line(exc)})") from None
    try:
        into.load_state_dict(state)
    except (KeyError, ValueError) as exc:
        raise ModuleFileError(f"{where} does not fit {type(into).__name__}: {_one_line(exc)}") from None
    return into


def read(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header and the parameter arrays of a module file, checked against each other."""
    path = Path(path)
    where = f"module file {path}"
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise ModuleFileError(f"{where} does not exist") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ModuleFileError(f"{where} is not a readable .npz file ({_one_line(exc)})") from None
    raw = arrays.pop(HEADER, None)
    try:
        header = json.loads(raw.tobytes().decode("utf-8")) if raw is not None and raw.dtype == np.uint8 else None
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModuleFileError(f"{where} is not a {FORMAT} file (it has no glassgrad header); save it with save()")
    if header.get("format_version") != FORMAT_VERSION:
        raise ModuleFileError(
            f"{where} has format version {header.get('format_version')!r} (written by glassgrad "
            f"{header.get('glassgrad')}); this glassgrad reads version {FORMAT_VERSION}"
        )
    declared = header.get("parameters")
    if not isinstance(declared, dict) or set(declared) != set(arrays):
        raise ModuleFileError(
            f"{where} is damaged: its header lists parameters {sorted(declared or {})} but it holds {sorted(arrays)}"
        )
    for name, a in arrays.items():
        spec = declared[name]
        if not isinstance(spec, dict) or spec.get("shape") != list(a.shape) or spec.get("dtype") != str(a.dtype):
            raise ModuleFileError(
                f"{where} is damaged: parameter {name!r} is {a.dtype}{list(a.shape)} but the header says {spec}"
            )
        if a.dtype.kind != "f":
            raise ModuleFileError(f"{where}: parameter {name!r} has dtype {a.dtype}; parameters are floating point")
    return header, arrays


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).strip("'\"").split())
