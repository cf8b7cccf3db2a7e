"""What the Models dashboard page shows: every model's credit per channel, side by side, and how far apart.

On any lake the models can be compared with each other: per channel, the conversions each model
credits it with, the lowest and highest of them, and the bootstrap bounds of the data-driven
ones. With a causal truth file (``touchline generate --causal --truth``) the page also scores
them against it (:func:`sinks.evaluation.evaluate`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import duckdb

from sinks.attribution import DATA_DRIVEN, UNATTRIBUTED, CurrencyPath, data_driven, paths
from sinks.evaluation import rule_based_rows
from transforms.bootstrap import credit_intervals

#: Dimension values that are no channel: touches without one, and conversions no touch earned.
NOT_CHANNELS = ("unknown", UNATTRIBUTED)
PAGE_RESAMPLES = 100  # the page's bootstrap: enough for bars, cheap enough for a page load


@dataclass(frozen=True, slots=True)
class ChannelSpread:
    """One channel: the conversions each model credits it with, and the data-driven models' bounds."""

    channel: str
    credits: dict[str, float]
    low: dict[str, float] = field(default_factory=dict)
    high: dict[str, float] = field(default_factory=dict)

    @property
    def lowest(self) -> tuple[str, float]:
        """The model that credits the channel least, and its credit."""
        return min(self.credits.items(), key=lambda item: (item[1], item[0]))

    @property
    def highest(self) -> tuple[str, float]:
        """The model that credits the channel most, and its credit."""
        return max(self.credits.items(), key=lambda item: (item[1], item[0]))

    @property
    def spread(self) -> float:
        """How far apart the models are on this channel, in conversions."""
        return self.highest[1] - self.lowest[1]


def model_spreads(connection: duckdb.DuckDBPyConnection, conversion: str, *, resamples: int = PAGE_RESAMPLES,
                  seed: int = 0) -> list[ChannelSpread]:
    """Per channel, every model's credited conversions (all currencies' conversions together), widest spread
    first, with 90% bootstrap bounds for Markov and Shapley."""
    credits: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for model, rows in rule_based_rows(connection, conversion).items():
        for row in rows:
            credits[row.value][model] += row.conversions
    found = paths(connection, conversion, "channel")
    # one pool: the bounds are of conversions, not of money
    pooled: list[CurrencyPath] = [(None, path) for _, path in found]
    low: dict[str, dict[str, float]] = defaultdict(dict)
    high: dict[str, dict[str, float]] = defaultdict(dict)
    for model in DATA_DRIVEN:
        for row in data_driven(pooled, model, "channel", conversion):
            credits[row.value][model] += row.conversions
        for bound in credit_intervals(pooled, model, resamples=resamples, seed=seed) if found else []:
            low[bound.channel][model], high[bound.channel][model] = bound.conversions
    models = {model for by_model in credits.values() for model in by_model}
    spreads = [ChannelSpread(channel, {m: by_model.get(m, 0.0) for m in sorted(models)}, low[channel], high[channel])
               for channel, by_model in credits.items() if channel not in NOT_CHANNELS]
    return sorted(spreads, key=lambda s: (-s.spread, s.channel))
