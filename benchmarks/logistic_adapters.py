"""W1, W2 and W5: one SGD step of logistic regression, written in each library.

Every library computes the same thing on batch (X_b, y_b) of n rows:

    z = X_b·w + b,   L = mean(softplus(z) − y·z)          (stable binary cross-entropy)
    ∂L/∂w = X_bᵀ(σ(z) − y)/n,   ∂L/∂b = mean(σ(z) − y),   w ← w − lr·∂L/∂w,   b ← b − lr·∂L/∂b

An adapter is built once per process (data converted to the library's own type,
batches sliced in advance) and then offers ``step()`` (forward, backward and update on
the next batch), ``value_and_grad(i)`` (loss and gradients on batch i, no update) and
``params()``; the last two feed the cross-library check and return float64 numpy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

# Import name of each library, to tell "not installed" from a broken adapter.
MODULES = {
    "numpy-by-hand": "numpy",
    "glassgrad": "glassgrad",
    "glassgrad (traced)": "glassgrad",
    "torch-eager": "torch",
    "autograd (HIPS)": "autograd",
    "mygrad": "mygrad",
    "jax-eager": "jax",
    "jax-jit": "jax",
}


def batch_slices(n: int, batch: int | None) -> list[slice]:
    """Full batch (``batch`` None) or the ⌊n/batch⌋ full minibatches in order."""
    if batch is None:
        return [slice(0, n)]
    return [slice(i, i + batch) for i in range(0, n - batch + 1, batch)]


class Adapter:
    """Cycles through the prepared batches; subclasses supply the library's step."""

    def __init__(self, X: np.ndarray, y: np.ndarray, w0: np.ndarray, b0: np.ndarray, lr: float, batch: int | None):
        self.lr = lr
        self.k = 0
        self.batches = [self.convert_batch(X[s], y[s]) for s in batch_slices(len(X), batch)]
        self.setup(w0, b0)

    def step(self) -> None:
        Xb, yb = self.batches[self.k % len(self.batches)]
        self.k += 1
        self.sgd_step(Xb, yb)

    # -- per library ------------------------------------------------------------------
    def convert_batch(self, X: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
        return X, y

    def setup(self, w0: np.ndarray, b0: np.ndarray) -> None:
        raise NotImplementedError

    def sgd_step(self, X: Any, y: Any) -> None:
        raise NotImplementedError

    def value_and_grad(self, i: int) -> tuple[float, np.ndarray, float]:
        raise NotImplementedError

    def params(self) -> tuple[np.ndarray, float]:
        raise NotImplementedError


class NumpyByHand(Adapter):
    """The honest best in plain numpy: σ(z) = exp(z − softplus(z)) reuses the loss's softplus."""

    def setup(self, w0, b0):
        self.w, self.b = w0.copy(), b0.copy()

    def _forward_backward(self, X, y):
        z = X @ self.w
        z += self.b
        sp = np.logaddexp(0, z)
        loss = np.mean(sp - y * z)
        r = np.exp(z - sp)  # σ(z), never overflows: z − softplus(z) ≤ 0
        r -= y
        r /= len(y)
        return loss, X.T @ r, r.sum()

    def sgd_step(self, X, y):
        _, gw, gb = self._forward_backward(X, y)
        gw *= self.lr
        self.w -= gw
        self.b -= self.lr * gb

    def value_and_grad(self, i):
        loss, gw, gb = self._forward_backward(*self.batches[i])
        return float(loss), gw.astype(np.float64), float(gb)

    def params(self):
        return self.w.astype(np.float64), float(self.b)


class Glassgrad(Adapter):
    """What a glassgrad user writes: record, backward, update under no_grad."""

    def convert_batch(self, X, y):
        from glassgrad import as_tensor

        return as_tensor(X), as_tensor(y)

    def setup(self, w0, b0):
        from glassgrad import Tensor, binary_cross_entropy_with_logits, no_grad

        self.w = Tensor(w0, requires_grad=True)
        self.b = Tensor(b0, requires_grad=True)
        self.bce, self.no_grad = binary_cross_entropy_with_logits, no_grad

    def _loss(self, X, y):
        return self.bce(X @ self.w + self.b, y)

    def sgd_step(self, X, y):
        w, b, lr = self.w, self.b, self.lr
        self._loss(X, y).backward()
        with self.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
        w.grad = b.grad = None

    def value_and_grad(self, i):
        loss = self._loss(*self.batches[i])
        loss.backward()
        out = float(loss.item()), self.w.grad.astype(np.float64), float(self.b.grad)
        self.w.grad = self.b.grad = None
        return out

    def params(self):
        return self.w.data.astype(np.float64), float(self.b.data)


class GlassgradTraced(Glassgrad):
    """The same loss compiled once by ``glassgrad.trace``; each step replays it and
    updates the parameters' arrays in place, as the NumPy code does. (A leaf's
    ``.data`` is its array itself. The replay keeps no graph between steps, so the
    bookkeeping of the ``w.data -= ...`` setter, which lets eager graphs that saved
    ``w`` refuse a stale backward, has nothing to protect here.)"""

    def setup(self, w0, b0):
        from glassgrad import trace

        super().setup(w0, b0)
        self.compiled = trace(self._loss, *self.batches[0])
        order = {id(p): i for i, p in enumerate(self.compiled.wrt)}
        self.iw, self.ib = order[id(self.w)], order[id(self.b)]
        self.w_data, self.b_data = self.w.data, self.b.data

    def sgd_step(self, X, y):
        _, grads = self.compiled(X, y)
        gw = grads[self.iw]
        gw *= self.lr
        self.w_data -= gw
        self.b_data -= self.lr * grads[self.ib]

    def value_and_grad(self, i):
        loss, grads = self.compiled(*self.batches[i])
        return float(loss), grads[self.iw].astype(np.float64), float(grads[self.ib])


class TorchEager(Adapter):
    def convert_batch(self, X, y):
        import torch

        return torch.from_numpy(X), torch.from_numpy(y)

    def setup(self, w0, b0):
        import torch

        self.torch = torch
        self.w = torch.tensor(w0, requires_grad=True)
        self.b = torch.tensor(b0, requires_grad=True)
        self.bce = torch.nn.functional.binary_cross_entropy_with_logits

    def sgd_step(self, X, y):
        w, b, lr = self.w, self.b, self.lr
        self.bce(X @ w + b, y).backward()
        with self.torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
        w.grad = b.grad = None

    def value_and_grad(self, i):
        loss = self.bce(self.batches[i][0] @ self.w + self.b, self.batches[i][1])
        loss.backward()
        out = float(loss), self.w.grad.double().numpy(), float(self.b.grad)
        self.w.grad = self.b.grad = None
        return out

    def params(self):
        return self.w.detach().double().numpy(), float(self.b)


def _loss_fn(xp: Any) -> Callable:
    def loss(w, b, X, y):
        z = X @ w + b
        return xp.mean(xp.logaddexp(0.0, z) - y * z)

    return loss


class Functional(Adapter):
    """A library whose gradients come from a function ``vg(w, b, X, y) -> (loss, (∂w, ∂b))``
    (HIPS autograd, JAX), with the parameters held as arrays in ``w`` and ``b``."""

    def value_and_grad(self, i):
        loss, (gw, gb) = self.vg(self.w, self.b, *self.batches[i])
        return float(loss), np.asarray(gw, dtype=np.float64), float(gb)

    def params(self):
        return np.asarray(self.w, dtype=np.float64), float(self.b)


class HipsAutograd(Functional):
    def setup(self, w0, b0):
        import autograd.numpy as anp

        from autograd import value_and_grad

        self.vg = value_and_grad(_loss_fn(anp), argnum=(0, 1))
        self.w, self.b = w0.copy(), b0.copy()

    def sgd_step(self, X, y):
        _, (gw, gb) = self.vg(self.w, self.b, X, y)
        self.w = self.w - self.lr * gw
        self.b = self.b - self.lr * gb


class MyGrad(Adapter):
    def setup(self, w0, b0):
        import mygrad as mg

        self.mg = mg
        self.w, self.b = mg.tensor(w0.copy()), mg.tensor(b0.copy())

    def _loss(self, X, y):
        mg = self.mg
        z = mg.matmul(X, self.w) + self.b
        return mg.mean(mg.logaddexp(0.0, z) - y * z)

    def sgd_step(self, X, y):
        self._loss(X, y).backward()
        self.w = self.mg.tensor(self.w.data - self.lr * self.w.grad)
        self.b = self.mg.tensor(self.b.data - self.lr * self.b.grad)

    def value_and_grad(self, i):
        loss = self._loss(*self.batches[i])
        loss.backward()
        out = float(loss.item()), np.asarray(self.w.grad, dtype=np.float64), float(self.b.grad)
        self.w, self.b = self.mg.tensor(self.w.data), self.mg.tensor(self.b.data)
        return out

    def params(self):
        return np.asarray(self.w.data, dtype=np.float64), float(self.b.data)


class Jax(Functional):
    """``jax.value_and_grad`` with jax_enable_x64 (float64 as everyone else); jitted or eager."""

    jit = True

    def convert_batch(self, X, y):
        import jax

        jax.config.update("jax_enable_x64", True)
        return jax.numpy.asarray(X), jax.numpy.asarray(y)

    def setup(self, w0, b0):
        import jax

        vg = jax.value_and_grad(_loss_fn(jax.numpy), argnums=(0, 1))
        lr = self.lr

        def update(w, b, X, y):
            _loss, (gw, gb) = vg(w, b, X, y)
            return w - lr * gw, b - lr * gb

        self.vg = jax.jit(vg) if self.jit else vg
        self.update = jax.jit(update) if self.jit else update
        self.w, self.b = jax.numpy.asarray(w0), jax.numpy.asarray(b0)

    def sgd_step(self, X, y):
        self.w, self.b = self.update(self.w, self.b, X, y)
        self.w.block_until_ready()


class JaxEager(Jax):
    jit = False


ADAPTERS: dict[str, type[Adapter]] = {
    "numpy-by-hand": NumpyByHand,
    "glassgrad": Glassgrad,
    "glassgrad (traced)": GlassgradTraced,
    "torch-eager": TorchEager,
    "autograd (HIPS)": HipsAutograd,
    "mygrad": MyGrad,
    "jax-eager": JaxEager,
    "jax-jit": Jax,
}
