"""Check a hand-written derivative of a plain NumPy function.

``f`` takes floats and NumPy arrays and returns a number, an array, or a tuple of them.
Its derivative is the user's own, in one of three forms:

- ``grad(*inputs)``: ∇f, for an f that returns one number;
- ``vjp(*inputs, v)``: vᵀJ, the gradient of ⟨v, f⟩ — what a backward pass computes;
- ``jvp(*inputs, *tangents)``: J·u, one tangent per checked input — forward mode.

Each form gives the analytic side of the comparison glassgrad's own backward gets
(:mod:`~glassgrad.testing.compare`): vᵀJ against central differences of
φ(x) = Σ vᵀf(x) in float64, kinks as verdicts, the Taylor test on a mismatch, rows
named by the function's parameter names. With ``grad`` the upstream gradient is
v = 1, so φ = f and the table shows ∇f itself; with ``jvp``, vᵀJ is built from one
J·eᵢ per input element. Sub-checks: shape and dtype of what the derivative returns,
reentrancy, linearity in v (vjp) or u (jvp), and inputs changed in place.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .compare import Comparison, Outputs, compare, cotangents
from .finite_differences import lowest_precision
from .result import GradcheckResult, function_name
from .settings import GradcheckSettings
from .subchecks import as_analytic, grad_problems, linearity, mutations, reentrancy, snapshot

Form = Literal["grad", "vjp", "jvp"]
ArgNums = int | Sequence[int]


@dataclass(frozen=True)
class HandDerivative:
    """The user's derivative of f and which form it takes."""

    form: Form
    fn: Callable[..., Any]

    @classmethod
    def given(cls, **forms: Callable[..., Any] | None) -> HandDerivative | None:
        """The one derivative among the keywords ``grad``/``vjp``/``jvp`` (None: none given)."""
        present = [(form, fn) for form, fn in forms.items() if fn is not None]
        if len(present) > 1:
            raise TypeError(f"gradcheck: give one derivative, not {' and '.join(f'{f}=' for f, _ in present)}")
        if not present:
            return None
        form, fn = present[0]
        if not callable(fn):
            raise TypeError(f"gradcheck: {form}= must be a function, got a {type(fn).__name__}")
        return cls(form, fn)  # type: ignore[arg-type]

    def check_arity(self, n_inputs: int, n_checked: int) -> None:
        """Refuse a derivative that cannot take what gradcheck passes it: f's inputs,
        then v (vjp) or one tangent per checked input (jvp)."""
        extra, passes = {
            "grad": (0, "f's inputs"),
            "vjp": (1, "f's inputs, then v"),
            "jvp": (n_checked, "f's inputs, then one tangent per checked input"),
        }[self.form]
        try:
            inspect.signature(self.fn).bind(*range(n_inputs + extra))
        except TypeError as exc:
            raise TypeError(
                f"gradcheck: {self.form} is called with {n_inputs + extra} arguments ({passes}), and "
                f"{function_name(self.fn)} cannot take them: {exc}"
            ) from None
        except ValueError:
            pass  # no signature to read (some builtins): the call itself will tell

    @property
    def checks(self) -> tuple[str, ...]:
        """The sub-checks that apply to this form (grad takes no vector to be linear in)."""
        linear = () if self.form == "grad" else ("linearity",)
        return ("jacobian", "subgradient", *linear, "reentrancy", "shape", "dtype", "mutation")


def check_handwritten(
    fn: Callable[..., Any],
    inputs: Sequence[Any],
    derivative: HandDerivative,
    argnums: ArgNums | None,
    s: GradcheckSettings,
) -> GradcheckResult:
    """gradcheck of a plain function, with the user's derivative as the analytic side."""
    name = function_name(fn)
    args = [_own_copy(x) for x in inputs]  # the caller's arrays stay untouched whatever f does
    checked = _checked(args, argnums, name)
    labels = _labels(fn, checked)
    derivative.check_arity(len(args), len(checked))
    data = [args[i] for i in checked]
    before = snapshot(data)
    outs = _outputs(fn(*args), name)
    if derivative.form == "grad" and (len(outs) > 1 or np.ndim(outs[0]) != 0):
        shape = "a tuple" if len(outs) > 1 else f"an array of shape {np.shape(outs[0])}"
        raise TypeError(
            f"gradcheck: grad= is for a function that returns one number, and {name} returns {shape}; "
            f"pass vjp=lambda *inputs, v: ... (the gradient of Σ v·f) or jvp= instead"
        )
    rng = np.random.default_rng(s.seed)
    vs = [np.ones(())] if derivative.form == "grad" else cotangents(rng, outs)
    side: _Pullback | _Pushforward = (
        _Pushforward(derivative, args, checked, outs, vs, labels)
        if derivative.form == "jvp"
        else _Pullback(derivative, args, checked, outs, vs, labels)
    )

    result = GradcheckResult(fn_name=name, sub_checks=derivative.checks)
    if derivative.form == "grad":
        result.objective = "φ = f"
    result.dtype = lowest_precision([np.asarray(x).dtype for x in [*data, *outs]])
    result.atol, result.rtol = s.tolerances(result.dtype)
    result.analytic = side.analytic()
    result.failures.update(side.problems(result, s))
    result.failures.update(mutations(labels, data, before, what=derivative.form))

    n_in, n_out = sum(np.size(x) for x in data), sum(np.size(o) for o in outs)
    jacobian = side.jacobian() if derivative.form != "grad" and s.compares_entries(n_in, n_out) else None
    evaluate = Outputs(_rerun(fn, args, checked, name), name)
    base = [np.array(x, dtype=np.float64) for x in data]
    compare(Comparison(evaluate, base, labels, result.analytic, vs, jacobian), result, s, rng)
    return result


class _Side:
    """What a hand-written derivative is checked on: the derivative, f's arguments, the
    checked inputs' data and labels, f's outputs and the upstream vectors v."""

    def __init__(
        self,
        derivative: HandDerivative,
        args: Sequence[Any],
        checked: Sequence[int],
        outs: Sequence[Any],
        vs: Sequence[np.ndarray],
        labels: Sequence[str],
    ) -> None:
        self.derivative, self.args, self.labels = derivative, args, labels
        self.data = [args[i] for i in checked]
        self.outs, self.vs = outs, vs


class _Pullback(_Side):
    """grad or vjp: the gradients of the checked inputs for the upstream gradient v."""

    def __init__(self, *side: Any) -> None:
        super().__init__(*side)
        self.seeds = [_like(v, o) for v, o in zip(self.vs, self.outs)]
        self.first = self(1.0, True)

    def __call__(self, scale: float, retain: bool = True) -> list[Any]:
        """The derivative's gradients for scale·v (grad has no v: scale must be 1)."""
        if self.derivative.form == "grad":
            return self._per_input(self.derivative.fn(*self.args))
        seeds = [seed * scale for seed in self.seeds]
        return self._per_input(self.derivative.fn(*self.args, seeds[0] if len(seeds) == 1 else tuple(seeds)))

    def _per_input(self, returned: Any) -> list[Any]:
        grads = _per_input(returned, self.labels, self.derivative.form)
        return [_in_kind(g, x) for g, x in zip(grads, self.data)]

    def analytic(self) -> list[np.ndarray]:
        return [as_analytic(g, np.shape(x)) for g, x in zip(self.first, self.data)]

    def problems(self, result: GradcheckResult, s: GradcheckSettings) -> dict[str, str]:
        form = self.derivative.form
        shapes = [np.shape(x) for x in self.data]
        found = grad_problems(self.labels, self.data, self.first, self.seeds, aliasing=False)
        found.update(reentrancy(self, shapes, result.analytic, s.nondet_tol, what=form))
        if form == "vjp":
            found.update(linearity(self, shapes, result.analytic, (result.atol, result.rtol), what=form, vector="v"))
        return found

    def jacobian(self) -> np.ndarray:
        """J, row i from vjp with the one-hot upstream gradient on output element i."""
        rows = []
        for k, o in enumerate(self.outs):
            for idx in np.ndindex(np.shape(o)):
                onehot = [np.zeros(np.shape(v)) for v in self.seeds]
                onehot[k][idx] = 1.0
                seeds = [_like(e, out) for e, out in zip(onehot, self.outs)]
                returned = self.derivative.fn(*self.args, seeds[0] if len(seeds) == 1 else tuple(seeds))
                grads = _per_input(returned, self.labels, "vjp")
                rows.append(np.concatenate([as_analytic(g, np.shape(x)).ravel() for g, x in zip(grads, self.data)]))
        return np.array(rows)


class _Pushforward(_Side):
    """jvp: J·u for tangents u of the checked inputs; vᵀJ from the columns J·eᵢ."""

    def __init__(self, *side: Any) -> None:
        super().__init__(*side)
        self.columns = self._columns()

    def push(self, tangents: Sequence[Any]) -> list[Any]:
        """J·u as the list of f's outputs (one tangent per checked input)."""
        return _outputs(self.derivative.fn(*self.args, *tangents), "jvp")

    def _columns(self) -> np.ndarray:
        """J, column j from the tangent that is one-hot on input element j."""
        columns = []
        for k, x in enumerate(self.data):
            for idx in np.ndindex(np.shape(x)):
                tangents = [np.zeros(np.shape(d)) for d in self.data]
                tangents[k][idx] = 1.0
                pushed = self.push([_like(t, d) for t, d in zip(tangents, self.data)])
                columns.append(np.concatenate([as_analytic(p, np.shape(o)).ravel() for p, o in zip(pushed, self.outs)]))
        n_out = sum(np.size(o) for o in self.outs)
        return np.stack(columns, axis=1) if columns else np.zeros((n_out, 0))

    def analytic(self) -> list[np.ndarray]:
        v_flat = np.concatenate([np.ravel(v) for v in self.vs])
        flat = v_flat @ self.columns
        sizes = np.cumsum([np.size(x) for x in self.data])[:-1]
        return [part.reshape(np.shape(x)) for part, x in zip(np.split(flat, sizes), self.data)]

    def problems(self, result: GradcheckResult, s: GradcheckSettings) -> dict[str, str]:
        """Shape and dtype of J·u against f's outputs; reentrancy and linearity in u,
        for one random tangent u."""
        rng = np.random.default_rng(s.seed + 1)
        u = [_like(rng.standard_normal(np.shape(x)), x) for x in self.data]
        first = self.push(u)
        out_labels = ["jvp" if len(self.outs) == 1 else f"jvp output {k}" for k in range(len(self.outs))]
        returned = [_in_kind(p, o) for p, o in zip(first, self.outs)]
        found = grad_problems(out_labels, self.outs, returned, [], aliasing=False, noun="J·u", of="f's output")
        shapes = [np.shape(o) for o in self.outs]
        pushed = [as_analytic(p, shape) for p, shape in zip(first, shapes)]

        def along(scale: float, retain: bool) -> list[Any]:
            return self.push([t * scale for t in u])

        found.update(reentrancy(along, shapes, pushed, s.nondet_tol, what="jvp"))
        found.update(linearity(along, shapes, pushed, (result.atol, result.rtol), what="jvp", vector="the tangent u"))
        return found

    def jacobian(self) -> np.ndarray:
        return self.columns


def _checked(args: Sequence[Any], argnums: ArgNums | None, name: str) -> list[int]:
    """The inputs to check: ``argnums``, or every float and floating-point array."""
    if argnums is None:
        checked = [i for i, x in enumerate(args) if _is_float(x)]
        if not checked:
            raise ValueError(
                f"gradcheck: none of the {len(args)} inputs of {name} is a float or a floating-point array, "
                "so there is nothing to check; pass the inputs to differentiate as floats or float arrays"
            )
        return _unmasked(args, checked, name)
    checked = [argnums] if isinstance(argnums, int) else list(argnums) if isinstance(argnums, (tuple, list)) else []
    if not checked or any(isinstance(i, bool) or not isinstance(i, (int, np.integer)) for i in checked):
        raise TypeError(
            f"gradcheck: argnums={argnums!r} must be the index of an input of {name}, or a non-empty tuple of them"
        )
    for i in checked:
        if not -len(args) <= i < len(args):
            raise IndexError(f"gradcheck: argnums names input {i}, but {name} was given {len(args)} inputs")
        if not _is_float(args[i]):
            raise TypeError(
                f"gradcheck: input {i} of {name} is a {type(args[i]).__name__}"
                + (f" of dtype {args[i].dtype}" if isinstance(args[i], np.ndarray) else "")
                + "; central differences move inputs by tiny steps, so only floats and floating-point arrays "
                "can be checked: convert it with np.asarray(x, dtype=float)"
            )
    positions = [int(i) % len(args) for i in checked]
    if len(set(positions)) < len(positions):
        raise ValueError(f"gradcheck: argnums={argnums!r} names an input of {name} twice; name each input once")
    return _unmasked(args, positions, name)


def _unmasked(args: Sequence[Any], checked: list[int], name: str) -> list[int]:
    """``checked``, once no checked input is a masked array: the steps move its masked
    elements too, which f may or may not read, and its derivative's masked entries
    hold no numbers to compare."""
    for i in checked:
        if isinstance(args[i], np.ma.MaskedArray):
            raise TypeError(
                f"gradcheck: input {i} of {name} is a masked array; central differences move every element, "
                "masked or not. Check f on a plain array (x.filled(value), or x.data with the mask passed as "
                "a constant input)"
            )
    return checked


def _is_float(x: Any) -> bool:
    return isinstance(x, float) or (isinstance(x, np.ndarray) and x.dtype.kind == "f")


def _own_copy(x: Any) -> Any:
    """An input as f will see it: arrays copied, NumPy float scalars as 0-d arrays
    (their dtype kept), anything else passed through."""
    if isinstance(x, np.floating):
        return np.array(x)
    return x.copy() if isinstance(x, np.ndarray) else x


def _labels(fn: Callable[..., Any], checked: Sequence[int]) -> list[str]:
    """Each checked input's parameter name in f's signature ("input i" where f has none)."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # builtins and some callables have no signature
        params = []
    positional = []
    for p in params:
        if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            break
        positional.append(p.name)
    return [positional[i] if i < len(positional) else f"input {i}" for i in checked]


def _outputs(out: Any, name: str) -> list[Any]:
    """f's outputs as a list of real numbers and arrays (NumPy scalars as 0-d arrays)."""
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    if not outs:
        raise TypeError(f"gradcheck: {name} returned an empty {type(out).__name__}; it must return at least one output")
    for k, o in enumerate(outs):
        which = f"output {k}" if len(outs) > 1 else "its output"
        if isinstance(o, np.generic):
            outs[k] = o = np.array(o)
        if not isinstance(o, (float, int, np.ndarray)) or isinstance(o, bool):
            raise TypeError(
                f"gradcheck: {name} must return a number or a NumPy array (or a tuple of them); {which} is a "
                f"{type(o).__name__} (a framework's tensor: convert it with .numpy() or np.asarray)"
            )
        if isinstance(o, np.ndarray) and o.dtype.kind not in "fiu":
            raise TypeError(
                f"gradcheck: {name} must return real numbers; {which} has dtype {o.dtype} (for a complex "
                "function, check its real and imaginary parts as two outputs: np.real(f), np.imag(f))"
            )
    return outs


def _per_input(returned: Any, labels: Sequence[str], form: str) -> list[Any]:
    """The derivative's return value as one gradient per checked input."""
    if len(labels) == 1:
        single = isinstance(returned, (tuple, list)) and len(returned) == 1
        return [returned[0] if single else returned]
    if not isinstance(returned, (tuple, list)) or len(returned) != len(labels):
        got = f"{len(returned)} values" if isinstance(returned, (tuple, list)) else f"a {type(returned).__name__}"
        raise TypeError(
            f"gradcheck: {form} must return {len(labels)} gradients as a tuple, one for each of "
            f"{', '.join(labels)} (in that order); it returned {got}"
        )
    return list(returned)


def _in_kind(g: Any, like: Any) -> Any:
    """A returned gradient in the kind of its input, where only the spelling differs:
    a NumPy scalar for a 0-d array, a 0-d array or NumPy scalar for a float."""
    if isinstance(like, np.ndarray) and isinstance(g, np.generic):
        return np.array(g)
    if not isinstance(like, np.ndarray) and np.ndim(g) == 0 and isinstance(g, (np.generic, np.ndarray)):
        return float(g)
    return g


def _like(value: np.ndarray, x: Any) -> Any:
    """A vector in the space of x: a float for a float, else an array of x's float dtype."""
    if not isinstance(x, np.ndarray):
        return float(value)
    return np.asarray(value, dtype=x.dtype if x.dtype.kind == "f" else np.float64)


def _rerun(
    fn: Callable[..., Any], inputs: Sequence[Any], checked: Sequence[int], name: str
) -> Callable[[Sequence[np.ndarray]], list[Any]]:
    """f's outputs at float64 values of the checked inputs (floats stay floats); the
    other inputs are the check's own copies."""

    def run(values: Sequence[np.ndarray]) -> list[Any]:
        args = list(inputs)
        for i, value in zip(checked, values):
            args[i] = value if isinstance(args[i], np.ndarray) else float(value)
        return _outputs(fn(*args), name)

    return run
