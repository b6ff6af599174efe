"""The training recipe ``glassgrad train`` starts from, chosen by the model and the size of the data.

A recipe is every setting the command's options default to. For MNIST-sized data
(docs/benchmarks.md has the evidence for each):

- **small** (fewer than ``LARGE_FROM`` training digits, like the embedded sample): hold out
  a fifth for validation, momentum SGD on minibatches of 100, and stop early when the
  validation loss has not improved for 5 epochs, keeping the best epoch's parameters.
- **large** (the official 60,000): the one-unit recipe chosen by repeated cross-validation
  on the training set alone (``benchmarks/mnist_recipe_cv.py``) is refitted on all of it
  for its fixed budget of 40 epochs: minibatches of 500, lr 0.2 with a step decay (×0.1
  after 75% of the steps), the positive class weighted 1.25, float32. Holding out a
  validation split would cost a tenth of the data and buys nothing the cross-validation
  did not already decide.
- **large network** (a hidden-layer detector on the official 60,000): the training digits
  and one copy of them, each picture moved by up to a pixel (``mnist.with_shifted_copies``),
  15 epochs of Adam on minibatches of 200, lr 3e-3 with the step decay, the positive
  class weighted 2, float32; chosen on digits held out of the training set
  (``benchmarks/mnist_network_select.py``) and refitted on all of it.

The networks train with Adam (a hidden layer makes the loss non-convex; Adam's
per-parameter steps need no tuning of each layer's scale); on small data, and for the
ten-digit classifier, at its usual learning rate 1e-3 with the rest of the size's recipe.
AdamW decays the weights by PyTorch's default, 1e-2 (without it, it is Adam); SGD and
Adam do not.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from glassgrad.optim import SGD, Adam, AdamW, Optimizer, schedule_for

LARGE_FROM = 20_000
OPTIMIZERS = ("sgd", "adam", "adamw")
ADAM_LR = 1e-3  # Adam's usual learning rate (Kingma & Ba 2015; PyTorch's default)


@dataclass(frozen=True)
class Recipe:
    """The defaults of a training run; ``val_fraction`` 0 trains on every digit
    (then ``patience`` must be 0: there is no validation loss to watch). ``momentum``
    is SGD's; Adam and AdamW keep their own moments. ``weight_decay`` is SGD's and Adam's
    L2 penalty, AdamW's decoupled decay."""

    name: str
    optimizer: str
    lr: float
    momentum: float
    batch_size: int
    epochs: int
    patience: int
    val_fraction: float
    pos_weight: float | None
    schedule: str
    dtype: str
    shifted_copies: int = 0  # copies of the training digits moved by up to a pixel (mnist.with_shifted_copies)
    weight_decay: float = 0.0

    def build_optimizer(self, params: Iterable[Any], total_steps: int, *, nesterov: bool = False) -> Optimizer:
        """The recipe's optimizer over ``params``, its learning rate following the
        recipe's schedule over a run of ``total_steps``."""
        lr = schedule_for(self.schedule, self.lr, total_steps)
        if self.optimizer == "sgd":
            return SGD(params, lr, momentum=self.momentum, nesterov=nesterov, weight_decay=self.weight_decay)
        kind = {"adam": Adam, "adamw": AdamW}[self.optimizer]
        return kind(params, lr, weight_decay=self.weight_decay)


SMALL = Recipe(
    name="small",
    optimizer="sgd",
    lr=0.1,
    momentum=0.9,
    batch_size=100,
    epochs=30,
    patience=5,
    val_fraction=0.2,
    pos_weight=None,
    schedule="constant",
    dtype="float64",
)
LARGE = Recipe(
    name="large",
    optimizer="sgd",
    lr=0.2,
    momentum=0.9,
    batch_size=500,
    epochs=40,
    patience=0,
    val_fraction=0.0,
    pos_weight=1.25,
    schedule="step",
    dtype="float32",
)
LARGE_NETWORK = Recipe(
    name="large network",
    optimizer="adam",
    lr=3e-3,
    momentum=0.9,
    batch_size=200,
    epochs=15,
    patience=0,
    val_fraction=0.0,
    pos_weight=2.0,
    schedule="step",
    dtype="float32",
    shifted_copies=1,
)
MODELS = ("unit", "network", "classifier")


def recipe_for(n_digits: int, model: str = "unit", optimizer: str | None = None) -> Recipe:
    """The recipe for ``model`` ("unit": the one-unit detector, "network": a hidden-layer
    detector, "classifier": the ten-digit classifier) on ``n_digits`` training digits,
    trained with ``optimizer`` (None: SGD for one unit, Adam for the others)."""
    if model not in MODELS:
        raise ValueError(f"recipe_for: model must be one of {MODELS}, got {model!r}")
    optimizer = optimizer or ("sgd" if model == "unit" else "adam")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"recipe_for: optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    large = n_digits >= LARGE_FROM
    if optimizer == "sgd":
        return LARGE if large else SMALL
    decay = AdamW.default_weight_decay if optimizer == "adamw" else 0.0
    if model == "network" and large:
        return dataclasses.replace(LARGE_NETWORK, optimizer=optimizer, weight_decay=decay)
    return dataclasses.replace(LARGE if large else SMALL, optimizer=optimizer, lr=ADAM_LR, weight_decay=decay)
