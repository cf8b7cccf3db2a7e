"""Markov chains of order 1 to 4: hand-solved chains, order 1 as it always was, and the held-out fit."""

import gzip
import importlib.resources
from itertools import pairwise

import numpy as np
import pytest

import transforms.markov as markov_module
from transforms.markov import compile_chain, markov
from transforms.markov_fit import auc, best_order, fit_orders, split_paths
from transforms.paths import ChannelPath, parse_paths


@pytest.fixture(scope="module")
def data_csv():
    with gzip.open(importlib.resources.files("mta") / "data" / "data.csv.gz", "rt") as handle:
        return parse_paths(handle.read().splitlines())


def first_order_reference(paths):
    """The first-order solve as Touchline shipped it before orders existed (dense, one matrix per removal)."""
    channels = sorted({c for p in paths for c in p.channels})
    index = {c: i + 1 for i, c in enumerate(channels)}
    size = len(channels) + 3
    counts = np.zeros((size, size))
    for path in paths:
        weight = path.conversions + path.nulls
        if not path.channels or not weight:
            continue
        states = [0] + [index[c] for c in path.channels]
        for a, b in pairwise(states):
            counts[a, b] += weight
        counts[states[-1], size - 2] += path.conversions
        counts[states[-1], size - 1] += path.nulls

    def probability(removed=None):
        c = counts.copy()
        if removed is not None:
            c[:, size - 1] += c[:, removed]
            c[:, removed] = 0
        totals = c.sum(axis=1, keepdims=True)
        p = np.divide(c, totals, out=np.zeros_like(c), where=totals > 0)
        transient = list(range(size - 2))
        return np.linalg.solve(np.eye(len(transient)) - p[np.ix_(transient, transient)], p[transient, size - 2])[0]

    whole = probability()
    return whole, {c: 1 - probability(i) / whole for c, i in index.items()}


def test_order_one_equals_the_first_order_solve_on_data_csv(data_csv):
    probability, effects = first_order_reference(data_csv)
    result = markov(data_csv, order=1)
    assert result.conversion_probability == pytest.approx(probability, abs=1e-9)
    assert set(result.removal_effects) == set(effects)
    for channel, effect in effects.items():
        assert result.removal_effects[channel] == pytest.approx(effect, abs=1e-9), channel
    assert markov(data_csv) == result  # order 1 is the default


def test_order_two_remembers_where_a_path_came_from():
    # A > C converts, B > C does not. Order 1 cannot tell the two C's apart: P = 1/2, and removing A
    # or B halves it (effects 1/2, 1/2; C's 1). Order 2's chain, solved by hand:
    #   start → (A) 1/2, start → (B) 1/2; (A) → (A,C) 1; (B) → (B,C) 1; (A,C) → conversion 1; (B,C) → null 1.
    #   P = 1/2 · 1 = 1/2. Without A (states (A), (A,C) lead to null): P = 0, effect 1.
    #   Without B: P = 1/2, effect 0. Without C: P = 0, effect 1. One conversion: A 1/2, B 0, C 1/2.
    paths = [ChannelPath(("A", "C"), 1, 100, 0), ChannelPath(("B", "C"), 0, 0, 1)]
    first = markov(paths, order=1)
    assert first.removal_effects == pytest.approx({"A": 0.5, "B": 0.5, "C": 1.0})
    second = markov(paths, order=2)
    assert second.conversion_probability == pytest.approx(0.5)
    assert second.removal_effects == pytest.approx({"A": 1.0, "B": 0.0, "C": 1.0})
    assert {c.channel: c.conversions for c in second.credits} == pytest.approx({"A": 0.5, "B": 0.0, "C": 0.5})
    assert {c.channel: c.value for c in second.credits} == pytest.approx({"A": 50.0, "B": 0.0, "C": 50.0})


def test_order_two_solves_a_chain_with_a_cycle():
    # A > B > A > B converts, A > B does not (weight 1 each). States start, (A), (A,B), (B,A):
    #   start → (A) 2/2; (A) → (A,B) 2/2; (A,B) → (B,A) 1/3, → conversion 1/3, → null 1/3; (B,A) → (A,B) 1.
    #   x(A,B) = 1/3 + 1/3 x(B,A) and x(B,A) = x(A,B), so x(A,B) = 1/2 = P. Every state holds A and B:
    #   removing either leaves P = 0, effects 1 and 1, credits 1/2 each.
    paths = [ChannelPath(("A", "B", "A", "B"), 1, 10, 0), ChannelPath(("A", "B"), 0, 0, 1)]
    chain = compile_chain([p.channels for p in paths], order=2)
    assert set(chain.states) == {(), ("A",), ("A", "B"), ("B", "A")}
    result = markov(paths, order=2)
    assert result.conversion_probability == pytest.approx(0.5)
    assert result.removal_effects == pytest.approx({"A": 1.0, "B": 1.0})


def test_a_path_shorter_than_the_order_keeps_its_whole_history():
    chain = compile_chain([("A", "B", "C", "D"), ("B",)], order=3)
    assert set(chain.states) == {(), ("A",), ("A", "B"), ("A", "B", "C"), ("B", "C", "D"), ("B",)}


@pytest.mark.parametrize("order", [2, 3])
def test_the_sparse_solve_equals_the_dense_one(data_csv, order, monkeypatch):
    dense = markov(data_csv, order=order)
    monkeypatch.setattr(markov_module, "DENSE_STATES", 0)
    sparse = markov(data_csv, order=order)
    assert sparse.conversion_probability == pytest.approx(dense.conversion_probability, abs=1e-12)
    for channel, effect in dense.removal_effects.items():
        assert sparse.removal_effects[channel] == pytest.approx(effect, abs=1e-9), channel


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_every_order_credits_sum_to_the_conversions_and_value(data_csv, order):
    result = markov(data_csv, order=order)
    assert sum(c.conversions for c in result.credits) == pytest.approx(sum(p.conversions for p in data_csv))
    assert sum(c.value for c in result.credits) == pytest.approx(sum(p.value for p in data_csv))


def test_an_order_outside_one_to_four_is_refused():
    with pytest.raises(ValueError, match="order must be one of"):
        markov([ChannelPath(("A",), 1, 0, 0)], order=5)


def second_order_paths(journeys: int, seed: int) -> list[ChannelPath]:
    """Journeys whose next step depends on the last two channels: after A > B they convert, after C > B they
    do not; the first channel is A or C, the second always B."""
    rng = np.random.default_rng(seed)
    first = rng.choice(["A", "C"], size=journeys)
    converts = (first == "A") & (rng.random(journeys) < 0.8) | (first == "C") & (rng.random(journeys) < 0.1)
    found = []
    for start in ("A", "C"):
        mine = first == start
        found.append(ChannelPath((start, "B"), float((converts & mine).sum()), 0.0, float((~converts & mine).sum())))
    return found


def test_the_split_keeps_every_journey_once():
    paths = second_order_paths(1000, seed=1)
    train, test = split_paths(paths, holdout=0.3, seed=4)
    assert sum(p.conversions + p.nulls for p in train + test) == 1000
    assert 200 < sum(p.conversions + p.nulls for p in test) < 400
    assert split_paths(paths, holdout=0.3, seed=4) == (train, test)


def test_held_out_likelihood_prefers_order_two_when_the_paths_are_second_order():
    # Only the path's first channel tells whether it converts, and only a chain that remembers it at the
    # last step (order >= 2) can use it: order 1 sees B either way.
    fits = fit_orders(second_order_paths(4000, seed=2), orders=(1, 2, 3), seed=3)
    by_order = {f.order: f for f in fits}
    assert by_order[2].log_likelihood > by_order[1].log_likelihood
    assert by_order[1].auc == pytest.approx(0.5)  # one score for every journey
    assert by_order[2].auc > 0.8
    assert best_order(fits) == 2  # order 3 sees the same histories: no better, and the lower order wins ties


def test_auc_counts_ties_half():
    assert auc(np.array([0.1, 0.9]), np.array([0.0, 1.0]), np.array([1.0, 0.0])) == 1.0
    assert auc(np.array([0.5, 0.5]), np.array([1.0, 0.0]), np.array([0.0, 1.0])) == 0.5
    assert auc(np.array([0.9, 0.1, 0.5]), np.array([0.0, 2.0, 1.0]), np.array([1.0, 0.0, 1.0])) == pytest.approx(
        (0 + 0.5 * 1) / (3 * 2))  # positives at 0.1 (2) beat nothing; the one at 0.5 ties the negative there
