"""The recipes ``glassgrad train`` starts from: which one the model, the optimizer and
the size of the data choose, how the options a user gives replace its settings, and the
optimizer a recipe builds."""

import dataclasses

import numpy as np
import pytest
from glassgrad.models.cli import build_parser
from glassgrad.models.commands.options import UsageError
from glassgrad.models.commands.train import check_options, resolve_recipe
from glassgrad.models.network import HiddenLayerDetector
from glassgrad.models.recipe import ADAM_LR, LARGE, LARGE_FROM, LARGE_NETWORK, SMALL, recipe_for
from glassgrad.optim import SGD, Adam, AdamW, Cosine, StepDecay


def resolved(*argv: str, n_digits: int = LARGE_FROM):
    args = build_parser().parse_args(["train", *argv])
    check_options(args)
    return resolve_recipe(args, n_digits)


def test_one_unit_keeps_the_sgd_recipes_of_its_data_size():
    assert recipe_for(LARGE_FROM - 1) is SMALL and recipe_for(LARGE_FROM) is LARGE
    assert resolved(n_digits=60_000) == LARGE and resolved(n_digits=6_000) == SMALL


def test_a_hidden_layer_detector_on_large_data_gets_the_network_recipe():
    assert resolved("--hidden", "64", n_digits=60_000) == LARGE_NETWORK
    assert LARGE_NETWORK.optimizer == "adam" and LARGE_NETWORK.shifted_copies == 1
    assert LARGE_NETWORK.val_fraction == 0 and LARGE_NETWORK.patience == 0  # refitted on every digit


def test_networks_on_small_data_and_the_classifier_get_adam_at_its_usual_rate():
    small = resolved("--hidden", "8", n_digits=6_000)
    assert small == dataclasses.replace(SMALL, optimizer="adam", lr=ADAM_LR)  # early stopping on validation
    classifier = resolved("--classes", "10", "--hidden", "64", n_digits=60_000)
    assert classifier == dataclasses.replace(LARGE, optimizer="adam", lr=ADAM_LR)
    assert resolved("--optimizer", "adam", n_digits=60_000) == dataclasses.replace(LARGE, optimizer="adam", lr=ADAM_LR)


def test_the_options_given_replace_the_network_recipe_s_settings():
    sgd = resolved("--hidden", "64", "--optimizer", "sgd", n_digits=60_000)
    assert sgd == LARGE  # SGD's learning rate, not Adam's
    adamw = resolved("--hidden", "64", "--optimizer", "adamw", n_digits=60_000)
    assert adamw == dataclasses.replace(LARGE_NETWORK, optimizer="adamw", weight_decay=0.01)
    given = resolved("--hidden", "64", "--lr", "0.01", "--epochs", "3", "--schedule", "step", n_digits=60_000)
    assert given == dataclasses.replace(LARGE_NETWORK, lr=0.01, epochs=3, schedule="step")


def test_nesterov_is_refused_for_the_adam_of_networks():
    with pytest.raises(UsageError, match="--nesterov belongs to sgd, not adam"):
        resolved("--hidden", "8", "--nesterov")
    assert resolved("--hidden", "8", "--optimizer", "sgd", "--nesterov", n_digits=6_000) == SMALL


def test_recipe_for_names_what_it_does_not_know():
    with pytest.raises(ValueError, match="model must be one of"):
        recipe_for(100, "forest")
    with pytest.raises(ValueError, match="optimizer must be one of"):
        recipe_for(100, "unit", "lbfgs")


def test_a_recipe_builds_its_optimizer_and_schedule_over_the_run():
    params = HiddenLayerDetector(4, n_features=9, dtype=np.float32).parameters()
    adam = dataclasses.replace(LARGE_NETWORK, schedule="cosine").build_optimizer(params, 1000)
    assert type(adam) is Adam and isinstance(adam.param_groups[0]["lr"], Cosine)
    assert adam.lr == LARGE_NETWORK.lr and adam.param_groups[0]["lr"].total_steps == 1000
    sgd = dataclasses.replace(LARGE, weight_decay=1e-4).build_optimizer(params, 1000, nesterov=True)
    group = sgd.param_groups[0]
    assert type(sgd) is SGD and isinstance(group["lr"], StepDecay)
    assert group["momentum"] == LARGE.momentum and group["nesterov"] and group["weight_decay"] == 1e-4
    adamw = dataclasses.replace(LARGE_NETWORK, optimizer="adamw", weight_decay=0.02).build_optimizer(params, 10)
    assert type(adamw) is AdamW and adamw.param_groups[0]["weight_decay"] == 0.02


def test_adamw_decays_the_weights_as_pytorchs_unless_told_otherwise():
    # --optimizer adamw without --weight-decay ran AdamW with λ = 0: Adam under another name.
    assert resolved("--hidden", "8", "--optimizer", "adamw", n_digits=6_000).weight_decay == 0.01
    assert resolved("--optimizer", "adamw", "--weight-decay", "0", n_digits=6_000).weight_decay == 0.0
    assert resolved("--optimizer", "adam", n_digits=6_000).weight_decay == 0.0
    assert resolved("--weight-decay", "0.5", n_digits=6_000).weight_decay == 0.5


def test_val_fraction_0_given_trains_on_every_digit_without_the_recipe_s_early_stopping():
    assert SMALL.patience > 0  # the small-data recipe stops early on its validation split
    assert resolved("--val-fraction", "0", n_digits=6_000) == dataclasses.replace(SMALL, val_fraction=0.0, patience=0)
    with pytest.raises(UsageError, match=r"--patience needs a validation split, and --val-fraction 0 holds none out"):
        resolved("--val-fraction", "0", "--patience", "3", n_digits=6_000)
    with pytest.raises(UsageError, match=r"recipe holds none out: add --val-fraction 0\.1"):
        resolved("--hidden", "8", "--patience", "3", n_digits=60_000)
