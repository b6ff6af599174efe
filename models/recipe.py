"""The training recipe ``glassgrad train`` starts from, chosen by the size of the data.

A recipe is every setting the command's options default to. Two recipes cover MNIST-sized
data (docs/benchmarks.md has the evidence for each):

- **small** (fewer than ``LARGE_FROM`` training digits, like the embedded sample): hold out
  a fifth for validation, momentum SGD on minibatches of 100, and stop early when the
  validation loss has not improved for 5 epochs, keeping the best epoch's parameters.
- **large** (the official 60,000): the recipe chosen by repeated cross-validation on the
  training set alone (``benchmarks/mnist_recipe_cv.py``) is refitted on all of it for its
  fixed budget of 40 epochs: minibatches of 500, lr 0.2 with a step decay (×0.1 after
  75% of the steps), the positive class weighted 1.25, float32. Holding out a validation
  split would cost a tenth of the data and buys nothing the cross-validation did not
  already decide.
"""

from __future__ import annotations

from dataclasses import dataclass

LARGE_FROM = 20_000


@dataclass(frozen=True)
class Recipe:
    """The defaults of a training run; ``val_fraction`` 0 trains on every digit
    (then ``patience`` must be 0: there is no validation loss to watch)."""

    name: str
    lr: float
    momentum: float
    batch_size: int
    epochs: int
    patience: int
    val_fraction: float
    pos_weight: float | None
    schedule: str
    dtype: str


SMALL = Recipe(
    name="small",
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


def recipe_for(n_digits: int) -> Recipe:
    """The recipe for a training set of ``n_digits`` digits."""
    return LARGE if n_digits >= LARGE_FROM else SMALL
