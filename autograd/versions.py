"""One version counter per block of memory, shared by every Tensor that aliases it.

A Tensor, its ``detach()``, the views ops make of it (reshape, transpose, basic
indexing) and every ``as_tensor`` of one array all hold numpy arrays over the same
memory. An in-place change through any of them is recorded here, keyed by the array
that owns the memory, so backward sees it whichever alias made it.

The version is a reading of the graph's clock (see ``graph._clock``): a value saved by
an op made at clock reading ``seq`` was changed after the op used it when its version
is newer than ``seq``. Views of one block that do not overlap share its version too,
so a change to one half flags a graph that saved the other half (as in PyTorch).

Only changes made through Tensors are seen. The NumPy arrays glassgrad hands out are
read-only views (``.numpy()``, ``np.asarray(t)`` of a value that does not require grad,
and ``.data`` of a value made by an op), except ``.data`` of a leaf, which is the
leaf's own array so that ``w.data -= lr * w.grad`` keeps working (that statement
assigns ``.data`` and is recorded; a write into ``w.data[...]`` is not). An array the
user keeps and wrapped with ``as_tensor`` is the user's: writes to it directly are not
detected either.
"""

from __future__ import annotations

import contextlib
import weakref
from typing import Any

import numpy as np

# id(owner of the memory) -> clock reading of its last in-place change. An entry is
# dropped when its owner is freed, so the table holds only live memory that changed.
_changed: dict[int, int] = {}


def owner(a: np.ndarray) -> Any:
    """The object that owns ``a``'s memory. numpy collapses chains of views, but not
    through an object that lends an array's memory on (``as_strided``'s, which
    ``sliding_window_view`` uses): the chain is followed through it to the owner."""
    base = a.base
    if base is None:
        return a
    while (lender := getattr(base, "base", None)) is not None:
        base = lender
    return base


def mark(a: np.ndarray, stamp: int) -> None:
    """Record an in-place change of ``a``'s memory at clock reading ``stamp``."""
    # An optimizer marks each parameter, an owner, every step: no call for it.
    key_owner = a if a.base is None else owner(a)
    key = id(key_owner)
    if key not in _changed:
        # A base that takes no weak reference (bytes) keeps its entry: a later owner at
        # the same address is newer than that reading, so the entry never misfires.
        with contextlib.suppress(TypeError):
            weakref.finalize(key_owner, _changed.pop, key, None)
    _changed[key] = stamp


def version(a: np.ndarray) -> int:
    """Clock reading of the last in-place change of ``a``'s memory (0: never)."""
    return _changed.get(id(owner(a)), 0) if _changed else 0


def changed_since(saved: Any, seq: int) -> bool:
    """Whether an array among the fields of an op's ``saved`` (where's mask, the arrays
    of an index: kept as given, not copied) shares memory that changed in place after
    clock reading ``seq``."""
    if not _changed or not isinstance(saved, tuple):
        return False
    for field in saved:
        for a in field if type(field) is tuple else (field,):
            if type(a) is np.ndarray and version(a) > seq:
                return True
    return False


def read_only(a: np.ndarray) -> np.ndarray:
    """A view of ``a`` that refuses writes: what glassgrad hands out of a Tensor."""
    view: np.ndarray = a.view()
    view.flags.writeable = False
    return view
