"""W3: micrograd's own demo — an MLP 2-16-16-1 on 100 two-moons points, trained with
the SVM max-margin loss plus L2, one scalar op at a time.

    scoreᵢ = MLP(xᵢ),  L = mean(relu(1 − yᵢ·scoreᵢ)) + α·Σ p²,   α = 1e-4,  yᵢ ∈ {−1, +1}
    SGD with micrograd's schedule lr = 1 − 0.9·k/100 at step k

The scalar libraries (glassgrad's Scalar, micrograd's Value, torch 0-d tensors) run the
very same code, written as in micrograd's nn.py; numpy-by-hand is the vectorized form
with a hand-written backward, used as the reference of the gradient check.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

SIZES = (2, 16, 16, 1)
ALPHA = 1e-4

MODULES = {
    "numpy-by-hand (vectorized)": "numpy",
    "glassgrad (Scalar)": "glassgrad",
    "glassgrad (traced)": "glassgrad",
    "glassgrad (Scalar), torch and jax imported": "glassgrad",
    "glassgrad (traced), torch and jax imported": "glassgrad",
    "micrograd": "micrograd",
    "torch (0-d tensors)": "torch",
}


def make_moons(n: int = 100, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles (as scikit-learn's make_moons), labels ±1."""
    rng = np.random.default_rng(seed)
    n_out = n // 2
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n - n_out)
    X = np.concatenate(
        [np.stack([np.cos(t_out), np.sin(t_out)], 1), np.stack([1 - np.cos(t_in), 0.5 - np.sin(t_in)], 1)]
    )
    X += rng.normal(0.0, noise, X.shape)
    return X, np.where(np.arange(n) < n_out, -1.0, 1.0)


def initial_parameters(seed: int = 0) -> np.ndarray:
    """Uniform(−1, 1) as micrograd's Neuron, flat in micrograd's order: per layer, per neuron, w then b."""
    count = sum((nin + 1) * nout for nin, nout in itertools.pairwise(SIZES))
    return np.random.default_rng(seed + 1).uniform(-1, 1, count)


def _layers(flat: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Flat parameters as (W of shape (nout, nin), b) per layer."""
    out, k = [], 0
    for nin, nout in itertools.pairwise(SIZES):
        block = flat[k : k + (nin + 1) * nout].reshape(nout, nin + 1)
        out.append((block[:, :nin], block[:, nin]))
        k += (nin + 1) * nout
    return out


def learning_rate(k: int) -> float:
    return 1.0 - 0.9 * (k % 100) / 100


class NumpyByHand:
    """The vectorized MLP with its backward written out (reference for the check)."""

    def __init__(self, X: np.ndarray, y: np.ndarray, params0: np.ndarray):
        self.X, self.y, self.p, self.k = X, y, params0.copy(), 0

    def value_and_grad(self) -> tuple[float, np.ndarray]:
        X, y, n = self.X, self.y, len(self.y)
        (W1, b1), (W2, b2), (W3, b3) = _layers(self.p)
        z1 = X @ W1.T + b1
        h1 = np.maximum(z1, 0)
        z2 = h1 @ W2.T + b2
        h2 = np.maximum(z2, 0)
        s = h2 @ W3[0] + b3[0]
        m = 1 - y * s
        loss = np.maximum(m, 0).mean() + ALPHA * (self.p @ self.p)
        ds = -y * (m > 0) / n
        dz2 = np.outer(ds, W3[0]) * (z2 > 0)
        dz1 = (dz2 @ W2) * (z1 > 0)
        grads = [(dz1.T @ X, dz1.sum(0)), (dz2.T @ h1, dz2.sum(0)), ((ds @ h2)[None], ds.sum()[None])]
        flat = np.concatenate([np.concatenate([gW, gb[:, None]], 1).ravel() for gW, gb in grads])
        return float(loss), flat + 2 * ALPHA * self.p

    def step(self) -> None:
        _, g = self.value_and_grad()
        self.p -= learning_rate(self.k) * g
        self.k += 1

    def params(self) -> np.ndarray:
        return self.p.copy()


class ScalarMLP:
    """micrograd's nn.py and demo loop over any scalar value type; subclasses say how
    to make a parameter or an input, read a gradient and update a parameter."""

    def __init__(self, X: np.ndarray, y: np.ndarray, params0: np.ndarray):
        self.params_ = [self.parameter(float(v)) for v in params0]
        self.X, self.y, self.k = X, y, 0
        it = iter(self.params_)
        self.layers = [
            [([next(it) for _ in range(nin)], next(it)) for _ in range(nout)] for nin, nout in itertools.pairwise(SIZES)
        ]

    # -- the demo, as micrograd writes it -------------------------------------------------
    def model(self, x: list[Any]) -> Any:
        for i, layer in enumerate(self.layers):
            nonlin = i != len(self.layers) - 1
            acts = [sum((wi * xi for wi, xi in zip(w, x)), b) for w, b in layer]
            x = [a.relu() for a in acts] if nonlin else acts
        return x[0]

    def loss(self) -> Any:
        inputs = [[self.constant(float(v)) for v in row] for row in self.X]
        scores = [self.model(x) for x in inputs]
        losses = [(1 + -float(yi) * si).relu() for yi, si in zip(self.y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = ALPHA * sum(p * p for p in self.params_)
        return data_loss + reg_loss

    def step(self) -> None:
        total = self.loss()
        self.zero_grad()
        total.backward()
        lr = learning_rate(self.k)
        for p in self.params_:
            self.update(p, lr)
        self.k += 1

    def value_and_grad(self) -> tuple[float, np.ndarray]:
        total = self.loss()
        self.zero_grad()
        total.backward()
        return self.value(total), np.array([self.grad(p) for p in self.params_])

    def params(self) -> np.ndarray:
        return np.array([self.value(p) for p in self.params_])

    # -- per library ------------------------------------------------------------------
    def parameter(self, v: float) -> Any:
        raise NotImplementedError

    def constant(self, v: float) -> Any:
        raise NotImplementedError

    def zero_grad(self) -> None:
        for p in self.params_:
            p.grad = None

    def grad(self, p: Any) -> float:
        return float(p.grad)

    def value(self, p: Any) -> float:
        return float(p.data)

    def update(self, p: Any, lr: float) -> None:
        p.data -= lr * p.grad


class GlassgradScalar(ScalarMLP):
    def parameter(self, v):
        from glassgrad import Scalar

        return Scalar(v)

    def constant(self, v):
        from glassgrad import Scalar

        return Scalar(v, requires_grad=False)


class GlassgradTraced(GlassgradScalar):
    """The demo's loss compiled once by ``glassgrad.trace`` (straight-line float code);
    each step replays it and updates the parameters."""

    def __init__(self, X: np.ndarray, y: np.ndarray, params0: np.ndarray):
        from glassgrad import trace

        super().__init__(X, y, params0)
        self.compiled = trace(self.loss)
        order = {id(p): i for i, p in enumerate(self.compiled.wrt)}
        self.index = [order[id(p)] for p in self.params_]

    def _value_and_grads(self) -> tuple[float, list[float]]:
        value, grads = self.compiled()
        return float(value), [grads[i] for i in self.index]

    def step(self) -> None:
        _, grads = self._value_and_grads()
        lr = learning_rate(self.k)
        for p, g in zip(self.params_, grads):
            p.data -= lr * g
        self.k += 1

    def value_and_grad(self) -> tuple[float, np.ndarray]:
        value, grads = self._value_and_grads()
        return value, np.array(grads)


class BigHeap:
    """The same adapter in a process that has also imported torch and JAX, as a
    notebook often has: Python's cyclic collector then walks their objects too on each
    full collection. Runs under the peers' python, with glassgrad installed there."""

    def __init__(self, X: np.ndarray, y: np.ndarray, params0: np.ndarray):
        import jax  # noqa: F401
        import torch  # noqa: F401

        super().__init__(X, y, params0)  # type: ignore[call-arg]


class GlassgradScalarBigHeap(BigHeap, GlassgradScalar):
    pass


class GlassgradTracedBigHeap(BigHeap, GlassgradTraced):
    pass


class Micrograd(ScalarMLP):
    def parameter(self, v):
        from micrograd.engine import Value

        return Value(v)

    constant = parameter  # the demo wraps inputs as Values too

    def zero_grad(self):
        for p in self.params_:
            p.grad = 0


class TorchScalar(ScalarMLP):
    def parameter(self, v):
        import torch

        return torch.tensor(v, dtype=torch.float64, requires_grad=True)

    def constant(self, v):
        import torch

        return torch.tensor(v, dtype=torch.float64)

    def value(self, p):
        return float(p.detach())

    def update(self, p, lr):
        import torch

        with torch.no_grad():
            p -= lr * p.grad


ADAPTERS = {
    "numpy-by-hand (vectorized)": NumpyByHand,
    "glassgrad (Scalar)": GlassgradScalar,
    "glassgrad (traced)": GlassgradTraced,
    "glassgrad (Scalar), torch and jax imported": GlassgradScalarBigHeap,
    "glassgrad (traced), torch and jax imported": GlassgradTracedBigHeap,
    "micrograd": Micrograd,
    "torch (0-d tensors)": TorchScalar,
}
