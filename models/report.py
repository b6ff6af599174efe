"""Saving and loading a trained model: the parameters file and the JSON summary.

The one-unit detector's file is a numpy ``.npz`` with the arrays ``w`` and ``b`` and a
JSON string ``meta``: the format name and version, the digit, the number of features,
the dtype, the decision threshold and statistics of the training run. The networks
(hidden-layer detector, digit classifier) are saved as module files
(:mod:`glassgrad.models.serialize`) with the same metadata. Both load with
``allow_pickle=False``: a model file can never run code.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from glassgrad.errors import GlassgradError
from glassgrad.nn import Module

from . import serialize
from .atomic import write_atomic, write_text_atomic
from .logistic import Detector, LogisticModel
from .network import DigitClassifier, HiddenLayerDetector
from .npzfile import read_npz

FORMAT = "glassgrad-logistic"
FORMAT_VERSION = 1
MAX_META_CHARS = 1 << 20  # a model's metadata is a few kB; more is not a glassgrad file
MAX_FEATURES = 1 << 24
MAX_MODEL_BYTES = 8 * MAX_FEATURES + MAX_META_CHARS * 4 + (1 << 16)
MAX_ARRAYS = 64  # a model file holds its metadata and two or four parameters; each array costs a header to read
# The networks glassgrad train writes, by the class name their module files give.
NETWORKS = {f"{c.__module__}.{c.__qualname__}": c for c in (HiddenLayerDetector, DigitClassifier)}


class ModelFileError(GlassgradError):
    """A model file that is missing, unreadable, of another format/version or shape."""


def save_model(
    path: str | os.PathLike[str], model: Module, digit: int | None, threshold: float = 0.5, **stats: Any
) -> Path:
    """Write ``model``'s parameters and metadata to ``path`` (.npz) atomically; ``digit``
    is the detected digit (None for a classifier of every digit)."""
    if not isinstance(model, LogisticModel):
        run = {"digit": digit, "threshold": float(threshold), "train": stats}
        return serialize.save(model, path, json.loads(json.dumps(_finite(run), default=_jsonable)))
    assert digit is not None
    meta: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "digit": int(digit),
        "n_features": model.n_features,
        "dtype": str(model.dtype),
        "threshold": float(threshold),
        "train": stats,
    }
    arrays = {"meta": np.array(json.dumps(meta, default=_jsonable)), **model.state_dict()}
    # numpy's stub checks the ** names against savez's allow_pickle flag too; none is called that.
    return write_atomic(path, lambda f: np.savez(f, **arrays))  # type: ignore[arg-type]


def load_model(path: str | os.PathLike[str]) -> tuple[Any, dict[str, Any]]:
    """The model saved at ``path`` and its metadata (``digit``, ``threshold``, ``dtype``,
    ``n_features``, ``train``); :class:`ModelFileError` if it cannot be used."""
    path = Path(path)
    where = f"model file {path}"
    if not os.path.lexists(path):
        raise ModelFileError(f"{where} does not exist; train one with `glassgrad train`")
    arrays = read_npz(path, where, ModelFileError, MAX_ARRAYS, MAX_MODEL_BYTES)
    if serialize.HEADER in arrays:
        return _load_network(where, arrays)
    meta = _read_meta(path, arrays.pop("meta", None))
    w, b = arrays.get("w"), arrays.get("b")
    if not (isinstance(w, np.ndarray) and isinstance(b, np.ndarray) and w.dtype.kind == "f" and b.dtype.kind == "f"):
        raise ModelFileError(f"model file {path} does not hold float arrays w and b; it was not written by glassgrad")
    if meta["n_features"] != w.size:
        raise ModelFileError(f"model file {path} claims {meta['n_features']} features but holds {w.size} weights")
    if not (np.isfinite(w).all() and np.isfinite(b).all()):
        raise ModelFileError(f"model file {path} holds weights that are NaN or infinite; train again")
    try:
        model = LogisticModel(meta["n_features"], dtype=meta["dtype"])
        model.load_state_dict(arrays)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"model file {path} does not hold a valid model: {' '.join(str(exc).split())}") from None
    return model, meta


def _read_meta(path: Path, raw: np.ndarray | None) -> dict[str, Any]:
    """The metadata of the model file at ``path``, every field the predictions use checked."""
    text = str(raw) if isinstance(raw, np.ndarray) and raw.dtype.kind == "U" and raw.ndim == 0 else None
    if text is None or len(text) > MAX_META_CHARS:
        raise ModelFileError(f"model file {path} has no readable metadata; it was not written by glassgrad")
    try:
        meta = serialize.json_loads(text)
    except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        raise ModelFileError(f"model file {path} has no readable metadata; it was not written by glassgrad") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"model file {path} is not a {FORMAT} file")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"model file {path} has format version {_shown(meta.get('format_version'))}; this glassgrad "
            f"reads version {FORMAT_VERSION}: retrain with `glassgrad train`"
        )
    _check_fields(
        f"model file {path}",
        meta,
        {
            "digit": DIGIT,
            "threshold": THRESHOLD,
            "n_features": (lambda v: _is_int(v) and 1 <= v <= MAX_FEATURES, f"a whole number in 1..{MAX_FEATURES:,}"),
            "dtype": (lambda v: v in ("float32", "float64"), "'float32' or 'float64'"),
        },
    )
    return meta


Check = tuple[Callable[[Any], bool], str]  # whether a metadata value is valid, and what is expected
DIGIT: Check = (lambda v: _is_int(v) and 0 <= v <= 9, "a digit 0..9")
NO_DIGIT: Check = (lambda v: v is None, "null (a classifier answers with every digit)")
THRESHOLD: Check = (lambda v: _is_number(v) and 0 <= v <= 1, "a number in [0, 1]")


def _check_fields(where: str, meta: dict[str, Any], checks: dict[str, Check]) -> None:
    """Refuse metadata without one of the ``checks``' fields or with a value it finds invalid."""
    for field, (valid, expected) in checks.items():
        if field not in meta:
            raise ModelFileError(f"{where}: its metadata has no {field!r}; it was not written by glassgrad")
        if not valid(meta[field]):
            raise ModelFileError(f"{where}: {field} is {_shown(meta[field])}, expected {expected}")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _shown(v: Any, width: int = 40) -> str:
    plain = isinstance(v, (str, int, float, bool, dict)) or v is None
    text = json.dumps(v) if plain else type(v).__name__
    return text if len(text) <= width else text[: width - 3] + "..."


def _load_network(where: str, arrays: dict[str, np.ndarray]) -> tuple[Module, dict[str, Any]]:
    """The network among the ``arrays`` of a module file and its metadata: one of the
    networks glassgrad train writes (checked before it is built), with the metadata of a
    detector or a classifier."""
    try:
        header, state = serialize.split(arrays, where)
        spec = header.get("architecture")
        name = spec.get("class") if isinstance(spec, dict) else None
        if not isinstance(name, str) or name not in NETWORKS:
            raise ModelFileError(f"{where} holds a {_shown(name)}, not a model that glassgrad train writes")
        model = serialize.restore(header, state, where)
    except serialize.ModuleFileError as exc:
        raise ModelFileError(str(exc)) from None
    assert isinstance(model, (HiddenLayerDetector, DigitClassifier))  # the class NETWORKS names
    meta = header.get("metadata")
    if not isinstance(meta, dict):
        raise ModelFileError(f"{where} holds a {type(model).__name__} without the metadata of a trained run")
    _check_fields(where, meta, {"digit": DIGIT if isinstance(model, Detector) else NO_DIGIT, "threshold": THRESHOLD})
    return model, {**meta, "n_features": model.n_features, "dtype": header.get("dtype")}


def write_summary(path: str | os.PathLike[str], summary: dict[str, Any]) -> Path:
    """Write ``summary`` as indented JSON atomically (numpy values become plain numbers,
    NaN becomes null: strict JSON has no NaN)."""
    return write_text_atomic(path, json.dumps(_finite(summary), indent=2, default=_jsonable, allow_nan=False) + "\n")


def _finite(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    if isinstance(x, (float, np.floating)) and not np.isfinite(x):
        return None
    return x


def _jsonable(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"cannot write {type(x).__name__} to JSON")
