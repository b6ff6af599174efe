"""Networks beyond one unit: a hidden-layer digit detector and a ten-digit classifier.

The one-hidden-layer detector computes, for a picture x (784 pixels),

    h = relu(W₁x + b₁)        (H hidden units, each a pattern detector of its own)
    z = w₂·h + b₂             (one logit; p = σ(z) as for the one-unit model)

and trains on the same binary cross-entropy. The classifier gives ten logits, one per
digit, turned into probabilities that sum to 1 by the softmax,

    pₖ = e^{zₖ} / Σⱼ e^{zⱼ}     with z = Wx + b (multinomial logistic regression)
                                 or z = W₂ relu(W₁x + b₁) + b₂ (with a hidden layer)

and trains on the cross-entropy −ln p_y of the true digit y. Both are
:class:`~glassgrad.nn.Sequential` models, so their parameters are named ``0.weight``,
``0.bias``, ``2.weight``, … as in ``torch.nn.Sequential``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from glassgrad import Tensor, cross_entropy, no_grad, softmax
from glassgrad.nn import Linear, Module, ParameterSpec, ReLU, Sequential

from .logistic import N_PIXELS, Detector, as_inputs
from .metrics import ClassMetrics, class_labels, class_metrics


def _layers(n_features: int, hidden: int, n_out: int, dtype: Any, seed: int) -> list[Module]:
    """Linear(n_features → n_out), or Linear → ReLU → Linear through ``hidden`` units;
    initialized from one generator seeded with ``seed``."""
    for what, n in (("n_features", n_features), ("hidden", hidden)):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"{what} must be an integer ≥ 0, got {n!r}")
    rng = np.random.default_rng(seed)
    if hidden == 0:
        return [Linear(n_features, n_out, dtype=dtype, rng=rng)]
    return [Linear(n_features, hidden, dtype=dtype, rng=rng), ReLU(), Linear(hidden, n_out, dtype=dtype, rng=rng)]


def layer_specs(config: Mapping[str, Any], n_out: Any) -> dict[str, ParameterSpec]:
    """The shapes and dtype of the parameters of the layers :func:`_layers` builds from a
    network's ``config``, by name, found without building them (a model file's
    architecture is checked against its arrays before it may claim gigabytes)."""
    n_features, hidden, dtype = config["n_features"], config["hidden"], np.dtype(config.get("dtype", np.float64))
    first = hidden or n_out
    specs = {"0.weight": ParameterSpec((first, n_features), dtype), "0.bias": ParameterSpec((first,), dtype)}
    if hidden:
        specs.update({"2.weight": ParameterSpec((n_out, hidden), dtype), "2.bias": ParameterSpec((n_out,), dtype)})
    return specs


class _PixelNetwork(Sequential):
    """What both networks know of their layers: the first looks at the pixels."""

    @property
    def first_layer(self) -> Linear:
        """The layer that looks at the pixels: row j of its weight is a 28×28 pattern."""
        layer = self.layers[0]
        assert isinstance(layer, Linear)
        return layer

    @property
    def hidden(self) -> int:
        """Hidden units (0: the first layer is the output layer)."""
        return 0 if len(self.layers) == 1 else self.first_layer.out_features

    @property
    def n_features(self) -> int:
        return self.first_layer.in_features

    @property
    def dtype(self) -> np.dtype:
        return self.first_layer.weight.dtype


class HiddenLayerDetector(_PixelNetwork, Detector):
    """``HiddenLayerDetector(hidden=64, n_features=784, dtype=float64, seed=0)``: a digit
    detector with one hidden layer of ``hidden`` ReLU units (see the module docstring);
    the weights start as :class:`~glassgrad.nn.Linear`'s, drawn with ``seed``."""

    def __init__(self, hidden: int = 64, n_features: int = N_PIXELS, dtype: Any = np.float64, seed: int = 0) -> None:
        if hidden < 1:
            raise ValueError(f"HiddenLayerDetector: hidden must be ≥ 1 unit, got {hidden!r}")
        Sequential.__init__(self, *_layers(n_features, hidden, 1, dtype, seed))

    def config(self) -> dict[str, Any]:
        return {"hidden": self.hidden, "n_features": self.n_features, "dtype": str(self.dtype)}

    @classmethod
    def parameter_specs(cls, config: Mapping[str, Any]) -> dict[str, ParameterSpec]:
        """The shapes and dtype of the parameters of ``cls.from_config(config)``, by name."""
        return layer_specs(config, 1)

    def forward(self, X: Any) -> Tensor:
        """The logits z, shape (N,)."""
        z: Tensor = Sequential.forward(self, self.inputs(X))
        return z.reshape(-1)


class DigitClassifier(_PixelNetwork):
    """``DigitClassifier(n_classes=10, hidden=0, n_features=784, dtype=float64, seed=0)``:
    a softmax classifier over ``n_classes`` digits, multinomial logistic regression
    (``hidden=0``) or with one hidden layer of ``hidden`` ReLU units."""

    def __init__(
        self, n_classes: int = 10, hidden: int = 0, n_features: int = N_PIXELS, dtype: Any = np.float64, seed: int = 0
    ) -> None:
        if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 2:
            raise ValueError(f"DigitClassifier: n_classes must be an integer ≥ 2, got {n_classes!r}")
        super().__init__(*_layers(n_features, hidden, int(n_classes), dtype, seed))

    def config(self) -> dict[str, Any]:
        return {
            "n_classes": self.n_classes,
            "hidden": self.hidden,
            "n_features": self.n_features,
            "dtype": str(self.dtype),
        }

    @classmethod
    def parameter_specs(cls, config: Mapping[str, Any]) -> dict[str, ParameterSpec]:
        """The shapes and dtype of the parameters of ``cls.from_config(config)``, by name."""
        return layer_specs(config, config["n_classes"])

    @property
    def n_classes(self) -> int:
        last = self.layers[-1]
        assert isinstance(last, Linear)
        return last.out_features

    def forward(self, X: Any) -> Tensor:
        """The logits z, shape (N, n_classes)."""
        z: Tensor = super().forward(as_inputs(self, X, self.n_features, self.dtype))
        return z

    def predict_proba(self, X: Any) -> np.ndarray:
        """softmax(z) for each sample, (N, n_classes), as a numpy array."""
        with no_grad():
            return softmax(self(X), axis=1).data

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sample."""
        return self.predict_proba(X).argmax(axis=1)

    def loss(self, X: Any, y: Any, pos_weight: float | None = None) -> Tensor:
        """The mean cross-entropy −ln p_y of the labels ``y`` (whole numbers in [0, n_classes),
        in any numeric dtype); ``pos_weight`` belongs to detectors and must be None."""
        if pos_weight is not None:
            raise ValueError("DigitClassifier.loss: pos_weight is for detectors; a classifier has no positive class")
        loss: Tensor = cross_entropy(self(X), class_labels(y, self.n_classes, "DigitClassifier.loss"))
        return loss

    def metrics(self, X: Any, y: Any, threshold: float = 0.5) -> ClassMetrics:
        """Accuracy, per-class F1 and the confusion matrix on (X, y); the ``threshold``
        of detectors does not apply."""
        return class_metrics(y, self.predict_proba(X))
