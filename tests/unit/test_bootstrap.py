"""Bootstrap intervals of the data-driven credits: seeded, around the estimate, and calibrated."""

import numpy as np
import pytest

from transforms.bootstrap import credit_intervals
from transforms.markov import markov
from transforms.paths import ChannelPath
from transforms.shapley import shapley

#: A population of journeys: each distinct path, its share of the journeys, and its chance to convert.
POPULATION = ((("A",), 0.25, 0.10), (("B",), 0.20, 0.05), (("A", "B"), 0.20, 0.30), (("C", "A"), 0.15, 0.20),
              (("C",), 0.10, 0.02), (("B", "C", "A"), 0.10, 0.40))


def sample(journeys: int, seed: int) -> list[ChannelPath]:
    """Journeys drawn from POPULATION; each conversion is worth 100 (in one currency)."""
    rng = np.random.default_rng(seed)
    cells = np.array([[share * rate, share * (1 - rate)] for _, share, rate in POPULATION]).ravel()
    counts = rng.multinomial(journeys, cells).reshape(-1, 2)
    return [ChannelPath(channels, float(c), 100.0 * c, float(n))
            for (channels, _, _), (c, n) in zip(POPULATION, counts, strict=True)]


def expected(journeys: int) -> list[ChannelPath]:
    """The population itself: expected counts, so that Markov on them is the credit an infinite sample gives."""
    return [ChannelPath(channels, journeys * share * rate, 100.0 * journeys * share * rate,
                        journeys * share * (1 - rate)) for channels, share, rate in POPULATION]


def test_the_same_seed_gives_the_same_bounds_and_another_seed_others():
    found = [("USD", p) for p in sample(3000, seed=1)]
    once = credit_intervals(found, "markov", resamples=50, seed=5)
    assert credit_intervals(found, "markov", resamples=50, seed=5) == once
    assert credit_intervals(found, "markov", resamples=50, seed=6) != once


@pytest.mark.parametrize("model", ["markov", "shapley"])
def test_the_interval_holds_the_estimate(model):
    paths = sample(5000, seed=2)
    point = {c.channel: c for c in (markov(paths).credits if model == "markov" else shapley(paths))}
    bounds = credit_intervals([("EUR", p) for p in paths], model, level=0.9, resamples=200, seed=0)
    assert {b.channel for b in bounds} == {"A", "B", "C"} and {b.currency for b in bounds} == {"EUR"}
    for bound in bounds:
        credit = point[bound.channel]
        assert bound.conversions[0] < credit.conversions < bound.conversions[1], bound
        assert bound.value[0] < credit.value < bound.value[1], bound
        assert bound.value[1] - bound.value[0] < 0.5 * credit.value  # 5,000 journeys: a narrow interval


def test_currencies_keep_their_own_bounds():
    paths = sample(4000, seed=3)
    found = [("USD", p) for p in paths] + [("GBP", ChannelPath(p.channels, p.conversions, 2 * p.value, 0))
                                           for p in paths[:2]]
    bounds = {(b.channel, b.currency): b for b in credit_intervals(found, "shapley", resamples=100)}
    assert bounds["C", "GBP"].value == (0.0, 0.0)  # no GBP path has C
    assert bounds["A", "GBP"].value[1] > 0 and bounds["A", "USD"].value[1] > bounds["A", "GBP"].value[1]


def test_ninety_percent_intervals_cover_the_population_credit_in_at_least_85_of_100_samples():
    journeys = 2000
    truth = {c.channel: c.conversions for c in markov(expected(journeys)).credits}
    covered = dict.fromkeys(truth, 0)
    for seed in range(100):
        for bound in credit_intervals([("USD", p) for p in sample(journeys, seed)], "markov", level=0.9,
                                      resamples=100, seed=seed):
            covered[bound.channel] += bound.conversions[0] <= truth[bound.channel] <= bound.conversions[1]
    assert all(count >= 85 for count in covered.values()), covered


def test_level_and_resamples_are_checked():
    found = [(None, ChannelPath(("A",), 1, 0, 1))]
    with pytest.raises(ValueError, match="level"):
        credit_intervals(found, "markov", level=1.0)
    with pytest.raises(ValueError, match="resamples"):
        credit_intervals(found, "markov", resamples=0)
    with pytest.raises(ValueError, match="data-driven"):
        credit_intervals(found, "linear")
