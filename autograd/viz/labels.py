"""Text for drawings: escaping, numbers, arrays, shapes.

Every piece of user text (value names, op names, scope names) goes through
:func:`escape` before it lands in a graphviz HTML-like label, so names such as
``x<0``, ``|x|`` or ``{a}`` render instead of breaking ``dot``.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Any

import numpy as np

from ..formatting import DIGITS, number

if TYPE_CHECKING:
    from ..graph import Node

#: Arrays with at most this many elements are shown in full on a node.
SMALL_ARRAY = 6
#: Tooltips show arrays in full up to this many elements (numpy summarizes beyond).
#: dot rejects a quoted string over 16384 characters, and a tooltip holds a value and
#: its gradient at up to ~17 characters per element: 200 keeps it well under.
TOOLTIP_ELEMENTS = 200
#: Names longer than this are cut on the node (the tooltip keeps the full name).
MAX_NAME = 32

_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "]": "&#93;", "\\": "\\\\"}
# & < > " ' are markup in HTML labels. Two more surprises, found by the property
# test: dot 2.43 rejects a label whose text is just "]" (sent as an entity), and it
# expands escapes such as \N (the node's id) even in HTML labels, entity or not, so
# a backslash is doubled.
# Record labels would also need { } | escaped; HTML labels make that unnecessary
# (no record shapes are used).


def printable(text: str) -> str:
    """``text`` with characters no renderer can show replaced by visible escapes:
    control characters become ``\\xNN``, lone surrogates ``\\uNNNN``."""
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat == "Cc":
            out.append(f"\\x{ord(ch):02x}")
        elif cat in ("Cs", "Co", "Cn"):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def escape(text: Any) -> str:
    """``text`` made safe inside a graphviz HTML-like label: ``& < > " ' ]`` as
    entities, backslashes doubled, unprintable characters as visible escapes."""
    return "".join(_HTML.get(ch, ch) for ch in printable(str(text)))


def escape_attr(text: Any) -> str:
    """``text`` made safe inside a quoted DOT attribute such as ``tooltip``: DOT reads
    backslash escapes there, so backslashes are doubled."""
    return printable(str(text)).replace("\\", "\\\\")


def shorten(text: str, limit: int = MAX_NAME) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def dtype_code(data: Any) -> str:
    """Short dtype spelling: f64, f32, i64, u8, bool (a Python float is f64)."""
    if isinstance(data, float):
        return "f64"
    dtype = np.asarray(data).dtype
    return "bool" if dtype.kind == "b" else f"{dtype.kind}{dtype.itemsize * 8}"


def shape_of(data: Any) -> tuple[int, ...]:
    return () if isinstance(data, float) else tuple(np.shape(data))


def type_str(data: Any) -> str:
    """``f64[3]``, ``f32[2,5]``, ``f64[]`` for a single number (JAX's spelling)."""
    return f"{dtype_code(data)}[{','.join(str(n) for n in shape_of(data))}]"


def summary(data: Any, small: int = SMALL_ARRAY) -> str:
    """A short text for a value: the number, the whole array when it has at most
    ``small`` elements, else ``min … mean … max`` with enough digits to tell min from
    max (NaN and inf counted apart)."""
    if isinstance(data, (float, int, np.number)) or np.ndim(data) == 0:
        return number(np.asarray(data).item() if not isinstance(data, (float, int)) else data)
    arr = np.asarray(data)
    if arr.size <= small:
        return _nested(arr.tolist())
    if arr.dtype.kind == "b":
        return f"{int(arr.sum())} of {arr.size} true"
    finite = np.isfinite(arr)
    fin = arr if finite.all() else arr[finite]
    bad = "" if fin is arr else f"{int(np.isnan(arr).sum())} nan, {int(np.isinf(arr).sum())} inf"
    if not fin.size:
        return bad
    lo, hi = fin.min(), fin.max()
    digits = _digits_apart(lo, hi)
    if bad:
        return f"min {number(lo, digits)} · max {number(hi, digits)} · {bad}"
    return f"min {number(lo, digits)} · mean {number(_mean(fin), digits)} · max {number(hi, digits)}"


def _digits_apart(lo: Any, hi: Any) -> int:
    """The fewest significant digits, at least 4, that show ``lo`` and ``hi`` apart when
    they differ: 4 digits show 1 and 1.00006 both as "1", a constant they are not."""
    digits = DIGITS
    while lo != hi and digits < 17 and number(lo, digits) == number(hi, digits):
        digits += 1
    return digits


def _mean(finite: np.ndarray) -> float:
    """The mean of finite numbers, taken of them divided by the largest magnitude: their
    sum can overflow (seven times 1e308 is inf) where their mean cannot."""
    scale = float(np.abs(finite).max())
    return 0.0 if scale == 0 else scale * float(np.mean(finite / scale, dtype=np.float64))


def as_shown(data: Any) -> np.ndarray:
    """``data`` rounded element by element as :func:`number` shows it."""
    return np.asarray(np.vectorize(lambda x: float(f"{x:.{DIGITS}g}"), otypes=[float])(data))


def _nested(items: Any) -> str:
    if isinstance(items, list):
        return "[" + ", ".join(_nested(i) for i in items) + "]"
    return number(items)


def full(data: Any) -> str:
    """The whole array (numpy summarizes beyond ``TOOLTIP_ELEMENTS`` elements)."""
    if isinstance(data, float):  # np.float64 too, whose repr is "np.float64(…)"
        return repr(float(data))
    return np.array2string(np.asarray(data), separator=", ", threshold=TOOLTIP_ELEMENTS, max_line_width=100)


def health(grad: Any) -> str | None:
    """``"nonfinite"`` when a gradient holds NaN or inf, ``"zero"`` when it is exactly
    zero everywhere, else None (healthy or absent)."""
    if grad is None:
        return None
    arr = np.asarray(grad)
    if arr.dtype.kind not in "fc":
        return None
    if not np.isfinite(arr).all():
        return "nonfinite"
    if not arr.any():
        return "zero"
    return None


def symbol(name: str) -> str:
    """A name fit to sit inside ∂…/∂…: parenthesized unless it is one simple token."""
    return name if name.replace("_", "").isalnum() or name.startswith("%") or len(name) == 1 else f"({name})"


def display_name(node: Node, index: dict[int, int]) -> str:
    """The node's name, or ``%k`` (its topological index) when it has none."""
    return node.name if node.name else f"%{index[id(node)]}"


def op_detail(node: Node) -> str:
    """The op's constant parameters worth showing (exponent, axes, bounds, reduction)."""
    fn = node.fn
    return "" if fn is None or node.is_freed else fn.detail(node)
