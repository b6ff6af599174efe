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
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from glassgrad.errors import GlassgradError
from glassgrad.nn import Module

from . import serialize
from .atomic import write_atomic, write_text_atomic
from .logistic import LogisticModel

FORMAT = "glassgrad-logistic"
FORMAT_VERSION = 1


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
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise ModelFileError(f"model file {path} does not exist; train one with `glassgrad train`") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ModelFileError(f"model file {path} is not a readable .npz file ({exc})") from None
    if serialize.HEADER in arrays:
        return _load_network(path)
    try:
        meta = json.loads(str(arrays.pop("meta")))
    except (KeyError, ValueError):
        raise ModelFileError(f"model file {path} has no readable metadata; it was not written by glassgrad") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"model file {path} is not a {FORMAT} file")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"model file {path} has format version {meta.get('format_version')!r}; this glassgrad "
            f"reads version {FORMAT_VERSION}: retrain with `glassgrad train`"
        )
    try:
        model = LogisticModel(int(meta["n_features"]), dtype=meta["dtype"])
        model.load_state_dict(arrays)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"model file {path} does not hold a valid model: {exc}") from None
    return model, meta


def _load_network(path: Path) -> tuple[Module, dict[str, Any]]:
    try:
        model = serialize.load(path)
        header, _ = serialize.read(path)
    except serialize.ModuleFileError as exc:
        raise ModelFileError(str(exc)) from None
    meta = header.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("threshold"), float):
        raise ModelFileError(f"model file {path} holds a {type(model).__name__} without the metadata of a trained run")
    n_features = getattr(model, "n_features", None)
    return model, {**meta, "n_features": n_features, "dtype": header.get("dtype")}


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
