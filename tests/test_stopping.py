"""Every stopping criterion, alone and combined."""

import math
import re

import glassgrad
import numpy as np
import pytest
from glassgrad.models.stopping import (
    AllOf,
    AnyOf,
    GradientNorm,
    MaxIterations,
    Patience,
    RelativeChange,
    State,
    TargetLoss,
    TimeBudget,
)
from glassgrad.nn import Module, Parameter
from hypothesis import given
from hypothesis import strategies as st


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class One(Module):
    def __init__(self):
        self.w = Parameter(np.zeros(2))


def first_stop(criterion, states):
    criterion.reset()
    for s in states:
        reason = criterion.check(s)
        if reason is not None:
            return reason
    return None


@given(n=st.integers(1, 200))
def test_max_iterations_fires_exactly_at_n(n):
    reason = first_stop(MaxIterations(n), [State(i) for i in range(1, 500)])
    assert reason.iteration == n and reason.criterion == "MaxIterations" and reason.value == n


def test_time_budget_uses_the_injected_clock():
    clock = FakeClock()
    budget = TimeBudget(2.5, clock=clock)
    budget.reset()
    clock.now += 2.4
    assert budget.check(State(1)) is None
    clock.now += 0.2
    reason = budget.check(State(2))
    assert reason.criterion == "TimeBudget" and reason.value == pytest.approx(2.6)
    budget.reset()  # a new run gets the whole budget again
    assert budget.check(State(3)) is None


@given(losses=st.lists(st.floats(0, 10), min_size=1, max_size=30), target=st.floats(0, 10))
def test_target_loss_fires_at_the_first_loss_at_or_below_target(losses, target):
    reason = first_stop(TargetLoss(target), [State(i + 1, train_loss=v) for i, v in enumerate(losses)])
    hits = [i + 1 for i, v in enumerate(losses) if v <= target]
    assert (reason is None) == (not hits)
    if hits:
        assert reason.iteration == hits[0] and reason.value <= target


def test_target_loss_ignores_states_without_its_loss():
    assert TargetLoss(1.0, on="val").check(State(1, train_loss=0.0)) is None
    assert TargetLoss(1.0, on="val").check(State(1, val_loss=0.5)).criterion == "TargetLoss"


def test_gradient_norm():
    g = GradientNorm(1e-3)
    assert g.check(State(1, grad_norm=0.1)) is None
    assert g.check(State(2)) is None
    assert g.check(State(3, grad_norm=1e-4)).value == pytest.approx(1e-4)


def test_relative_change_compares_consecutive_losses():
    rc = RelativeChange(0.01)
    states = [State(1, train_loss=1.0), State(2), State(3, train_loss=0.5), State(4, train_loss=0.499)]
    reason = first_stop(rc, states)
    assert reason.iteration == 4 and reason.value == pytest.approx(0.001 / 0.5)


def brute_patience(losses, patience, min_delta):
    best, waited = math.inf, 0
    for i, v in enumerate(losses):
        if v < best - min_delta:
            best, waited = v, 0
        else:
            waited += 1
        if waited >= patience:
            return i
    return None


@given(
    losses=st.lists(st.floats(0, 5), min_size=1, max_size=40),
    patience=st.integers(1, 5),
    min_delta=st.sampled_from([0.0, 0.01, 0.5]),
)
def test_patience_matches_a_brute_force_count(losses, patience, min_delta):
    states = [State(i + 1, val_loss=v) for i, v in enumerate(losses)]
    reason = first_stop(Patience(patience, min_delta), states)
    expected = brute_patience(losses, patience, min_delta)
    assert (reason is None) == (expected is None)
    if expected is not None:
        assert reason.iteration == expected + 1


def test_patience_keeps_the_best_parameters_and_restores_them():
    model = One()
    p = Patience(2, on="val")
    for it, (w, loss) in enumerate([(1.0, 0.9), (2.0, 0.5), (3.0, 0.7), (4.0, 0.6)], start=1):
        with glassgrad.no_grad():
            model.w[:] = w
        reason = p.check(State(it, val_loss=loss, model=model))
    assert reason is not None and p.best.iteration == 2 and p.best.loss == 0.5
    assert p.best.restore(model)
    np.testing.assert_array_equal(model.w.data, [2.0, 2.0])


def test_patience_on_train_loss_ignores_val():
    p = Patience(1, on="train")
    assert p.check(State(1, train_loss=1.0, val_loss=0.1)) is None
    assert p.check(State(2, train_loss=1.0, val_loss=0.0)) is not None


def test_any_of_and_all_of_and_operators():
    a, b = MaxIterations(3), TargetLoss(0.1)
    either = a | b
    assert isinstance(either, AnyOf) and either.criteria == (a, b)
    assert first_stop(either, [State(1, train_loss=1.0), State(2, train_loss=0.05)]).criterion == "TargetLoss"
    both = a & b
    assert isinstance(both, AllOf)
    states = [State(1, train_loss=0.05), State(2, train_loss=1.0), State(3, train_loss=1.0), State(4, train_loss=0.01)]
    reason = first_stop(both, states)
    assert reason.iteration == 4 and reason.criterion == "MaxIterations & TargetLoss"
    flat = a | b | GradientNorm(0.0)
    assert len(flat.criteria) == 3  # (a | b) | c is flattened
    assert next(iter(flat)) is flat and a in list(flat)


def test_any_of_lets_every_criterion_see_every_state():
    p = Patience(10)
    either = MaxIterations(1) | p
    model = One()
    reason = either.check(State(1, val_loss=0.3, model=model))
    assert reason.criterion == "MaxIterations"
    assert p.best.loss == 0.3  # Patience still recorded the best state


@given(
    n1=st.integers(1, 20),
    n2=st.integers(1, 20),
)
def test_combinations_of_max_iterations_fire_at_min_and_max(n1, n2):
    states = [State(i) for i in range(1, 50)]
    assert first_stop(MaxIterations(n1) | MaxIterations(n2), states).iteration == min(n1, n2)
    assert first_stop(MaxIterations(n1) & MaxIterations(n2), states).iteration == max(n1, n2)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: MaxIterations(0), "MaxIterations: n must be an integer ≥ 1, got 0"),
        (lambda: TimeBudget(-1.0), "TimeBudget: seconds must be a finite number ≥ 0, got -1.0"),
        (lambda: TimeBudget(float("inf")), "TimeBudget: seconds must be a finite number ≥ 0, got inf"),
        (lambda: Patience(0), "Patience: patience must be an integer ≥ 1, got 0"),
        (lambda: Patience(2, min_delta=-0.1), "min_delta must be a finite number ≥ 0, got -0.1"),
        (lambda: Patience(2, on="test"), "on must be one of ('train', 'val'), got 'test'"),
        (lambda: TargetLoss(float("nan")), "TargetLoss: target must be a finite number, got nan"),
        (lambda: GradientNorm(-1.0), "GradientNorm: tol must be a finite number ≥ 0, got -1.0"),
        (lambda: RelativeChange(-0.5), "RelativeChange: tol must be a finite number ≥ 0, got -0.5"),
        (lambda: AnyOf(), "AnyOf needs at least one criterion"),
    ],
)
def test_bad_criteria_are_refused(make, match):
    with pytest.raises(ValueError, match=re.escape(match)):
        make()


def test_stop_reason_reads_well():
    reason = MaxIterations(2).check(State(2))
    assert str(reason) == "MaxIterations at iteration 2: reached the maximum of 2 iterations"
