"""The one-unit logistic model: is this picture the digit?

For a batch X (N × 784 pixels in [0, 1]) the unit computes one number per picture,

    z = X·w + b                 (the logits: a weighted sum of the pixels)
    p = σ(z) = 1 / (1 + e^(−z)) (the probability that the picture is the digit)

and is trained on the mean binary cross-entropy (the log loss) of the labels y ∈ {0, 1},

    L = (1/N) Σᵢ [ −c·yᵢ·ln σ(zᵢ) − (1 − yᵢ)·ln(1 − σ(zᵢ)) ]

with c the positive-class weight (``pos_weight``, 1 by default), whose gradient
back-propagation finds as ∂L/∂w = Xᵀ(σ(z) − y)/N and ∂L/∂b = Σᵢ(σ(zᵢ) − yᵢ)/N when c = 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from glassgrad import Tensor, as_tensor, binary_cross_entropy_with_logits, no_grad, sigmoid
from glassgrad.errors import ShapeError
from glassgrad.nn import Module, Parameter, ParameterSpec

from .metrics import BinaryMetrics, binary_metrics

N_PIXELS = 28 * 28


def as_inputs(model: Module, X: Any, n_features: int, dtype: np.dtype) -> Tensor:
    """X as a Tensor of ``dtype``: shared with the caller's array when its dtype already
    matches (no copy of a 60,000 × 784 matrix), converted otherwise; one row of
    ``n_features`` per sample, else a :class:`ShapeError` naming ``model``."""
    t = X if isinstance(X, Tensor) and X.dtype == dtype else as_tensor(np.asarray(X), dtype=dtype)
    if t.ndim != 2 or t.shape[1] != n_features:
        raise ShapeError(
            f"{type(model).__name__}: X must have shape (N, {n_features}) (one row of "
            f"{n_features} features per sample), got {t.shape}"
        )
    return t


class Detector(Module):
    """A model that gives one logit z per picture: p = σ(z) is the probability that the
    picture is the digit. Subclasses define ``n_features``, ``dtype`` and ``forward``."""

    @property
    def n_features(self) -> int:  # pragma: no cover - abstract
        """Features per sample (784 pixels)."""
        raise NotImplementedError

    @property
    def dtype(self) -> np.dtype:  # pragma: no cover - abstract
        """The parameters' float dtype."""
        raise NotImplementedError

    def inputs(self, X: Any) -> Tensor:
        """X as a Tensor of the model's dtype, of shape (N, n_features)."""
        return as_inputs(self, X, self.n_features, self.dtype)

    def predict_proba(self, X: Any) -> np.ndarray:
        """p = σ(z) for each sample, as a numpy array (no graph is recorded)."""
        with no_grad():
            return sigmoid(self(X)).data

    def predict(self, X: Any, threshold: float = 0.5) -> np.ndarray:
        """True where p ≥ ``threshold``."""
        return self.predict_proba(X) >= threshold

    def loss(self, X: Any, y: Any, pos_weight: float | None = None) -> Tensor:
        """The training loss: :func:`logistic_loss`."""
        return logistic_loss(self, X, y, pos_weight)

    def metrics(self, X: Any, y: Any, threshold: float = 0.5) -> BinaryMetrics:
        """The detector's metrics on (X, y) at ``threshold``."""
        return binary_metrics(y, self.predict_proba(X), threshold)


class LogisticModel(Detector):
    """``LogisticModel(n_features=784, dtype=np.float64)``: weights w (n_features,) and a
    bias b (1,), both starting at 0 (the loss is convex, so no random start is needed)."""

    def __init__(self, n_features: int = N_PIXELS, dtype: Any = np.float64) -> None:
        if isinstance(n_features, bool) or not isinstance(n_features, (int, np.integer)) or n_features < 1:
            raise ValueError(f"LogisticModel: n_features must be an integer ≥ 1, got {n_features!r}")
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"LogisticModel: dtype must be a float type (float64 or float32), got {dtype}")
        self.w = Parameter(np.zeros(int(n_features), dtype))
        self.b = Parameter(np.zeros(1, dtype))

    def config(self) -> dict[str, Any]:
        return {"n_features": self.n_features, "dtype": str(self.dtype)}

    @classmethod
    def parameter_specs(cls, config: Mapping[str, Any]) -> dict[str, ParameterSpec]:
        """w (n_features,) and b (1,), of the dtype the config names."""
        dtype = np.dtype(config.get("dtype", np.float64))
        return {"w": ParameterSpec((config["n_features"],), dtype), "b": ParameterSpec((1,), dtype)}

    @property
    def n_features(self) -> int:
        return self.w.shape[0]

    @property
    def dtype(self) -> np.dtype:
        return self.w.dtype

    def forward(self, X: Any) -> Tensor:
        """The logits z = X·w + b, shape (N,)."""
        return self.inputs(X) @ self.w + self.b


def logistic_loss(model: Detector, X: Any, y: Any, pos_weight: float | None = None) -> Tensor:
    """Mean binary cross-entropy of targets ``y`` under the model's logits on ``X``."""
    z = model(X)
    if not isinstance(y, Tensor):  # a Tensor stays in the graph (a traced step feeds one)
        y = as_tensor(np.asarray(y), dtype=model.dtype)
    if y.shape != z.shape:
        raise ShapeError(f"logistic_loss: targets have shape {y.shape} but there are {z.shape[0]} samples")
    return binary_cross_entropy_with_logits(z, y, pos_weight=pos_weight)
