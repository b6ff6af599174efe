"""glassgrad graph: draw the one-unit logistic model's forward and backward graphs.

For one sample x with label y, the unit computes

    z = x·w + b,    ŷ = σ(z),    L = BCE(ŷ, y) = −[y ln ŷ + (1−y) ln(1−ŷ)]

and back-propagation multiplies three local derivatives,

    ∂L/∂w = ∂L/∂ŷ · ∂ŷ/∂z · ∂z/∂w = (ŷ−y)/(ŷ(1−ŷ)) · ŷ(1−ŷ) · x = (ŷ−y)·x.

Training uses the fused ``binary_cross_entropy_with_logits`` (exact where σ(z)
rounds to 0 or 1); this drawing is built from the unfused ops (``matmul``, ``add``,
``sigmoid``, ``binary_cross_entropy`` on probabilities) so that each factor has its
own edge. In the graph x·w is its own value, so ∂z/∂w appears as
∂z/∂(x·w) · ∂(x·w)/∂w = 1 · x.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from glassgrad import Scalar, Tensor, binary_cross_entropy, binary_cross_entropy_with_logits, scope, sigmoid, tanh
from glassgrad.viz import draw, explain, explore, to_text

from .atomic import write_text_atomic

FORMATS = ("svg", "png", "pdf")
# A sample the unit gets partly wrong (ŷ ≈ 0.76 for label 1), so every gradient is
# visibly nonzero.
DEFAULT_X = (1.5, -0.5)
DEFAULT_W = (0.8, 0.3)
DEFAULT_B = 0.1
DEFAULT_Y = 1.0


@dataclass
class LogisticUnit:
    """The named values of one forward pass of the logistic unit."""

    x: Tensor
    w: Tensor
    b: Tensor
    y: Tensor
    xw: Tensor
    z: Tensor
    y_hat: Tensor
    loss: Tensor


def logistic_unit(
    x: Sequence[float] = DEFAULT_X,
    w: Sequence[float] = DEFAULT_W,
    b: float = DEFAULT_B,
    y: float = DEFAULT_Y,
) -> LogisticUnit:
    """Record z = x·w + b, ŷ = σ(z), L = BCE(ŷ, y) for one sample, every value named."""
    if len(x) != len(w):
        raise ValueError(f"x has {len(x)} features but w has {len(w)} weights; give as many of each")
    if not 0.0 <= y <= 1.0:
        raise ValueError(f"the label y must lie in [0, 1], got {y}")
    xt = Tensor(list(x), name="x")
    wt = Tensor(list(w), requires_grad=True, name="w")
    bt = Tensor(b, requires_grad=True, name="b")
    yt = Tensor(y, name="y")
    with np.errstate(over="ignore", invalid="ignore"):  # checked below, with the values named
        xw = xt @ wt
        z = xw + bt
    if not np.isfinite(z.data):
        raise ValueError(
            f"z = x·w + b overflows float64 (beyond about 1.8e308) for x = {list(x)}, w = {list(w)}, b = {b}; "
            "give smaller values"
        )
    xw.name = "x·w"
    z.name = "z"
    y_hat = sigmoid(z)
    y_hat.name = "ŷ"
    loss = binary_cross_entropy(y_hat, yt)
    loss.name = "L"
    return LogisticUnit(xt, wt, bt, yt, xw, z, y_hat, loss)


def write_logistic_figures(
    out_dir: str | Path, formats: Sequence[str] = ("svg",), unit: LogisticUnit | None = None
) -> list[Path]:
    """Write the unit's forward and backward graphs (``forward.<fmt>``,
    ``backward.<fmt>`` for each format), the listing (``graph.txt``) and the chain
    rule for w and b (``explain.txt``) into ``out_dir``. Returns the paths written
    (a ``.dot`` file stands in for a picture when graphviz's ``dot`` is missing)."""
    for fmt in formats:
        if fmt not in FORMATS:
            raise ValueError(f"unknown picture format {fmt!r}; choose from {', '.join(FORMATS)}")
    unit = logistic_unit() if unit is None else unit
    out = Path(out_dir)
    written: list[Path] = []
    # Both pictures and explain() read the recorded graph, before any backward().
    views = {"forward": draw(unit.loss), "backward": draw(unit.loss, view="backward")}
    written.extend(view.save(out / f"{name}.{fmt}") for name, view in views.items() for fmt in dict.fromkeys(formats))
    text = "\n\n".join(str(explain(p, unit.loss)) for p in (unit.w, unit.b)) + "\n"
    write_text_atomic(out / "explain.txt", text)
    write_text_atomic(out / "graph.txt", to_text(unit.loss) + "\n")
    written += [out / "explain.txt", out / "graph.txt"]
    return list(dict.fromkeys(written))


def tiny_network() -> tuple[Scalar, dict[str, Scalar]]:
    """A 2-2-1 network on one sample, in Scalars, with scopes ``hidden/h0``,
    ``hidden/h1`` and ``out``: the example for highlighting and folding.
    Returns the loss and the parameters by name."""
    x = [Scalar(1.0, requires_grad=False, name="x1"), Scalar(-2.0, requires_grad=False, name="x2")]
    y = Scalar(1.0, requires_grad=False, name="y")
    params: dict[str, Scalar] = {}

    def param(value: float, name: str) -> Scalar:
        params[name] = Scalar(value, name=name)
        return params[name]

    hidden = []
    with scope("hidden"):
        for i, (wa, wb, b) in enumerate([(0.5, -0.3, 0.1), (-0.8, 0.2, 0.0)]):
            with scope(f"h{i}"):
                w = [param(wa, f"w{i}1"), param(wb, f"w{i}2")]
                bias = param(b, f"b{i}")
                h = (w[0] * x[0] + w[1] * x[1] + bias).tanh()
                h.name = f"h{i}"
                hidden.append(h)
    with scope("out"):
        v = [param(1.2, "v0"), param(-0.7, "v1")]
        c = param(0.05, "c")
        y_hat = (v[0] * hidden[0] + v[1] * hidden[1] + c).sigmoid()
        y_hat.name = "ŷ"
    loss = binary_cross_entropy(y_hat, y)
    loss.name = "L"
    return loss, params


def small_mlp(n_points: int = 4, seed: int = 0) -> tuple[Tensor, dict[str, Tensor]]:
    """micrograd's network in Tensors: 2-16-16-1 with tanh hidden layers, scored by the
    mean log loss (binary_cross_entropy_with_logits) of ``n_points`` labelled points in
    the plane, in scopes ``layer1``, ``layer2`` and ``out``. The weights are drawn from
    N(0, 1/fan_in) with ``seed``. Returns the loss and the parameters by name."""
    rng = np.random.default_rng(seed)
    X = Tensor(rng.uniform(-1.0, 1.0, (n_points, 2)), name="X")
    y = Tensor((X.data[:, 0] * X.data[:, 1] > 0).astype(float), name="y")  # same sign: label 1
    params: dict[str, Tensor] = {}
    h = X
    for layer, (n_in, n_out) in (("layer1", (2, 16)), ("layer2", (16, 16))):
        with scope(layer):
            w_name, b_name = f"W{layer[-1]}", f"b{layer[-1]}"
            W = Tensor(rng.normal(0.0, n_in**-0.5, (n_in, n_out)), requires_grad=True, name=w_name)
            b = Tensor(np.zeros(n_out), requires_grad=True, name=b_name)
            h = tanh(h @ W + b)
            h.name = f"h{layer[-1]}"
            params.update({w_name: W, b_name: b})
    with scope("out"):
        w = Tensor(rng.normal(0.0, 0.25, 16), requires_grad=True, name="w3")
        c = Tensor(0.0, requires_grad=True, name="b3")
        z = h @ w + c
        z.name = "z"
        params.update({"w3": w, "b3": c})
    loss = binary_cross_entropy_with_logits(z, y)
    loss.name = "L"
    return loss, params


def write_docs_figures(out_dir: str | Path) -> list[Path]:
    """Every picture of the visualization page: the logistic unit (forward,
    backward, explain), a value used three times, and the tiny network highlighted
    and folded. SVGs, written into ``out_dir``."""
    out = Path(out_dir)
    written = write_logistic_figures(out, ("svg",))
    x = Scalar(1.5, name="x")
    y = x * x + x
    y.name = "y"
    written.append(draw(y, view="backward").save(out / "fan_in.svg"))
    loss, params = tiny_network()
    written.append(draw(loss, highlight=params["w01"]).save(out / "highlight.svg"))
    written.append(draw(loss, collapse=("hidden",)).save(out / "collapse.svg"))
    written.append(draw(loss, collapse=("h1",), view="backward").save(out / "collapse_backward.svg"))
    return written


def scalar_network(width: int = 16, seed: int = 0) -> Scalar:
    """A 2-width-width-1 network of Scalars with tanh units, on one point, in scopes
    ``layer0``, ``layer1``, ``layer2``: for width 16, 337 parameters and about a
    thousand values, the size at which the explorer is tested and measured."""
    rng = np.random.default_rng(seed)
    h = [Scalar(0.5, requires_grad=False, name="x1"), Scalar(-1.0, requires_grad=False, name="x2")]
    for layer, n in enumerate((width, width, 1)):
        with scope(f"layer{layer}"):
            out = []
            for j in range(n):
                acc = Scalar(float(rng.uniform(-1, 1)), name=f"b{layer}_{j}")
                for i, x in enumerate(h):
                    acc = acc + Scalar(float(rng.uniform(-1, 1)), name=f"w{layer}_{j}_{i}") * x
                out.append(acc.tanh())
            h = out
    return h[0]


#: Titles of the explorers the documentation embeds.
LOGISTIC_TITLE = "The logistic unit: z = x·w + b, ŷ = σ(z), L = BCE(ŷ, y)"
MLP_TITLE = "micrograd's network, 2-16-16-1 with tanh, on 4 points"


def write_explorers(out_dir: str | Path) -> list[Path]:
    """The explorers of the documentation: ``logistic.html`` (the logistic unit) and
    ``mlp.html`` (:func:`small_mlp`), written into ``out_dir``."""
    out = Path(out_dir)
    loss, _ = small_mlp()
    return [
        explore(logistic_unit().loss, title=LOGISTIC_TITLE).save(out / "logistic.html"),
        explore(loss, title=MLP_TITLE).save(out / "mlp.html"),
    ]
