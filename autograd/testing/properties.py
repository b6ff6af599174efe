"""Gradient checks as properties: run :func:`gradcheck` over hypothesis strategies.

The same two kinds of function as ``gradcheck``: a plain NumPy function with its
hand-written derivative (``check_gradients(f, arrays((3,)), grad=df)``), or a function
of Scalars and Tensors checked against backward.

``check_gradients(fn, *strategies)`` draws inputs, checks ``fn``'s gradients at each
draw, and when one fails lets hypothesis shrink it to the simplest input that still
fails. It raises :class:`GradientCheckFailure` with that input, the gradcheck table
for it (and the op that is wrong), and an ``@example(...)`` line to paste above a
test to pin the case. It needs no pytest; :func:`grad_property` is the decorator
form for a pytest test module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from hypothesis import HealthCheck, example, given
from hypothesis import settings as Settings
from hypothesis import strategies as st

from ..scalar import Scalar
from ..tensor import Tensor
from .gradcheck import GradcheckError, GradcheckResult, GradcheckSettings, gradcheck


class GradientCheckFailure(GradcheckError):
    """A property-based gradient check found a failing input (already shrunk).

    ``.inputs`` is the minimal failing input tuple, ``.result`` the gradcheck result
    for it (None when ``fn`` raised instead), ``.example`` the ``@example(...)`` line.
    """

    def __init__(
        self, message: str, inputs: tuple[Any, ...], result: GradcheckResult | None, example_line: str
    ) -> None:
        super().__init__(message, result)
        self.inputs = inputs
        self.example = example_line


class _Counterexample(Exception):
    def __init__(self, inputs: tuple[Any, ...], result: GradcheckResult | None, error: BaseException | None) -> None:
        super().__init__("gradient check failed")
        self.inputs = inputs
        self.result = result
        self.error = error


def literal(value: Any) -> str:
    """Python source that rebuilds ``value`` exactly (Tensors, Scalars, arrays,
    dataclasses, tuples, numbers): floats are written with ``repr``, which round-trips."""
    if isinstance(value, Tensor):
        dt = "" if value.dtype == np.float64 else f", dtype=np.{value.dtype}"
        rg = ", requires_grad=True" if value.requires_grad else ""
        return f"Tensor({value.data.tolist()!r}{dt}{rg})"
    if isinstance(value, Scalar):
        return f"Scalar({value.data!r}{'' if value.requires_grad else ', requires_grad=False'})"
    if isinstance(value, np.ndarray):
        return f"np.array({value.tolist()!r}, dtype=np.{value.dtype})"
    if isinstance(value, np.dtype):
        return f"np.dtype({value.name!r})"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = ", ".join(f"{f.name}={literal(getattr(value, f.name))}" for f in dataclasses.fields(value))
        return f"{type(value).__name__}({fields})"
    if isinstance(value, tuple):
        inner = ", ".join(literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _settings(max_examples: int | None, settings: Settings | None) -> Settings:
    """The active profile (see the pytest plugin), with gradient-check essentials:
    no deadline (the first call is slow), one bug reported, big arrays allowed."""
    base = settings if settings is not None else Settings()
    kw: dict[str, Any] = {
        "deadline": None,
        "report_multiple_bugs": False,
        "suppress_health_check": [*list(base.suppress_health_check), HealthCheck.too_slow, HealthCheck.data_too_large],
    }
    if max_examples is not None:
        kw["max_examples"] = max_examples
    return Settings(base, **kw)


def check_gradients(
    fn: Callable[..., Any],
    *strategies: st.SearchStrategy[Any],
    max_examples: int | None = None,
    settings: Settings | None = None,
    examples: Sequence[tuple[Any, ...]] = (),
    **gradcheck_kw: Any,
) -> None:
    """Check ``fn``'s gradients on inputs drawn from ``strategies`` (one per argument).

    Returns None when every draw passes. Otherwise raises
    :class:`GradientCheckFailure` for the minimal failing input found by shrinking,
    with its gradcheck report and a ready-to-paste ``@example(...)`` line. An
    exception raised by ``fn`` counts as a failure too. ``examples`` are argument
    tuples always tried first; ``max_examples`` and ``settings`` override the active
    hypothesis profile; other keywords go to :func:`gradcheck` — among them the
    derivative of a plain NumPy function (``grad=``, ``vjp=``, ``jvp=``, with
    ``argnums=``), whose inputs come from the array strategies. Do not call it inside
    a ``@given`` test (hypothesis does not nest); use it in a plain test.
    """
    fn_name = getattr(fn, "__name__", type(fn).__name__)
    # A misspelt or invalid option is the caller's mistake: say so once, before any
    # draw, rather than as a failing input of fn.
    options = {k: v for k, v in gradcheck_kw.items() if k not in ("grad", "vjp", "jvp", "argnums", "settings")}
    GradcheckSettings.from_options(gradcheck_kw.get("settings"), {**options, "raise_exception": False})

    def gradients_match(inputs: tuple[Any, ...]) -> None:
        try:
            result = gradcheck(fn, *inputs, **{**gradcheck_kw, "raise_exception": False})
        except Exception as exc:
            raise _Counterexample(inputs, None, exc) from exc
        if not result:
            raise _Counterexample(inputs, result, None)

    # Every call shares this inner function; give each checked fn its own key in the
    # example database (as hypothesis's stateful testing does), so replays match.
    gradients_match._hypothesis_internal_add_digest = (  # type: ignore[attr-defined]
        f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', fn_name)}:{strategies!r}".encode()
    )
    test = given(st.tuples(*strategies))(gradients_match)
    for ex in reversed(list(examples)):
        test = example(tuple(ex))(test)
    test = _settings(max_examples, settings)(test)
    try:
        test()
    except _Counterexample as found:
        raise _failure(fn_name, found) from found.error


def _failure(fn_name: str, found: _Counterexample) -> GradientCheckFailure:
    args = ", ".join(literal(x) for x in found.inputs)
    example_line = f"@example({args})"
    if found.result is not None:
        what = found.result.report()
    else:
        what = f"{fn_name} raised {type(found.error).__name__}: {found.error}"
    message = (
        f"check_gradients: {fn_name} fails on this input (minimal after shrinking):\n"
        f"    {fn_name}({args})\n{what}\n"
        f"Pin it as a regression case by pasting above the test:\n    {example_line}"
    )
    return GradientCheckFailure(message, found.inputs, found.result, example_line)


def grad_property(
    *strategies: st.SearchStrategy[Any],
    max_examples: int | None = None,
    settings: Settings | None = None,
    **gradcheck_kw: Any,
) -> Callable[[Callable[..., Any]], Callable[[], None]]:
    """Decorator form for pytest: the decorated function is the one whose gradients
    are checked; it becomes a no-argument test that runs :func:`check_gradients`.

    ::

        @grad_property(tensors(shape=(3,)))
        @example(Tensor([0.0, 1.0, -1.0], requires_grad=True))   # pinned cases, optional
        def test_softsign(x):
            return x / (1 + abs(x))
    """

    def decorate(fn: Callable[..., Any]) -> Callable[[], None]:
        pinned = [tuple(ex.args) for ex in getattr(fn, "hypothesis_explicit_examples", ())]

        def test() -> None:
            check_gradients(
                fn, *strategies, max_examples=max_examples, settings=settings, examples=pinned, **gradcheck_kw
            )

        # Not functools.wraps: pytest would read fn's parameters as fixtures.
        test.__name__, test.__qualname__ = fn.__name__, fn.__qualname__
        test.__module__, test.__doc__ = fn.__module__, fn.__doc__
        return test

    return decorate
