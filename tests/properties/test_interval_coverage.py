"""Bootstrap intervals on causal populations: calibrated for what the models estimate, and what that misses.

100 seeded populations of the causal simulator (``transforms/causal.py``, the built-in effects) of
400 accounts each. On each, the lead paths (as the lake's ``attribution_paths`` builds them), and per
model the 90% percentile interval of each channel's **share** of the credit over 200 resamples:
shares over the truth's channels, as ``evaluate`` scores them (``transforms/evaluation.py``).

The intervals hold sampling error, and only that. They cover the share each model converges to on a
large population (its share on the 100 populations pooled: 40,000 accounts); they do not cover the
simulator's true incremental share, even of a channel whose exposure does not follow intent
(``outbound``): Markov and Shapley credit a channel for being on converting paths, which is its reach
among converters, not its effect (``paid_social`` has a tiny effect and a large reach; ``outbound`` a
large effect and a middling reach). That error is bias, it does not shrink with more journeys, and it
is what ``touchline evaluate`` and the Models page measure. (Nor is the true share of one seed a fixed
target: which accounts a channel tipped varies from seed to seed, over 400 accounts by more than an
interval is wide.)
"""

from collections import defaultdict
from typing import NamedTuple

import numpy as np
import pytest

from sinks.attribution import merged_paths
from transforms.bootstrap import RESAMPLES, resampled_credits
from transforms.causal import CausalSettings, simulate
from transforms.evaluation import shares
from transforms.markov import markov
from transforms.paths import ChannelPath
from transforms.shapley import shapley

SEEDS, ACCOUNTS, LEVEL = range(100), 400, 0.9
MODELS = ("markov", "shapley")
#: The CRM lifecycle events: conversions, never steps of a path (attribution_settings.excluded_types).
LIFECYCLE = {"opportunity_created", "closed_won", "closed_lost"}


def lead_paths(records) -> list[ChannelPath]:
    """Each account's touches up to its lead (the form fill, a touch itself) or, without one, all of them: the lake's
    lead paths (``tests/sql/test_evaluate.py`` holds them to the lake's), without building a lake."""
    steps, converted = defaultdict(list), set()
    for record in records:  # in time order
        account = record["account_id"]
        if account in converted or record["event_type"] in LIFECYCLE:
            continue
        steps[account].append(record.get("channel", "unknown"))
        if record["event_type"] == "form_fill":
            converted.add(account)
    counts = defaultdict(lambda: [0, 0])
    for account, path in steps.items():
        counts[tuple(path)][account not in converted] += 1
    return [ChannelPath(path, float(c), 0.0, float(n)) for path, (c, n) in counts.items()]


def point_shares(found: list[ChannelPath], model: str, channels: list[str]) -> np.ndarray:
    credits = markov(found).credits if model == "markov" else shapley(found)
    return shares({c.channel: c.conversions for c in credits}, channels)


def share_bounds(found: list[ChannelPath], model: str, channels: list[str], seed: int) -> np.ndarray:
    """(2 × channels): the percentile interval of each channel's share of the credit over the resamples."""
    drawn = resampled_credits([(None, p) for p in found], model, resamples=RESAMPLES, seed=seed)
    credited = drawn.credits[..., 0].sum(axis=1)  # (resamples × channels) conversions, over currencies
    resampled = np.array([shares(dict(zip(drawn.channels, row, strict=True)), channels) for row in credited])
    return np.quantile(resampled, [(1 - LEVEL) / 2, (1 + LEVEL) / 2], axis=0)


class Population(NamedTuple):
    journeys: list[ChannelPath]  # the lead paths
    channels: list[str]  # the truth's
    true: np.ndarray  # the true incremental share of each channel
    bounds: dict[str, np.ndarray]  # per model, (2 × channels) share bounds


@pytest.fixture(scope="module")
def populations() -> list[Population]:
    found = []
    for seed in SEEDS:
        run = simulate(CausalSettings(accounts=ACCOUNTS, seed=1000 + seed))
        channels = sorted(run.truth["channels"])
        true = shares({c: s["lead"]["incremental_conversions"] for c, s in run.truth["channels"].items()}, channels)
        journeys = lead_paths(run.records)
        found.append(Population(journeys, channels, true,
                                {m: share_bounds(journeys, m, channels, seed) for m in MODELS}))
    return found


@pytest.fixture(scope="module")
def pooled(populations) -> dict[str, np.ndarray]:
    """Each model's shares on every population's paths together (40,000 accounts): what it converges to."""
    journeys = merged_paths([(None, path) for population in populations for path in population.journeys])
    return {model: point_shares(journeys, model, populations[0].channels) for model in MODELS}


def coverage(populations: list[Population], model: str, target) -> dict[str, int]:
    """In how many populations each channel's interval holds ``target(population)``'s share."""
    covered = dict.fromkeys(populations[0].channels, 0)
    for population in populations:
        (low, high), wanted = population.bounds[model], target(population)
        for j, channel in enumerate(population.channels):
            covered[channel] += bool(low[j] <= wanted[j] <= high[j])
    return covered


@pytest.mark.parametrize("model", MODELS)
def test_intervals_cover_the_share_the_model_converges_to(populations, pooled, model):
    # 90% intervals: outbound's in at least 85 of 100 populations (the form issue 29 gives the check), and every
    # channel's in at least 80 (a calibrated 90% interval falls below 80 of 100 with probability 0.2%).
    covered = coverage(populations, model, lambda _: pooled[model])
    assert covered["outbound"] >= 85 and min(covered.values()) >= 80, covered


@pytest.mark.parametrize("model", MODELS)
def test_the_true_share_of_outbound_is_missed_by_the_models_bias_not_by_chance(populations, pooled, model):
    # Over 40,000 accounts the model's share of outbound lies below the true share by more than half a
    # 400-account interval's width: an interval around the model's share leaves the true share out more often
    # than not, and more journeys only narrow it around the wrong value.
    j = populations[0].channels.index("outbound")
    true = np.mean([population.true[j] for population in populations])
    half = np.mean([population.bounds[model][1, j] - population.bounds[model][0, j] for population in populations]) / 2
    assert pooled[model][j] < true - half, (pooled[model][j], true, half)


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="the intervals hold sampling error only, and the models credit reach, not effect")
@pytest.mark.parametrize("model", MODELS)
def test_intervals_cover_the_true_share_of_an_unconfounded_channel_in_at_least_85_of_100_populations(populations,
                                                                                                      model):
    # The check issue 29 asked for, on outbound (its exposure does not follow intent): it fails by the bias above.
    covered = coverage(populations, model, lambda population: population.true)
    assert covered["outbound"] >= 85, covered
