"""Error bars for the data-driven credits: a seeded bootstrap over journeys.

The paths come aggregated: each distinct path with its conversions and nulls, by currency.
A bootstrap resample draws as many journeys as there are, with replacement, which is one
multinomial draw over the (path, outcome) cells with the observed counts as weights: no
journey is ever materialised, so a million journeys cost what their few distinct paths cost.
A resampled conversion carries its path's mean value. Each resample is attributed as the
original is (Markov: removal effects of the whole chain, shared out per currency; Shapley:
each converting path split over its distinct channels, per currency), and the interval is the
percentile interval of the resampled credits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from transforms.markov import compile_chain, removal_effects
from transforms.paths import ChannelPath

RESAMPLES = 200  # bootstrap resamples per interval
LEVEL = 0.9  # the interval's coverage

CurrencyPath = tuple[str | None, ChannelPath]


@dataclass(frozen=True, slots=True)
class Interval:
    """The bounds of one (channel, currency) credit: conversions, and value (revenue, or pipeline)."""

    channel: str
    currency: str | None
    conversions: tuple[float, float]
    value: tuple[float, float]


class _Credits:
    """Per-resample credits of one model over fixed paths, for any per-path counts."""

    def __init__(self, found: Sequence[CurrencyPath], model: str, order: int) -> None:
        if model not in ("markov", "shapley"):
            raise ValueError(f"intervals are for the data-driven models, not {model!r}")
        self.model = model
        self.currencies = sorted({c for c, p in found if p.conversions}, key=lambda c: c or "")
        self.currency_of = np.array([self.currencies.index(c) if c in self.currencies else -1 for c, _ in found])
        self.channels = sorted({c for _, p in found for c in p.channels})
        if model == "markov":
            sequences: dict[tuple[str, ...], int] = {}
            self.merged = np.array([sequences.setdefault(p.channels, len(sequences)) for _, p in found])
            self.chain = compile_chain(list(sequences), order)
        else:  # conversion c of path p gives each of its distinct channels 1/|S_p|
            self.share = np.zeros((len(found), len(self.channels)))
            for i, (_, path) in enumerate(found):
                members = {self.channels.index(c) for c in path.channels}
                for j in members:
                    self.share[i, j] = 1.0 / len(members)

    def __call__(self, conversions: np.ndarray, nulls: np.ndarray, values: np.ndarray) -> np.ndarray:
        """(currencies × channels × {conversions, value}) credits for these per-path counts."""
        out = np.zeros((len(self.currencies), len(self.channels), 2))
        known = self.currency_of >= 0
        if self.model == "markov":
            size = len(self.chain.last)
            _, effects = removal_effects(self.chain, np.bincount(self.merged, conversions, minlength=size),
                                         np.bincount(self.merged, nulls, minlength=size))
            if not effects.sum():
                return out
            shares = effects / effects.sum()
            totals = np.stack([np.bincount(self.currency_of[known], weights=w[known], minlength=len(self.currencies))
                               for w in (conversions, values)], axis=-1)
            credited: np.ndarray = totals[:, None, :] * shares[None, :, None]
            return credited
        for k in range(len(self.currencies)):
            mine = self.currency_of == k
            out[k, :, 0] = conversions[mine] @ self.share[mine]
            out[k, :, 1] = values[mine] @ self.share[mine]
        return out


@dataclass(frozen=True, slots=True)
class Resampled:
    """The credits of every resample: ``credits[r, k, j]`` is (conversions, value) of ``channels[j]`` in
    ``currencies[k]`` in resample ``r``."""

    currencies: list[str | None]
    channels: list[str]
    credits: np.ndarray  # (resamples × currencies × channels × {conversions, value})


def resampled_credits(found: Sequence[CurrencyPath], model: str, *, resamples: int = RESAMPLES, seed: int = 0,
                      order: int = 1) -> Resampled:
    """Each (channel, currency) credit of ``model`` in each of ``resamples`` seeded bootstrap resamples.

    Args:
        found: the aggregated paths with their conversions' currency (None for nulls and leads).
        model: ``markov`` or ``shapley``.
        resamples: how many resamples.
        seed: the seed of the resampling (same seed, same resamples).
        order: the Markov chain's order.
    """
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, not {resamples!r}")
    credits = _Credits(found, model, order)
    conversions = np.array([round(p.conversions) for _, p in found], dtype=np.int64)
    nulls = np.array([round(p.nulls) for _, p in found], dtype=np.int64)
    per_conversion = np.array([p.value / p.conversions if p.conversions else 0.0 for _, p in found])
    cells = np.concatenate([conversions, nulls])
    journeys = int(cells.sum())
    rng = np.random.default_rng(seed)
    drawn = np.zeros((resamples, len(credits.currencies), len(credits.channels), 2))
    if journeys:
        weights = cells / journeys
        for r in range(resamples):
            counts = rng.multinomial(journeys, weights).astype(float)
            c, n = counts[:len(found)], counts[len(found):]
            drawn[r] = credits(c, n, c * per_conversion)
    return Resampled(credits.currencies, credits.channels, drawn)


def credit_intervals(found: Sequence[CurrencyPath], model: str, *, level: float = LEVEL,
                     resamples: int = RESAMPLES, seed: int = 0, order: int = 1) -> list[Interval]:
    """Percentile intervals of each (channel, currency) credit of ``model`` over ``resamples`` bootstrap resamples.

    Args:
        found: the aggregated paths with their conversions' currency (None for nulls and leads).
        model: ``markov`` or ``shapley``.
        level: the coverage, in (0, 1).
        resamples: how many resamples.
        seed: the seed of the resampling (same seed, same bounds).
        order: the Markov chain's order.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must lie between 0 and 1, not {level!r}")
    drawn = resampled_credits(found, model, resamples=resamples, seed=seed, order=order)
    tail = (1 - level) / 2
    low, high = np.quantile(drawn.credits, tail, axis=0), np.quantile(drawn.credits, 1 - tail, axis=0)
    return [Interval(channel, currency, (float(low[k, j, 0]), float(high[k, j, 0])),
                     (float(low[k, j, 1]), float(high[k, j, 1])))
            for k, currency in enumerate(drawn.currencies) for j, channel in enumerate(drawn.channels)]
